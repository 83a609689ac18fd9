"""Compiled evaluation: the graph flattened once into integer-indexed arrays.

``engine.evaluate`` walks networkx for every number it produces, which is clear but
costs microseconds per node. ``compile_graph`` reads the topology once into flat
arrays; ``Plan.evaluate`` then computes the same forward values, gradients, local
derivatives and products without touching networkx. Two strategies, chosen per graph
from a cost estimate:

* **numpy** — nodes are grouped by (topological generation, op) and each group is one
  vectorised kernel call; fast when generations are wide (MLPs, random DAGs).
* **python** — a plain loop over flat lists in topological order; fast when the graph is
  narrow and deep (a chain has one node per generation, so per-group numpy overhead
  would dominate).

Both reproduce the reference bit for bit: the same kernels as the registry (see
``engine.compiled_kernels``), sums taken left to right from 0.0, and every gradient
accumulated in the reference's order (consumers in reverse topological order, each
consumer's in-edges in networkx order). Results stay valid until the topology changes;
a leaf's value change only needs ``Plan.update_leaf``.
"""

from __future__ import annotations

import gc
import heapq
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from engine.errors import OutputError
from engine.evaluate import EdgeResult, NodeResult, Result, evaluate
from engine.graph import Graph, id_key
from engine.ops import OPS, variadic_port_key

#: cost model (µs) measured on a 2-core machine; only their ratios matter
_NUMPY_PER_GROUP = 25.0
_NUMPY_PER_NODE = 0.04
_PY_PER_NODE = 0.45


@contextmanager
def _no_gc():
    """Pause the cyclic garbage collector: the passes allocate many small acyclic
    objects, and on a large heap its scans cost more than the work itself."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def topology_signature(graph: Graph) -> tuple:
    """Everything a plan depends on except leaf values (O(nodes + edges)).

    Callers that know when they made a structural edit can skip this and recompile."""
    G = graph.nx
    return (graph.output, tuple((n, d["op"] if not OPS[d["op"]].is_leaf else "")
                                for n, d in G.nodes(data=True)),
            tuple(G.edges(keys=True)))


_LEAF_OPS = frozenset(n for n, sp in OPS.items() if sp.is_leaf)
_PORT_INDEX = {n: {p: i for i, p in enumerate(sp.ports)} for n, sp in OPS.items()}


def _sort_key(ids: list[str]):
    """id_key, as a plain int when every id is ``n<digits>`` (the usual case)."""
    if all(n[:1] == "n" and n[1:].isdigit() and n[1:2] != "0" for n in ids):
        return lambda n: int(n[1:])
    return id_key


def _topological_order(graph: Graph) -> list[str]:
    """The reference's order: among ready nodes always the smallest id (see
    Graph.topological_order), computed with integer ranks instead of networkx."""
    G = graph.nx
    ids = list(G._node)
    ids.sort(key=_sort_key(ids))  # stable: ties keep insertion order, as networkx does
    rank = {n: i for i, n in enumerate(ids)}
    pred, succ = G._pred, G._succ
    # builders usually add nodes in topological order: then the id order is the answer
    if all(rank[c] > r for r, n in enumerate(ids) for c in succ[n]):
        return ids
    n = len(ids)
    indeg = [0] * n
    for nid, ps in pred.items():
        indeg[rank[nid]] = sum(map(len, ps.values()))
    succ_r = [[(rank[c], len(keys)) for c, keys in succ[nid].items()] for nid in ids]
    # Scan ranks upward, emitting each node that is ready; a node passed over while
    # waiting goes on a heap when it becomes ready and, being smaller than the scan
    # position, is emitted first. Same order as a heap of all ready nodes, O(E + h log h).
    out: list[str] = []
    heap: list[int] = []
    p = 0
    while True:
        if heap:
            r = heapq.heappop(heap)
        else:
            while p < n and indeg[p] != 0:
                p += 1
            if p == n:
                break
            r = p
            p += 1
        out.append(ids[r])
        for rc, k in succ_r[r]:
            left = indeg[rc] - k
            indeg[rc] = left
            if left == 0 and rc < p:
                heapq.heappush(heap, rc)
    if len(out) != len(ids):
        raise ValueError("the graph has a cycle")
    return out


@dataclass
class CompiledResult:
    """Numbers of one evaluation, indexed like ``plan.ids`` / ``plan.edge_keys``.

    Buffers are snapshots (lists on the python path, arrays on the numpy path); the
    array properties convert lazily, so code that reads a few numbers pays for a few."""

    plan: "Plan"
    _values: Sequence[float]
    _grads: Sequence[float]
    _locals: Sequence[float]
    _products: Sequence[float]

    @property
    def values(self) -> np.ndarray:
        return np.asarray(self._values, dtype=np.float64)

    @property
    def grads(self) -> np.ndarray:
        return np.asarray(self._grads, dtype=np.float64)

    @property
    def locals(self) -> np.ndarray:
        return np.asarray(self._locals, dtype=np.float64)

    @property
    def products(self) -> np.ndarray:
        return np.asarray(self._products, dtype=np.float64)

    @property
    def on_path(self) -> np.ndarray:
        return self.plan.on_path

    @property
    def edge_on_path(self) -> np.ndarray:
        return self.plan.edge_on_path

    def value(self, nid: str) -> float:
        return float(self._values[self.plan.index[nid]])

    def grad(self, nid: str) -> float:
        return float(self._grads[self.plan.index[nid]])

    def edge(self, source: str, target: str, port: str) -> tuple[float, float]:
        """(local derivative, product) of one edge."""
        e = self.plan.edge_index[(source, target, port)]
        return float(self._locals[e]), float(self._products[e])

    def all_finite(self) -> bool:
        return bool(np.isfinite(self.values).all() and np.isfinite(self.grads).all()
                    and np.isfinite(self.locals).all() and np.isfinite(self.products).all())

    def to_result(self, graph: Graph) -> Result:
        """The reference ``Result`` shape for the editor. Reasons for NaN/inf are only
        worded by the reference evaluation, so a non-finite number anywhere falls back
        to it (the graph must still hold the plan's topology and leaf values)."""
        plan = self.plan
        if not self.all_finite():
            return evaluate(graph, allow_no_output=True)
        vals, grads = self.values.tolist(), self.grads.tolist()
        onp = plan.on_path.tolist()
        index = plan.index
        nodes = {}
        for nid in plan.order:  # the reference's insertion order: topological
            i = index[nid]
            nodes[nid] = NodeResult(vals[i], grads[i], onp[i])
        loc, prod = self.locals.tolist(), self.products.tolist()
        eon = plan.edge_on_path.tolist()
        keys = plan.edge_keys
        edges = {}
        for e in plan.reference_edge_order():
            k = keys[e]
            edges[k] = EdgeResult(k[0], k[1], k[2], loc[e], prod[e], eon[e])
        return Result(plan.output, list(plan.order), nodes, edges, plan.output_error)


class Plan:
    """A graph compiled for fast repeated evaluation. Build with ``compile_graph``."""

    def __init__(self, graph: Graph, mode: str = "auto", exact: bool = True) -> None:
        with _no_gc():
            self._build(graph, mode, exact)

    def _build(self, graph: Graph, mode: str, exact: bool) -> None:
        G = graph.nx
        self.output_error: OutputError | None = None
        try:
            self.output: str | None = graph.resolve_output()
        except OutputError as e:
            self.output, self.output_error = None, e
        order = _topological_order(graph)
        self.order = order
        self._ref_edges: list[int] | None = None
        pos = {n: i for i, n in enumerate(order)}
        nodedata, pred = G._node, G._pred
        n = len(order)
        # ---- per node, in reference order
        ops: list[str] = [""] * n
        leafval: list[float] = [0.0] * n
        fwd_src: list[list[int]] = [[] for _ in range(n)]   # sources in port order
        fwd_edge: list[list[int]] = [[] for _ in range(n)]  # edge ids in port order
        missing = [False] * n
        edge_keys: list[tuple[str, str, str]] = []
        edge_src: list[int] = []
        edge_tgt: list[int] = []
        bw: list[list[int]] = [[] for _ in range(n)]  # edge ids in networkx in-edge order
        for i, nid in enumerate(order):
            d = nodedata[nid]
            op = d["op"]
            ops[i] = op
            if op in _LEAF_OPS:
                leafval[i] = float(d["value"])
                continue
            ins = [(port, src) for src, keys in pred[nid].items() for port in keys]
            e0 = len(edge_keys)
            for port, src in ins:
                edge_keys.append((src, nid, port))
                edge_src.append(pos[src])
                edge_tgt.append(i)
            k = len(ins)
            bw[i] = list(range(e0, e0 + k))
            if op == "sum":
                keyed = sorted((variadic_port_key(p), e0 + j, pos[s])
                               for j, (p, s) in enumerate(ins))
            else:
                pidx = _PORT_INDEX[op]
                keyed = sorted((pidx[p], e0 + j, pos[s]) for j, (p, s) in enumerate(ins))
                missing[i] = k < len(pidx)
            fwd_src[i] = [t[2] for t in keyed]
            fwd_edge[i] = [t[1] for t in keyed]
        m = len(edge_keys)
        # ---- on-path: ancestors of the output
        on_path = [False] * n
        if self.output is not None:
            on_path[pos[self.output]] = True
            for i in range(n - 1, -1, -1):
                if on_path[i]:
                    for s in fwd_src[i]:
                        on_path[s] = True
        # ---- generations
        gen = [0] * n
        for i in range(n):
            if ops[i] not in _LEAF_OPS:
                gen[i] = 1 + max([gen[s] for s in fwd_src[i]], default=0)
        ngroups = len(set(zip(gen, ops, map(len, fwd_src))))
        n_ops = n - sum(1 for o in ops if o in _LEAF_OPS)
        est_np = ngroups * _NUMPY_PER_GROUP + n_ops * _NUMPY_PER_NODE
        est_py = n_ops * _PY_PER_NODE
        if mode == "auto":
            mode = "numpy" if est_np < est_py else "python"
        if mode not in ("numpy", "python"):
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode
        self.n_nodes, self.n_edges, self.n_ops, self.n_groups = n, m, n_ops, ngroups
        # accumulation rank: the reference adds ∂L/∂source shares consumer by consumer
        # in reverse topological order, each consumer's in-edges in networkx order
        # edges are numbered target by target in topological order, each target's
        # in networkx order: so the rank sorts by target descending, then edge id
        tg = np.asarray(edge_tgt, dtype=np.int64)
        acc_order = np.lexsort((np.arange(m), -tg))
        rank_arr = np.empty(m, dtype=np.int64)
        rank_arr[acc_order] = np.arange(m)
        rank = rank_arr
        common = dict(ops=ops, leafval=leafval, fwd_src=fwd_src, fwd_edge=fwd_edge,
                      missing=missing, edge_src=edge_src, edge_tgt=edge_tgt, bw=bw,
                      on_path=on_path, gen=gen, rank=rank, edge_keys=edge_keys)
        if mode == "python":
            from engine.compiled_loop import LoopEngine
            self._engine = LoopEngine(order, common, pos.get(self.output), exact)
        else:
            from engine.compiled_numpy import NumpyEngine
            self._engine = NumpyEngine(order, common, pos.get(self.output))
        eng = self._engine
        self.ids: list[str] = eng.ids
        self.edge_keys: list[tuple[str, str, str]] = eng.edge_keys
        self._index: dict[str, int] | None = None
        self._edge_index: dict[tuple[str, str, str], int] | None = None
        self.on_path = np.asarray(eng.on_path, dtype=bool)
        self.edge_on_path = self.on_path[np.asarray(eng.edge_tgt, dtype=np.int64)] \
            if m else np.zeros(0, dtype=bool)
        self.leaves = [self.ids[i] for i in eng.leaf_indices]
        self._ops = ops
        self._evaluated = False

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
            rank = {n: i for i, n in enumerate(self.order)}
            ops, keys = self._ops, self.edge_keys

            def key(e: int) -> tuple[int, int]:
                _, t, p = keys[e]
                r = rank[t]
                op = ops[r]
                return r, (variadic_port_key(p) if op == "sum" else _PORT_INDEX[op][p])
            self._ref_edges = sorted(range(len(keys)), key=key)
        return self._ref_edges

    # ------------------------------------------------------------------ values
    def set_leaf(self, index_or_id: int | str, value: float) -> None:
        """Change a leaf's value without evaluating."""
        i = self._leaf_index(index_or_id)
        self._engine.set_value(i, float(value))
        self._evaluated = False

    def read_values(self, graph: Graph) -> None:
        """Copy every leaf value from ``graph`` (same topology) into the plan."""
        for i in self._engine.leaf_indices:
            self._engine.set_value(i, float(graph.nx._node[self.ids[i]]["value"]))
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
        if values:
            for nid, v in values.items():
                self._engine.set_value(self._leaf_index(nid), float(v))
        with np.errstate(all="ignore"), _no_gc():
            self._engine.forward()
            self._engine.backward()
        self._evaluated = True
        return self._engine.snapshot(self)

    def update_leaf(self, index_or_id: int | str, value: float) -> CompiledResult:
        """Set one leaf and bring every number up to date: forward only over the
        leaf's downstream cone, then the full backward pass."""
        i = self._leaf_index(index_or_id)
        if not self._evaluated:
            self._engine.set_value(i, float(value))
            return self.evaluate()
        with np.errstate(all="ignore"), _no_gc():
            self._engine.set_value(i, float(value))
            self._engine.forward_cone(i)
            self._engine.backward()
        return self._engine.snapshot(self)

    def __repr__(self) -> str:
        return (f"<Plan {self.mode}: {self.n_nodes} nodes ({self.n_ops} ops), "
                f"{self.n_edges} edges, {self.n_groups} groups>")


def compile_graph(graph: Graph, mode: str = "auto", exact: bool = True) -> Plan:
    """Flatten ``graph`` for fast evaluation. ``mode``: "auto", "numpy" or "python".

    ``exact=False`` lets the plain loop use the C library's tanh/exp/log/sin/cos even
    where they differ from numpy's in the last bit (faster on deep chains; results then
    agree with the reference to rounding, not bit for bit). The numpy path is always exact.

    The plan holds a copy of the leaf values; recompile after any change of nodes,
    edges, ops or the output (``topology_signature`` detects one)."""
    return Plan(graph, mode, exact)
