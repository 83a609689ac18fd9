"""The numpy strategy of the compiled engine: one kernel call per (generation, op) group.

Nodes are renumbered so every group is a contiguous slice (leaves first, then generation
by generation), and each group's in-edges are numbered port by port, so writing values
and local derivatives is slice assignment; only reading the inputs is a gather. Within a
group the on-path nodes come first, so products are written for a prefix and off-path
edges keep product 0, as in the reference.

Backward pulls instead of pushing: a generation's gradients are the sums of its out-edge
products (all into later generations, so already known), taken with ``np.bincount`` over
edges sorted by the reference's accumulation order — bincount adds in array order from
0.0, which reproduces the reference's ``grad += product`` sequence exactly.
"""

from __future__ import annotations

import numpy as np

from engine.compiled_kernels import VECTOR, elementwise
from engine.ops import OPS


class _Group:
    __slots__ = ("op", "kernel", "start", "n", "n_on", "idx", "e0", "arity", "stacked")

    def __init__(self, op, kernel, start, n, n_on, idx, e0, arity, stacked):
        self.op, self.kernel, self.start, self.n, self.n_on = op, kernel, start, n, n_on
        self.idx, self.e0, self.arity, self.stacked = idx, e0, arity, stacked


class NumpyEngine:
    def __init__(self, order: list[str], c: dict, out: int | None) -> None:
        ops, gen, on_path = c["ops"], c["gen"], c["on_path"]
        fwd_src, fwd_edge, missing = c["fwd_src"], c["fwd_edge"], c["missing"]
        n = len(order)
        # ---- node numbering: leaves, then groups of each generation
        leaves = [i for i in range(n) if OPS[ops[i]].is_leaf]
        buckets: dict[tuple, list[int]] = {}
        for i in range(n):
            if OPS[ops[i]].is_leaf:
                continue
            op = "_missing" if missing[i] else ops[i]
            buckets.setdefault((gen[i], op, len(fwd_src[i])), []).append(i)
        keys = sorted(buckets)
        perm = list(leaves)
        for key in keys:
            members = buckets[key]
            members.sort(key=lambda i: (not on_path[i], i))
            perm.extend(members)
        new = [0] * n
        for k, i in enumerate(perm):
            new[i] = k
        self.ids = [order[i] for i in perm]
        self.leaf_indices = list(range(len(leaves)))
        self._n_leaves = len(leaves)
        self.on_path = np.asarray([on_path[i] for i in perm], dtype=bool)
        self.out = None if out is None else new[out]
        # ---- edges numbered group by group, port by port
        old_keys = c["edge_keys"]
        m = len(old_keys)
        edge_new = [0] * m
        edge_keys: list = [None] * m
        self.groups: list[_Group] = []
        self.gen_groups: list[list[_Group]] = []
        start, e = len(leaves), 0
        for key in keys:
            g_, op, arity = key
            members = buckets[key]
            cnt = len(members)
            for p in range(arity):
                for i in members:
                    old = fwd_edge[i][p]
                    edge_new[old] = e
                    edge_keys[e] = old_keys[old]
                    e += 1
            idx = np.array([[new[fwd_src[i][p]] for i in members] for p in range(arity)],
                           dtype=np.int64).reshape(arity, cnt)
            n_on = sum(1 for i in members if on_path[i])
            if op == "_missing":
                kernel = None
            else:
                kernel = VECTOR.get(op) or elementwise(op)
            grp = _Group(op, kernel, start, cnt, n_on, idx, e - arity * cnt, arity,
                         op == "sum")
            self.groups.append(grp)
            while len(self.gen_groups) <= g_:
                self.gen_groups.append([])
            self.gen_groups[g_].append(grp)
            start += cnt
        self.edge_keys = edge_keys
        edge_src = np.array([new[c["edge_src"][o]] for o in range(m)], dtype=np.int64)
        edge_tgt_old = c["edge_tgt"]
        tgt = np.empty(m, dtype=np.int64)
        src = np.empty(m, dtype=np.int64)
        rank = np.empty(m, dtype=np.int64)
        en = np.asarray(edge_new, dtype=np.int64)
        tgt[en] = np.asarray([new[t] for t in edge_tgt_old], dtype=np.int64)
        src[en] = edge_src
        rank[en] = np.asarray(c["rank"], dtype=np.int64)
        self.edge_tgt = tgt
        self.edge_src = src
        # ---- generation ranges and the pull lists (out-edges sorted by rank)
        if not self.gen_groups:
            self.gen_groups.append([])
        ranges = [(0, len(leaves))]
        for gi in range(1, len(self.gen_groups)):
            gg = self.gen_groups[gi]
            s0 = gg[0].start if gg else ranges[-1][1]
            s1 = (gg[-1].start + gg[-1].n) if gg else s0
            ranges.append((s0, s1))
        self.gen_ranges = ranges
        order_e = np.argsort(rank, kind="stable")  # edges in accumulation order
        bounds = np.array([r[0] for r in ranges] + [n], dtype=np.int64)
        gen_of_src = np.searchsorted(bounds, src[order_e], side="right") - 1
        by_gen = np.argsort(gen_of_src, kind="stable")
        sorted_edges = order_e[by_gen]
        gcount = np.bincount(gen_of_src, minlength=len(ranges)) if m else \
            np.zeros(len(ranges), dtype=np.int64)
        self.pulls = []
        p0 = 0
        for gi, (s0, s1) in enumerate(ranges):
            es = sorted_edges[p0:p0 + gcount[gi]]
            p0 += gcount[gi]
            self.pulls.append((es, src[es] - s0))
        # ---- buffers
        self.vals = np.full(n, np.nan)
        self.vals[:len(leaves)] = [c["leafval"][i] for i in leaves]
        self.loc = np.full(m, np.nan)
        for grp in self.groups:
            if grp.stacked:
                self.loc[grp.e0:grp.e0 + grp.arity * grp.n] = 1.0
        self.prod = np.zeros(m)
        self.grad = np.zeros(n)

    def is_leaf(self, i: int) -> bool:
        return 0 <= i < self._n_leaves

    def set_value(self, i: int, v: float) -> None:
        self.vals[i] = v

    def _eval_group(self, g: _Group, sel: np.ndarray | None = None) -> None:
        vals, loc = self.vals, self.loc
        idx = g.idx if sel is None else g.idx[:, sel]
        X = vals[idx]
        if g.stacked:
            out, locs = g.kernel(X)
        else:
            out, locs = g.kernel(*X)
        s, n, e = g.start, g.n, g.e0
        if sel is None:
            vals[s:s + n] = out
        else:
            vals[s + sel] = out
        if g.stacked:
            return  # sum: every local is the constant 1, written at compile time
        if sel is None:
            for p, lv in enumerate(locs):
                loc[e + p * n:e + (p + 1) * n] = lv
        else:
            for p, lv in enumerate(locs):
                loc[e + p * n + sel] = lv
        nan = np.isnan(out)
        if nan.any():
            und = nan & np.isfinite(X).all(axis=0)
            if und.any():
                pos = np.nonzero(und)[0] if sel is None else sel[und]
                for p in range(g.arity):
                    loc[e + p * n + pos] = np.nan

    def forward(self) -> None:
        for g in self.groups:
            if g.kernel is not None:
                self._eval_group(g)

    def forward_cone(self, leaf: int) -> None:
        dirty = np.zeros(len(self.vals), dtype=bool)
        dirty[leaf] = True
        for g in self.groups:
            if g.arity == 0:
                continue
            d = dirty[g.idx].any(axis=0)
            cnt = int(np.count_nonzero(d))
            if not cnt:
                continue
            dirty[g.start:g.start + g.n] = d
            if g.kernel is None:
                continue
            if cnt * 4 > g.n:
                self._eval_group(g)
            else:
                self._eval_group(g, np.nonzero(d)[0])

    def backward(self) -> None:
        grad, prod, loc = self.grad, self.prod, self.loc
        out = self.out
        if out is None:
            return  # every gradient and product stays 0
        for gi in range(len(self.gen_ranges) - 1, -1, -1):
            s0, s1 = self.gen_ranges[gi]
            es, local_src = self.pulls[gi]
            if len(es):
                grad[s0:s1] = np.bincount(local_src, weights=prod[es], minlength=s1 - s0)
            else:
                grad[s0:s1] = 0.0
            if s0 <= out < s1:
                grad[out] = 1.0
            if gi == 0:
                break
            for g in self.gen_groups[gi]:
                k = g.n_on
                if not k or not g.arity:
                    continue
                gs = grad[g.start:g.start + k]
                a, b = g.e0, g.e0 + g.arity * g.n
                # edges are port-major: a (ports, n) view; on-path nodes are the first k
                np.multiply(gs, loc[a:b].reshape(g.arity, g.n)[:, :k],
                            out=prod[a:b].reshape(g.arity, g.n)[:, :k])

    def snapshot(self, plan):
        from engine.compiled import CompiledResult
        return CompiledResult(plan, self.vals.copy(), self.grad.copy(), self.loc.copy(),
                              self.prod.copy())
