"""The deep strategy: a flat loop in topological order, for narrow, deep graphs.

Used for chains, where grouping by generation would make one registry call per node
anyway, with the grouping's overhead on top. Only what is truly sequential runs in
Python:

1. forward values, one call of the registry's forward function per node, on numpy
   scalars (so faults give IEEE NaN/inf instead of raising);
2. the local derivatives, which depend only on a node's inputs and value, then come
   from ``OpSpec.locals`` over all nodes of each op at once (any generation);
3. backward is the reference's push loop over the same integers, so every gradient is
   accumulated in exactly the reference's order.
"""

from __future__ import annotations

import math

import numpy as np

from engine.fast.flat import FlatGraph, consumers, downstream
from engine.ops import OPS

F = np.float64
_NAN = math.nan
#: how a forward item reads its inputs (see DeepStrategy.__init__)
_UNARY, _VARIADIC, _GENERAL = -1, -2, -3


class DeepStrategy:
    def __init__(self, f: FlatGraph, on_path: np.ndarray, variable: np.ndarray,
                 out: int | None) -> None:
        """Build the loop's items from the flattened graph ``f``: nodes and edges keep
        its numbering (topological; edges target by target)."""
        n, m = f.n, f.m
        ops = f.ops
        self.ids = f.order
        self.eperm = None  # edges keep the flat numbering
        self.ref_edges = f.fperm
        self.edge_src, self.edge_tgt = f.src, f.tgt
        self.on_path, self.variable = on_path, variable
        self.out = out
        leaf = f.leaf
        self.leaf_indices = np.flatnonzero(leaf).tolist()
        self._leaf = set(self.leaf_indices)
        self.vals = list(map(F, np.where(leaf, f.leafval, _NAN).tolist()))
        self.loc = [_NAN] * m
        self.prod = [0.0] * m
        self.grad = [0.0] * n
        ptr = f.ptr
        fsrc_arr = f.src[f.fperm]  # sources in forward (port) order
        # forward items (forward function, node, a, b): b ≥ 0 binary with sources a, b;
        # _UNARY: source a; _VARIADIC: a = tuple of sources, stacked for the call;
        # _GENERAL: a = (tuple of sources, attributes), for ops with attributes
        live_idx = np.flatnonzero(~leaf & ~f.missing)  # missing ports: values stay NaN
        codes = f.opc[live_idx]
        a0 = ptr[live_idx]
        deg = f.indeg[live_idx]
        fs = np.append(fsrc_arr, -1)
        col_a = fs[np.minimum(a0, m)].tolist()
        col_b = np.where(deg == 1, _UNARY, fs[np.minimum(a0 + 1, m)]).tolist()
        special = f.variadic[live_idx] | f.tables.has_attrs[codes] | (deg > 2) | (deg == 0)
        if special.any():
            fsrc, p = fsrc_arr.tolist(), ptr.tolist()
            for k in np.flatnonzero(special).tolist():
                i = int(live_idx[k])
                spec = OPS[ops[i]]
                srcs = tuple(fsrc[p[i]:p[i + 1]])
                if spec.variadic:
                    col_a[k], col_b[k] = srcs, _VARIADIC
                else:
                    attrs = {a: F(f.attrs[a][i]) for a in spec.attr_names}
                    col_a[k], col_b[k] = (srcs, attrs), _GENERAL
        live = live_idx.tolist()
        names = f.tables.names
        self._live = live
        self.items = list(zip([OPS[names[c]].forward for c in codes.tolist()], live,
                              col_a, col_b))
        self._item_of: list[tuple | None] | None = None
        self._cone_items: tuple[int, list[tuple]] | None = None
        # locals: one registry call per (op, arity) over all its nodes, in order of
        # first appearance
        self.groups = []
        if len(live_idx):
            key = f.opc[live_idx] * (int(deg.max()) + 1) + deg
            _, first = np.unique(key, return_index=True)
            for k0 in np.sort(first).tolist():
                nodes = live_idx[key == key[k0]]
                spec, k = OPS[ops[int(nodes[0])]], int(deg[k0])
                at = ptr[nodes][None, :] + np.arange(k, dtype=np.int64)[:, None]
                attrs = {a: f.attrs[a][nodes] for a in spec.attr_names}
                self.groups.append((spec, nodes, fsrc_arr[at], f.fperm[at], attrs))
        # backward items (node, e, s, e2, s2): e2 ≥ 0 second edge, −1 none,
        # −2 more edges as pairs in s2; on-path op nodes only, in reverse order
        self.bw_items: list[tuple] = []
        if out is not None:
            bsrc = np.append(f.src, 0)  # networkx order: the reference's accumulation order
            nodes = np.flatnonzero(on_path & (f.indeg > 0))[::-1]
            a0 = ptr[nodes]
            deg = f.indeg[nodes]
            e2 = np.where(deg == 1, -1, np.where(deg == 2, a0 + 1, -2))
            s2 = np.where(deg == 2, bsrc[np.minimum(a0 + 1, m)], 0).tolist()
            e2 = e2.tolist()
            if (deg > 2).any():
                sl = f.src.tolist()
                for k in np.flatnonzero(deg > 2).tolist():
                    a, b = int(a0[k]), int(a0[k] + deg[k])
                    s2[k] = tuple(zip(range(a + 1, b), sl[a + 1:b]))
            self.bw_items = list(zip(nodes.tolist(), a0.tolist(), bsrc[a0].tolist(), e2, s2))
        # consumers of each node (for forward_cone), as flat CSR lists
        self._s_ptr, self._s_tgt = consumers(f.src, f.tgt, n)

    @property
    def item_of(self) -> list[tuple | None]:
        """Forward item of each node (None for leaves and open ports), made on first use."""
        if self._item_of is None:
            item_of: list[tuple | None] = [None] * len(self.vals)
            for i, it in zip(self._live, self.items):
                item_of[i] = it
            self._item_of = item_of
        return self._item_of

    def is_leaf(self, i: int) -> bool:
        return i in self._leaf

    def set_value(self, i: int, v: float) -> None:
        self.vals[i] = F(v)

    # ------------------------------------------------------------------ forward
    def forward(self) -> None:
        self._values(self.items)
        self._locals(None)

    def _cone(self, leaf: int) -> list[int]:
        """The nodes downstream of ``leaf``, in topological order (they are numbered so).
        Touches only the cone: a set, not an array the size of the graph."""
        return sorted(downstream(self._s_ptr, self._s_tgt, leaf))

    def forward_cone(self, leaf: int) -> None:
        cone = self._cone(leaf)
        item_of = self.item_of
        self._values([item_of[i] for i in cone if item_of[i] is not None])
        mask = np.zeros(len(self.vals), dtype=bool)
        mask[cone] = True
        self._locals(mask)

    def forward_values_cone(self, leaf: int) -> None:
        """Values only, over the leaf's cone; the cone's items are kept for the next
        nudge of the same leaf (a finite difference nudges each leaf several times)."""
        cached = self._cone_items
        if cached is None or cached[0] != leaf:
            item_of = self.item_of
            cached = self._cone_items = (leaf, [item_of[i] for i in self._cone(leaf)
                                                if item_of[i] is not None])
        self._values(cached[1])

    def value(self, i: int) -> float:
        return self.vals[i]

    def _values(self, items: list[tuple]) -> None:
        vals = self.vals
        for fn, i, a, b in items:
            if b >= 0:
                v = fn(vals[a], vals[b])
            elif b == _UNARY:
                v = fn(vals[a])
            elif b == _VARIADIC:
                v = fn(np.array([vals[j] for j in a]))
            else:
                srcs, attrs = a
                v = fn(*[vals[j] for j in srcs], **attrs)
            vals[i] = v if type(v) is F else F(v)

    def _locals(self, mask: np.ndarray | None) -> None:
        vals = np.fromiter(self.vals, dtype=np.float64, count=len(self.vals))
        loc = np.asarray(self.loc) if mask is not None else np.full(len(self.loc), np.nan)
        for spec, nodes, idx, eids, attrs in self.groups:
            if mask is not None:
                sel = mask[nodes]
                if not sel.any():
                    continue
                nodes, idx, eids = nodes[sel], idx[:, sel], eids[:, sel]
                attrs = {a: v[sel] for a, v in attrs.items()}
            if len(idx):
                loc[eids] = spec.locals(vals[nodes], vals[idx], attrs)
        self.loc = loc.tolist()

    # ----------------------------------------------------------------- backward
    def backward(self) -> None:
        grad = [0.0] * len(self.vals)
        loc, prod = self.loc, self.prod
        if self.out is not None:
            grad[self.out] = 1.0
        for i, e, s, e2, s2 in self.bw_items:
            g = grad[i]
            p = g * loc[e]
            prod[e] = p
            grad[s] += p
            if e2 >= 0:
                p = g * loc[e2]
                prod[e2] = p
                grad[s2] += p
            elif e2 == -2:
                for e, s in s2:
                    p = g * loc[e]
                    prod[e] = p
                    grad[s] += p
        self.grad = grad

    def snapshot(self) -> tuple[list, list, list, list]:
        return self.vals[:], self.grad, self.loc, self.prod[:]
