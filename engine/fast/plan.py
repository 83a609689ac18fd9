"""A compiled plan: the graph flattened once, then evaluated by one of two strategies.

``engine.evaluate`` walks networkx for every number it produces, which is clear but
costs microseconds per node. ``compile_graph`` reads the topology once into flat
arrays (``engine.fast.flat``); ``Plan.evaluate`` then produces the same forward values,
gradients, local derivatives and products without touching networkx. The strategy is
chosen per graph from a cost estimate; both only *schedule* — every number comes from
the registry's own array functions (``OpSpec.value`` and ``OpSpec.locals``):

* **wide** (``engine.fast.wide``) — nodes grouped by (topological generation, op), one
  registry call per group; fast when generations are wide (MLPs, random DAGs).
* **deep** (``engine.fast.deep``) — values one node at a time in a flat loop, local
  derivatives per op in bulk; fast when the graph is narrow and deep (a chain has one
  node per generation, so per-group overhead would dominate).

Gradients are accumulated in the reference's order (consumers in reverse topological
order, each consumer's in-edges in networkx order), so the only differences from the
reference are those of numpy's array and scalar kernels, a few units in the last place
on some CPUs. Results stay valid until the topology changes; a leaf's value change only
needs ``Plan.update_leaf``, and a finite difference only ``Plan.nudge_leaf`` (the values
downstream of the leaf, nothing else).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Mapping, Protocol, Sequence

import numpy as np

from engine.errors import OutputError
from engine.gc_pause import paused_gc
from engine.evaluate import evaluate
from engine.fast.flat import FlatGraph
from engine.graph import Graph
from engine.ops import VARIABLE_KINDS
from engine.result import CONSTANT, EdgeResult, NodeResult, Result

#: cost model (µs) measured on a 2-core machine; only their ratios matter
_WIDE_PER_GROUP = 25.0
_WIDE_PER_NODE = 0.04
_DEEP_PER_NODE = 0.6

MODES = ("auto", "wide", "deep")


def topology_signature(graph: Graph) -> tuple:
    """Everything a plan depends on except the values of inputs and params: nodes with
    their ops (a const differs from an input: it has no gradient) and attributes,
    edges and the output. O(nodes + edges).

    Callers that know when they made a structural edit can skip this and recompile."""
    def node(n: str, d: dict) -> tuple:
        op = "variable leaf" if d["op"] in VARIABLE_KINDS else d["op"]
        return (n, op, tuple(sorted(d["attrs"].items()))) if "attrs" in d else (n, op)

    G = graph.nx
    return (graph.output, tuple(node(n, d) for n, d in G.nodes(data=True)),
            tuple(G.edges(keys=True)))


class Strategy(Protocol):
    """What a plan asks of a strategy. Node and edge numbering is the strategy's own
    (``ids``; ``eperm`` maps its edges to the flat graph's, None when they agree)."""

    ids: list[str]
    eperm: np.ndarray | None
    #: its edge numbers in the order the reference fills ``Result.edges``
    ref_edges: np.ndarray
    edge_src: np.ndarray
    edge_tgt: np.ndarray
    leaf_indices: list[int]
    on_path: np.ndarray
    variable: np.ndarray

    def is_leaf(self, i: int) -> bool: ...
    def set_value(self, i: int, v: float) -> None: ...
    def forward(self) -> None: ...
    def forward_cone(self, leaf: int) -> None: ...
    def forward_values_cone(self, leaf: int) -> None: ...
    def value(self, i: int) -> float: ...
    def backward(self) -> None: ...
    def snapshot(self) -> tuple[Sequence[float], Sequence[float], Sequence[float],
                                Sequence[float]]: ...


@dataclass
class CompiledResult:
    """Numbers of one evaluation, indexed like ``plan.ids`` / ``plan.edge_keys``.

    Buffers are snapshots (lists on the deep path, arrays on the wide path); the array
    properties convert lazily, so code that reads a few numbers pays for a few. Where a
    node is constant its gradient is NaN in ``grads`` and None from ``grad``; likewise
    the local and product of an edge leaving a constant."""

    plan: "Plan"
    _values: Sequence[float]
    _grads: Sequence[float]
    _locals: Sequence[float]
    _products: Sequence[float]

    @property
    def values(self) -> np.ndarray:
        return np.asarray(self._values, dtype=np.float64)

    def _variable_only(self, numbers, mask: np.ndarray) -> np.ndarray:
        """``numbers`` as float64, NaN where a constant has no derivative to show."""
        v = np.asarray(numbers, dtype=np.float64)
        return v if self.plan.all_variable else np.where(mask, v, np.nan)

    @property
    def grads(self) -> np.ndarray:
        return self._variable_only(self._grads, self.plan.variable)

    @property
    def locals(self) -> np.ndarray:
        return self._variable_only(self._locals, self.plan.edge_variable)

    @property
    def products(self) -> np.ndarray:
        return self._variable_only(self._products, self.plan.edge_variable)

    @property
    def on_path(self) -> np.ndarray:
        return self.plan.on_path

    @property
    def edge_on_path(self) -> np.ndarray:
        return self.plan.edge_on_path

    def value(self, nid: str) -> float:
        return float(self._values[self.plan.index[nid]])

    def grad(self, nid: str) -> float | None:
        i = self.plan.index[nid]
        return float(self._grads[i]) if self.plan.variable[i] else None

    def edge(self, source: str, target: str, port: str) -> tuple[float | None, float | None]:
        """(local derivative, product) of one edge; (None, None) when it leaves a
        constant."""
        e = self.plan.edge_index[(source, target, port)]
        if not self.plan.edge_variable[e]:
            return None, None
        return float(self._locals[e]), float(self._products[e])

    def all_finite(self) -> bool:
        """Every number that exists is finite (constants' absent gradients aside)."""
        p = self.plan
        if not np.isfinite(self.values).all():
            return False
        g, loc, prod = (np.asarray(x, dtype=np.float64)
                        for x in (self._grads, self._locals, self._products))
        if p.all_variable:
            return bool(np.isfinite(g).all() and np.isfinite(loc).all()
                        and np.isfinite(prod).all())
        ev = p.edge_variable
        return bool(np.isfinite(g[p.variable]).all() and np.isfinite(loc[ev]).all()
                    and np.isfinite(prod[ev]).all())

    def to_result(self, graph: Graph) -> Result:
        """The reference ``Result`` shape for the editor. Reasons for NaN/inf are only
        worded by the reference evaluation, so a non-finite number anywhere falls back
        to it (the graph must still hold the plan's topology and leaf values)."""
        plan = self.plan
        if not self.all_finite():
            return evaluate(graph, allow_no_output=True)
        vals, grads = self.values.tolist(), self.grads.tolist()
        onp, var = plan.on_path.tolist(), plan.variable.tolist()
        index = plan.index
        nodes = {}
        for nid in plan.order:  # the reference's insertion order: topological
            i = index[nid]
            nodes[nid] = (NodeResult(vals[i], grads[i], onp[i]) if var[i] else
                          NodeResult(vals[i], None, onp[i], grad_reason=CONSTANT))
        loc, prod = self.locals.tolist(), self.products.tolist()
        eon, evar = plan.edge_on_path.tolist(), plan.edge_variable.tolist()
        keys = plan.edge_keys
        edges = {}
        for e in plan.reference_edge_order():
            k = keys[e]
            edges[k] = (EdgeResult(k[0], k[1], k[2], loc[e], prod[e], eon[e]) if evar[e]
                        else EdgeResult(k[0], k[1], k[2], None, None, eon[e], CONSTANT))
        return Result(plan.output, list(plan.order), nodes, edges, plan.output_error)


class Plan:
    """A graph compiled for fast repeated evaluation. Build with ``compile_graph``."""

    def __init__(self, graph: Graph, mode: str = "auto") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r} (choose from {', '.join(MODES)})")
        with paused_gc():
            self._build(graph, mode)

    def _build(self, graph: Graph, mode: str) -> None:
        self.output_error: OutputError | None = None
        try:
            self.output: str | None = graph.resolve_output()
        except OutputError as e:
            self.output, self.output_error = None, e
        f = FlatGraph(graph.nx)
        self.order = f.order
        n, m = f.n, f.m
        out = None if self.output is None else f.index_of(self.output)
        on_path = f.ancestors(out) if out is not None else np.zeros(n, dtype=bool)
        variable = f.variables()
        gen = f.generations()
        # ---- the strategy, from the cost estimate
        deg = np.where(f.leaf, 0, f.indeg)
        group_key = (gen * len(f.tables.names) + f.opc) * (int(deg.max(initial=0)) + 1) + deg
        group_key.sort()
        ngroups = int(np.count_nonzero(group_key[1:] != group_key[:-1])) + 1 if n else 0
        n_ops = n - int(np.count_nonzero(f.leaf))
        est_wide = ngroups * _WIDE_PER_GROUP + n_ops * _WIDE_PER_NODE
        est_deep = n_ops * _DEEP_PER_NODE
        if mode == "auto":
            mode = "wide" if est_wide < est_deep else "deep"
        self.mode = mode
        self.n_nodes, self.n_edges, self.n_ops, self.n_groups = n, m, n_ops, ngroups
        eng = self._make_strategy(mode, f, on_path, variable, gen, out)
        self._engine = eng
        self.ids: list[str] = eng.ids
        self._flat = f
        self._edge_keys: list[tuple[str, str, str]] | None = None
        self._index: dict[str, int] | None = None
        self._edge_index: dict[tuple[str, str, str], int] | None = None
        self._ref_edges: list[int] | None = None
        self.on_path = np.asarray(eng.on_path, dtype=bool)
        self.variable = np.asarray(eng.variable, dtype=bool)
        self.all_variable = bool(self.variable.all())
        #: each edge's source and target as positions in ``ids`` (edges indexed like
        #: the result arrays)
        self.edge_src = np.asarray(eng.edge_src, dtype=np.int64)
        self.edge_tgt = np.asarray(eng.edge_tgt, dtype=np.int64)
        if m:
            self.edge_on_path = self.on_path[self.edge_tgt]
            self.edge_variable = self.variable[self.edge_src]
        else:
            self.edge_on_path = self.edge_variable = np.zeros(0, dtype=bool)
        self.leaves = [self.ids[i] for i in eng.leaf_indices]
        self._evaluated = False
        #: values were changed by nudge_leaf: derivatives no longer match them
        self._nudged = False

    def _make_strategy(self, mode: str, f: FlatGraph, on_path: np.ndarray,
                       variable: np.ndarray, gen: np.ndarray, out: int | None) -> Strategy:
        if mode == "deep":
            from engine.fast.deep import DeepStrategy
            return DeepStrategy(f, on_path, variable, out)
        from engine.fast.wide import WideStrategy
        return WideStrategy(f, on_path, variable, gen, out)

    @property
    def edge_keys(self) -> list[tuple[str, str, str]]:
        """(source, target, port) of every edge, indexed like the result arrays
        (built on first use)."""
        if self._edge_keys is None:
            f, eperm = self._flat, self._engine.eperm
            order = np.array(f.order, dtype=object)
            src, tgt = order[f.src], order[f.tgt]
            ports = np.array(f.edge_ports(), dtype=object)
            if eperm is not None and f.m:
                src, tgt, ports = src[eperm], tgt[eperm], ports[eperm]
            self._edge_keys = list(zip(list(src), list(tgt), list(ports)))
        return self._edge_keys

    @property
    def index(self) -> dict[str, int]:
        """Node id → position in ``ids`` and in the result arrays (built on first use)."""
        if self._index is None:
            self._index = {nid: i for i, nid in enumerate(self.ids)}
        return self._index

    @property
    def edge_index(self) -> dict[tuple[str, str, str], int]:
        """(source, target, port) → position in ``edge_keys`` (built on first use)."""
        if self._edge_index is None:
            self._edge_index = {k: e for e, k in enumerate(self.edge_keys)}
        return self._edge_index

    def reference_edge_order(self) -> list[int]:
        """Edge positions in the order the reference fills ``Result.edges``: targets in
        topological order, each target's edges in port order (built on first use)."""
        if self._ref_edges is None:
            self._ref_edges = np.asarray(self._engine.ref_edges, dtype=np.int64).tolist()
        return self._ref_edges

    # ------------------------------------------------------------------ values
    def set_leaf(self, index_or_id: int | str, value: float) -> None:
        """Change a leaf's value without evaluating."""
        i = self._leaf_index(index_or_id)
        self._engine.set_value(i, float(value))
        self._evaluated = False

    def read_values(self, graph: Graph) -> None:
        """Copy every leaf value from ``graph`` (same topology) into the plan."""
        node = graph.nx.nodes
        for i in self._engine.leaf_indices:
            self._engine.set_value(i, float(node[self.ids[i]]["value"]))
        self._evaluated = False

    def _leaf_index(self, index_or_id: int | str) -> int:
        i = self.index[index_or_id] if isinstance(index_or_id, str) else int(index_or_id)
        if not self._engine.is_leaf(i):
            raise ValueError(f"{self.ids[i]} is not a leaf")
        return i

    # -------------------------------------------------------------- evaluation
    def evaluate(self, values: Mapping[str, float] | None = None) -> CompiledResult:
        """Forward, backward and every edge's numbers. ``values`` (leaf id → value)
        are stored in the plan first."""
        self._run(values)
        return CompiledResult(self, *self._engine.snapshot())

    def _run(self, values: Mapping[str, float] | None) -> None:
        """Store ``values``, then the full forward and backward passes."""
        if values:
            for nid, v in values.items():
                self._engine.set_value(self._leaf_index(nid), float(v))
        with np.errstate(all="ignore"), paused_gc():
            self._engine.forward()
            self._engine.backward()
        self._evaluated = True
        self._nudged = False

    def update_leaf(self, index_or_id: int | str, value: float) -> CompiledResult:
        """Set one leaf and bring every number up to date: forward only over the
        leaf's downstream cone, then the full backward pass."""
        i = self._leaf_index(index_or_id)
        if not self._evaluated or self._nudged:
            self._engine.set_value(i, float(value))
            return self.evaluate()
        with np.errstate(all="ignore"), paused_gc():
            self._engine.set_value(i, float(value))
            self._engine.forward_cone(i)
            self._engine.backward()
        return CompiledResult(self, *self._engine.snapshot())

    def nudge_leaf(self, index_or_id: int | str, value: float) -> None:
        """Set one leaf and recompute only the forward values downstream of it: no local
        derivatives, no backward pass, no snapshot. What a finite difference needs (read
        the output with ``value_of``); the cost is the leaf's cone, not the graph. Local
        derivatives and gradients are stale afterwards, so the next ``update_leaf``
        evaluates in full (``evaluate`` always does)."""
        i = self._leaf_index(index_or_id)
        with np.errstate(all="ignore"), paused_gc():
            if not self._evaluated:
                self._engine.forward()
                self._evaluated = True  # values are current; derivatives are marked stale
            self._engine.set_value(i, float(value))
            self._engine.forward_values_cone(i)
        self._nudged = True

    def value_of(self, nid: str) -> float:
        """The current forward value of one node (after evaluate, update_leaf or
        nudge_leaf), read without a snapshot."""
        return float(self._engine.value(self.index[nid]))

    def __repr__(self) -> str:
        return (f"<Plan {self.mode}: {self.n_nodes} nodes ({self.n_ops} ops), "
                f"{self.n_edges} edges, {self.n_groups} groups>")


def compile_graph(graph: Graph, mode: str = "auto") -> Plan:
    """Flatten ``graph`` for fast evaluation. ``mode``: "auto", "wide" or "deep".

    The plan holds a copy of the leaf values; recompile after any change of nodes,
    edges, ops, attributes or the output (``topology_signature`` detects one)."""
    return Plan(graph, mode)


def evaluate_graph(graph: Graph, *, allow_no_output: bool = False) -> Result:
    """Compile and evaluate once, in the reference's ``Result`` shape: what the command
    line and training show. Raises OutputError like ``engine.evaluate.evaluate``."""
    plan = compile_graph(graph)
    if plan.output_error is not None and not allow_no_output:
        raise plan.output_error
    return plan.evaluate().to_result(graph)
