"""Evaluation: forward in topological order, backward in reverse, numbers on every edge.

This is the readable reference evaluation: one loop forward, one loop backward,
every number the canvas shows produced here. Gradients start from zero on every
call, so evaluating twice gives the same numbers. Numeric faults never raise:
they become NaN/±inf with a reason, and downstream nodes name where they came from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from engine.errors import OutputError
from engine.graph import Graph
from engine.numfmt import fmt
from engine.ops import OPS

F = np.float64


@dataclass(slots=True)
class NodeResult:
    value: float
    grad: float = 0.0
    on_path: bool = False
    #: why ``value`` is not finite (None when it is)
    reason: str | None = None
    #: id of the node where a non-finite value started (itself for the root fault)
    origin: str | None = None
    #: why ``grad`` is not finite (None when it is)
    grad_reason: str | None = None


@dataclass(slots=True)
class EdgeResult:
    source: str
    target: str
    port: str
    #: ∂target/∂source at this port
    local: float
    #: ∂L/∂target × local — this edge's share of ∂L/∂source
    product: float = 0.0
    on_path: bool = False
    reason: str | None = None


@dataclass
class Result:
    output: str | None
    #: forward order (topological); the backward pass walks ``reversed(order)``
    order: list[str]
    nodes: dict[str, NodeResult]
    #: keyed by (source, target, port)
    edges: dict[tuple[str, str, str], EdgeResult]
    #: set when no output could be chosen (then every gradient is 0)
    output_error: OutputError | None = None

    @property
    def backward_order(self) -> list[str]:
        return [n for n in reversed(self.order) if self.nodes[n].on_path]

    def value(self, nid: str) -> float:
        return self.nodes[nid].value

    def grad(self, nid: str) -> float:
        return self.nodes[nid].grad

    def edge(self, source: str, target: str, port: str) -> EdgeResult:
        return self.edges[(source, target, port)]


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
                nodes[nid] = NodeResult(data["value"])
                continue
            ins = graph.inputs(nid)
            if not spec.variadic:
                fed = {p for p, _ in ins}
                missing = [p for p in spec.ports if p not in fed]
                if missing:
                    why = (f"{data['name']}: input port {missing[0]!r} is not connected")
                    nodes[nid] = NodeResult(math.nan, reason=why, origin=nid)
                    for port, src in ins:
                        edges[(src, nid, port)] = EdgeResult(
                            src, nid, port, math.nan, reason=why)
                    continue
            args = [F(nodes[src].value) for _, src in ins]
            value = float(spec.forward(*args))
            res = NodeResult(value)
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
                    why = spec.explain(*args) if spec.explain else None
                    res.reason = why or f"{spec.title.lower()} is not finite"
            nodes[nid] = res
            undefined = math.isnan(value) and res.origin == nid
            for port, src in ins:
                fn, formula = spec.deriv_for(port)
                local = math.nan if undefined else float(fn(*args))
                er = EdgeResult(src, nid, port, local)
                if undefined:
                    er.reason = f"{data['name']} is undefined here ({res.reason})"
                elif not _finite(local):
                    if not all(_finite(a) for a in args):
                        er.reason = "an input of " + data["name"] + " is not finite"
                    else:
                        er.reason = (f"∂{data['name']}/∂{graph.name_of(src)} = "
                                     f"{_fill(formula, graph, ins, args)} is {fmt(local)}")
                edges[(src, nid, port)] = er

        if output is not None:
            on_path = nx.ancestors(G, output)
            on_path.add(output)
            for nid in on_path:
                nodes[nid].on_path = True
            nodes[output].grad = 1.0
            for nid in reversed(order):
                if nid not in on_path:
                    continue
                g = nodes[nid].grad
                for src, _, port in G.in_edges(nid, keys=True):
                    er = edges[(src, nid, port)]
                    er.on_path = True
                    er.product = g * er.local
                    nodes[src].grad += er.product
                    if not _finite(er.product) and er.reason is None:
                        er.reason = ("∂L/∂" + graph.name_of(nid) + " is not finite"
                                     if not _finite(g) else
                                     f"∂L/∂{graph.name_of(nid)} × local = {fmt(g)} × "
                                     f"{fmt(er.local)} is not finite")
            for nid in on_path:
                nr = nodes[nid]
                if not _finite(nr.grad):
                    bad = [edges[(nid, d, k)] for _, d, k in G.out_edges(nid, keys=True)
                           if not _finite(edges[(nid, d, k)].product)]
                    nr.grad_reason = (f"edge {graph.name_of(nid)} → "
                                      f"{graph.name_of(bad[0].target)}: {bad[0].reason}"
                                      if bad else "gradient is not finite")
    return Result(output, order, nodes, edges, output_error)


def _fill(formula: str, graph: Graph, ins: list[tuple[str, str]], args: list) -> str:
    """A derivative formula with the operands' numbers filled in, for fault messages."""
    try:
        return formula.format(**{p: fmt(a) for (p, _), a in zip(ins, args)}, out="out")
    except (KeyError, IndexError):
        return formula
