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
from itertools import chain
from operator import itemgetter
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


_PORT_INDEX = {n: {p: i for i, p in enumerate(sp.ports)} for n, sp in OPS.items()}


_OP_NAMES = list(OPS)
_OP_CODE = {name: k for k, name in enumerate(_OP_NAMES)}
_IS_LEAF = np.array([OPS[o].is_leaf for o in _OP_NAMES], dtype=bool)
_VARIADIC = np.array([OPS[o].variadic for o in _OP_NAMES], dtype=bool)
_POW10 = 10 ** np.arange(19, dtype=np.int64)
_FIXED_PORTS = frozenset(p for sp in OPS.values() for p in sp.ports)
_N_PORTS = np.array([len(OPS[o].ports) for o in _OP_NAMES], dtype=np.int64)


class _Codes(dict):
    """Distinct strings numbered in order of first appearance."""

    def __missing__(self, s: str) -> int:
        k = self[s] = len(self)
        return k


def _port_keys(ports: list[str], eop: np.ndarray) -> np.ndarray:
    """Each edge's port key for sorting into forward order: the port's index for a
    fixed-port op, ``variadic_port_key`` for sum (0 for edges into leaves, which are
    dropped). Distinct port names are keyed once; an unknown port raises KeyError."""
    codes = _Codes()
    pc = np.fromiter(map(codes.__getitem__, ports), dtype=np.int64, count=len(ports))
    names = list(codes)
    vk = np.array([variadic_port_key(p) for p in names], dtype=np.int64)
    fixed = np.full((len(_OP_NAMES), len(names)), -1, dtype=np.int64)
    for j, p in enumerate(names):
        if p in _FIXED_PORTS:
            for k, o in enumerate(_OP_NAMES):
                fixed[k, j] = _PORT_INDEX[o].get(p, -1)
    pk = np.where(_VARIADIC[eop], vk[pc], fixed[eop, pc])
    pk[_IS_LEAF[eop]] = 0
    bad = np.flatnonzero(pk < 0)
    if len(bad):
        raise KeyError(ports[int(bad[0])])
    return pk


def _plain_keys(ids: list[str]) -> np.ndarray | None:
    """The integers of ids that are all ``n<digits>`` (no leading zero, ≤ 18 digits),
    checked and parsed in bulk on the joined bytes; None when any id is not plain."""
    if not ids:
        return np.zeros(0, dtype=np.int64)
    text = "\n".join(ids) + "\n"
    if not text.isascii():
        return None
    b = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    nl = np.flatnonzero(b == 10)
    if len(nl) != len(ids):
        return None  # an id holds a newline
    starts = np.empty(len(nl), dtype=np.int64)
    starts[0] = 0
    starts[1:] = nl[:-1] + 1
    length = nl - starts
    if not ((length >= 2) & (length <= 19)).all():
        return None
    first = b[starts + 1]
    digits = np.count_nonzero((b >= 48) & (b <= 57))
    if not ((b[starts] == 110).all() and ((first >= 49) & (first <= 57)).all()
            and digits == len(b) - 2 * len(ids)):
        return None
    # each digit times its power of ten (by its distance to the line's end), summed
    # per line; the "n" and newline bytes count 0
    at = np.arange(len(b), dtype=np.int64)
    exp = np.repeat(nl, length + 1) - at - 1
    digit = np.where((b >= 48) & (b <= 57), b.astype(np.int64) - 48, 0)
    val = digit * _POW10[np.minimum(exp, 18)]
    return np.add.reduceat(val, starts)


def _positions(addr: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Index in ``addr`` of every value of ``want``, or −1 where it is absent (bulk)."""
    if not len(addr):
        return np.full(len(want), -1, dtype=np.int64)
    by_addr = np.argsort(addr)
    sorted_addr = addr[by_addr]
    at = np.searchsorted(sorted_addr, want)
    at[at == len(addr)] = 0
    return np.where(sorted_addr[at] == want, by_addr[at], -1)


def _heap_order(src: np.ndarray, tgt: np.ndarray, n: int) -> list[int]:
    """The reference's topological order of ranks 0..n-1 (the ready node with the
    smallest rank first) given every edge src → tgt; raises ValueError on a cycle."""
    indeg = np.bincount(tgt, minlength=n).tolist()
    s_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=s_ptr[1:])
    s_ptr, s_tgt = s_ptr.tolist(), tgt[np.argsort(src, kind="stable")].tolist()
    # Scan ranks upward, emitting each node that is ready; a node passed over while
    # waiting goes on a heap when it becomes ready and, being smaller than the scan
    # position, is emitted first. Same order as a heap of all ready nodes, O(E + h log h).
    out: list[int] = []
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
        out.append(r)
        for rc in s_tgt[s_ptr[r]:s_ptr[r + 1]]:
            left = indeg[rc] - 1
            indeg[rc] = left
            if left == 0 and rc < p:
                heapq.heappush(heap, rc)
    if len(out) != n:
        raise ValueError("the graph has a cycle")
    return out


def _rank_order(src: np.ndarray, tgt: np.ndarray, ptr: np.ndarray, n: int,
                max_rounds: int = 64) -> np.ndarray:
    """``_heap_order`` in bulk, for edges grouped by target (CSR ``ptr``).

    In the heap scan a node is emitted when the scan reaches the largest rank among
    itself and its ancestors, its *key*: the node whose rank is the key comes first,
    then those that waited for it, smallest rank first when that is a valid order.
    Keys are propagated with numpy (one round per level of waiting); when that takes
    too many rounds or the sorted order is not topological, the heap scan decides."""
    key = np.arange(n, dtype=np.int64)
    has_in = np.flatnonzero(ptr[1:] > ptr[:-1])
    starts = ptr[has_in]
    for _ in range(max_rounds):
        up = np.maximum.reduceat(key[src], starts) if len(starts) else starts
        changed = up > key[has_in]
        if not changed.any():
            break
        key[has_in[changed]] = up[changed]
    else:
        return np.asarray(_heap_order(src, tgt, n), dtype=np.int64)
    rank = np.arange(n, dtype=np.int64)
    topo = np.lexsort((rank, key != rank, key))
    at = np.empty(n, dtype=np.int64)
    at[topo] = rank
    if not (at[src] < at[tgt]).all():
        return np.asarray(_heap_order(src, tgt, n), dtype=np.int64)
    return topo


class _Flat:
    """The graph as integer arrays, nodes numbered in the reference's topological order.

    Edges into op nodes are numbered target by target, each target's in networkx order
    (the reference's backward order); ``fperm`` lists them in forward order instead
    (each target's by port). Built in bulk: each networkx dict is read once, and node
    ids are matched by object identity rather than hashed one by one."""

    def __init__(self, G) -> None:
        nodedata, pred = G._node, G._pred
        ids0 = list(nodedata)
        n = len(ids0)
        # networkx keeps _pred in _node's order; only then can its values be used as is
        preds = list(pred.values())
        if len(preds) != n or list(pred) != ids0:
            preds = [pred[nid] for nid in ids0]
        datas = list(nodedata.values())
        opc0 = np.fromiter(map(_OP_CODE.__getitem__, map(itemgetter("op"), datas)),
                           dtype=np.int64, count=n)
        # ---- edges, target by target in _node order, each target's in networkx order
        ports = list(chain.from_iterable(chain.from_iterable(map(dict.values, preds))))
        m = len(ports)
        indeg0 = np.fromiter(map(len, preds), dtype=np.int64, count=n)
        addr = np.fromiter(map(id, ids0), dtype=np.int64, count=n)
        want = np.fromiter(map(id, chain.from_iterable(preds)), dtype=np.int64,
                           count=int(indeg0.sum()))
        src0 = _positions(addr, want)
        lost = np.flatnonzero(src0 < 0)
        if len(lost):  # a source held as another, equal string object: look it up
            names = list(chain.from_iterable(preds))
            at = {nid: i for i, nid in enumerate(ids0)}
            src0[lost] = [at[names[k]] for k in lost.tolist()]
        if m != len(src0):  # parallel edges (x·x): one source per port
            kds = list(chain.from_iterable(map(dict.values, preds)))
            reps = np.fromiter(map(len, kds), dtype=np.int64, count=len(kds))
            src0 = np.repeat(src0, reps)
            pair_tgt = np.repeat(np.arange(n, dtype=np.int64), indeg0)
            indeg0 = np.bincount(pair_tgt, weights=reps, minlength=n).astype(np.int64)
        # ---- node order: by id, then topological (the reference's tie-breaking)
        keys = _plain_keys(ids0)
        if keys is None:
            take = np.array(sorted(range(n), key=lambda i: id_key(ids0[i])), dtype=np.int64)
        elif n < 2 or bool((keys[1:] > keys[:-1]).all()):
            take = None  # builders create ids in increasing order: nothing to sort
        else:
            take = np.argsort(keys, kind="stable")
        tgt0 = np.repeat(np.arange(n, dtype=np.int64), indeg0)
        if take is None:
            src, tgt, indeg = src0, tgt0, indeg0
        else:
            rank_of = np.empty(n, dtype=np.int64)
            rank_of[take] = np.arange(n)
            src, tgt, indeg = rank_of[src0], rank_of[tgt0], indeg0[take]
        eorig = None  # final edge → edge in extraction order (None: the same)
        if not (src < tgt).all():  # ids are not in topological order: renumber
            if take is not None:  # group the edges by target rank (CSR) first
                by = np.argsort(tgt, kind="stable")
                src, tgt, eorig = src[by], tgt[by], by
            ptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(indeg, out=ptr[1:])
            topo = _rank_order(src, tgt, ptr, n)
            new = np.empty(n, dtype=np.int64)
            new[topo] = np.arange(n)
            src, tgt = new[src], new[tgt]
            by = np.argsort(tgt, kind="stable")  # keeps networkx order per target
            src, tgt = src[by], tgt[by]
            eorig = by if eorig is None else eorig[by]
            indeg = indeg[topo]
            take = topo if take is None else take[topo]
        elif take is not None:
            by = np.argsort(tgt, kind="stable")
            src, tgt, eorig = src[by], tgt[by], by
        self.order = ids0 if take is None else list(itemgetter(*take.tolist())(ids0)) \
            if n > 1 else ids0
        self._addr, self._take = addr, take
        opc = opc0 if take is None else opc0[take]
        leaf = _IS_LEAF[opc]
        pk = _port_keys(ports, opc0[tgt0])  # in extraction order
        if eorig is not None:
            pk = pk[eorig]
        if m and leaf[tgt].any():  # edges into leaves are not part of the function
            keep = np.flatnonzero(~leaf[tgt])
            src, tgt, pk = src[keep], tgt[keep], pk[keep]
            eorig = keep if eorig is None else eorig[keep]
            indeg = np.where(leaf, 0, indeg)
            m = len(keep)
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(indeg, out=ptr[1:])
        # ---- forward order: each target's edges by port (ties by edge number)
        same_tgt = tgt[1:] == tgt[:-1]
        if bool((~same_tgt | (pk[1:] >= pk[:-1])).all()):
            fperm = np.arange(m, dtype=np.int64)  # edges were added in port order
        else:
            fperm = np.lexsort((np.arange(m), pk, tgt))
        self.n, self.m = n, m
        self.ops = [_OP_NAMES[c] for c in opc.tolist()]
        self.opc, self.leaf, self.variadic = opc, leaf, _VARIADIC[opc]
        self.missing = ~leaf & ~self.variadic & (indeg < _N_PORTS[opc])
        self.indeg, self.ptr, self.src, self.tgt, self.fperm = indeg, ptr, src, tgt, fperm
        self.ports, self.eorig = ports, eorig
        leaf_idx = np.flatnonzero(leaf)
        orig = leaf_idx if take is None else take[leaf_idx]
        self.leafval = np.zeros(n)
        self.leafval[leaf_idx] = np.fromiter(
            map(float, map(itemgetter("value"), map(datas.__getitem__, orig.tolist()))),
            dtype=np.float64, count=len(orig))
        self._lists: tuple[list[int], list[int]] | None = None
        self._pair_lists: tuple[list[int], list[int], list[int]] | None = None

    def index_of(self, nid: str) -> int:
        """Position of ``nid`` in ``order`` (found by identity when possible)."""
        hit = np.flatnonzero(self._addr == id(nid))
        if not len(hit):
            return self.order.index(nid)
        if self._take is None:
            return int(hit[0])
        return int(np.flatnonzero(self._take == hit[0])[0])

    def edge_ports(self) -> list[str]:
        """Every edge's port name, in edge order."""
        if self.eorig is None:
            return self.ports
        ports = self.ports
        return [ports[k] for k in self.eorig.tolist()]

    def lists(self) -> tuple[list[int], list[int]]:
        """``src`` and ``ptr`` as Python lists, for the scans (made once)."""
        if self._lists is None:
            self._lists = (self.src.tolist(), self.ptr.tolist())
        return self._lists

    def _pairs(self) -> tuple[list[int], list[int], list[int]]:
        """Per op node (topological order): first and second source (−1: more than two
        inputs, read the CSR slice; n: none, a slot that stays 0). Made once."""
        if self._pair_lists is None:
            ops_idx = np.flatnonzero(~self.leaf)
            deg = self.indeg[ops_idx]
            a = self.ptr[ops_idx]
            src = np.append(self.src, self.n)  # index m: the empty slot n
            s0 = np.where(deg >= 1, src[np.minimum(a, self.m)], self.n)
            s1 = np.where(deg >= 2, src[np.minimum(a + 1, self.m)], s0)
            s1 = np.where(deg > 2, -1, s1)
            self._pair_lists = (ops_idx.tolist(), s0.tolist(), s1.tolist())
        return self._pair_lists

    def ancestors(self, out: int) -> np.ndarray:
        """on_path: the output and every node it depends on (one reverse scan)."""
        on = bytearray(self.n + 1)
        on[out] = 1
        src, ptr = self.lists()
        idx, s0, s1 = self._pairs()
        for i, a, b in zip(reversed(idx), reversed(s0), reversed(s1)):
            if on[i]:
                if b >= 0:
                    on[a] = 1
                    on[b] = 1
                else:
                    for s in src[ptr[i]:ptr[i + 1]]:
                        on[s] = 1
        return np.frombuffer(bytes(on), dtype=bool)[:self.n].copy()

    def generations(self) -> np.ndarray:
        """Leaves 0, an op 1 + its deepest input (1 with none): one forward scan."""
        gen = [0] * (self.n + 1)
        src, ptr = self.lists()
        get = gen.__getitem__
        for i, a, b in zip(*self._pairs()):
            if b >= 0:
                x, y = gen[a], gen[b]
                gen[i] = (x if x > y else y) + 1
            else:
                gen[i] = 1 + max(map(get, src[ptr[i]:ptr[i + 1]]))
        return np.array(gen[:self.n], dtype=np.int64)


def _topological_order(graph: Graph) -> list[str]:
    """The reference's order: among ready nodes always the smallest id (see
    Graph.topological_order), computed on integer ranks instead of networkx."""
    return _Flat(graph.nx).order


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
        self.output_error: OutputError | None = None
        try:
            self.output: str | None = graph.resolve_output()
        except OutputError as e:
            self.output, self.output_error = None, e
        f = _Flat(graph.nx)
        self.order = f.order
        n, m = f.n, f.m
        out = None if self.output is None else f.index_of(self.output)
        # ---- on-path: ancestors of the output
        on_path = f.ancestors(out) if out is not None else np.zeros(n, dtype=bool)
        # ---- generations, and the strategy from the cost estimate
        gen = f.generations()
        deg = np.where(f.leaf, 0, f.indeg)
        group_key = (gen * len(_OP_NAMES) + f.opc) * (int(deg.max(initial=0)) + 1) + deg
        group_key.sort()
        ngroups = int(np.count_nonzero(group_key[1:] != group_key[:-1])) + 1 if n else 0
        n_ops = n - int(np.count_nonzero(f.leaf))
        est_np = ngroups * _NUMPY_PER_GROUP + n_ops * _NUMPY_PER_NODE
        est_py = n_ops * _PY_PER_NODE
        if mode == "auto":
            mode = "numpy" if est_np < est_py else "python"
        if mode not in ("numpy", "python"):
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode
        self.n_nodes, self.n_edges, self.n_ops, self.n_groups = n, m, n_ops, ngroups
        if mode == "python":
            from engine.compiled_loop import LoopEngine
            self._engine = LoopEngine(f, on_path, out, exact)
        else:
            from engine.compiled_numpy import NumpyEngine
            self._engine = NumpyEngine(f, on_path, gen, out)
        eng = self._engine
        self.ids: list[str] = eng.ids
        self._flat = f
        self._edge_keys: list[tuple[str, str, str]] | None = None
        self._index: dict[str, int] | None = None
        self._edge_index: dict[tuple[str, str, str], int] | None = None
        self._ref_edges: list[int] | None = None
        self.on_path = np.asarray(eng.on_path, dtype=bool)
        self.edge_on_path = self.on_path[np.asarray(eng.edge_tgt, dtype=np.int64)] \
            if m else np.zeros(0, dtype=bool)
        self.leaves = [self.ids[i] for i in eng.leaf_indices] if mode == "python" \
            else self.ids[:len(eng.leaf_indices)]  # numpy numbers the leaves first
        self._evaluated = False

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
