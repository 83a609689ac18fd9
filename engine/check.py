"""Gradient check: backprop's gradient of every leaf beside a central finite difference.

Shared by ``main.py check`` and the editor's gradient-check panel. The error is
|analytic − numeric| / max(1, |analytic|, |numeric|): relative for large gradients,
absolute for small ones, so a gradient near zero is not flagged for noise. Only inputs
and params are checked: constants have no gradient. The graph is compiled once and
each nudge re-evaluates only the nudged leaf's downstream cone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from engine.fast import Plan, compile_graph
from engine.graph import Graph
from engine.ops import VARIABLE_KINDS

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


class _Nudger:
    """f(leaf = v) for one leaf at a time, from a compiled plan."""

    def __init__(self, plan: Plan, out: str) -> None:
        self.plan, self.out = plan, out

    def at(self, nid: str, v: float) -> float:
        return self.plan.update_leaf(nid, v).value(self.out)


def _differ(left: float, right: float) -> bool:
    return abs(right - left) > 1e-3 * max(1.0, abs(right), abs(left))


def _still_differ(f: _Nudger, nid: str, x: float, h: float, f0: float, gap: float) -> bool:
    """A kink keeps its gap between one-sided slopes as the step shrinks; curvature's gap
    shrinks with the step. Checked at h/4 so a smooth but steep leaf that passed is not
    called a kink (its gap would drop to a quarter)."""
    q = h / 4
    fp, fm = f.at(nid, x + q), f.at(nid, x - q)
    f.at(nid, x)
    small = (fp - f0) / q - (f0 - fm) / q
    return abs(small) > 0.5 * abs(gap)


def gradient_check(graph: Graph, tolerance: float = TOLERANCE,
                   progress: Callable[[int, int], bool] | None = None) -> list[CheckRow]:
    """One row per input and param leaf, in id order. Raises OutputError when no output
    can be chosen. ``progress(done, total)`` is called after each leaf; when it returns
    False the check stops and the rows so far are returned (the editor's Stop)."""
    plan = compile_graph(graph)
    if plan.output_error is not None:
        raise plan.output_error
    base = plan.evaluate()
    out = plan.output
    f = _Nudger(plan, out)
    f0 = base.value(out)
    rows: list[CheckRow] = []
    leaves = [nid for nid in graph.ids() if graph.op_of(nid) in VARIABLE_KINDS]
    for nid in leaves:
        # every leaf adds one row: report the previous one (the last is reported below)
        if progress is not None and rows and not progress(len(rows), len(leaves)):
            return rows
        op = graph.op_of(nid)
        x = graph.nx.nodes[nid]["value"]
        h = _H * max(1.0, abs(x))
        fp, fm = f.at(nid, x + h), f.at(nid, x - h)
        f.at(nid, x)
        numeric = (fp - fm) / (2 * h)
        analytic = base.grad(nid)
        name = graph.name_of(nid)
        if not plan.on_path[plan.index[nid]]:
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
        if _differ(left, right) and (err > tolerance or _still_differ(f, nid, x, h, f0,
                                                                      right - left)):
            status = "kink"
            note = (f"one-sided slopes differ ({left:.6g} from the left, {right:.6g} from "
                    "the right): a kink, where the op's convention picks one value")
        elif err > tolerance:
            status = "FAIL"
        rows.append(CheckRow(nid, name, op, analytic, numeric, err, status, note))
    if progress is not None and rows:
        progress(len(rows), len(leaves))
    return rows
