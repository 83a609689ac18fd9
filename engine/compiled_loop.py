"""The plain-loop strategy of the compiled engine: flat Python lists in topological order.

Used for narrow, deep graphs (chains), where grouping by generation would call numpy
once per node. Each op node is one tuple holding its scalar kernel and the integer
indices of its inputs and in-edges; the backward pass is the reference's push loop over
the same integers, so gradients are accumulated in exactly the reference's order.
"""

from __future__ import annotations

import math

from engine.compiled_kernels import SCALAR, registry_scalar
from engine.ops import OPS

_NAN = math.nan


class LoopEngine:
    def __init__(self, order: list[str], c: dict, out: int | None) -> None:
        ops, fwd_src, fwd_edge, bw = c["ops"], c["fwd_src"], c["fwd_edge"], c["bw"]
        n = len(order)
        self.ids = list(order)
        self.edge_keys = c["edge_keys"]
        self.edge_tgt = c["edge_tgt"]
        self.on_path = c["on_path"]
        self.out = out
        self.leaf_indices = [i for i in range(n) if OPS[ops[i]].is_leaf]
        self._leaf = set(self.leaf_indices)
        self.vals = [_NAN] * n
        for i in self.leaf_indices:
            self.vals[i] = c["leafval"][i]
        m = len(self.edge_keys)
        self.loc = [_NAN] * m
        self.prod = [0.0] * m
        self.grad = [0.0] * n
        edge_src = c["edge_src"]
        # forward items, one per computable op node, in topological order
        self.item_of: list[tuple | None] = [None] * n
        for i in range(n):
            if OPS[ops[i]].is_leaf:
                continue
            if c["missing"][i]:
                continue  # value and locals stay NaN, as the reference leaves them
            k = SCALAR.get(ops[i]) or registry_scalar(ops[i])
            s, e = fwd_src[i], fwd_edge[i]
            if len(s) == 1:
                self.item_of[i] = (1, k, i, e[0], s[0])
            elif len(s) == 2:
                self.item_of[i] = (2, k, i, e[0], e[1], s[0], s[1])
            else:
                self.item_of[i] = (3, k, i, tuple(e), tuple(s))
        self.items = [it for it in self.item_of if it is not None]
        # backward items: on-path op nodes in reverse order, in-edges in networkx order
        self.bw_items: list[tuple] = []
        if out is not None:
            for i in range(n - 1, -1, -1):
                if not self.on_path[i] or not bw[i]:
                    continue
                es = bw[i]
                if len(es) == 1:
                    self.bw_items.append((1, i, es[0], edge_src[es[0]]))
                elif len(es) == 2:
                    self.bw_items.append((2, i, es[0], edge_src[es[0]], es[1], edge_src[es[1]]))
                else:
                    self.bw_items.append((3, i, tuple((e, edge_src[e]) for e in es)))
        self.succ: list[list[int]] = [[] for _ in range(n)]
        for e, s in enumerate(edge_src):
            self.succ[s].append(self.edge_tgt[e])

    def is_leaf(self, i: int) -> bool:
        return i in self._leaf

    def set_value(self, i: int, v: float) -> None:
        self.vals[i] = v

    def forward(self) -> None:
        self._run(self.items)

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
        self._run([item_of[i] for i in cone if item_of[i] is not None])

    def _run(self, items: list[tuple]) -> None:
        vals, loc = self.vals, self.loc
        for it in items:
            kind = it[0]
            if kind == 2:
                _, k, i, ea, eb, a, b = it
                x = vals[a]
                y = vals[b]
                v, la, lb = k(x, y)
                if v != v and x - x == 0.0 and y - y == 0.0:
                    la = lb = _NAN  # undefined here: the fault starts at this node
                vals[i] = v
                loc[ea] = la
                loc[eb] = lb
            elif kind == 1:
                _, k, i, ea, a = it
                x = vals[a]
                v, la = k(x)
                if v != v and x - x == 0.0:
                    la = _NAN
                vals[i] = v
                loc[ea] = la
            else:
                _, k, i, es, srcs = it
                xs = [vals[s] for s in srcs]
                r = k(*xs)
                v = r[0]
                vals[i] = v
                undefined = v != v and all(x - x == 0.0 for x in xs)
                for j, e in enumerate(es):
                    loc[e] = _NAN if undefined else r[j + 1]

    def backward(self) -> None:
        grad = [0.0] * len(self.vals)
        loc, prod = self.loc, self.prod
        if self.out is not None:
            grad[self.out] = 1.0
        for it in self.bw_items:
            kind = it[0]
            if kind == 1:
                _, i, e, s = it
                p = grad[i] * loc[e]
                prod[e] = p
                grad[s] += p
            elif kind == 2:
                _, i, e, s, e2, s2 = it
                g = grad[i]
                p = g * loc[e]
                prod[e] = p
                grad[s] += p
                p = g * loc[e2]
                prod[e2] = p
                grad[s2] += p
            else:
                _, i, pairs = it
                g = grad[i]
                for e, s in pairs:
                    p = g * loc[e]
                    prod[e] = p
                    grad[s] += p
        self.grad = grad

    def snapshot(self, plan):
        from engine.compiled import CompiledResult
        return CompiledResult(plan, self.vals[:], self.grad, self.loc[:], self.prod[:])
