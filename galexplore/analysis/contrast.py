"""Contrast two sets of galaxies property by property.

:func:`contrast` answers "how does this selection differ from that one (or from the rest of
the survey)?": per numeric property the count, median and quantiles of each set and the
two-sample Kolmogorov–Smirnov statistic and p-value (scipy). :func:`contrast_categories`
does the same for a categorical column (fractions per category and a χ² test).

>>> contrast(survey.catalog, selected_ids)                  # doctest: +SKIP
              unit  n_a  n_b  median_a  median_b  ...  ks_stat  ks_pvalue
ew_ha            Å   87  913     24.31      3.02  ...    0.712   1.2e-41
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from galexplore.data.columns import STANDARD_PROPERTIES, numeric_columns, unit_of
from galexplore.errors import GalexploreError

QUANTILES = (0.16, 0.5, 0.84)


def _mask(catalog: pd.DataFrame, ids: Sequence[str], what: str) -> np.ndarray:
    ids = [str(i) for i in ([ids] if isinstance(ids, str) else ids)]
    known = catalog["galaxy_id"].astype(str)
    unknown = sorted(set(ids) - set(known))
    if unknown:
        more = f" (+{len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise GalexploreError(f"{what}: unknown galaxy_id {unknown[0]!r}{more}")
    mask = known.isin(ids).to_numpy()
    if not mask.any():
        raise GalexploreError(f"{what} is empty")
    return mask


def _sets(catalog: pd.DataFrame, set_a, set_b) -> tuple[np.ndarray, np.ndarray]:
    a = _mask(catalog, set_a, "set A")
    b = ~a if set_b is None else _mask(catalog, set_b, "set B")
    if not b.any():
        raise GalexploreError("set B is empty (set A covers the whole catalog)")
    return a, b


def contrast(
    catalog: pd.DataFrame,
    set_a: Sequence[str],
    set_b: Sequence[str] | None = None,
    *,
    columns: Sequence[str] | None = None,
    quantiles: Sequence[float] = QUANTILES,
) -> pd.DataFrame:
    """Per-property comparison of two sets of galaxies.

    Parameters
    ----------
    catalog : DataFrame
        Survey catalog with ``galaxy_id``.
    set_a : sequence of str
        Galaxy ids of the first set (e.g. a lasso selection).
    set_b : sequence of str, optional
        Galaxy ids of the second set (default: every galaxy not in ``set_a``).
    columns : sequence of str, optional
        Numeric columns to compare (default: the standard properties first, then every other
        float column of the catalog).
    quantiles : sequence of float
        Quantiles reported for each set, as columns ``q16_a`` … (percent, rounded).

    Returns
    -------
    DataFrame indexed by property with ``unit``, ``n_a``, ``n_b`` (non-NaN values),
    ``median_a``, ``median_b``, ``delta_median`` (a − b), the quantiles of each set,
    ``ks_stat`` and ``ks_pvalue`` (two-sided two-sample KS; NaN when a set has no values).
    Rows are sorted by decreasing KS statistic.
    """
    from scipy.stats import ks_2samp

    a, b = _sets(catalog, set_a, set_b)
    if columns is None:
        numeric = numeric_columns(catalog)
        columns = [c for c in STANDARD_PROPERTIES if c in numeric] + [
            c for c in numeric if c not in STANDARD_PROPERTIES
        ]
    rows = []
    for col in columns:
        if col not in catalog:
            raise GalexploreError(f"catalog has no column {col!r}")
        values = pd.to_numeric(catalog[col], errors="coerce").to_numpy(dtype=float)
        va, vb = values[a], values[b]
        va, vb = va[np.isfinite(va)], vb[np.isfinite(vb)]
        row: dict[str, object] = {"property": col, "unit": unit_of(col), "n_a": len(va), "n_b": len(vb)}
        for tag, v in (("a", va), ("b", vb)):
            qs = np.quantile(v, quantiles) if len(v) else np.full(len(quantiles), np.nan)
            row[f"median_{tag}"] = float(np.median(v)) if len(v) else np.nan
            for q, val in zip(quantiles, qs, strict=True):
                row[f"q{round(100 * q):02d}_{tag}"] = float(val)
        row["delta_median"] = row["median_a"] - row["median_b"]
        if len(va) and len(vb):
            res = ks_2samp(va, vb)
            row["ks_stat"], row["ks_pvalue"] = float(res.statistic), float(res.pvalue)
        else:
            row["ks_stat"] = row["ks_pvalue"] = np.nan
        rows.append(row)
    out = pd.DataFrame(rows).set_index("property")
    return out.sort_values("ks_stat", ascending=False, na_position="last", kind="stable")


def contrast_categories(
    catalog: pd.DataFrame,
    set_a: Sequence[str],
    set_b: Sequence[str] | None = None,
    *,
    column: str = "sf_class",
) -> tuple[pd.DataFrame, float]:
    """Fractions of each category of ``column`` in two sets, and the χ² test p-value.

    Returns
    -------
    (table, p_value)
        ``table`` is indexed by category with ``n_a``, ``n_b``, ``frac_a``, ``frac_b``;
        ``p_value`` is from :func:`scipy.stats.chi2_contingency` (NaN with one category).
    """
    from scipy.stats import chi2_contingency

    if column not in catalog:
        raise GalexploreError(f"catalog has no column {column!r}")
    a, b = _sets(catalog, set_a, set_b)
    values = catalog[column].astype("string").fillna("unknown")
    table = (
        pd.DataFrame({"n_a": values[a].value_counts(), "n_b": values[b].value_counts()}).fillna(0).astype(int)
    )
    table["frac_a"] = table["n_a"] / table["n_a"].sum()
    table["frac_b"] = table["n_b"] / table["n_b"].sum()
    counts = table[["n_a", "n_b"]].to_numpy()
    counts = counts[counts.sum(axis=1) > 0]
    p = float(chi2_contingency(counts).pvalue) if len(counts) > 1 else float("nan")
    table.index.name = column
    return table, p
