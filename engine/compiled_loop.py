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

_NAN = math.nan


class LoopEngine:
    def __init__(self, order: list[str], c: dict, out: int | None, exact: bool) -> None:
        ops, fwd_src, fwd_edge, bw = c["ops"], c["fwd_src"], c["fwd_edge"], c["bw"]
        missing = c["missing"]
        n = len(order)
        self.ids = order
        self.edge_keys = c["edge_keys"]
        self.edge_tgt = c["edge_tgt"]
        self.on_path = c["on_path"]
        self.out = out
        is_leaf = [OPS[o].is_leaf for o in ops]
        self.leaf_indices = [i for i in range(n) if is_leaf[i]]
        self._leaf = set(self.leaf_indices)
        leafval = c["leafval"]
        self.vals = [leafval[i] if is_leaf[i] else _NAN for i in range(n)]
        m = len(self.edge_keys)
        self.loc = [_NAN] * m
        self.prod = [0.0] * m
        self.grad = [0.0] * n
        edge_src = c["edge_src"]
        # forward items (value function, node, a, b): b ≥ 0 binary, −1 unary,
        # −2 variadic with a = tuple of sources
        self.item_of: list[tuple | None] = [None] * n
        groups: dict[tuple, list[int]] = {}
        for i in range(n):
            if is_leaf[i] or missing[i]:
                continue  # missing ports: value and locals stay NaN, as in the reference
            op = ops[i]
            f = value_fn(op, exact)
            s = fwd_src[i]
            if OPS[op].variadic:
                item = (f, i, tuple(s), -2)
            elif len(s) == 1:
                item = (f, i, s[0], -1)
            else:
                item = (f, i, s[0], s[1])
            self.item_of[i] = item
            groups.setdefault((op, len(s)), []).append(i)
        self.items = [it for it in self.item_of if it is not None]
        # locals: one numpy kernel call per (op, arity) over all its nodes
        self.groups = []
        for (op, k), members in groups.items():
            nodes = np.asarray(members, dtype=np.int64)
            idx = np.asarray([fwd_src[i] for i in members], dtype=np.int64).reshape(len(members), k).T
            eids = np.asarray([fwd_edge[i] for i in members], dtype=np.int64).reshape(len(members), k).T
            kernel = VECTOR.get(op) or elementwise(op)
            self.groups.append((op, kernel, nodes, idx.copy(), eids.copy()))
        # backward items (node, e, s, e2, s2): e2 ≥ 0 second edge, −1 none,
        # −2 more edges as pairs in s2; on-path op nodes only, in reverse order
        self.bw_items: list[tuple] = []
        if out is not None:
            on_path = self.on_path
            for i in range(n - 1, -1, -1):
                es = bw[i]
                if not es or not on_path[i]:
                    continue
                if len(es) == 1:
                    self.bw_items.append((i, es[0], edge_src[es[0]], -1, 0))
                elif len(es) == 2:
                    self.bw_items.append((i, es[0], edge_src[es[0]], es[1], edge_src[es[1]]))
                else:
                    self.bw_items.append((i, es[0], edge_src[es[0]], -2,
                                          tuple((e, edge_src[e]) for e in es[1:])))
        self.succ: list[list[int]] = [[] for _ in range(n)]
        tgt = self.edge_tgt
        for e, s in enumerate(edge_src):
            self.succ[s].append(tgt[e])
        self._ops = ops

    def is_leaf(self, i: int) -> bool:
        return i in self._leaf

    def set_value(self, i: int, v: float) -> None:
        self.vals[i] = v

    # ------------------------------------------------------------------ forward
    def forward(self) -> None:
        self._values(self.items)
        self._locals(None)

    def forward_cone(self, leaf: int) -> None:
        succ, seen = self.succ, bytearray(len(self.vals))
        stack, cone = [leaf], []
        while stack:
            for c in succ[stack.pop()]:
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
