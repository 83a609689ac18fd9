"""The wide strategy: one registry call per (generation, op) group of nodes.

Nodes are renumbered so every group is a contiguous slice (leaves first, then generation
by generation), and each group's in-edges are numbered port by port, so writing values
and local derivatives is slice assignment; only reading the inputs is a gather. Within a
group the on-path nodes come first, so products are written for a prefix and off-path
edges keep product 0, as in the reference. The numbers themselves come from the
registry: ``OpSpec.value`` and ``OpSpec.locals`` called on the group's arrays.

Backward pulls instead of pushing: a generation's gradients are the sums of its out-edge
products (all into later generations, so already known), taken with ``np.bincount`` over
edges sorted by the reference's accumulation order — bincount adds in array order from
0.0, the reference's ``grad += product`` sequence.
"""

from __future__ import annotations

from operator import itemgetter

import numpy as np

from engine.fast.flat import FlatGraph, consumers, downstream
from engine.ops import OPS, OpSpec


class _Group:
    __slots__ = ("spec", "start", "n", "n_on", "idx", "e0", "arity", "attrs")

    def __init__(self, spec: OpSpec | None, start: int, n: int, n_on: int, idx: np.ndarray,
                 e0: int, arity: int, attrs: dict[str, np.ndarray]) -> None:
        #: None for nodes with a port left open: their values stay NaN
        self.spec = spec
        self.start, self.n, self.n_on, self.idx = start, n, n_on, idx
        self.e0, self.arity, self.attrs = e0, arity, attrs


class WideStrategy:
    def __init__(self, f: FlatGraph, on_path: np.ndarray, variable: np.ndarray,
                 gen: np.ndarray, out: int | None) -> None:
        """Renumber nodes and edges of the flattened graph ``f`` into groups, in bulk:
        a group key per node, one lexsort, slices per group."""
        n, m = f.n, f.m
        leaf, missing, deg = f.leaf, f.missing, f.indeg
        # ---- node numbering: leaves, then the groups sorted by (generation, op, arity);
        # a node with an open port sorts before every op of its generation
        lab = f.opc.copy()
        lab[missing] = -1
        leaves = np.flatnonzero(leaf)
        oi = np.flatnonzero(~leaf)
        members = oi[np.lexsort((oi, ~on_path[oi], deg[oi], lab[oi], gen[oi]))]
        perm = np.concatenate((leaves, members))
        new = np.empty(n, dtype=np.int64)
        new[perm] = np.arange(n)
        self.ids = list(itemgetter(*perm.tolist())(f.order)) if n > 1 else list(f.order)
        self.leaf_indices = list(range(len(leaves)))
        self._n_leaves = len(leaves)
        self.on_path = on_path[perm]
        self.variable = variable[perm]
        self.out = None if out is None else int(new[out])
        # ---- groups: runs of equal (generation, op, arity) among the sorted members
        kg, kl, kd = gen[members], lab[members], deg[members]
        cut = np.flatnonzero((kg[1:] != kg[:-1]) | (kl[1:] != kl[:-1])
                             | (kd[1:] != kd[:-1])) + 1
        g_start = np.concatenate(([0], cut)).astype(np.int64) if len(members) else cut
        g_cnt = np.diff(np.concatenate((g_start, [len(members)])))
        g_ar = kd[g_start] if len(members) else kd[:0]
        g_e0 = np.zeros(len(g_start), dtype=np.int64)
        np.cumsum((g_ar * g_cnt)[:-1], out=g_e0[1:])
        g_on = np.add.reduceat(self.on_path[len(leaves):].astype(np.int64), g_start) \
            if len(members) else g_start
        # ---- edges numbered group by group, port by port: (group, port p, member j)
        # gets e0 + p·count + j
        grp_of = np.repeat(np.arange(len(g_start)), g_cnt)
        j_of = np.arange(len(members)) - g_start[grp_of]
        node_grp = np.zeros(n, dtype=np.int64)
        node_j = np.zeros(n, dtype=np.int64)
        node_grp[members], node_j[members] = grp_of, j_of
        t = f.tgt  # forward order keeps each target's slice: tgt[fperm] == tgt
        p = np.arange(m, dtype=np.int64) - f.ptr[t]
        tg = node_grp[t]
        new_e = g_e0[tg] + p * g_cnt[tg] + node_j[t]  # of the edge at forward position
        eperm = np.empty(m, dtype=np.int64)
        eperm[new_e] = f.fperm
        self.eperm = eperm  # new edge → old edge
        self.ref_edges = new_e  # the reference's Result.edges order, in new numbering
        src = new[f.src[eperm]]
        tgt = new[f.tgt[eperm]]
        self.edge_tgt = tgt
        self.edge_src = src
        self.groups: list[_Group] = []
        self.gen_groups: list[list[_Group]] = []
        L = len(leaves)
        for s, cnt, arity, e0, n_on in zip(g_start.tolist(), g_cnt.tolist(), g_ar.tolist(),
                                           g_e0.tolist(), g_on.tolist()):
            first = int(members[s])
            spec = None if missing[first] else OPS[f.ops[first]]
            idx = src[e0:e0 + arity * cnt].reshape(arity, cnt)
            rows = members[s:s + cnt]
            attrs = {a: f.attrs[a][rows] for a in spec.attr_names} if spec else {}
            grp = _Group(spec, L + s, cnt, n_on, idx, e0, arity, attrs)
            self.groups.append(grp)
            g_ = int(gen[first])
            while len(self.gen_groups) <= g_:
                self.gen_groups.append([])
            self.gen_groups[g_].append(grp)
        # accumulation rank: targets in reverse topological order, each target's
        # in-edges in networkx order (old edges are numbered exactly so by target)
        old_t = f.tgt
        rank_old = (m - f.ptr[old_t + 1]) + (np.arange(m) - f.ptr[old_t])
        rank = rank_old[eperm]
        # ---- generation ranges and the pull lists (out-edges sorted by rank)
        if not self.gen_groups:
            self.gen_groups.append([])
        ranges = [(0, L)]
        for gi in range(1, len(self.gen_groups)):
            gg = self.gen_groups[gi]
            s0 = gg[0].start if gg else ranges[-1][1]
            s1 = (gg[-1].start + gg[-1].n) if gg else s0
            ranges.append((s0, s1))
        self.gen_ranges = ranges
        order_e = np.empty(m, dtype=np.int64)  # edges in accumulation order
        order_e[rank] = np.arange(m)
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
        self.vals[:L] = f.leafval[leaves]
        self.loc = np.full(m, np.nan)
        self.prod = np.zeros(m)
        self.grad = np.zeros(n)
        self._consumers: tuple[list[int], list[int]] | None = None
        self._group_of: list[int] = []
        self._cone_cache: tuple[int, list] | None = None

    def is_leaf(self, i: int) -> bool:
        return 0 <= i < self._n_leaves

    def set_value(self, i: int, v: float) -> None:
        self.vals[i] = v

    def _eval_group(self, g: _Group, sel: np.ndarray | None = None) -> None:
        vals, loc = self.vals, self.loc
        if sel is None:
            X, attrs = vals[g.idx], g.attrs
        else:
            X, attrs = vals[g.idx[:, sel]], {a: v[sel] for a, v in g.attrs.items()}
        out = g.spec.value(X, attrs)
        locs = g.spec.locals(out, X, attrs)
        s, n, e, k = g.start, g.n, g.e0, g.arity
        if sel is None:
            vals[s:s + n] = out
            if k:
                loc[e:e + k * n].reshape(k, n)[:] = locs
        else:
            vals[s + sel] = out
            if k:
                loc[e:e + k * n].reshape(k, n)[:, sel] = locs

    def forward(self) -> None:
        for g in self.groups:
            if g.spec is not None:
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
            if g.spec is None:
                continue
            if cnt * 4 > g.n:
                self._eval_group(g)
            else:
                self._eval_group(g, np.nonzero(d)[0])

    def _cone(self, leaf: int) -> list[tuple[_Group, np.ndarray | None]]:
        """The groups downstream of ``leaf`` with the positions of the cone's members in
        each (None: the whole group), in evaluation order. Found by a walk over the
        consumers of the cone's nodes only, so its cost is the cone's, not the graph's."""
        if self._consumers is None:
            n = len(self.vals)
            self._consumers = consumers(self.edge_src, self.edge_tgt, n)
            group_of = np.zeros(n, dtype=np.int64)
            for k, g in enumerate(self.groups):
                group_of[g.start:g.start + g.n] = k
            self._group_of = group_of.tolist()
        seen = downstream(*self._consumers, leaf)
        by_group: dict[int, list[int]] = {}
        group_of = self._group_of
        for c in sorted(seen):  # groups are numbered in evaluation order
            by_group.setdefault(group_of[c], []).append(c)
        cone = []
        for k, members in by_group.items():
            g = self.groups[k]
            if g.spec is None:
                continue  # an open port: its values stay NaN
            sel = None if len(members) == g.n else np.asarray(members, dtype=np.int64) - g.start
            cone.append((g, sel))
        return cone

    def forward_values_cone(self, leaf: int) -> None:
        """Values only, group by group over the leaf's cone (kept for the next nudge of
        the same leaf)."""
        cached = self._cone_cache
        if cached is None or cached[0] != leaf:
            cached = self._cone_cache = (leaf, self._cone(leaf))
        vals = self.vals
        for g, sel in cached[1]:
            if sel is None:
                vals[g.start:g.start + g.n] = g.spec.value(vals[g.idx], g.attrs)
            else:
                attrs = {a: v[sel] for a, v in g.attrs.items()}
                vals[g.start + sel] = g.spec.value(vals[g.idx[:, sel]], attrs)

    def value(self, i: int) -> float:
        return self.vals[i]

    #: the trailing shape of every buffer row: () here, (samples,) in the batch strategy
    _tail: tuple[int, ...] = ()

    def backward(self) -> None:
        """Generation by generation from the output: pull each node's gradient from its
        out-edges' products, then compute the products of the edges into it."""
        out = self.out
        if out is None:
            return  # every gradient and product stays 0
        grad, prod, loc, tail = self.grad, self.prod, self.loc, self._tail
        for gi in range(len(self.gen_ranges) - 1, -1, -1):
            s0, s1 = self.gen_ranges[gi]
            if self._pull(gi, s0, s1):
                return
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
                shape = (g.arity, g.n) + tail
                if self._passes_through(g):
                    prod[a:b].reshape(shape)[:, :k] = gs  # × 1
                else:
                    np.multiply(gs, loc[a:b].reshape(shape)[:, :k],
                                out=prod[a:b].reshape(shape)[:, :k])

    def _pull(self, gi: int, s0: int, s1: int) -> bool:
        """Generation gi's gradients: the sums of its out-edges' products, in the
        reference's order (``bincount`` adds in array order from 0.0). True: stop."""
        es, local_src = self.pulls[gi]
        if len(es):
            self.grad[s0:s1] = np.bincount(local_src, weights=self.prod[es],
                                           minlength=s1 - s0)
        else:
            self.grad[s0:s1] = 0.0
        return False

    def _passes_through(self, g: _Group) -> bool:
        """Whether the group's products are its gradients as they are (every local 1,
        known to hold): the scalar path multiplies, which gives the same numbers."""
        return False

    def snapshot(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.vals.copy(), self.grad.copy(), self.loc.copy(), self.prod.copy()
