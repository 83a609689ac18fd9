"""The canvas scene: node and edge items that follow the document's signals.

The scene never edits the graph and never computes a number. It builds its
items from ``document.graph`` once, then reacts only to the document's signals,
touching only the items a change concerns — a slider drag repaints the numbers
that moved, it does not rebuild the picture.
"""

from __future__ import annotations

import dataclasses
import gc
import math
from typing import Iterable

import numpy as np
from PySide6.QtCore import QLineF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

from engine import forward
from engine.graph import id_key
from engine.labels import LABEL_MODES, edge_label, grad_symbol, local_formula
from engine.numfmt import fmt
from engine.quiz import GRAD, LOCAL, PRODUCT, VALUE, question_key
from engine.layout import COMPACT, NORMAL, Geometry, layout
from gui import progress
from gui.canvas.boxgrid import BoxGrid
from gui.canvas.edge_item import LABEL_FONT_PX, LABEL_MIN_LOD, EdgeItem, EdgeLabelItem
from gui.canvas.node_item import NodeItem
from gui.canvas.quiz_field import QUIZ_BLANK, QUIZ_FIELD, QUIZ_WITHHELD
from gui.canvas.theme import DARK, LIGHT, Theme, font

EdgeKey = tuple[str, str, str]
#: the far-zoom overview: [(colour, hairlines)] and [(colour, opacity, boxes)] in drawing order
LineGroups = list[tuple[QColor, list[QLineF]]]
BoxGroups = list[tuple[QColor, float, list[QRectF]]]
#: widest label line (scene px) before the formula gives way to the number
MAX_LABEL_WIDTH = 240.0
#: up to this many stale labels are worded at once; more wait until they are seen
EAGER_LABELS = 300
#: half the side of the scene rect before a build fits it to the graph (see set_bulk)
INDEX_WORLD = 1.0e5


class CanvasScene(QGraphicsScene):
    """Items for one Document: ``nodes[id]`` and ``edges[(src, dst, port)]``."""

    #: every item was thrown away and built again (open, presentation mode on or off):
    #: whatever hangs on the old items (quiz fields) must be made again
    rebuilt = Signal()

    def __init__(self, document, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.theme: Theme = LIGHT
        self.label_mode = "both"
        #: how nodes are sized and text scaled (COMPACT in presentation mode)
        self.geometry: Geometry = NORMAL
        #: presentation mode: positions of a display-only layout (the file's stay as
        #: they are), and no editing on the canvas
        self._display: dict[str, tuple[float, float]] | None = None
        self.read_only = False
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[EdgeKey, EdgeItem] = {}
        self._dirty_edges: set[EdgeKey] = set()
        #: edges whose label text is out of date (see word_labels)
        self._stale: set[EdgeKey] = set()
        self._shown_output = document.graph.output
        self._labels_output = document.result.output
        self._moved = False
        self._highlights: dict[str, tuple[set[str], set[EdgeKey]]] = {}
        #: a step-through pass's engine.passes.PassMask, or None (every number shown)
        self._pass_mask = None
        #: a quiz (engine.quiz.Quiz): its numbers are blanks that quiz fields cover
        self._quiz = None
        #: forward mode's engine.forward.Tangents, or None (off)
        self._tangents = None
        #: while items are being built, views show a blank canvas instead of the scene
        self.building = False
        #: edges whose labels wait for the end of a bulk edit to be placed
        self.labels_pending: set = set()
        #: nodes whose ports changed during a bulk edit: re-synced once when it ends
        self._ports_pending: set = set()
        self._pass_edges: dict[EdgeKey, tuple[bool, bool]] = {}
        self._label_metrics = QFontMetricsF(font(LABEL_FONT_PX))
        #: node cards and placed labels, bucketed for area queries (None: rebuild)
        self._node_boxes: BoxGrid | None = None
        #: the union of the node cards (see extent), None when a node moved
        self._extent: QRectF | None = None
        self._label_boxes = BoxGrid()
        #: every curve's box; its points are on the edge item (labels keep off curves);
        #: None after a build or during a bulk move, until a label looks (see _curves)
        self._curve_boxes: BoxGrid | None = None
        #: counts changes of curves and of which curves are shown (see shapes_version)
        self._shape_epoch = 0
        #: batched far-zoom picture (see overview_lines/boxes); None when an item changed
        self._ov_lines: LineGroups | None = None
        self._ov_boxes: BoxGroups | None = None
        #: items other than nodes, edges and labels (a rubber edge, the rename editor)
        self._extras: set[QGraphicsItem] = set()
        self.setItemIndexMethod(QGraphicsScene.BspTreeIndex)
        # a fixed scene rect: without one Qt unites every item's bounding rect (a Python
        # call each) whenever an item was added and events are processed — each progress
        # step of a build, each node a user adds (views keep their own scrollable world)
        self.setSceneRect(QRectF(-INDEX_WORLD, -INDEX_WORLD, 2 * INDEX_WORLD, 2 * INDEX_WORLD))
        self.setBackgroundBrush(self.theme.background)
        d = document
        d.nodeAdded.connect(self._on_node_added)
        d.nodeRemoved.connect(self._on_node_removed)
        d.nodeChanged.connect(self._on_node_changed)
        d.nodeMoved.connect(self._on_node_moved)
        d.edgeAdded.connect(self._on_edge_added)
        d.edgeRemoved.connect(self._on_edge_removed)
        d.outputChanged.connect(self._on_output_changed)
        d.resultsChanged.connect(self._on_results_changed)
        d.graphReset.connect(self.rebuild)
        d.bulkEdit.connect(self.set_bulk)
        self.rebuild()

    # ------------------------------------------------------------------ public API
    def set_dark(self, dark: bool) -> None:
        """Switch between the light and the dark canvas palette (a repaint, not a rebuild)."""
        self.theme = DARK if dark else LIGHT
        self.setBackgroundBrush(self.theme.background)
        self._ov_lines = self._ov_boxes = None
        self.update()

    def set_presentation(self, on: bool) -> None:
        """Presentation mode: compact cards with larger text, laid out afresh for the
        screen (display only: the document's positions are untouched), read-only."""
        self.geometry = COMPACT if on else NORMAL
        self.read_only = on
        self.rebuild()

    @property
    def presenting(self) -> bool:
        return self.geometry is COMPACT

    def shown_pos(self, nid: str, pos: tuple[float, float]) -> tuple[float, float]:
        """Where node ``nid`` is drawn: its own position, or the presentation layout's."""
        if self._display is None:
            return pos
        return self._display.get(nid, pos)

    def set_label_mode(self, mode: str) -> None:
        """What edge labels show: one of engine.labels.LABEL_MODES."""
        if mode not in LABEL_MODES:
            raise ValueError(f"unknown label mode {mode!r}: use one of {', '.join(LABEL_MODES)}")
        self.label_mode = mode
        self._dirty_edges.update(self.edges)
        self._refresh_numbers()

    def set_highlight(self, channel: str, nodes: Iterable[str] = (),
                      edges: Iterable[EdgeKey] = ()) -> None:
        """Highlight nodes and edges for one channel ("pass", "derivation", …).

        Channels are independent so the step-through and the derivation panel can
        each highlight without clearing the other; an item is drawn highlighted
        while any channel names it. Unknown ids are ignored (the graph may have
        changed under a stale request).
        """
        self._highlights[channel] = (set(nodes), set(edges))
        want_nodes = set().union(*(n for n, _ in self._highlights.values()))
        want_edges = set().union(*(e for _, e in self._highlights.values()))
        for nid, item in self.nodes.items():
            on = nid in want_nodes
            if item.highlighted != on:
                item.highlighted = on
                item.update()
                self._ov_boxes = None
        for key, item in self.edges.items():
            on = key in want_edges
            if item.highlighted != on:
                item.highlighted = on
                item.update()
                if item.label_item() is not None:
                    item.label_item().update()
                self._ov_lines = None

    def set_pass_mask(self, mask) -> None:
        """Show only the numbers a step-through pass has computed so far
        (``engine.passes.PassMask``); ``None`` ends the pass and shows them all.
        Only the items whose state changed are re-labelled."""
        self._pass_mask = mask
        for nid, item in self.nodes.items():
            item.set_pass_state(None if mask is None else mask.node_state(nid))
        old, self._pass_edges = self._pass_edges, {}
        if mask is not None:
            self._pass_edges = {k: mask.edge_state(k) for k in self.edges}
        self._dirty_edges.update(k for k in self.edges
                                 if old.get(k) != self._pass_edges.get(k))
        if self._tangents is not None:  # a forward-mode pass shows its shares one by one
            self._sync_tangent_nodes()
            self._dirty_edges.update(self.edges)
        self._refresh_numbers(every_node=True)

    def pass_mask(self):
        return self._pass_mask

    def set_quiz(self, quiz) -> None:
        """Draw the quizzed numbers of ``quiz`` (an engine.quiz.Quiz) as blanks, edge
        labels in the quiz's fixed wording, and a product not yet worked out as 0 (its
        colour would tell the sign); ``None`` shows every number again. Called again
        after each answer: the colours of what is now known come back."""
        self._quiz = quiz
        for nid, item in self.nodes.items():
            item.set_quiz_state(self._quiz_node_state(nid))
        self._dirty_edges.update(self.edges)
        self._refresh_numbers(every_node=True)
        self.word_labels()

    def quiz(self):
        return self._quiz

    def _quiz_node_state(self, nid: str) -> tuple[int, int] | None:
        """Per number (value, gradient): 0 shown, QUIZ_FIELD a field covers it,
        QUIZ_WITHHELD "?" (computed from an answer still to be worked out)."""
        q = self._quiz
        if q is None:
            return None

        def state(key: str) -> int:
            return QUIZ_FIELD if key in q else QUIZ_WITHHELD if q.withheld(key) else 0
        return (state(question_key(VALUE, nid)), state(question_key(GRAD, nid)))

    def _quiz_lines(self, key: EdgeKey, er) -> list[str]:
        """An edge's label during a quiz: ``∂h/∂w₁ = ▢`` and ``∂L/∂h × ∂h/∂w₁ = ▢``,
        a blank for each quizzed number, whatever the label mode, and the same text
        before and after an answer (the fields stay where they are)."""
        if er is None or er.local is None:
            return []
        q, g, r = self._quiz, self.document.graph, self.document.result
        local_k, product_k = question_key(LOCAL, key), question_key(PRODUCT, key)
        local_q = local_k in q
        lhs = local_formula(g, *key).partition(" = ")[0]
        local = QUIZ_BLANK if local_q else "?" if q.withheld(local_k) else fmt(er.local)
        lines = [f"{lhs} = {local}"]
        if not er.on_path:
            lines.append("off the path to the output")
            return lines
        num = fmt(er.local)
        factor = lhs if local_q or local == "?" else (f"({num})" if num.startswith("−")
                                                      else num)
        product = QUIZ_BLANK if product_k in q else "?" if q.withheld(product_k) \
            else fmt(er.product)
        lines.append(f"{grad_symbol(g, r, key[1])} × {factor} = {product}")
        return lines

    def set_tangents(self, tangents) -> None:
        """Forward mode: every node shows its tangent and every edge its share of one
        (``engine.forward.Tangents``, worded by the engine); ``None`` restores the
        normal view."""
        if tangents is None and self._tangents is None:
            return
        self._tangents = tangents
        self._sync_tangent_nodes()
        self._dirty_edges.update(self.edges)
        self._refresh_numbers()
        self.relabel_crowded()  # the tags above the cards are new obstacles

    def tangents(self):
        return self._tangents

    def _sync_tangent_nodes(self) -> None:
        t, g, mask = self._tangents, self.document.graph, self._pass_mask
        for nid, item in self.nodes.items():
            text = tip = None
            if t is not None and nid in g:
                text = forward.node_text(g, t, nid)
                if text is not None and mask is not None and not mask.tangent_known(nid):
                    text = text.rpartition(" = ")[0] + " = ?"
                else:
                    tip = forward.node_tip(g, t, nid)
            item.set_tangent(text, tip or "")

    def clear_highlight(self, channel: str) -> None:
        self.set_highlight(channel)

    def highlighted(self) -> tuple[set[str], set[EdgeKey]]:
        """What is drawn highlighted now (all channels): node ids and edge keys."""
        return ({n for n, i in self.nodes.items() if i.highlighted},
                {k for k, i in self.edges.items() if i.highlighted})

    def selected_ids(self) -> list[str]:
        return [it.node_id for it in self.selectedItems() if isinstance(it, NodeItem)]

    def select_ids(self, ids) -> None:
        """Select exactly these nodes (touching only items whose state changes: a
        10,000-node graph must answer a Find or a click at once)."""
        want = {self.nodes[n] for n in ids if n in self.nodes}
        for item in self.selectedItems():
            if item not in want:
                item.setSelected(False)
        for item in want:
            if not item.isSelected():
                item.setSelected(True)

    def node_boxes_in(self, area: tuple) -> list[tuple]:
        """Cards (left, top, right, bottom) of the nodes overlapping ``area``.

        A scan over cached tuples: label placement asks this for every edge, and
        QGraphicsScene.items() would call every item's Python boundingRect()."""
        if self._node_boxes is None:
            self._node_boxes = BoxGrid()
            for it in self.nodes.values():
                self._node_boxes.set(it, it.card_box())
        return [x for _, x in self._node_boxes.items_in(area)]

    def leaders_in(self, area: tuple, exclude=None) -> list[tuple]:
        """Leader lines (x0, y0, x1, y1) of the placed labels whose boxes lie near
        ``area`` (a label must not cover another label's leader)."""
        out = []
        for lab, box in self._label_boxes.items_in(area):
            if lab is exclude or lab.edge.hidden_by_gesture:
                continue
            line = lab.leader()
            if line is not None:
                x, y = box[0], box[1]
                out.append((line.x1() + x, line.y1() + y, line.x2() + x, line.y2() + y))
        return out

    def label_boxes_in(self, area: tuple, exclude=None) -> list[tuple]:
        """Boxes of the placed, shown edge labels overlapping ``area`` (but ``exclude``)."""
        return [x for lab, x in self._label_boxes.items_in(area)
                if lab is not exclude and not lab.edge.hidden_by_gesture]

    def curve_changed(self, edge: EdgeItem) -> None:
        """An edge's curve moved: file its box again (its points are ``edge.samples``,
        computed only when a label nearby looks for them; the box holds them all)."""
        self._shape_epoch += 1
        if self._curve_boxes is None:
            return  # filed with all the others when next asked for
        box = edge.curve_box() if edge.scene() is self else None
        if box is None:
            self._curve_boxes.pop(edge)
        else:
            self._curve_boxes.set(edge, box)

    def shapes_version(self) -> tuple:
        """Equal as long as no node card, no curve and no curve's being shown changed:
        a label's spot check reuses the cards and curves it found near its spot until
        then (a slider tick re-checks every label in view, and they stay put)."""
        if self._node_boxes is None:
            self.node_boxes_in((0.0, 0.0, 0.0, 0.0))  # files the cards
        nodes, curves = self._node_boxes, self._curves()
        return (nodes.serial, nodes.version, curves.serial, curves.version,
                self._shape_epoch)

    def _curves(self) -> BoxGrid:
        """The curves' boxes, filed at once when a build or a bulk move left them out."""
        if self._curve_boxes is None:
            grid = self._curve_boxes = BoxGrid(cell=128.0)
            for e in self.edges.values():
                box = e.curve_box()
                if box is not None:
                    grid.set(e, box)
        return self._curve_boxes

    def curve_segments_in(self, area: tuple, skip=()) -> np.ndarray:
        """Segments (rows x0, y0, x1, y1) of the shown curves near ``area`` — but those
        of the edges in ``skip`` (a label's own edge and its twins)."""
        skip = set(skip)
        l, t, r, b = area
        parts = [e.segment_array() for e, _ in self._curves().items_in(area)
                 if e not in skip and not e.hidden_by_gesture]
        if not parts:
            return np.empty((0, 4))
        a = np.concatenate(parts)
        x0, y0, x1, y1 = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
        keep = (np.minimum(x0, x1) < r) & (l < np.maximum(x0, x1)) \
            & (np.minimum(y0, y1) < b) & (t < np.maximum(y0, y1))
        return a[keep]

    def extent(self) -> QRectF:
        """Where the graph is: the node cards' union with room for labels around it
        (cached; cheaper than asking every item for its bounding rect)."""
        if self._extent is None:
            boxes = [it.card_box() for it in self.nodes.values()]
            if not boxes:
                self._extent = QRectF()
            else:
                left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
                right, bottom = max(b[2] for b in boxes), max(b[3] for b in boxes)
                self._extent = QRectF(left - 120, top - 120, right - left + 240,
                                      bottom - top + 240)
        return self._extent

    def node_geometry_changed(self, item: NodeItem | None = None) -> None:
        """A node moved or changed size: its cached box (all of them, without ``item``)
        is stale."""
        self._ov_boxes = None
        self._extent = None
        if item is None or self._node_boxes is None:
            self._node_boxes = None
        elif item.scene() is self and self.nodes.get(item.node_id) is item:
            self._node_boxes.set(item, item.card_box())
        else:
            self._node_boxes.pop(item)

    def label_geometry_changed(self, label) -> None:
        if label.placed and label.lines and label.scene() is self:
            self._label_boxes.set(label, label.box())
        else:
            self._label_boxes.pop(label)

    def items_rect(self) -> QRectF:
        """Bounding box of everything drawn (nodes, edges, labels)."""
        r = QRectF()
        for it in self.nodes.values():
            r = r.united(it.sceneBoundingRect())
            if it.mean_card is not None:
                r = r.united(it.mean_card.sceneBoundingRect())
        for e in self.edges.values():
            r = r.united(e.sceneBoundingRect())
            lab = e.label_item()
            if lab is not None and lab.isVisible():
                r = r.united(lab.sceneBoundingRect())
        return r

    # ------------------------------------------------------------- far-zoom overview
    def overview_changed(self, nodes: bool = True, edges: bool = True) -> None:
        """A node's or an edge's far-zoom look changed (colour, place, visibility): that
        half of the batched overview is rebuilt before the next far-zoom paint."""
        if nodes:
            self._ov_boxes = None
        if edges:
            self._ov_lines = None

    def addItem(self, item: QGraphicsItem) -> None:  # noqa: N802 - Qt's name
        # gesture and editor items are not in the overview: views paint items while any is here
        if not isinstance(item, (NodeItem, EdgeItem, EdgeLabelItem)):
            self._extras.add(item)
        super().addItem(item)

    def band_selecting(self) -> bool:
        """Is a view selecting with a rubber band right now? (Nodes then offer their card
        alone as their shape: see NodeItem.shape.)"""
        return any(not v.rubberBandRect().isEmpty() for v in self.views())

    def has_extra_items(self) -> bool:
        """Is anything besides nodes, ports, edges and labels in the scene?"""
        if self._extras:
            self._extras = {it for it in self._extras if it.scene() is self}
        return bool(self._extras)

    def overview_lines(self) -> LineGroups:
        """Every shown edge as the straight hairline EdgeItem.paint draws far out, in runs
        of one colour: a view zoomed out that far draws them in one batched call per run
        instead of a Python paint call per item. The runs keep the items' stacking order,
        so where hairlines cross (dense bundles) the same one lies on top. Cached until
        an edge's far-zoom look changes (``overview_changed``)."""
        if self._ov_lines is not None:
            return self._ov_lines
        runs: list[tuple[str, list[QLineF]]] = []
        role, run = None, None
        for e in self.edges.values():  # insertion order, as Qt stacks items of equal z
            if e.hidden_by_gesture:  # the only way an edge is hidden
                continue
            r = "highlight" if e.highlighted else e.colour_role()
            if r != role:
                role, run = r, []
                runs.append((r, run))
            run.append(e.line())
        t = self.theme
        self._ov_lines = [(getattr(t, r), lines) for r, lines in runs]
        return self._ov_lines

    def overview_boxes(self) -> BoxGroups:
        """Every node as the flat box NodeItem.paint draws far out, grouped by colour and
        opacity, selected ones last (they are stacked above the others); cached like
        ``overview_lines``."""
        if self._ov_boxes is not None:
            return self._ov_boxes
        t = self.theme
        groups: dict[tuple[bool, int, bool], tuple[QColor, float, list[QRectF]]] = {}
        for it in self.nodes.values():  # nodes are never hidden
            selected = it.isSelected()
            c = it.far_colour(t, selected)
            key = (selected, id(c), it.greyed)  # theme colours: one object per colour
            group = groups.get(key)
            if group is None:
                group = groups[key] = (c, 0.5 if it.greyed else 1.0, [])  # as sync_numbers
            group[2].append(it.card_qrect())
        self._ov_boxes = [groups[k] for k in sorted(groups, key=lambda k: k[0])]
        return self._ov_boxes

    def edge_label_text(self, src: str, dst: str, port: str) -> str:
        """The text an edge's label shows right now (as a user reads it)."""
        e = self.edges.get((src, dst, port))
        return e.label.text() if e is not None else ""

    # --------------------------------------------------------------- construction
    def rebuild(self) -> None:
        """Throw every item away and build them again from the graph (new/open/replace)."""
        self.clear()
        self._ov_lines = self._ov_boxes = None
        self._extras.clear()
        self.nodes.clear()
        self.edges.clear()
        self._stale.clear()
        self._node_boxes = None
        self._extent = None
        self._label_boxes.clear()
        self._curve_boxes = None
        g, r = self.document.graph, self.document.result
        self._shown_output = g.output
        self._display = layout(g, geometry=self.geometry) if self.presenting else None
        total = len(g) + 2 * g.nx.number_of_edges()
        self.set_bulk(True)
        # tens of thousands of new objects, none of them garbage: without this Python's
        # collector would walk the whole heap (the graph too) several times meanwhile
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._build_items(g, r, total)
        finally:
            if collecting:
                gc.enable()
            self.set_bulk(False)
        self._dirty_edges.update(self.edges)
        self._refresh_numbers()
        self.rebuilt.emit()

    def set_bulk(self, on: bool) -> None:
        """Enter or leave bulk mode, for work that touches most items (open, auto-layout).

        Progress reports let the window repaint; a view painting a half-built or
        half-moved scene (or the index catching up with it) would re-index it each time,
        so the index is switched off and rebuilt once at the end, and views show a blank
        canvas until then."""
        if on == self.building:
            return
        self.building = on
        if on:
            self._curve_boxes = None  # curves move in bulk: filed once, when next asked for
            self._index_method = self.itemIndexMethod()
            self.setItemIndexMethod(QGraphicsScene.NoIndex)
            return
        ports, self._ports_pending = self._ports_pending, set()
        for nid in sorted(ports, key=id_key):  # a sum given 30 inputs re-routes once
            item = self.nodes.get(nid)
            if item is not None:
                self._resync_ports(nid)
                self._dirty_edges.update(e.key for e in item.edges if e.key[1] == nid)
        pending, self.labels_pending = self.labels_pending, set()
        if pending:  # in the edges' own order, as when the scene is built
            for e in self.edges.values():
                if e in pending:
                    e.place_label()
        # the index's rect: the graph with room around it (an item outside is still
        # indexed, in the outermost cells; a rect far larger than the graph would leave
        # each cell holding more items)
        ext = self.extent()
        rect = self.sceneRect()
        if not ext.isEmpty():
            m = max(2000.0, 0.5 * max(ext.width(), ext.height()))
            rect = ext.adjusted(-m, -m, m, m)
        self.setItemIndexMethod(self._index_method)  # a new index: its depth is set after
        # Qt's automatic BSP depth makes the first query on a large graph take seconds
        # (long edges are filed in every leaf they cross); a shallower tree does not
        n = len(self.nodes) + 1
        self.setBspTreeDepth(max(4, min(10, round(math.log2(n * 4 + 1) / 1.5))))
        # a new index learns the scene rect only from sceneRectChanged, which an unchanged
        # rect does not emit: without it the tree splits an empty rect, every item lands
        # in one cell, and each query, paint and hover asks every item for its box
        if rect == self.sceneRect():
            self.setSceneRect(rect.adjusted(0, 0, 1, 1))
        self.setSceneRect(rect)
        for v in self.views():
            v.viewport().update()

    def _build_items(self, g, r, total: int) -> int:
        done = 0
        for nid in g.ids():  # placed before any edge exists: each curve is drawn once
            self._make_node(nid).sync(g, r)
            done += 1
            if not done & 255:
                progress.step(done, total, "Building the canvas…")
        for src, dst, port in g.edges():
            self._make_edge(src, dst, port)
            done += 1
            if not done & 255:
                progress.step(done, total, "Building the canvas…")
        for e in self.edges.values():
            e.update_path()
            done += 1
            if not done & 255:
                progress.step(done, total, "Drawing the edges…")
        return done

    def _make_node(self, nid: str) -> NodeItem:
        item = NodeItem(nid)
        if self._pass_mask is not None:
            item.set_pass_state(self._pass_mask.node_state(nid))
        if self._quiz is not None:
            item.set_quiz_state(self._quiz_node_state(nid))
        item.highlighted = any(nid in n for n, _ in self._highlights.values())
        if self.read_only:
            item.setFlag(QGraphicsItem.ItemIsMovable, False)
        self.nodes[nid] = item
        self.addItem(item)
        self._node_boxes = None
        self._ov_boxes = None
        return item

    def _make_edge(self, src: str, dst: str, port: str) -> EdgeItem:
        e = EdgeItem(self.nodes[src], self.nodes[dst], port)
        e.highlighted = any((src, dst, port) in k for _, k in self._highlights.values())
        self.nodes[src].edges.add(e)
        self.nodes[dst].edges.add(e)
        self.edges[(src, dst, port)] = e
        self._shape_epoch += 1  # a new twin changes which curves a label skips
        self.addItem(e)  # its label item is made when first needed (EdgeItem.label)
        self._ov_lines = None
        return e

    # ------------------------------------------------------------- signal handlers
    def _on_node_added(self, nid: str) -> None:
        item = self._make_node(nid)
        item.sync(self.document.graph, self.document.result)

    def _on_node_removed(self, nid: str) -> None:
        item = self.nodes.pop(nid, None)
        if item is None:
            return
        for e in list(item.edges):  # normally none left: edgeRemoved came first
            self._drop_edge(e.key)
        self.removeItem(item)
        self._node_boxes = None
        self._ov_boxes = None

    def _on_node_changed(self, nid: str) -> None:
        g = self.document.graph
        item = self.nodes.get(nid)
        if item is None:
            return
        shown = (item.name, item.op, item.w, item.h)
        item.sync(g, self.document.result)
        if (item.name, item.op, item.w, item.h) == shown:
            return  # a value: its numbers arrive with resultsChanged, nothing else moves
        # names (and a constant's number) appear in the formulas of the edges into
        # this node and into the nodes it feeds; the output's name in every ∂L/∂…
        if nid == self.document.result.output:
            self._dirty_edges.update(self.edges)
        into = {e.key for e in item.edges}
        for d, _ in g.consumers(nid):
            if d in self.nodes:
                into |= {e.key for e in self.nodes[d].edges if e.dst_item.node_id == d}
        self._dirty_edges.update(into)
        for k in sorted(into):  # every one ends at this node or at a node it feeds
            self.edges[k].update_path()

    def _on_node_moved(self, nid: str) -> None:
        self._moved = True
        item = self.nodes.get(nid)
        if item is not None:
            x, y = self.shown_pos(nid, self.document.graph.node(nid).pos)
            if (item.pos().x(), item.pos().y()) != (x, y):
                item.setPos(x, y)  # edges follow through itemChange

    def _on_edge_added(self, src: str, dst: str, port: str) -> None:
        e = self._make_edge(src, dst, port)
        if self.building:  # a bulk edit (a network inserted): ports once, at its end
            self._ports_pending.add(dst)
            return
        self._resync_ports(dst)
        e.update_path()
        self._dirty_edges.update(k for k in self.edges if k[1] == dst)

    def _on_edge_removed(self, src: str, dst: str, port: str) -> None:
        self._drop_edge((src, dst, port))
        if self.building:
            self._ports_pending.add(dst)
            return
        if dst in self.nodes:
            self._resync_ports(dst)
        self._dirty_edges.update(k for k in self.edges if k[1] == dst)

    def _drop_edge(self, key: EdgeKey) -> None:
        e = self.edges.pop(key, None)
        if e is None:
            return
        e.src_item.edges.discard(e)
        e.dst_item.edges.discard(e)
        self._shape_epoch += 1
        if self._curve_boxes is not None:
            self._curve_boxes.pop(e)
        lab = e.label_item()
        if lab is not None:
            self._label_boxes.pop(lab)
            self.removeItem(lab)
        self.removeItem(e)
        self._ov_lines = None
        self._dirty_edges.discard(key)
        self._stale.discard(key)

    def _resync_ports(self, nid: str) -> None:
        """Ports (and for sum, the size) depend on the edges: re-sync, then re-route its edges."""
        item = self.nodes[nid]
        item.sync(self.document.graph, self.document.result)
        for e in sorted(item.edges, key=lambda e: e.dst_item.port_index(e.port)):
            e.update_path()

    def _on_output_changed(self) -> None:
        # every ∂L/∂… names the output; a reset re-announces an unchanged one
        if self.document.graph.output != self._shown_output:
            self._shown_output = self.document.graph.output
            self._dirty_edges.update(self.edges)

    def _fit_lines(self, key: EdgeKey, lines: list[str]) -> list[str]:
        """Keep labels compact: a formula too long to read (long names) gives way to
        the number alone, and what is still too wide is shortened in the middle.
        The full text stays in the label's tooltip."""
        fm = self._label_metrics
        if not any(fm.horizontalAdvance(s) > MAX_LABEL_WIDTH for s in lines):
            return lines
        out = list(lines)
        if self.label_mode == "both" and out:
            g, r = self.document.graph, self.document.result
            out[0] = edge_label(g, r, *key, mode="local")[0]
        return [fm.elidedText(s, Qt.ElideMiddle, MAX_LABEL_WIDTH) for s in out]

    def _on_results_changed(self) -> None:
        self._refresh_numbers()
        if self._moved:
            self._moved = False
            self.relabel_crowded()

    def relabel_crowded(self) -> None:
        """After nodes moved, labels of other edges may now sit on a moved node or on a
        moved edge's label: place those again (a label that is still clear stays put)."""
        for key in sorted(self.edges):
            e = self.edges[key]
            lab = e.label_item()
            if lab is not None and lab.placed and lab.lines and lab.isVisible():
                e.place_label(keep=True)

    def _refresh_numbers(self, every_node: bool = False) -> None:
        """Push the current Result into the items whose numbers (or wording) changed.
        ``every_node``: also nodes the last evaluation did not change (a pass mask)."""
        g, r = self.document.graph, self.document.result
        if r.output != self._labels_output:  # every ∂L/∂… names the output
            self._labels_output = r.output
            self._dirty_edges.update(self.edges)
        changes = self.document.changes
        if changes is None or every_node:
            node_items = self.nodes.values()
            edge_items = self.edges.items()
        else:  # only what the engine reports as changed, and what an edit made stale
            nodes, edges = self.nodes, self.edges
            node_items = [nodes[n] for n in changes.nodes if n in nodes]
            edge_items = [(k, edges[k]) for k in changes.edges | self._dirty_edges
                          if k in edges]  # (in any order: each edge is set on its own)
        for item in node_items:
            item.sync_numbers(g, r)
        stale, dirty, results = self._stale, self._dirty_edges, r.edges
        masked = self._pass_mask is not None
        for key, e in edge_items:
            er = results.get(key)
            if masked:
                er = self._shown_edge(key, er)
            if key in dirty:
                e.set_result(er, force=True)
                stale.add(key)
            elif e.set_result(er):
                stale.add(key)
        self._dirty_edges.clear()
        if len(stale) <= EAGER_LABELS:
            self.word_labels()
        # else: each view words the ones it shows just before it paints

    def _shown_edge(self, key: EdgeKey, er):
        """The EdgeResult as shown: during a step-through pass, a product not computed
        yet is shown as 0 with no reason."""
        state = self._pass_edges.get(key) if self._pass_mask is not None else None
        if state is not None and er is not None and not state[1]:
            er = dataclasses.replace(er, product=0.0, reason=None)  # not computed yet
        q = self._quiz
        if q is not None and er is not None and q.unknown(question_key(PRODUCT, key)):
            er = dataclasses.replace(er, product=0.0, reason=None)  # not worked out yet
        return er

    # ------------------------------------------------------------- label text
    def word_labels(self, keys=None) -> None:
        """Write the text of stale edge labels (all, or those of ``keys``) and place them.

        A value change only marks labels stale: wording and placing a label costs far
        more than the engine's update, so on large graphs the text is written for the
        labels a view shows at a readable zoom (``word_visible_labels``, called before
        each paint), or when someone reads it (``EdgeLabelItem.text``)."""
        stale = self._stale
        todo = sorted(stale) if keys is None else sorted(k for k in keys if k in stale)
        if not todo:
            return
        g, r = self.document.graph, self.document.result
        for key in todo:
            stale.discard(key)
            e = self.edges.get(key)
            if e is None:
                continue
            er = r.edges.get(key)
            if self._quiz is not None:
                full = lines = self._quiz_lines(key, er)
                e.set_numbers(self._shown_edge(key, er), lines, full)
                continue
            full = edge_label(g, r, *key, mode=self.label_mode) if er is not None else []
            lines = self._fit_lines(key, full)
            state = self._pass_edges.get(key) if self._pass_mask is not None else None
            if state is not None and er is not None:
                full = self._hide_numbers(full, er.on_path, *state)
                lines = self._hide_numbers(lines, er.on_path, *state)
            tangent = self._tangent_line(key)
            if tangent is not None or e.label_item() is not None:
                e.label.tangent_line = tangent is not None
            if tangent is not None:
                lines, full = lines + [tangent], full + [tangent]
            e.set_numbers(self._shown_edge(key, er), lines, full)

    def _tangent_line(self, key: EdgeKey) -> str | None:
        """Forward mode's line on an edge label (``0.3 × ḣ = 0.6``), "?" for a share a
        forward-mode pass has not reached; None when forward mode is off."""
        t = self._tangents
        if t is None:
            return None
        g, r = self.document.graph, self.document.result
        text = forward.edge_text(g, r, t, key) if key in r.edges else None
        mask = self._pass_mask
        if text is not None and mask is not None and not mask.share_known(key):
            text = text.rpartition(" = ")[0] + " = ?"
        return text

    def word_visible_labels(self, view) -> None:
        """Word the stale labels of edges inside ``view``'s viewport, when labels are
        drawn at its zoom (see EdgeLabelItem.paint)."""
        if not self._stale or view.transform().m11() < LABEL_MIN_LOD:
            return
        rect = view.mapToScene(view.viewport().rect()).boundingRect()
        near = rect.adjusted(-MAX_LABEL_WIDTH, -MAX_LABEL_WIDTH, MAX_LABEL_WIDTH,
                             MAX_LABEL_WIDTH)
        stale, keys = self._stale, []
        for it in self.items(rect, Qt.IntersectsItemBoundingRect):
            if isinstance(it, EdgeItem) and it.key in stale:
                # a long edge crossing the view keeps its label near its middle
                lab = it.label_item()
                if lab is not None and lab.placed and lab.lines:
                    b = lab.box()
                    seen = b[0] < near.right() and near.left() < b[2] and \
                        b[1] < near.bottom() and near.top() < b[3]
                else:
                    seen = near.contains(it.midpoint())
                if seen:
                    keys.append(it.key)
        self.word_labels(keys)

    def label_is_stale(self, key: EdgeKey) -> bool:
        return key in self._stale

    def _hide_numbers(self, lines: list[str], on_path: bool, local: bool,
                      product: bool) -> list[str]:
        """During a pass: "?" for an edge's local derivative or product not computed yet."""
        def hide(line: str, sep: str) -> str:
            head, found, _ = line.partition(sep) if sep == " × " else line.rpartition(sep)
            return f"{head}{sep}?" + (" = ?" if sep == " × " else "") if found else line
        out = list(lines)
        mode = self.label_mode
        if out and mode in ("local", "both") and not local:
            out[0] = hide(out[0], " = ")
        if out and mode in ("product", "both") and on_path and not product:
            out[-1] = hide(out[-1], " = " if local else " × ")
        return out
