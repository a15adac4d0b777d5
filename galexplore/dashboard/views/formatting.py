"""How the dashboard writes numbers: one precision per kind of quantity, everywhere.

The gallery's tooltips, the galaxy-in-focus card, the cluster table and the map's hover all
format values with :func:`format_value`: sky positions in degrees to 5 decimals (about
0.02″), redshifts to 4 decimals, logarithmic quantities to 2, and other numbers to 3
significant digits in plain (not exponential) notation where that is readable.
"""

from __future__ import annotations

import math
import numbers

from galexplore.data.columns import unit_of

#: Decimals of the columns whose precision is known (by name).
DECIMALS = {"ra": 5, "dec": 5, "z": 4, "ew_ha": 1, "re_arcsec": 2, "zh_lw": 2}
#: Decimals of a cosine similarity.
SIMILARITY_DECIMALS = 3
MISSING = "–"


def decimals(column: str, unit: str = "") -> int | None:
    """Decimals ``column`` is shown with, or None for 3 significant digits.

    Logarithmic quantities (a ``log_`` name or a ``log …`` unit) get 2.
    """
    if column in DECIMALS:
        return DECIMALS[column]
    if column.startswith("log_") or (unit or unit_of(column)).startswith("log"):
        return 2
    return None


def format_number(value: float, ndigits: int | None = None) -> str:
    """``value`` with ``ndigits`` decimals, or with 3 significant digits when None.

    Three significant digits use plain notation from 10⁻³ to 10⁶ (thousands separated by
    commas above 10⁴) and exponential notation outside.
    """
    v = float(value)
    if not math.isfinite(v):
        return MISSING if math.isnan(v) else ("∞" if v > 0 else "−∞")
    if ndigits is not None:
        return f"{v:.{ndigits}f}"
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1e6 or a < 1e-3:
        return f"{v:.2e}"
    if a >= 1e4:
        return f"{v:,.0f}"
    d = max(0, 2 - math.floor(math.log10(a)))
    return f"{v:.{d}f}"


def format_value(column: str, value: object, *, unit: str | bool = False) -> str:
    """A catalog value as the dashboard shows it, e.g. ``"216.12345"`` for ``ra``.

    Parameters
    ----------
    column : str
        The column it comes from (sets the precision, see :func:`decimals`).
    value : object
        A number, a string, a boolean, None or NaN (shown as ``"–"``).
    unit : str or bool
        Append a unit: ``True`` the column's standard unit, a string that unit, ``False`` none.
    """
    unit_text = unit_of(column) if unit is True else (unit or "")
    if value is None:
        return MISSING
    if isinstance(value, bool | str) or not isinstance(value, numbers.Number):
        text = str(value)
        return MISSING if text in ("", "nan", "None", "<NA>") else text
    if isinstance(value, numbers.Integral):
        text = f"{int(value):,}" if abs(int(value)) >= 10_000 else str(int(value))
    else:
        if not math.isfinite(float(value)):
            return format_number(float(value))
        text = format_number(float(value), decimals(column, unit_text))
    return f"{text} {unit_text}" if unit_text else text


def format_similarity(value: float) -> str:
    """A cosine similarity, e.g. ``"0.987"``."""
    return format_number(value, SIMILARITY_DECIMALS)
