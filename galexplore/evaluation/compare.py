"""Which embedding knows the physics best? One table over several runs and the baselines.

``galexplore evaluate SURVEY RUN [RUN ...]`` evaluates each run as a single ``evaluate`` does
(each keeps its own ``metrics.json`` and ``report/``), on the same survey split, so trained,
imported and pretrained embeddings are tested on the same galaxies. :func:`compare_runs`
then puts them side by side with the baselines: one row per embedding, one per survey-level
baseline (``pixel_pca``, ``radial_profile``, computed once) and one ``random_init`` per trained
run (its own architecture, untrained). :func:`write_comparison` writes that table to a folder
as ``comparison.md``, ``comparison.csv`` (one row per method, one column per score) and
``comparison.json``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galexplore.artifacts.atomic import atomic_file, check_writable, write_json
from galexplore.errors import GalexploreError
from galexplore.progress import ProgressCallback

#: The scores of each label column in the table: (probe, metric) → column suffix.
CLASS_COLUMNS = {
    ("knn", "accuracy"): "knn_accuracy",
    ("knn", "balanced_accuracy"): "knn_balanced_accuracy",
    ("knn", "macro_f1"): "knn_macro_f1",
    ("linear_probe", "accuracy"): "linear_accuracy",
    ("linear_probe", "balanced_accuracy"): "linear_balanced_accuracy",
    ("linear_probe", "macro_f1"): "linear_macro_f1",
}
FILES = ("comparison.md", "comparison.csv", "comparison.json")


@dataclass
class Comparison:
    """Several runs of one survey side by side.

    Attributes
    ----------
    rows : list of dict
        One per method: ``method``, ``kind`` (trained / imported / pretrained / baseline),
        ``model``, ``run``, ``n_test``, ``r2`` (property → k-NN R²) and ``classification``
        (label → probe → scores).
    metrics : dict
        run path → its ``metrics.json`` content.
    """

    survey: str
    rows: list[dict[str, Any]]
    metrics: dict[str, dict[str, Any]]
    properties: dict[str, list[str]]
    labels: list[str]
    label_classes: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """One row per method, one column per score (``knn_r2:<property>``, ``<label>:<score>``)."""
        records = []
        for r in self.rows:
            rec = {k: r[k] for k in ("method", "kind", "model", "run", "n_test")}
            rec["mean_knn_r2"] = _mean([r["r2"].get(p) for p in self.properties["standard"]])
            rec |= {
                f"knn_r2:{p}": r["r2"].get(p)
                for p in self.properties["standard"] + self.properties["structural"]
            }
            for col in self.labels:
                scores = r["classification"].get(col, {})
                rec |= {
                    f"{col}:{name}": scores.get(probe, {}).get(m)
                    for (probe, m), name in CLASS_COLUMNS.items()
                }
            records.append(rec)
        return pd.DataFrame.from_records(records)


def _mean(values: Sequence[float | None]) -> float | None:
    v = [x for x in values if x is not None and np.isfinite(x)]
    return float(np.mean(v)) if v else None


def run_modality(run: str | os.PathLike, modality: str | None) -> str | None:
    """The embedding of ``run`` to evaluate: ``modality`` if the run has it, else its only one."""
    from galexplore.artifacts.runs import read_embeddings_metadata

    mods = list(read_embeddings_metadata(run).get("modalities") or [])
    if modality is not None and (modality in mods or not mods):
        return modality
    if len(mods) == 1:
        return mods[0]
    raise GalexploreError(
        f"{run}: several embedded modalities ({', '.join(mods)}); "
        + (f"none is {modality!r}" if modality else "choose one with --modality")
    )


def compare_runs(
    survey,
    runs: Sequence[str | os.PathLike],
    *,
    modality: str | None = None,
    progress: ProgressCallback | None = None,
    **evaluate_kwargs: Any,
) -> Comparison:
    """Evaluate every run of ``runs`` on ``survey`` (same split) and put them side by side.

    Parameters
    ----------
    survey : Survey or path-like
    runs : sequence of path-like
        Run directories with ``embeddings.parquet`` (trained, imported or pretrained).
    modality : str, optional
        Embedding to score in runs that hold several (a run with one uses it).
    **evaluate_kwargs
        Passed to :func:`~galexplore.evaluation.evaluate.evaluate` (``seed``, ``k``,
        ``labels``, ``baselines``, ``write_report`` …).
    """
    from galexplore.data import open_survey
    from galexplore.data.store import Survey
    from galexplore.evaluation.evaluate import evaluate

    if len({Path(r).resolve() for r in runs}) != len(runs):
        raise GalexploreError("the same run is named twice")
    survey = survey if isinstance(survey, Survey) else open_survey(survey)
    modalities = {str(r): run_modality(r, modality) for r in runs}  # every error before any work
    cache: dict = {}
    metrics = {}
    for r in runs:
        bars = _named(progress, Path(r).name) if len(runs) > 1 else progress
        metrics[str(r)] = evaluate(
            survey, r, modality=modalities[str(r)], feature_cache=cache, progress=bars, **evaluate_kwargs
        )
    return comparison_of(str(survey.path), metrics)


def _named(progress: ProgressCallback | None, name: str) -> ProgressCallback | None:
    """``progress`` with the run's name after each stage (one progress bar per run)."""
    if progress is None:
        return None
    return lambda done, total, stage: progress(done, total, f"{stage} {name}")


def comparison_of(survey: str, metrics: Mapping[str, Mapping[str, Any]]) -> Comparison:
    """A :class:`Comparison` of evaluations already made (run → ``metrics.json`` content)."""
    rows, baselines, notes = [], {}, []
    names = _method_names(metrics)
    pixels = {m.get("baseline_modality") for m in metrics.values() if m.get("baselines")}
    for run, m in metrics.items():
        who = m.get("run_kind") or {"kind": "trained", "model": None}
        name = names[run]
        rows.append(
            {
                "method": name,
                "kind": who["kind"],
                "model": who.get("model"),
                "run": run,
                "n_test": m["n_test"],
                "r2": m["knn_r2"],
                "classification": m.get("classification", {}),
            }
        )
        for b, r2 in m.get("baselines", {}).items():
            key = f"random_init ({name})" if b == "random_init" else b
            if (
                b != "random_init" and len(pixels) > 1
            ):  # runs of different modalities: pixel baselines of each
                key = f"{b} ({m.get('baseline_modality')})"
            if key not in baselines:
                baselines[key] = {
                    "method": key,
                    "kind": "baseline",
                    "model": None,
                    "run": run,
                    "n_test": m["n_test"],
                    "r2": r2,
                    "classification": m.get("baselines_classification", {}).get(b, {}),
                }
        for b, why in m.get("baselines_skipped", {}).items():
            notes.append(f"{b} not computed for {name}: {why}")
    if len({m["n_test"] for m in metrics.values()}) > 1:
        notes.append("the runs embed different galaxies: each is scored on its own test galaxies (n_test)")
    first = next(iter(metrics.values()))
    props = {
        "standard": _union(m["properties"]["standard"] for m in metrics.values()),
        "structural": _union(m["properties"]["structural"] for m in metrics.values()),
    }
    labels = _union(m.get("labels", []) for m in metrics.values())
    classes = {c: first.get("label_classes", {}).get(c) for c in labels}
    return Comparison(
        survey,
        rows + list(baselines.values()),
        dict(metrics),
        props,
        labels,
        {c: v for c, v in classes.items() if v},
        notes,
    )


def _method_names(metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Each run's row name: its folder name (its path if two share one), with the modality when it has several."""
    base = {run: Path(run).name for run in metrics}
    clash = {n for n in base.values() if list(base.values()).count(n) > 1}
    out = {}
    for run, m in metrics.items():
        name = run if base[run] in clash else base[run]
        out[run] = f"{name} [{m.get('modality')}]" if len(m.get("embedded_modalities", [])) > 1 else name
    return out


def _union(lists) -> list[str]:
    return list(dict.fromkeys(x for xs in lists for x in xs))


# -- output ------------------------------------------------------------------------------------------------------------


def _fmt(v: Any, best: bool = False) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    text = f"{v:.3f}" if isinstance(v, float) else str(v)
    return f"**{text}**" if best else text


def _md_table(
    df: pd.DataFrame, score_cols: Sequence[str], names: Sequence[str], extra: Sequence[list] = ()
) -> str:
    """A markdown table of ``score_cols`` (headed ``names``), the best value of each column in bold."""
    best = {c: pd.to_numeric(df[c], errors="coerce").max() for c in score_cols}
    lines = ["| method | kind | " + " | ".join(names) + " |", "|---|---|" + "---:|" * len(names)]
    for _, row in df.iterrows():
        cells = [
            _fmt(row[c], row[c] is not None and np.isfinite(row[c]) and row[c] == best[c]) for c in score_cols
        ]
        lines.append(f"| {row['method']} | {row['kind']} | " + " | ".join(cells) + " |")
    lines += ["| " + " | ".join(_fmt(v) for v in e) + " |" for e in extra]
    return "\n".join(lines) + "\n"


def markdown(comp: Comparison) -> str:
    """The comparison as markdown: R² tables, one classification table per label, the notes."""
    from galexplore.evaluation.scores import counts_text

    df = comp.table().replace({np.nan: None})
    m0 = next(iter(comp.metrics.values()))
    out = [
        f"# Embeddings of `{comp.survey}` side by side\n",
        f"{len(comp.metrics)} run(s); held-out split of the survey's galaxies (seed {m0['seed']}, "
        f"{m0['n_test']} test galaxies), k = {m0.get('k')} neighbours. {m0.get('protocol', '')} "
        "The best value of each column is in bold.\n",
    ]
    out.append(
        "Runs: "
        + "; ".join(
            f"`{r['method']}` ({r['kind']}" + (f", {r['model']}" if r.get("model") else "") + ")"
            for r in comp.rows
            if r["kind"] != "baseline"
        )
        + ".\n"
    )
    std, struct = comp.properties["standard"], comp.properties["structural"]
    if std:
        out.append("## Properties: held-out k-NN R²\n")
        out.append(_md_table(df, ["mean_knn_r2", *[f"knn_r2:{p}" for p in std]], ["mean", *std]))
    if struct:
        out.append("## Structural truths: held-out k-NN R²\n")
        out.append(_md_table(df, [f"knn_r2:{p}" for p in struct], list(struct)))
    for col in comp.labels:
        info = comp.label_classes.get(col, {})
        counts = counts_text(info.get("counts", {}))
        out.append(f"## `{col}`: held-out classification\n")
        if counts:
            out.append(f"Classes (embedded galaxies): {counts}.\n")
        cols = [f"{col}:{name}" for name in CLASS_COLUMNS.values()]
        names = [
            "k-NN accuracy",
            "k-NN balanced",
            "k-NN macro-F1",
            "linear accuracy",
            "linear balanced",
            "linear macro-F1",
        ]
        extra = (
            [
                [
                    "majority class",
                    "guess",
                    info.get("majority_accuracy"),
                    info.get("chance_balanced_accuracy"),
                    None,
                    info.get("majority_accuracy"),
                    info.get("chance_balanced_accuracy"),
                    None,
                ]
            ]
            if info
            else []
        )
        out.append(_md_table(df, cols, names, extra))
    if comp.notes:
        out.append("## Notes\n")
        out.extend(f"- {n}" for n in comp.notes)
        out.append("")
    out.append(
        "Each run's own `metrics.json` and `report/` hold the rest (linear probes on properties, label "
        "efficiency, clusters, correlation ranking).\n"
    )
    return "\n".join(out)


def write_comparison(comp: Comparison, out: str | os.PathLike) -> list[Path]:
    """Write ``comparison.md``, ``comparison.csv`` and ``comparison.json`` into the folder ``out``."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise GalexploreError(f"{folder}: is not a directory (--out names a folder for the comparison)")
    check_writable(folder / FILES[0])
    paths = [folder / f for f in FILES]
    with atomic_file(paths[0]) as tmp:
        tmp.write_text(markdown(comp))
    with atomic_file(paths[1]) as tmp:
        comp.table().to_csv(tmp, index=False, float_format="%.5g")
    write_json(
        paths[2],
        {
            "survey": comp.survey,
            "runs": list(comp.metrics),
            "properties": comp.properties,
            "labels": comp.labels,
            "label_classes": comp.label_classes,
            "notes": comp.notes,
            "rows": _json_rows(comp.rows),
        },
    )
    return paths


def _json_rows(rows: list[dict]) -> list[dict]:
    from galexplore.evaluation.evaluate import json_safe

    return json_safe(rows)


__all__ = ["Comparison", "compare_runs", "comparison_of", "markdown", "run_modality", "write_comparison"]
