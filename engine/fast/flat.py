"""The graph flattened once into integer arrays: what both strategies schedule over.

Nodes are numbered in the reference's topological order (among ready nodes the
smallest id first); edges into op nodes are numbered target by target, each target's
in networkx order (the reference's backward order), and ``fperm`` lists them in
forward order instead (each target's by port). Built in bulk: each networkx dict is
read once, and node ids are matched by object identity rather than hashed one by one.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter

import numpy as np

from engine.graph import Graph, id_key
from engine.ops import OPS, VARIABLE_KINDS, variadic_port_key

_POW10 = 10 ** np.arange(19, dtype=np.int64)


@dataclass(frozen=True)
class OpTables:
    """The registry as arrays indexed by op code; made again when an op is added."""

    names: tuple[str, ...]
    code: dict[str, int]
    is_leaf: np.ndarray
    variadic: np.ndarray
    n_ports: np.ndarray
    variable_leaf: np.ndarray
    port_index: dict[str, dict[str, int]]
    fixed_ports: frozenset[str]
    has_attrs: np.ndarray


_tables: OpTables | None = None


def op_tables() -> OpTables:
    global _tables
    names = tuple(OPS)
    if _tables is None or _tables.names != names:
        specs = [OPS[o] for o in names]
        _tables = OpTables(
            names, {o: k for k, o in enumerate(names)},
            np.array([s.is_leaf for s in specs], dtype=bool),
            np.array([s.variadic for s in specs], dtype=bool),
            np.array([len(s.ports) for s in specs], dtype=np.int64),
            np.array([o in VARIABLE_KINDS for o in names], dtype=bool),
            {o: {p: i for i, p in enumerate(OPS[o].ports)} for o in names},
            frozenset(p for s in specs for p in s.ports),
            np.array([bool(s.attrs) for s in specs], dtype=bool))
    return _tables


class _Codes(dict):
    """Distinct strings numbered in order of first appearance."""

    def __missing__(self, s: str) -> int:
        k = self[s] = len(self)
        return k


def _port_keys(ports: list[str], eop: np.ndarray, t: OpTables) -> np.ndarray:
    """Each edge's port key for sorting into forward order: the port's index for a
    fixed-port op, ``variadic_port_key`` for sum (0 for edges into leaves, which are
    dropped). Distinct port names are keyed once; an unknown port raises KeyError."""
    codes = _Codes()
    pc = np.fromiter(map(codes.__getitem__, ports), dtype=np.int64, count=len(ports))
    names = list(codes)
    vk = np.array([variadic_port_key(p) for p in names], dtype=np.int64)
    fixed = np.full((len(t.names), len(names)), -1, dtype=np.int64)
    for j, p in enumerate(names):
        if p in t.fixed_ports:
            for k, o in enumerate(t.names):
                fixed[k, j] = t.port_index[o].get(p, -1)
    pk = np.where(t.variadic[eop], vk[pc], fixed[eop, pc])
    pk[t.is_leaf[eop]] = 0
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


def consumers(src: np.ndarray, tgt: np.ndarray, n: int) -> tuple[list[int], list[int]]:
    """Each node's consumers as flat CSR lists (``tgt_sorted[ptr[i]:ptr[i + 1]]`` for
    node i), for walks that must touch only the nodes they reach."""
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=ptr[1:])
    return ptr.tolist(), tgt[np.argsort(src, kind="stable")].tolist()


def downstream(ptr: list[int], tgt_sorted: list[int], leaf: int) -> set[int]:
    """Every node reachable from ``leaf`` (not itself): the cost is the cone's, not the
    graph's."""
    seen: set[int] = set()
    stack = [leaf]
    while stack:
        x = stack.pop()
        for c in tgt_sorted[ptr[x]:ptr[x + 1]]:
            if c not in seen:
                seen.add(c)
                stack.append(c)
    return seen


def _heap_order(src: np.ndarray, tgt: np.ndarray, n: int) -> list[int]:
    """The reference's topological order of ranks 0..n-1 (the ready node with the
    smallest rank first) given every edge src → tgt; raises ValueError on a cycle."""
    indeg = np.bincount(tgt, minlength=n).tolist()
    s_ptr, s_tgt = consumers(src, tgt, n)
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


class FlatGraph:
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
        t = self.tables = op_tables()
        opc0 = np.fromiter(map(t.code.__getitem__, map(itemgetter("op"), datas)),
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
        leaf = t.is_leaf[opc]
        pk = _port_keys(ports, opc0[tgt0], t)  # in extraction order
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
        self.ops = [t.names[c] for c in opc.tolist()]
        self.opc, self.leaf, self.variadic = opc, leaf, t.variadic[opc]
        self.missing = ~leaf & ~self.variadic & (indeg < t.n_ports[opc])
        self.indeg, self.ptr, self.src, self.tgt, self.fperm = indeg, ptr, src, tgt, fperm
        self.ports, self.eorig = ports, eorig
        leaf_idx = np.flatnonzero(leaf)
        orig = leaf_idx if take is None else take[leaf_idx]
        self.leafval = np.zeros(n)
        self.leafval[leaf_idx] = np.fromiter(
            map(float, map(itemgetter("value"), map(datas.__getitem__, orig.tolist()))),
            dtype=np.float64, count=len(orig))
        #: each attribute's value per node (NaN where a node's op has no such attribute)
        self.attrs: dict[str, np.ndarray] = {}
        with_attrs = np.flatnonzero(t.has_attrs[opc])
        if len(with_attrs):
            orig = with_attrs if take is None else take[with_attrs]
            for i, k in zip(with_attrs.tolist(), orig.tolist()):
                for a, v in datas[k]["attrs"].items():
                    if a not in self.attrs:
                        self.attrs[a] = np.full(n, np.nan)
                    self.attrs[a][i] = v
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

    def variables(self) -> np.ndarray:
        """Which nodes depend on an input or a param; the others (constants, and ops
        fed by constants alone) get no gradient. One forward scan, skipped when there is
        no constant to begin with."""
        t = self.tables
        start = t.variable_leaf[self.opc] | ~self.leaf
        if start.all() and not (~self.leaf & (self.indeg == 0)).any():
            return np.ones(self.n, dtype=bool)  # every leaf varies; every op has an input
        var = bytearray(np.append(t.variable_leaf[self.opc], False).astype(np.uint8).tobytes())
        src, ptr = self.lists()
        for i, a, b in zip(*self._pairs()):
            if b >= 0:
                var[i] = var[a] | var[b]
            else:
                var[i] = any(var[s] for s in src[ptr[i]:ptr[i + 1]])
        return np.frombuffer(bytes(var), dtype=bool)[:self.n].copy()

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


def topological_order(graph: Graph) -> list[str]:
    """The reference's order: among ready nodes always the smallest id (see
    Graph.topological_order), computed on integer ranks instead of networkx."""
    return FlatGraph(graph.nx).order
