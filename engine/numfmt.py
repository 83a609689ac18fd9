"""Number formatting for people: a few significant digits and a real minus sign."""

from __future__ import annotations

import math
import re
from typing import Sequence

import numpy as np


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


_EXPONENT = re.compile(r"e\+?(-?)0*(?=\d)")


def fmt_many(xs: Sequence[float], digits: int = 4) -> list[str]:
    """``[fmt(x, digits) for x in xs]`` for a long column (a table of 100,000 numbers):
    one ``format`` per number, the exponents and minus signs fixed over the joined
    text at C speed, zeros and non-finite numbers patched by index."""
    xs = list(map(float, xs))
    text = "\n".join(map(f"{{:.{digits}g}}".format, xs))
    if "e" in text:
        text = _EXPONENT.sub(r"e\1", text)
    out = text.replace("-", "−").split("\n") if xs else []
    a = np.asarray(xs, dtype=np.float64)
    for i in np.flatnonzero((a == 0) | ~np.isfinite(a)).tolist():
        out[i] = fmt(xs[i], digits)
    return out


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
