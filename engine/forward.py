"""Forward mode beside reverse mode: tangents carried from one leaf towards the output.

Reverse mode (``engine.evaluate``) finds ∂L/∂(every node) in one sweep back from the
output. Forward mode picks one leaf, the *direction*, and carries each node's tangent
ẋ = ∂x/∂(direction) forward in topological order, as dual numbers do: the direction's
tangent is 1, every other leaf's 0, and an op's tangent is the sum over its inputs of
local derivative × that input's tangent. One forward sweep gives the derivative of
every node with respect to one leaf; the full gradient needs one sweep per leaf.

The local derivatives are the evaluated Result's own (the registry computed each once);
this module only multiplies and sums them. A source whose tangent is exactly 0 sends 0
along its edges, even across a non-finite local derivative, as automatic
differentiation's symbolic zeros do. Constants have no tangent (None), as they have no
gradient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.graph import Graph
from engine.labels import display_name, tangent_symbol
from engine.numfmt import fmt, full
from engine.ops import VARIABLE_KINDS
from engine.result import Result

EdgeKey = tuple[str, str, str]
#: relative tolerance within which a forward tangent and a reverse gradient "agree":
#: the two modes multiply the same local derivatives in other orders, so they differ
#: by rounding only (a few units in the last place, more after long sums)
AGREE_REL = 1e-9
AGREE_ABS = 1e-12
#: leaves whose tangents the comparison carries at once (columns of one array)
BLOCK = 64


@dataclass(frozen=True)
class Tangents:
    """One forward-mode sweep: every node's tangent with respect to ``direction``."""

    direction: str
    output: str | None
    #: ẋ = ∂node/∂direction; None for a constant
    nodes: dict[str, float | None]
    #: local × the source's tangent: this edge's share of the target's tangent; None
    #: when the source is a constant
    edges: dict[EdgeKey, float | None]
    #: the edges summed into each op's tangent, in port order
    terms: dict[str, tuple[EdgeKey, ...]]

    @property
    def output_tangent(self) -> float | None:
        """∂output/∂direction: forward mode's answer for one entry of the gradient."""
        return None if self.output is None else self.nodes.get(self.output)


def variable_leaves(graph: Graph, result: Result) -> list[str]:
    """The leaves a gradient is taken with respect to (inputs, params, data), in the
    Result's topological order."""
    node = graph.nx._node
    return [n for n in result.order
            if (d := node.get(n)) is not None and d["op"] in VARIABLE_KINDS]


def tangents(graph: Graph, result: Result, direction: str) -> Tangents:
    """Forward mode from ``direction`` over the numbers of ``result`` (evaluated from
    ``graph``; for a dataset, one sample's Result)."""
    node = graph.nx._node
    if direction not in node or node[direction]["op"] not in VARIABLE_KINDS:
        raise ValueError(f"forward mode starts from an input, a param or a data leaf, "
                         f"not {direction!r}")
    t: dict[str, float | None] = {}
    edges: dict[EdgeKey, float | None] = {}
    terms: dict[str, tuple[EdgeKey, ...]] = {}
    nodes = result.nodes
    for nid in result.order:
        if nodes[nid].grad is None:  # a constant: nothing here depends on a leaf
            t[nid] = None
            for port, src in graph.inputs(nid):
                edges[(src, nid, port)] = None
            continue
        ins = graph.inputs(nid)
        if not ins:
            t[nid] = 1.0 if nid == direction else 0.0
            continue
        total = 0.0
        keys = []
        for port, src in ins:
            key = (src, nid, port)
            local = result.edges[key].local
            ts = t[src]
            if local is None or ts is None:
                edges[key] = None
                continue
            share = 0.0 if ts == 0.0 else local * ts
            edges[key] = share
            total += share
            keys.append(key)
        t[nid] = total
        terms[nid] = tuple(keys)
    return Tangents(direction, result.output, t, edges, terms)


@dataclass(frozen=True)
class LeafCheck:
    """One entry of the gradient found both ways."""

    leaf: str
    #: ∂output/∂leaf by forward mode: the output's tangent with this leaf as direction
    forward: float
    #: ∂output/∂leaf by reverse mode: the leaf's gradient in the Result
    reverse: float

    @property
    def agree(self) -> bool:
        return agree(self.forward, self.reverse)


@dataclass(frozen=True)
class Comparison:
    """The full gradient by both modes, and what each mode had to do for it."""

    output: str | None
    rows: tuple[LeafCheck, ...]

    @property
    def forward_passes(self) -> int:
        """One forward sweep per leaf of the gradient."""
        return len(self.rows)

    @property
    def reverse_passes(self) -> int:
        """One forward sweep for the values, then one backward sweep for every gradient."""
        return 1 if self.rows else 0

    @property
    def all_agree(self) -> bool:
        return all(r.agree for r in self.rows)


def agree(a: float, b: float) -> bool:
    """Equal up to rounding (relative ``AGREE_REL``); a NaN or an infinity only equals
    itself."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return a == b or (math.isnan(a) and math.isnan(b))
    return math.isclose(a, b, rel_tol=AGREE_REL, abs_tol=AGREE_ABS)


def compare(graph: Graph, result: Result) -> Comparison:
    """For every variable leaf: the output's forward tangent with that leaf as the
    direction beside the leaf's reverse-mode gradient. Empty without an output."""
    out = result.output
    if out is None or result.nodes[out].grad is None:
        return Comparison(out, ())
    leaves = [n for n in variable_leaves(graph, result) if result.nodes[n].grad is not None]
    fwd = output_tangents(graph, result, leaves)
    return Comparison(out, tuple(LeafCheck(n, fwd[n], float(result.nodes[n].grad))
                                 for n in leaves))


def output_tangents(graph: Graph, result: Result, leaves: list[str]) -> dict[str, float]:
    """∂output/∂leaf by forward mode for each of ``leaves``: one sweep per leaf, carried
    as columns of one array (``BLOCK`` leaves at a time) so that a graph with thousands
    of nodes and leaves is swept by numpy, one topological level at a time. Only the
    nodes on the path to the output take part: no other tangent reaches it."""
    out = result.output
    if out is None or not leaves or result.nodes[out].grad is None:
        return {}  # no output, or a constant one: nothing to differentiate
    nodes, G = result.nodes, graph.nx
    order = [n for n in result.order if nodes[n].on_path and nodes[n].grad is not None]
    index = {n: i for i, n in enumerate(order)}
    level = [0] * len(order)
    src_l, tgt_l, loc_l, lev_l = [], [], [], []
    for i, nid in enumerate(order):
        lv = 0
        for s, _, k in G.in_edges(nid, keys=True):
            j = index.get(s)
            if j is None:
                continue  # a constant
            lv = max(lv, level[j] + 1)
            src_l.append(j)
            tgt_l.append(i)
            loc_l.append(result.edges[(s, nid, k)].local)
        level[i] = lv
        lev_l.extend([lv] * (len(src_l) - len(lev_l)))
    src, tgt = np.array(src_l, dtype=np.intp), np.array(tgt_l, dtype=np.intp)
    loc, lev = np.array(loc_l, dtype=np.float64), np.array(lev_l, dtype=np.intp)
    # per level: its edges sorted by target, so each target's shares are summed by one
    # reduceat (np.add.at over 2-d rows is many times slower)
    by_level = np.lexsort((tgt, lev))
    bounds = np.searchsorted(lev[by_level], np.arange(1, (max(level) if level else 0) + 2))
    groups = []
    for k in range(len(bounds) - 1):
        e = by_level[bounds[k]:bounds[k + 1]]
        if len(e):
            t = tgt[e]
            starts = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
            # with finite locals a zero tangent gives a zero share by itself
            groups.append((src[e], loc[e, None], t[starts], starts,
                           bool(np.isfinite(loc[e]).all())))
    o = index[out]
    found: dict[str, float] = {}
    for start in range(0, len(leaves), BLOCK):
        block = leaves[start:start + BLOCK]
        T = np.zeros((len(order), len(block)))
        for c, leaf in enumerate(block):
            if leaf in index:
                T[index[leaf], c] = 1.0
        with np.errstate(all="ignore"):
            for s_idx, local, targets, starts, finite in groups:
                ts = T[s_idx]
                share = local * ts if finite else np.where(ts == 0.0, 0.0, local * ts)
                T[targets] += np.add.reduceat(share, starts, axis=0)
        for c, leaf in enumerate(block):
            found[leaf] = float(T[o, c])
    return found


# ------------------------------------------------------------------ display text

def node_text(graph: Graph, t: Tangents, nid: str) -> str | None:
    """What a node shows in forward mode: ``ḣ = 2``; None for a constant."""
    v = t.nodes.get(nid)
    return None if v is None else f"{tangent_symbol(graph, nid)} = {fmt(v)}"


def node_tip(graph: Graph, t: Tangents, nid: str) -> str:
    """``ḣ = ∂h/∂w₁ = 2 (forward mode from w₁)``, full precision, for a tooltip."""
    v = t.nodes.get(nid)
    if v is None:
        return ""
    d = display_name(graph, t.direction)
    return (f"{tangent_symbol(graph, nid)} = ∂{display_name(graph, nid)}/∂{d} = {full(v)}"
            f"    (forward mode from {d})")


def edge_text(graph: Graph, result: Result, t: Tangents, key: EdgeKey) -> str | None:
    """An edge's share of its target's tangent: local × the source's tangent,
    ``0.3 × ḣ = 0.6``; None where the source is a constant."""
    share = t.edges.get(key)
    er = result.edges.get(key)
    if share is None or er is None or er.local is None:
        return None
    local = fmt(er.local)
    local = f"({local})" if local.startswith("−") else local
    return f"{local} × {tangent_symbol(graph, key[0])} = {fmt(share)}"
