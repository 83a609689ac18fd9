"""Gradient check: backprop's gradient of every leaf beside a central finite difference.

Shared by ``main.py check`` and the editor's gradient-check panel. The error is
|analytic − numeric| / max(1, |analytic|, |numeric|): relative for large gradients,
absolute for small ones, so a gradient near zero is not flagged for noise. Only inputs
and params are checked: constants have no gradient. The graph is compiled and
evaluated once; each nudge recomputes only the forward values downstream of the nudged
leaf (``Plan.nudge_leaf``: no derivatives, no backward pass), so a check costs the sum
of the leaves' cones, not leaves × graph.

On a dataset (``batch_gradient_check``) the function checked is the mean loss over the
training rows, and each nudge is a forward pass over every row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from engine.errors import clip
from engine.fast import CompiledResult, Plan, compile_graph
from engine.graph import Graph
from engine.numfmt import fmt
from engine.ops import VARIABLE_KINDS

if TYPE_CHECKING:
    from engine.dataset import Dataset
    from engine.fast.batch import BatchPlan, BatchResult

#: flagged above this; central differences with h ≈ 6e-6·max(1, |x|) are good to ~1e-9
TOLERANCE = 1e-5
_H = 6.0554544523933395e-06  # cube root of float64 epsilon: the best step for central differences

#: ``(done, total) -> bool``: called before the first leaf and after each; False stops
Progress = Callable[[int, int], bool]


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
    """f(leaf = v) for one leaf at a time, from a compiled plan (forward values only)."""

    def __init__(self, plan: Plan, out: str) -> None:
        self.plan, self.out = plan, out

    def at(self, nid: str, v: float) -> float:
        self.plan.nudge_leaf(nid, v)
        return self.plan.value_of(self.out)


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


def check_tolerance(tolerance: float) -> float:
    """The tolerance as a float; ValueError when it is NaN or negative (NaN would pass
    every leaf, since no comparison with NaN is true)."""
    t = float(tolerance)
    if math.isnan(t) or t < 0:
        raise ValueError(f"the tolerance must be a number ≥ 0, not {t!r}")
    return t


class _Underflow:
    """Where a product of local derivatives underflowed to 0 on the way to the output:
    an on-path edge whose ∂L/∂target and local derivative are nonzero and finite but
    whose product is 0. Found once per check, and only asked about leaves whose
    gradient is exactly 0."""

    def __init__(self, graph: Graph, plan: Plan, base: CompiledResult) -> None:
        self.graph, self.plan = graph, plan
        self.edges: list[int] = []
        if plan.n_edges:
            with np.errstate(all="ignore"):
                loc, prod, grads = base.locals, base.products, base.grads
                gt = grads[plan.edge_tgt]
                mask = (plan.edge_on_path & plan.edge_variable & (prod == 0)
                        & (loc != 0) & np.isfinite(loc) & (gt != 0) & np.isfinite(gt))
            self.edges = np.flatnonzero(mask).tolist()
        self.base = base
        self._first: dict[str, int] | None = None

    def _nearest(self) -> dict[str, int]:
        """For every node, the underflowing edge nearest downstream of it (one reverse
        topological pass; only made when some gradient is 0 and some edge underflowed)."""
        if self._first is None:
            keys = self.plan.edge_keys
            at: dict[str, int] = {}
            for e in self.edges:
                at.setdefault(keys[e][0], e)
            first: dict[str, int] = {}
            g = self.graph
            for n in reversed(g.topological_order()):
                if n in at:
                    first[n] = at[n]
                    continue
                for c, _ in g.consumers(n):
                    if c in first:
                        first[n] = first[c]
                        break
            self._first = first
        return self._first

    def note(self, nid: str, out_name: str) -> str:
        if not self.edges:
            return ""
        e = self._nearest().get(nid)
        if e is None:
            return ""
        src, tgt, _ = self.plan.edge_keys[e]
        gt = float(self.base.grads[self.plan.index[tgt]])
        loc = float(self.base.locals[e])
        L, x, s, t = (clip(n, 40) for n in (out_name, self.graph.name_of(nid),
                                             self.graph.name_of(src), self.graph.name_of(tgt)))
        return (f"∂{L}/∂{x} is 0 because the product of local derivatives underflowed at "
                f"node {s}: ∂{L}/∂{t} × ∂{t}/∂{s} = {fmt(gt)} × {fmt(loc)} rounds to 0")


def gradient_check(graph: Graph, tolerance: float = TOLERANCE,
                   progress: Progress | None = None) -> list[CheckRow]:
    """One row per input and param leaf, in id order. Raises OutputError when no output
    can be chosen, ValueError for a tolerance that is NaN or negative.

    ``progress(done, total)`` is called before the first leaf and after each; when it
    returns False the check stops and the rows so far are returned (the editor's Stop)."""
    tolerance = check_tolerance(tolerance)
    plan = compile_graph(graph)
    if plan.output_error is not None:
        raise plan.output_error
    base = plan.evaluate()
    out = plan.output
    f = _Nudger(plan, out)
    f0 = base.value(out)
    under = _Underflow(graph, plan, base)
    out_name = graph.name_of(out)
    leaves = [n for n in graph.ids() if graph.op_of(n) in VARIABLE_KINDS]
    rows: list[CheckRow] = []
    if progress is not None and progress(0, len(leaves)) is False:
        return rows
    for done, nid in enumerate(leaves, 1):
        rows.append(_row(graph, plan, base, f, f0, nid, tolerance, under, out_name))
        if progress is not None and progress(done, len(leaves)) is False:
            break
    return rows


def _row(graph: Graph, plan: Plan, base: CompiledResult, f: _Nudger, f0: float, nid: str,
         tolerance: float, under: _Underflow, out_name: str) -> CheckRow:
    op = graph.op_of(nid)
    x = graph.nx.nodes[nid]["value"]
    h = _H * max(1.0, abs(x))
    fp, fm = f.at(nid, x + h), f.at(nid, x - h)
    f.at(nid, x)
    numeric = (fp - fm) / (2 * h)
    analytic = base.grad(nid)
    name = graph.name_of(nid)
    if not plan.on_path[plan.index[nid]]:
        return CheckRow(nid, name, op, analytic, numeric, abs(numeric),
                        "ok" if numeric == 0 else "FAIL", "does not reach the output")
    if not (math.isfinite(analytic) and math.isfinite(numeric)):
        same = (math.isnan(analytic) and math.isnan(numeric)) or analytic == numeric
        return CheckRow(nid, name, op, analytic, numeric, math.nan, "undefined",
                        "the derivative is not finite here"
                        + ("" if same else " (the two disagree)"))
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
    if analytic == 0:
        note = under.note(nid, out_name) or note
    return CheckRow(nid, name, op, analytic, numeric, err, status, note)


# ---------------------------------------------------------------- over a dataset

class _MeanNudger:
    """L̄(leaf = v): the mean of the output over the loaded rows, from a batch plan
    (forward values only; the leaf takes the value v on every row)."""

    def __init__(self, plan: "BatchPlan", out: str) -> None:
        self.plan, self.out = plan, out

    def at(self, nid: str, v: float) -> float:
        self.plan.set_leaf(nid, v)
        self.plan.forward_only()
        return float(np.mean(self.plan.row_of(self.out)))


class _BatchGrads:
    """A BatchResult read as a single result: a leaf's gradient is its batch gradient."""

    def __init__(self, result: "BatchResult") -> None:
        self.result = result

    def grad(self, nid: str) -> float:
        g = self.result.batch_grad(nid)
        return math.nan if g is None else g


class _NoNotes:
    def note(self, nid: str, out_name: str) -> str:
        return ""


def batch_gradient_check(graph: Graph, dataset: "Dataset", tolerance: float = TOLERANCE,
                         progress: Progress | None = None) -> tuple[list[CheckRow], float, int]:
    """The gradient check of the mean loss L̄ = (1/N)·Σ Lᵢ over the dataset's N training
    rows (all rows when none is a training row): each input and param leaf's batch
    gradient ∂L̄/∂leaf beside the central difference of L̄, the leaf nudged on every row
    at once. Data leaves are the data, not checked. Returns (rows, L̄, N); raises
    OutputError like ``gradient_check`` and DataError for a data leaf bound to a column
    the dataset lacks. Kinks are found as in ``gradient_check``; the underflow note is
    not given (it is about one sample's chain of products)."""
    from engine.fast.batch import compile_batch
    tolerance = check_tolerance(tolerance)
    rows = dataset.rows("train")
    plan = compile_batch(graph, dataset, rows if len(rows) else None)
    if plan.output_error is not None:
        raise plan.output_error
    base = plan.evaluate()
    out = plan.output
    f = _MeanNudger(plan, out)
    f0 = float(np.mean(base.losses))
    grads, notes, out_name = _BatchGrads(base), _NoNotes(), graph.name_of(out)
    leaves = [n for n in graph.ids() if graph.op_of(n) in ("input", "param")]
    done_rows: list[CheckRow] = []
    if progress is not None and progress(0, len(leaves)) is False:
        return done_rows, f0, base.n_samples
    for done, nid in enumerate(leaves, 1):
        row = _row(graph, plan, grads, f, f0, nid, tolerance, notes,  # type: ignore[arg-type]
                   out_name)
        done_rows.append(row)
        if progress is not None and progress(done, len(leaves)) is False:
            break
    return done_rows, f0, base.n_samples
