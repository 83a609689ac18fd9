"""Gradient check: backprop's gradient of every leaf beside a central finite difference.

Shared by ``main.py check`` and the editor's gradient-check panel. The error is
|analytic − numeric| / max(1, |analytic|, |numeric|): relative for large gradients,
absolute for small ones, so a gradient near zero is not flagged for noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.evaluate import evaluate
from engine.graph import Graph
from engine.ops import OPS

#: flagged above this; central differences with h ≈ 6e-6·max(1, |x|) are good to ~1e-9
TOLERANCE = 1e-5
_H = 6.0554544523933395e-06  # cube root of float64 epsilon: the best step for central differences


@dataclass
class CheckRow:
    id: str
    name: str
    op: str
    analytic: float
    numeric: float
    error: float
    #: "ok", "FAIL", "kink" (one-sided slopes differ: reported, not failed), "undefined"
    status: str
    note: str = ""


def _f(graph: Graph, out: str) -> float:
    return evaluate(graph).value(out)


def _differ(left: float, right: float) -> bool:
    return abs(right - left) > 1e-3 * max(1.0, abs(right), abs(left))


def _still_differ(g: Graph, nid: str, x: float, h: float, f0: float, out: str,
                  gap: float) -> bool:
    """A kink keeps its gap between one-sided slopes as the step shrinks; curvature's gap
    shrinks with the step. Checked at h/4 so a smooth but steep leaf that passed is not
    called a kink (its gap would drop to a quarter)."""
    q = h / 4
    g.set_value(nid, x + q)
    fp = _f(g, out)
    g.set_value(nid, x - q)
    fm = _f(g, out)
    g.set_value(nid, x)
    small = (fp - f0) / q - (f0 - fm) / q
    return abs(small) > 0.5 * abs(gap)


def gradient_check(graph: Graph, tolerance: float = TOLERANCE) -> list[CheckRow]:
    """One row per leaf (input, param and const), in id order."""
    base = evaluate(graph)
    out = base.output
    g = graph.copy()
    rows: list[CheckRow] = []
    for nid in graph.ids():
        op = graph.op_of(nid)
        if not OPS[op].is_leaf:
            continue
        x = graph.nx.nodes[nid]["value"]
        h = _H * max(1.0, abs(x))
        g.set_value(nid, x + h)
        fp = _f(g, out)
        g.set_value(nid, x - h)
        fm = _f(g, out)
        g.set_value(nid, x)
        f0 = base.value(out)
        numeric = (fp - fm) / (2 * h)
        analytic = base.grad(nid)
        name = graph.name_of(nid)
        if not base.nodes[nid].on_path:
            rows.append(CheckRow(nid, name, op, analytic, numeric, abs(numeric), 
                                 "ok" if numeric == 0 else "FAIL", "does not reach the output"))
            continue
        if not (math.isfinite(analytic) and math.isfinite(numeric)):
            same = (math.isnan(analytic) and math.isnan(numeric)) or analytic == numeric
            rows.append(CheckRow(nid, name, op, analytic, numeric, math.nan, "undefined",
                                 "the derivative is not finite here"
                                 + ("" if same else " (the two disagree)")))
            continue
        err = abs(analytic - numeric) / max(1.0, abs(analytic), abs(numeric))
        status, note = "ok", ""
        right, left = (fp - f0) / h, (f0 - fm) / h
        if _differ(left, right) and (err > tolerance or _still_differ(g, nid, x, h, f0, out,
                                                                      right - left)):
            status = "kink"
            note = (f"one-sided slopes differ ({left:.6g} from the left, {right:.6g} from "
                    "the right): a kink, where the op's convention picks one value")
        elif err > tolerance:
            status = "FAIL"
        rows.append(CheckRow(nid, name, op, analytic, numeric, err, status, note))
    return rows
