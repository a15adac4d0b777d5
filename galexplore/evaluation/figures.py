"""The evaluation report's figures (matplotlib, no pyplot state: one ``Figure`` per file).

Every function takes the data it plots and returns a :class:`matplotlib.figure.Figure`;
:mod:`galexplore.evaluation.report` saves them. Axes carry units (``axis_label``) and every
colour scale has a colour bar.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure

from galexplore.data.columns import SF_CLASSES, axis_label

#: Colours of the EW(Hα) classes: blue cloud, green valley, red sequence.
SF_COLOURS = {"star-forming": "#2c7bb6", "green-valley": "#4dac26", "retired": "#d7191c"}
BASELINE_COLOURS = {
    "embedding": "#1b9e77",
    "linear_probe": "#66a61e",
    "pixel_pca": "#7570b3",
    "random_init": "#e7298a",
    "radial_profile": "#d95f02",
}


def _num(values) -> np.ndarray:
    """Floats with None (JSON null) as NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _marker_size(n: int) -> float:
    return float(np.clip(4000 / max(n, 1), 0.3, 12))


def _colour_panel(fig: Figure, ax, xy: np.ndarray, values: np.ndarray, column: str) -> None:
    ok = np.isfinite(values)
    positive = ok & (values > 0)
    log = column == "ew_ha" and positive.mean() > 0.95
    norm = (
        LogNorm(*np.nanpercentile(values[positive], [1, 99]))
        if log
        else Normalize(*np.nanpercentile(values[ok], [1, 99]))
    )
    ax.scatter(xy[~ok, 0], xy[~ok, 1], s=_marker_size(len(xy)), c="0.85", lw=0, rasterized=True)
    order = np.argsort(values[ok])  # high values on top
    sc = ax.scatter(
        xy[ok][order, 0],
        xy[ok][order, 1],
        c=values[ok][order],
        s=_marker_size(len(xy)),
        cmap="viridis",
        norm=norm,
        lw=0,
        rasterized=True,
    )
    fig.colorbar(sc, ax=ax, label=axis_label(column) + (" (log scale)" if log else ""))


def umap_properties(
    xy: np.ndarray, catalog: pd.DataFrame, columns: Sequence[str], *, method: str = "UMAP"
) -> Figure:
    """The 2-D map coloured by each property (one panel each) and by ``sf_class``."""
    panels = list(columns) + (["sf_class"] if "sf_class" in catalog else [])
    ncols = 3
    nrows = int(np.ceil(len(panels) / ncols))
    fig = Figure(figsize=(5.2 * ncols, 4.3 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, col in zip(axes, panels, strict=False):
        if col == "sf_class":
            for cls in SF_CLASSES:
                m = (catalog["sf_class"] == cls).to_numpy()
                ax.scatter(
                    xy[m, 0],
                    xy[m, 1],
                    s=_marker_size(len(xy)),
                    c=SF_COLOURS[cls],
                    lw=0,
                    label=cls,
                    rasterized=True,
                )
            ax.legend(
                title=axis_label("sf_class"),
                markerscale=max(1, 6 / _marker_size(len(xy))),
                loc="best",
                fontsize=8,
            )
        else:
            _colour_panel(fig, ax, xy, pd.to_numeric(catalog[col], errors="coerce").to_numpy(float), col)
        ax.set_title(axis_label(col))
        ax.set_xlabel(f"{method} 1")
        ax.set_ylabel(f"{method} 2")
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    return fig


def main_sequence_clusters(
    catalog: pd.DataFrame, labels_by_k: Mapping[str, np.ndarray], *, where: str = "embedding"
) -> Figure:
    """log SFR against log M*, coloured by the clusters of each k, with the main sequence fitted
    to star-forming galaxies."""
    fig = Figure(figsize=(5.5 * len(labels_by_k), 4.6), layout="constrained")
    axes = fig.subplots(1, len(labels_by_k), squeeze=False)[0]
    from galexplore.data.main_sequence import fit_main_sequence

    m = catalog["log_mstar"].to_numpy(float)
    s = catalog["log_sfr"].to_numpy(float)
    try:
        ms = fit_main_sequence(catalog)
    except ValueError:  # no sf_class, or too few star-forming galaxies
        ms = None
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    for ax, (k, labels) in zip(axes, labels_by_k.items(), strict=True):
        for c in range(int(labels.max()) + 1):
            sel = labels == c
            ax.scatter(
                m[sel],
                s[sel],
                s=_marker_size(len(m)) * 2,
                c=colours[c % len(colours)],
                lw=0,
                label=f"cluster {c} ({sel.sum()})",
                alpha=0.8,
                rasterized=True,
            )
        if ms is not None:
            grid = np.linspace(np.nanmin(m), np.nanmax(m), 50)
            ax.plot(
                grid,
                ms(grid),
                "k--",
                lw=1.2,
                label=f"main sequence (star-forming fit): slope {ms.slope:.2f}, σ {ms.scatter:.2f} dex",
            )
        ax.set_xlabel(axis_label("log_mstar"))
        ax.set_ylabel(axis_label("log_sfr"))
        ax.set_title(f"k = {k} clusters of the {where}")
        ax.legend(fontsize=8, loc="lower right")
    return fig


def r2_against_baselines(
    knn_r2: Mapping[str, float],
    baselines: Mapping[str, Mapping[str, float]],
    groups: Mapping[str, Sequence[str]],
    *,
    linear_probe: Mapping[str, float] | None = None,
) -> Figure:
    """Grouped horizontal bars: held-out R² of the embedding and of every baseline, per property."""
    series = {"embedding": knn_r2, **({"linear_probe": linear_probe} if linear_probe else {}), **baselines}
    groups = {g: [p for p in props if p in knn_r2] for g, props in groups.items()}
    groups = {g: p for g, p in groups.items() if p}
    fig = Figure(
        figsize=(6.5 * len(groups), 0.55 * max(len(p) for p in groups.values()) * len(series) / 2.5 + 1.8),
        layout="constrained",
    )
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    height = 0.8 / len(series)
    for ax, (title, props) in zip(axes, groups.items(), strict=True):
        y = np.arange(len(props))
        for i, (name, scores) in enumerate(series.items()):
            vals = _num([scores.get(p) for p in props])
            ax.barh(
                y + (i - (len(series) - 1) / 2) * height,
                np.clip(np.nan_to_num(vals, nan=0), -0.2, 1),
                height,
                label=name.replace("_", " "),
                color=BASELINE_COLOURS.get(name),
            )
        ax.set_yticks(y, props)
        ax.invert_yaxis()
        ax.set_xlim(-0.2, 1)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_xlabel("held-out R² (k-NN unless marked; clipped at −0.2)")
        ax.set_title(title)
        ax.legend(fontsize=8, loc="lower right")
    return fig


def label_efficiency_curves(curves: Mapping) -> Figure:
    """R² against the number of training labels: embedding k-NN vs the supervised baseline."""
    props = list(curves["properties"])
    ncols = min(4, len(props))
    nrows = int(np.ceil(len(props) / ncols))
    fig = Figure(figsize=(4.2 * ncols, 3.6 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    n = curves["n_labels"]
    for ax, p in zip(axes, props, strict=False):
        c = {m: _num(v) for m, v in curves["properties"][p].items()}
        ax.plot(n, c["embedding"], "o-", color=BASELINE_COLOURS["embedding"], label="embedding k-NN")
        if "embedding_linear" in c:
            ax.plot(
                n,
                c["embedding_linear"],
                "^-",
                color=BASELINE_COLOURS["linear_probe"],
                label="embedding ridge",
            )
        ax.plot(
            n, c["supervised"], "s--", color=BASELINE_COLOURS["pixel_pca"], label="supervised (ridge, pixels)"
        )
        ax.set_xscale("log")
        ax.set_ylim(max(-1.0, min(-0.1, np.nanmin(np.concatenate([*c.values(), [0.0]])))), 1)
        ax.set_xlabel("training labels used")
        ax.set_ylabel("held-out R²")
        ax.set_title(axis_label(p))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    for ax in axes[len(props) :]:
        ax.set_visible(False)
    return fig


def cluster_mix(details: Mapping[str, Mapping]) -> Figure:
    """Stacked bars of each cluster's ``sf_class`` mix, one panel per k."""
    fig = Figure(figsize=(4 * len(details) + 1.5, 3.6), layout="constrained")
    axes = fig.subplots(1, len(details), squeeze=False)[0]
    for ax, (k, d) in zip(axes, details.items(), strict=True):
        clusters = list(d["mix"])
        x = np.arange(len(clusters))
        bottom = np.zeros(len(clusters))
        for cls in SF_CLASSES:
            frac = np.array([d["mix"][c][cls] for c in clusters])
            ax.bar(x, frac, bottom=bottom, color=SF_COLOURS[cls], label=cls)
            bottom += frac
        ax.set_xticks(x, [f"{c}\n(n={d['mix'][c]['size']})" for c in clusters])
        ax.set_xlabel("cluster")
        ax.set_ylabel("fraction of galaxies")
        ax.set_title(f"k = {k}: ARI = {d['ari']:.2f}" + (" (green valley left out)" if d["excluded"] else ""))
    handles, names = axes[-1].get_legend_handles_labels()
    fig.legend(handles, names, fontsize=8, loc="outside right upper", title=axis_label("sf_class"))
    return fig


def correlation_ranking_bars(ranking: Mapping) -> Figure:
    """Horizontal bars of the distance correlation of each property with the embedding."""
    rows = ranking["ranking"]
    fig = Figure(figsize=(6, 0.32 * len(rows) + 1.2), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))
    ax.barh(y, [r["dcor"] for r in rows], color=BASELINE_COLOURS["embedding"])
    ax.set_yticks(y, [r["property"] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("distance correlation with the embedding")
    return fig
