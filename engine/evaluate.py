"""Evaluation: forward in topological order, backward in reverse, numbers on every edge.

This is the readable reference evaluation, the tests' oracle: one loop forward, one
loop backward, one node at a time, calling the registry's own functions on numpy
scalars. The fast engine (``engine.fast``) calls the same functions on arrays and must
agree with it within a few units in the last place. Gradients start from zero on every
call, so evaluating twice gives the same numbers. Numeric faults never raise: they
become NaN/±inf with a sentence saying why, and downstream nodes name where they came
from. Constants (and nodes computed from constants alone) get no gradient.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from engine.errors import OutputError
from engine.graph import Graph
from engine.numfmt import fmt
from engine.ops import OPS, VARIABLE_KINDS, explain_local, explain_value
from engine.result import CONSTANT, EdgeResult, NodeResult, Result

F = np.float64

__all__ = ["evaluate", "EdgeResult", "NodeResult", "Result"]


def _finite(x: float) -> bool:
    return not (math.isnan(x) or math.isinf(x))


def evaluate(graph: Graph, *, allow_no_output: bool = False) -> Result:
    """Evaluate ``graph`` and backpropagate from its output.

    Raises OutputError when no output can be chosen, unless ``allow_no_output``
    (the editor's case): then values and local derivatives are still computed.
    """
    output_error: OutputError | None = None
    try:
        output: str | None = graph.resolve_output()
    except OutputError as e:
        if not allow_no_output:
            raise
        output, output_error = None, e

    order = graph.topological_order()
    nodes: dict[str, NodeResult] = {}
    edges: dict[tuple[str, str, str], EdgeResult] = {}
    G = graph.nx
    with np.errstate(all="ignore"):
        for nid in order:
            data = G.nodes[nid]
            spec = OPS[data["op"]]
            if spec.is_leaf:
                variable = spec.name in VARIABLE_KINDS
                nodes[nid] = NodeResult(data["value"], 0.0 if variable else None,
                                        grad_reason=None if variable else CONSTANT)
                continue
            ins = graph.inputs(nid)
            variable = any(nodes[src].grad is not None for _, src in ins)
            res = NodeResult(math.nan, 0.0 if variable else None,
                             grad_reason=None if variable else CONSTANT)
            nodes[nid] = res
            if not spec.variadic and len(ins) < len(spec.ports):
                fed = {p for p, _ in ins}
                missing = next(p for p in spec.ports if p not in fed)
                res.reason = f"{data['name']}: input port {missing!r} is not connected"
                res.origin = nid
                for port, src in ins:
                    edges[(src, nid, port)] = _edge(nodes, src, nid, port, math.nan,
                                                    res.reason)
                continue
            attrs = data.get("attrs", {})
            args = [F(nodes[src].value) for _, src in ins]
            value = float(spec.value(args, attrs))
            res.value = value
            if not _finite(value):
                bad = next((src for _, src in ins if not _finite(nodes[src].value)), None)
                if bad is not None:
                    root = nodes[bad].origin or bad
                    root_reason = nodes[root].reason if root in nodes else None
                    res.origin = root
                    res.reason = (f"comes from {graph.name_of(root)}"
                                  + (f" ({root_reason})" if root_reason else ""))
                else:
                    res.origin = nid
                    res.reason = explain_value(spec, args, attrs)
            locs = spec.locals(F(value), args, attrs)
            for (port, src), local in zip(ins, locs):
                local = float(local)
                why = None
                if not _finite(local):
                    if res.origin == nid:
                        why = res.reason
                    elif not all(_finite(a) for a in args):
                        why = f"an input of {data['name']} is not finite"
                    else:
                        why = explain_local(spec, local, args, attrs)
                edges[(src, nid, port)] = _edge(nodes, src, nid, port, local, why)

        if output is not None:
            on_path = nx.ancestors(G, output)
            on_path.add(output)
            for nid in on_path:
                nodes[nid].on_path = True
            out = nodes[output]
            if out.grad is not None:
                out.grad = 1.0
            for nid in reversed(order):
                if nid not in on_path:
                    continue
                nr = nodes[nid]
                g = nr.grad
                if g is not None and not _finite(g):  # complete: its consumers came first
                    nr.grad_reason = _grad_reason(graph, edges, nid)
                for src, _, port in G.in_edges(nid, keys=True):
                    er = edges[(src, nid, port)]
                    er.on_path = True
                    if g is None or er.local is None:
                        continue  # from a constant: nothing to send
                    er.product = g * er.local
                    nodes[src].grad += er.product
                    if not _finite(er.product) and er.reason is None:
                        er.reason = (nr.grad_reason if not _finite(g) else
                                     f"overflow: ∂L/∂{graph.name_of(nid)} × local = "
                                     f"{fmt(g)} × {fmt(er.local)} is too large")
    return Result(output, order, nodes, edges, output_error)


def _grad_reason(graph: Graph, edges: dict, nid: str) -> str:
    """Why ∂L/∂nid is not finite: where the first non-finite product on its way back
    from the output started, in one sentence."""
    for _, d, k in graph.nx.out_edges(nid, keys=True):
        er = edges[(nid, d, k)]
        if er.on_path and er.product is not None and not _finite(er.product) and er.reason:
            if er.reason.startswith("comes from") or er.reason.startswith("overflow"):
                return er.reason
            return f"comes from {graph.name_of(d)} ({er.reason})"
    return "overflow: the sum of the products is too large"


def _edge(nodes: dict[str, NodeResult], src: str, dst: str, port: str, local: float,
          reason: str | None) -> EdgeResult:
    """An edge's result before the backward pass: none of its numbers when it leaves a
    constant."""
    if nodes[src].grad is None:
        return EdgeResult(src, dst, port, None, None, reason=CONSTANT)
    return EdgeResult(src, dst, port, local, 0.0, reason=reason)
