"""Number formatting for people: a few significant digits and a real minus sign."""

from __future__ import annotations

import math


def fmt(x: float, digits: int = 4) -> str:
    """``-0.84`` → ``−0.84``; NaN and infinities spelled out; integers without ``.0``."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    s = f"{x:.{digits}g}"
    if "e" in s:
        mant, exp = s.split("e")
        s = f"{mant}e{int(exp)}"
    return s.replace("-", "−")


def full(x: float) -> str:
    """Full precision (shortest repr that round-trips), for tooltips and the inspector."""
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return fmt(x)
    if x == 0:
        return "0"  # −0.0 is 0 to a learner
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x)).replace("-", "−")
    return repr(x).replace("-", "−")
