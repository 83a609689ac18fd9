"""The plain-loop strategy of the compiled engine: flat Python lists in topological order.

Used for narrow, deep graphs (chains), where grouping by generation would call numpy
once per node. Only what is truly sequential runs in Python:

1. forward values, one C-level call per node (``operator.mul``, ``math.exp``, …);
2. the local derivatives, which depend only on the node's inputs, then come from the
   numpy kernels over all nodes of each op at once (any generation);
3. backward is the reference's push loop over the same integers, so every gradient is
   accumulated in exactly the reference's order.

A value function that raises (division by zero, log of a negative, …) is retried with
the registry's numpy-scalar forward, which gives the IEEE NaN/inf.
"""

from __future__ import annotations

import math

import numpy as np

from engine.compiled_kernels import VECTOR, elementwise, registry_value, value_fn
from engine.ops import OPS

_VARIADIC = [OPS[o].variadic for o in OPS]

_NAN = math.nan


class LoopEngine:
    def __init__(self, f, on_path: np.ndarray, out: int | None, exact: bool) -> None:
        """Build the loop's items from the flattened graph ``f`` (engine.compiled._Flat):
        nodes and edges keep its numbering (topological; edges target by target)."""
        n, m = f.n, f.m
        ops = f.ops
        self.ids = f.order
        self.eperm = None  # edges keep the flat numbering
        self.ref_edges = f.fperm
        self.edge_tgt = f.tgt
        self.on_path = on_path
        self.out = out
        leaf = f.leaf
        self.leaf_indices = np.flatnonzero(leaf).tolist()
        self._leaf = set(self.leaf_indices)
        self.vals = np.where(leaf, f.leafval, _NAN).tolist()
        self.loc = [_NAN] * m
        self.prod = [0.0] * m
        self.grad = [0.0] * n
        ptr = f.ptr
        fsrc_arr = f.src[f.fperm]  # sources in forward (port) order
        # forward items (value function, node, a, b): b ≥ 0 binary, −1 unary,
        # −2 variadic with a = tuple of sources; built column by column
        live_idx = np.flatnonzero(~leaf & ~f.missing)  # missing ports: values stay NaN
        codes = f.opc[live_idx]
        fn = [value_fn(o, exact) if not OPS[o].is_leaf else None for o in OPS]
        a0 = ptr[live_idx]
        deg = f.indeg[live_idx]
        var = f.variadic[live_idx]
        fs = np.append(fsrc_arr, -1)
        col_a = fs[np.minimum(a0, m)].tolist()
        col_b = np.where(deg == 1, -1, fs[np.minimum(a0 + 1, m)]).tolist()
        if var.any():
            fsrc, p = fsrc_arr.tolist(), ptr.tolist()
            for k in np.flatnonzero(var).tolist():
                i = int(live_idx[k])
                col_a[k], col_b[k] = tuple(fsrc[p[i]:p[i + 1]]), -2
        live = live_idx.tolist()
        self._live = live
        self.items = list(zip([fn[c] for c in codes.tolist()], live, col_a, col_b))
        self._item_of: list[tuple | None] | None = None
        # locals: one numpy kernel call per (op, arity) over all its nodes, in order of
        # first appearance
        self.groups = []
        if len(live_idx):
            deg = f.indeg[live_idx]
            key = f.opc[live_idx] * (int(deg.max()) + 1) + deg
            _, first = np.unique(key, return_index=True)
            for k0 in np.sort(first).tolist():
                nodes = live_idx[key == key[k0]]
                op, k = ops[int(nodes[0])], int(deg[k0])
                at = ptr[nodes][None, :] + np.arange(k, dtype=np.int64)[:, None]
                kernel = VECTOR.get(op) or elementwise(op)
                self.groups.append((op, kernel, nodes, fsrc_arr[at], f.fperm[at]))
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
        s_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(f.src, minlength=n), out=s_ptr[1:])
        self._s_ptr = s_ptr.tolist()
        self._s_tgt = f.tgt[np.argsort(f.src, kind="stable")].tolist()
        self._ops = ops

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
        self.vals[i] = v

    # ------------------------------------------------------------------ forward
    def forward(self) -> None:
        self._values(self.items)
        self._locals(None)

    def forward_cone(self, leaf: int) -> None:
        s_ptr, s_tgt, seen = self._s_ptr, self._s_tgt, bytearray(len(self.vals))
        stack, cone = [leaf], []
        while stack:
            x = stack.pop()
            for c in s_tgt[s_ptr[x]:s_ptr[x + 1]]:
                if not seen[c]:
                    seen[c] = 1
                    cone.append(c)
                    stack.append(c)
        cone.sort()
        item_of = self.item_of
        self._values([item_of[i] for i in cone if item_of[i] is not None])
        mask = np.zeros(len(self.vals), dtype=bool)
        mask[cone] = True
        self._locals(mask)

    def _values(self, items: list[tuple]) -> None:
        vals = self.vals
        it = iter(items)
        while True:
            try:
                for f, i, a, b in it:
                    if b >= 0:
                        vals[i] = f(vals[a], vals[b])
                    elif b == -1:
                        vals[i] = f(vals[a])
                    else:
                        vals[i] = f(*[vals[j] for j in a])
                return
            except (ArithmeticError, ValueError):
                # a fault: the registry's numpy-scalar forward gives its NaN/inf
                args = [vals[j] for j in a] if b == -2 else \
                    [vals[a]] if b == -1 else [vals[a], vals[b]]
                vals[i] = registry_value(self._ops[i])(*args)

    def _locals(self, mask: np.ndarray | None) -> None:
        vals = np.fromiter(self.vals, dtype=np.float64, count=len(self.vals))
        loc = np.asarray(self.loc) if mask is not None else np.full(len(self.loc), np.nan)
        for op, kernel, nodes, idx, eids in self.groups:
            if mask is not None:
                sel = mask[nodes]
                if not sel.any():
                    continue
                idx, eids = idx[:, sel], eids[:, sel]
            X = vals[idx]
            out, locs = kernel(X) if op == "sum" else kernel(*X)
            if op == "sum":
                loc[eids.ravel()] = 1.0
            else:
                for p, lv in enumerate(locs):
                    loc[eids[p]] = lv
            nan = np.isnan(out)
            if nan.any():
                und = nan & np.isfinite(X).all(axis=0)
                if und.any():
                    loc[eids[:, und]] = np.nan
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

    def snapshot(self, plan):
        from engine.compiled import CompiledResult
        return CompiledResult(plan, self.vals[:], self.grad, self.loc, self.prod[:])
