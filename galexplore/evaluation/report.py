"""Write ``RUN/report/``: a markdown summary of ``metrics.json`` plus PNG figures.

The whole directory is built in a temporary sibling and swapped in atomically, so a reader
never sees half a report.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from galexplore.artifacts.atomic import atomic_directory
from galexplore.artifacts.paths import RunPaths
from galexplore.data.columns import axis_label
from galexplore.evaluation import figures

FIGURES = {
    "umap_properties.png": "The 2-D map coloured by each standard property and by EW(Hα) class",
    "main_sequence_clusters.png": "The main sequence coloured by the k = 2 and k = 3 clusters",
    "r2_baselines.png": "Held-out k-NN R² of the embedding against the baselines",
    "label_efficiency.png": "R² against the number of labels: embedding vs a supervised baseline",
    "cluster_mix.png": "EW(Hα) class mix of each cluster",
    "correlation_ranking.png": "Properties ranked by their distance correlation with the embedding",
}


def _save(fig, folder: Path, name: str) -> None:
    fig.savefig(folder / name, dpi=110, format="png")


def write_report(
    run: str | os.PathLike,
    metrics: Mapping,
    catalog: pd.DataFrame,
    xy: np.ndarray,
    labels_by_k: Mapping[str, np.ndarray],
    *,
    map_columns: Sequence[str],
    projection_method: str = "UMAP",
) -> Path:
    """Write the figures and ``report.md`` of an evaluation into ``RUN/report/``.

    Parameters
    ----------
    run : path-like
    metrics : mapping
        The content of ``metrics.json``.
    catalog : DataFrame
        Catalog rows aligned with ``xy`` and the labels.
    xy : ndarray (N, 2)
        The 2-D map (projection) of the embedded galaxies.
    labels_by_k : mapping str(k) → ndarray (N,) int
        Cluster labels of the k = 2 and k = 3 clusterings.
    map_columns : sequence of str
        Properties to colour the map by.
    """
    path = RunPaths.of(run).report
    with atomic_directory(path) as tmp:
        _save(
            figures.umap_properties(xy, catalog, map_columns, method=projection_method),
            tmp,
            "umap_properties.png",
        )
        if {"log_mstar", "log_sfr"} <= set(catalog) and labels_by_k:
            space = next(iter(metrics.get("cluster_details", {}).values()), {}).get("space", "embedding")
            where = f"{projection_method} map" if space == "projection" else "embedding"
            _save(
                figures.main_sequence_clusters(catalog, labels_by_k, where=where),
                tmp,
                "main_sequence_clusters.png",
            )
        groups = {
            "standard properties": list(metrics["properties"]["standard"]),
            "structural truths": list(metrics["properties"]["structural"]),
        }
        _save(
            figures.r2_against_baselines(
                metrics["knn_r2"], metrics["baselines"], groups, linear_probe=metrics.get("linear_probe_r2")
            ),
            tmp,
            "r2_baselines.png",
        )
        if metrics.get("label_efficiency", {}).get("properties"):
            _save(figures.label_efficiency_curves(metrics["label_efficiency"]), tmp, "label_efficiency.png")
        if metrics.get("cluster_details"):
            _save(figures.cluster_mix(metrics["cluster_details"]), tmp, "cluster_mix.png")
        if metrics.get("correlation_ranking", {}).get("ranking"):
            _save(
                figures.correlation_ranking_bars(metrics["correlation_ranking"]),
                tmp,
                "correlation_ranking.png",
            )
        (tmp / "report.md").write_text(markdown(metrics, [f for f in FIGURES if (tmp / f).is_file()]))
    return path


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def markdown(metrics: Mapping, figure_files: Sequence[str]) -> str:
    """The report as markdown: the scores in tables, then the figures."""
    base = list(metrics["baselines"])
    probe = metrics.get("linear_probe_r2", {})
    out = [
        f"# Evaluation of `{metrics.get('run', 'run')}`\n",
        f"Survey `{metrics.get('survey', '?')}`, modality `{metrics.get('modality')}`, "
        f"{metrics['n_train']} training / {metrics['n_test']} test galaxies, seed {metrics['seed']}, "
        f"k = {metrics.get('k')} neighbours. {metrics.get('protocol', '')}\n",
    ]
    for title, key in (("Standard properties", "standard"), ("Structural truths", "structural")):
        props = metrics["properties"][key]
        if props:
            out.append(f"## {title}: held-out R²\n")
            rows = [
                [
                    axis_label(p),
                    metrics["knn_r2"].get(p),
                    probe.get(p),
                    *[metrics["baselines"][b].get(p) for b in base],
                ]
                for p in props
            ]
            out.append(_table(["property", "embedding k-NN", "embedding linear", *base], rows))
    for col in metrics.get("knn_accuracy", {}):
        out.append(_labels_section(metrics, col, base))
    if metrics.get("photo_z"):
        pz = metrics["photo_z"]
        out.append("## Redshift (Hayat et al. metrics)\n")
        out.append(
            f"σ_MAD(Δz/(1+z)) = {pz['sigma_mad']:.4f}, outlier fraction (|Δz|/(1+z) > 0.05) = "
            f"{pz['outlier_fraction']:.3f}, bias = {pz['bias']:+.4f}, R² = {_fmt(metrics['knn_r2'].get('z'))} "
            f"on {pz['n']} test galaxies.\n"
        )
    if metrics.get("cross_modal_retrieval"):
        out.append("## Cross-modal retrieval (test galaxies)\n")
        rows = [
            [pair, r["top1"], r["chance_top1"], r["top10"], r["chance_top10"]]
            for pair, r in metrics["cross_modal_retrieval"].items()
        ]
        out.append(_table(["query -> gallery", "top-1", "chance", "top-10", "chance"], rows))
    ranking = metrics.get("correlation_ranking", {})
    if ranking.get("ranking"):
        out.append("## What the embedding encodes most\n")
        out.append(f"Method: {ranking['method']}.\n")
        out.append(" > ".join(f"{r['property']} ({r['dcor']:.2f})" for r in ranking["ranking"]) + "\n")
    if metrics.get("cluster_details"):
        out.append("## Clusters against EW(Hα) classes\n")
        rows = []
        for k, d in metrics["cluster_details"].items():
            mix = "; ".join(
                f"{c}: " + ", ".join(f"{v:.0%} {cls}" for cls, v in m.items() if cls != "size" and v > 0)
                for c, m in d["mix"].items()
            )
            other = "embedding" if d.get("space") == "projection" else "projection"
            rows.append([k, d["ari"], d.get(f"ari_{other}"), ", ".join(d["excluded"]) or "none", mix])
        first = next(iter(metrics["cluster_details"].values()))
        out.append(f"Method: {first['method'].replace('(k=2) ', '')}.\n")
        other = "embedding" if first.get("space") == "projection" else "projection"
        out.append(
            _table(["k", "ARI vs sf_class", f"ARI, k-means on the {other}", "left out", "cluster mix"], rows)
        )
    le = metrics.get("label_efficiency", {})
    if le.get("properties"):
        out.append("## Label efficiency\n")
        out.append(f"Embedding: {le['embedding_probe']}. Supervised baseline: {le['supervised']}.\n")
        header = ["property", "model", *[f"{n} labels" for n in le["n_labels"]]]
        rows = [[p, m.replace("_", " "), *c[m]] for p, c in le["properties"].items() for m in c]
        out.append(_table(header, rows))
    out.extend(_class_efficiency_section(metrics.get("label_efficiency_classification", {})))
    skipped = {**metrics.get("baselines_skipped", {}), **metrics.get("skipped", {})}
    if skipped:
        out.append("## Not computed\n")
        out.extend(f"- {k}: {v}\n" for k, v in skipped.items())
    out.append("## Figures\n")
    out.extend(f"### {FIGURES[f]}\n\n![{FIGURES[f]}]({f})\n" for f in figure_files)
    return "\n".join(out)


CLASS_HEADER = ["k-NN accuracy", "balanced", "macro-F1", "linear accuracy", "balanced", "macro-F1"]


def _class_row(name: str, scores: Mapping) -> list:
    knn, lin = scores.get("knn", {}), scores.get("linear_probe", {})
    return [
        name,
        *[knn.get(m) for m in ("accuracy", "balanced_accuracy", "macro_f1")],
        *[lin.get(m) for m in ("accuracy", "balanced_accuracy", "macro_f1")],
    ]


def _labels_section(metrics: Mapping, col: str, baselines: Sequence[str]) -> str:
    """One label column: k-NN and linear-probe scores of the embedding and the baselines."""
    info = metrics.get("label_classes", {}).get(col, {})
    from galexplore.evaluation.scores import counts_text

    counts = counts_text(info.get("counts", {}))
    text = f"## Label `{col}`: held-out classification\n\n"
    if counts:
        text += f"Classes: {counts}. Balanced accuracy and macro-F1 weigh every class alike.\n\n"
    cls = metrics.get("classification", {}).get(col)
    if cls is None:  # metrics.json of an earlier version: accuracy and weighted F1 only
        rows = [
            [
                "embedding",
                metrics["knn_accuracy"][col],
                None,
                None,
                metrics.get("linear_probe_accuracy", {}).get(col),
                None,
                None,
            ]
        ]
    else:
        rows = [_class_row("embedding", cls)]
    bcls = metrics.get("baselines_classification", {})
    rows += [_class_row(b, bcls[b][col]) for b in baselines if col in bcls.get(b, {})]
    if info:
        rows.append(
            [
                "majority class",
                info.get("majority_accuracy"),
                info.get("chance_balanced_accuracy"),
                None,
                info.get("majority_accuracy"),
                info.get("chance_balanced_accuracy"),
                None,
            ]
        )
    return text + _table(["features", *CLASS_HEADER], rows)


def _class_efficiency_section(le: Mapping) -> list[str]:
    """Hayat et al.'s label-efficiency table: balanced accuracy (accuracy) per fraction of the labels."""
    if not le.get("labels"):
        return []
    out = [
        "## Label efficiency of the label columns\n",
        f"Linear probe: {le['linear_probe']}. Each cell: balanced accuracy (accuracy) on the test galaxies.\n",
    ]
    sup = le.get("supervised_cnn")
    if sup:
        out.append(
            f"Supervised CNN: {sup['method']}; {len(sup['steps'])} trainings of {sup['steps']} steps on "
            f"{sup['device']}, {sup['seconds']:.0f} s in all, {sup['n_parameters']:,} parameters.\n"
        )
    names = {
        "embedding": "embedding, linear probe",
        "pixel_pca": "pixel PCA, linear probe",
        "supervised_cnn": "supervised CNN",
    }
    for col, res in le["labels"].items():
        header = [
            "model",
            *[f"{f:.0%} ({n} labels)" for f, n in zip(le["fractions"], res["n_labels"], strict=True)],
        ]
        rows = []
        for key, title in names.items():
            if key in res:
                cells = [
                    f"{_fmt(b)} ({_fmt(a)})"
                    for b, a in zip(res[key]["balanced_accuracy"], res[key]["accuracy"], strict=True)
                ]
                rows.append([title, *cells])
        out.append(f"`{col}`:\n\n" + _table(header, rows))
    return out
