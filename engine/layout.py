"""Left-to-right layout by topological generation, with no overlapping nodes.

Node sizes live here too, so the layout and the editor's node items agree on
how much room a node takes. O(n log n): a barycenter ordering per generation. Columns
are spaced so the labels of the edges entering a column fit in the gap before it
(their width estimated from the label text; the canvas measures the real one).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from engine.graph import Graph, id_key
from engine.ops import OPS

NODE_WIDTH = 170.0
NODE_BASE_HEIGHT = 78.0
PORT_SPACING = 22.0
COLUMN_GAP = 120.0
#: the widest gap a column gets for its labels (longer label text is shortened on screen)
MAX_COLUMN_GAP = 300.0
ROW_GAP = 46.0
#: label text at 11 px: average advance per character and the box's padding and the
#: room kept beside each port, as the canvas draws them
_CHAR_PX = 6.4
_LABEL_PAD = 12.0
_PORT_ROOM = 18.0


@dataclass(frozen=True)
class Geometry:
    """How large nodes are drawn and how far apart they are laid out. ``NORMAL`` is
    what files hold and the editor edits; ``COMPACT`` is the presentation mode's
    display-only layout: narrower cards, larger text, labels above and below the
    curves instead of in wide gaps, so a projector shows big numbers."""

    node_width: float = NODE_WIDTH
    column_gap: float = COLUMN_GAP
    max_column_gap: float = MAX_COLUMN_GAP
    row_gap: float = ROW_GAP
    #: text size relative to the editor's (node and label fonts)
    text_scale: float = 1.0
    #: size the gap before a column for the labels entering it
    label_gaps: bool = True


NORMAL = Geometry()
COMPACT = Geometry(node_width=142.0, column_gap=56.0, max_column_gap=56.0, row_gap=96.0,
                   text_scale=1.3, label_gaps=False)


def node_size(graph: Graph, nid: str, geometry: Geometry = NORMAL) -> tuple[float, float]:
    """Width and height of a node as drawn: taller for ops with many ports."""
    n_ports = len(graph.ports(nid))
    return geometry.node_width, max(NODE_BASE_HEIGHT, 34.0 + PORT_SPACING * n_ports)


def columns(graph: Graph) -> list[list[str]]:
    """Layer assignment: an op's column is its topological generation; a leaf sits just
    left of its first consumer, so ``y`` in ``(y − ŷ)²`` is drawn beside the loss rather
    than far left with a long edge across the picture."""
    import numpy as np

    from engine.fast.flat import FlatGraph
    f = FlatGraph(graph.nx)  # integer arrays: generations in one scan, not networkx's
    n = f.n
    if n == 0:
        return []
    # a node's generation: 0 with no inputs (a leaf, or an op not yet connected), else
    # one more than its deepest input; nodes are in topological order, so one scan
    src_l, ptr_l = f.lists()
    g_list = [0] * n
    for i in range(n):
        a, b = ptr_l[i], ptr_l[i + 1]
        if a != b:
            g_list[i] = 1 + max(map(g_list.__getitem__, src_l[a:b]))
    gen = np.array(g_list, dtype=np.int64)
    col = gen.copy()
    if f.m:
        src, tgt = f.src, f.tgt
        outdeg = np.bincount(src, minlength=n)
        first = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(first, src, gen[tgt])
        roots = (f.indeg == 0) & (outdeg > 0)
        col[roots] = np.maximum(0, first[roots] - 1)
    where = dict(zip(f.order, col.tolist()))
    cols: list[list[str]] = [[] for _ in range(int(col.max()) + 1)]
    for nid in sorted(where, key=id_key):
        cols[where[nid]].append(nid)
    return [c for c in cols if c]


def _order(graph: Graph, cols: list[list[str]], sweeps: int = 4) -> list[list[str]]:
    """Barycenter ordering: alternate sweeps right (by inputs) and left (by consumers),
    each O(E + n log n), so edges cross less without an O(n²) step.

    A node's key is the mean rank of its inputs (distinct sources) going right, of its
    consumers' ports going left (each rank plus the port's place on its node); a node
    with none of those keeps its rank. Columns are sorted one after another, each with
    a few array operations: a node's ranks are summed in networkx's order, one after
    another (``np.bincount``), so every key is the number a plain loop gives."""
    G = graph.nx
    ids = [n for c in cols for n in c]
    at = {n: i for i, n in enumerate(ids)}
    n_all = len(ids)
    col_of = np.repeat(np.arange(len(cols)), [len(c) for c in cols])
    size = np.repeat([max(1, len(c)) for c in cols], [len(c) for c in cols]).astype(float)
    order: list[np.ndarray] = []  # each column's nodes (indices into ids), in order
    start = 0
    for c in cols:
        order.append(np.arange(start, start + len(c), dtype=np.int64))
        start += len(c)
    rank = np.concatenate([np.arange(len(c)) / max(1, len(c)) for c in cols]) if cols \
        else np.zeros(0)
    # where each fed port sits on its node, once (a sum's port list costs a sort to build)
    # (Graph.ports, inlined: a fixed op's ports are the same list for every node)
    frac: dict[tuple[str, str], float] = {}
    fixed: dict[str, dict[str, float] | None] = {}
    node = G._node
    for t, pr in G._pred.items():
        if not pr:
            continue
        op = node[t]["op"]
        places = fixed.get(op, False)
        if places is False:
            spec = OPS[op]
            places = fixed[op] = None if spec.variadic else {
                p: i / len(spec.ports) for i, p in enumerate(spec.ports)}
        if places is None:
            ports = graph.ports(t)
            for i, p in enumerate(ports):
                frac[(t, p)] = i / len(ports)
        else:
            for p, f in places.items():
                frac[(t, p)] = f
    # inputs: each node's distinct sources; consumers: each (target, port) fed
    in_dst, in_src = [], []
    for t, pr in G._pred.items():
        ti = at[t]
        for u in pr:
            in_dst.append(ti)
            in_src.append(at[u])
    out_src, out_tgt, out_frac = [], [], []
    for u, sc in G._succ.items():
        ui = at[u]
        for t, keys in sc.items():
            for k in keys:
                out_src.append(ui)
                out_tgt.append(at[t])
                out_frac.append(frac.get((t, k), 0.0))
    in_dst_a, in_src_a = np.array(in_dst, dtype=np.int64), np.array(in_src, dtype=np.int64)
    out_src_a, out_tgt_a = np.array(out_src, dtype=np.int64), np.array(out_tgt, dtype=np.int64)
    out_part = np.array(out_frac, dtype=float) / size[out_tgt_a] if len(out_tgt) else \
        np.zeros(0)
    n_in = np.bincount(in_dst_a, minlength=n_all)
    n_out = np.bincount(out_src_a, minlength=n_all)
    # each column's edges, in their original order (sums must add in networkx's order)
    in_by = np.argsort(col_of[in_dst_a], kind="stable") if len(in_dst) else in_dst_a
    out_by = np.argsort(col_of[out_src_a], kind="stable") if len(out_src) else out_src_a
    in_ptr = np.searchsorted(col_of[in_dst_a][in_by], np.arange(len(cols) + 1))
    out_ptr = np.searchsorted(col_of[out_src_a][out_by], np.arange(len(cols) + 1))
    local = np.zeros(n_all, dtype=np.int64)  # a node's place in its column's array
    for sweep in range(sweeps):
        forward = sweep % 2 == 0
        for k in (range(len(cols)) if forward else reversed(range(len(cols)))):
            c = order[k]
            m = len(c)
            local[c] = np.arange(m)
            ie = in_by[in_ptr[k]:in_ptr[k + 1]]
            oe = out_by[out_ptr[k]:out_ptr[k + 1]]
            in_sum = np.bincount(local[in_dst_a[ie]], weights=rank[in_src_a[ie]], minlength=m)
            out_sum = np.bincount(local[out_src_a[oe]],
                                  weights=rank[out_tgt_a[oe]] + out_part[oe], minlength=m)
            ni, no = n_in[c], n_out[c]
            use_in = (ni > 0) if forward else (no == 0)
            cnt = np.where(use_in, ni, no)
            tot = np.where(use_in, in_sum, out_sum)
            own = rank[c]
            with np.errstate(invalid="ignore", divide="ignore"):
                key = np.where(cnt > 0, tot / np.maximum(cnt, 1), own)
            c = c[np.lexsort((own, key))]
            order[k] = c
            rank[c] = np.arange(m) / max(1, m)
    return [[ids[i] for i in c.tolist()] for c in order]


def label_width(graph: Graph, src: str, dst: str, port: str,
                _names: tuple[str, str] | None = None) -> float:
    """An estimate of the width of an edge's label (both lines, numbers of 4
    significant digits), in scene units. ``_names``: the output's and the target's
    display names when the caller has them (a column of edges shares both)."""
    from engine.labels import display_name, local_formula  # labels need no layout
    formula = local_formula(graph, src, dst, port)
    if _names is None:
        out = graph.output
        oname = display_name(graph, out) if out is not None and out in graph else "L"
        _names = (oname, display_name(graph, dst))
    product = f"∂{_names[0]}/∂{_names[1]} × (−0.0000) = −0.0000"
    longest = max(len(formula) + 10, len(product))
    return longest * _CHAR_PX + _LABEL_PAD


def column_gap(graph: Graph, col: list[str], geometry: Geometry = NORMAL) -> float:
    """The gap to leave before a column of nodes: room for the widest label of an edge
    into it (builders that place nodes themselves, like ``engine.network``, use it too)."""
    if not geometry.label_gaps:
        return geometry.column_gap
    from engine.labels import display_name, local_formulas
    G = graph.nx
    node, pred = G._node, G._pred
    out = graph.output
    oname = display_name(graph, out) if out is not None and out in graph else "L"
    widest = 0.0
    # past this the gap is the maximum whatever the other labels are: stop looking
    enough = geometry.max_column_gap - 2 * _PORT_ROOM
    for n in col:
        if widest >= enough:
            break
        if not pred[n]:
            continue
        product = len(f"∂{oname}/∂{display_name(graph, n)} × (−0.0000) = −0.0000")
        for (s, _k), formula in local_formulas(graph, n).items():
            if node[s]["op"] != "const":  # a constant's edge has no label
                widest = max(widest, max(len(formula) + 10, product) * _CHAR_PX + _LABEL_PAD)
    return min(geometry.max_column_gap, max(geometry.column_gap, widest + 2 * _PORT_ROOM))


def _gaps(graph: Graph, cols: list[list[str]], geometry: Geometry = NORMAL) -> list[float]:
    """The gap before each column: room for the widest label of an edge into it."""
    return [column_gap(graph, col, geometry) for col in cols]


def layout(graph: Graph, origin: tuple[float, float] = (0.0, 0.0),
           geometry: Geometry = NORMAL) -> dict[str, tuple[float, float]]:
    """Top-left positions, left to right by column; columns centred vertically."""
    pos: dict[str, tuple[float, float]] = {}
    if len(graph) == 0:
        return pos
    cols = _order(graph, columns(graph))
    heights = [[node_size(graph, n, geometry)[1] for n in col] for col in cols]
    gap_y = geometry.row_gap
    totals = [sum(h) + gap_y * (len(h) - 1) for h in heights]
    tallest = max(totals)
    gaps = _gaps(graph, cols, geometry)
    x0, y0 = origin
    x = x0
    for c, col in enumerate(cols):
        if c:
            x += geometry.node_width + gaps[c]
        y = y0 + (tallest - totals[c]) / 2.0
        for n, h in zip(col, heights[c]):
            pos[n] = (round(x, 2), round(y, 2))  # to 0.01, as files keep positions
            y += h + gap_y
    return pos


def apply_layout(graph: Graph, origin: tuple[float, float] = (0.0, 0.0)) -> None:
    for nid, p in layout(graph, origin).items():
        graph.set_pos(nid, p)
