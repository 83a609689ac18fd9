"""An edge: a curve from an output port to an input port, and its chain-rule label.

The curve's colour says the sign of the accumulated product (∂L/∂target ×
local), its width the product's magnitude on a log scale, so a learner sees at
a glance where the gradient flows and how strongly. The label carries the text
``engine.labels.edge_label`` produced; the GUI adds no numbers of its own.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import (QBrush, QColor, QFontMetricsF, QPainter, QPainterPath,
                           QPainterPathStroker, QPen, QPolygonF)
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from engine.evaluate import EdgeResult
from gui.canvas.theme import font

MIN_WIDTH = 1.4
MAX_WIDTH = 7.0
LABEL_MIN_LOD = 0.45
#: below this zoom an edge is a straight hairline
LINE_MIN_LOD = 0.15
LABEL_FONT_PX = 11
LABEL_PAD_X = 5.0
LABEL_PAD_Y = 3.0
#: clearance kept between a label and any node card
CLEARANCE = 4.0
#: sideways clearance: ports, arrow heads and the curves' ends stay visible
PORT_CLEARANCE = 16.0
#: points sampled along each curve, for "does this box cover another edge's curve?"
CURVE_SAMPLES = 13


def curve(p0: QPointF, p1: QPointF) -> QPainterPath:
    """A horizontal-tangent cubic from an output port (p0) to an input port (p1)."""
    dx = max(40.0, abs(p1.x() - p0.x()) * 0.5)
    path = QPainterPath(p0)
    path.cubicTo(QPointF(p0.x() + dx, p0.y()), QPointF(p1.x() - dx, p1.y()), p1)
    return path


def curve_samples(p0: QPointF, p1: QPointF, n: int = CURVE_SAMPLES) -> list[tuple[float, float]]:
    """``n`` points of ``curve(p0, p1)`` at even parameter steps, from the Bézier formula
    (cheaper than asking the path ``n`` times)."""
    x0, y0, x3, y3 = p0.x(), p0.y(), p1.x(), p1.y()
    dx = max(40.0, abs(x3 - x0) * 0.5)
    x1, x2 = x0 + dx, x3 - dx
    out = []
    for i in range(n):
        t = i / (n - 1)
        u = 1.0 - t
        a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        out.append((a * x0 + b * x1 + c * x2 + d * x3, (a + b) * y0 + (c + d) * y3))
    return out


def _grow(b: tuple, m: float) -> tuple:
    return (b[0] - m, b[1] - m, b[2] + m, b[3] + m)


def _grow_node(b: tuple) -> tuple:
    """A node's card plus its ports (they stick out left and right) and a margin."""
    return (b[0] - PORT_CLEARANCE, b[1] - CLEARANCE, b[2] + PORT_CLEARANCE, b[3] + CLEARANCE)


def _hit(a: tuple, b: tuple) -> bool:
    """Do boxes (left, top, right, bottom) overlap?"""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def width_for(product: float) -> float:
    """Stroke width from |product|, log-scaled and clamped so huge gradients stay drawable."""
    if not math.isfinite(product):
        return 2.0
    return max(MIN_WIDTH, min(MAX_WIDTH, 1.4 + 1.3 * math.log10(1.0 + 10.0 * abs(product))))

#: where along its own curve a label is anchored, best first: near the target port, then
#: back towards the middle (the anchor is always a point on the edge's own curve)
ANCHORS = (0.76, 0.64, 0.88, 0.52, 0.4, 0.28)
#: how far (scene px) a label may be moved off its anchor; a leader line then joins them
MAX_LEADER = 96.0
LEADER_STEP = 6.0
#: margin kept between a label and a curve that is not its own
CURVE_CLEARANCE = 3.0


def _offsets(w: float, h: float, reach: float = MAX_LEADER
             ) -> list[tuple[float, int, float, float]]:
    """Where a label's centre may go relative to an anchor, cheapest first:
    (cost, anchor rank, dx, dy). On the anchor (the curve runs through the label), slid
    along it, or above or below it with a leader line; nearer the target port first."""
    out = []
    dys = [0.0]
    k = h / 2 + 5.0
    while k <= reach + h / 2:
        dys += [-k, k]
        k += LEADER_STEP
    for rank in range(len(ANCHORS)):
        for dx in (0.0, -0.3 * w, 0.3 * w):
            for dy in dys:
                leader = abs(dy) > h / 2
                cost = 22.0 * rank + abs(dy) + 0.6 * abs(dx) + (8.0 if leader else 0.0)
                out.append((cost, rank, dx, dy))
    out.sort()
    return out


def seg_hits_box(x0: float, y0: float, x1: float, y1: float, b: tuple) -> bool:
    """Does the segment (x0, y0)–(x1, y1) touch box b = (left, top, right, bottom)?
    (Liang–Barsky clipping.)"""
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x0 - b[0]), (dx, b[2] - x0), (-dy, y0 - b[1]), (dy, b[3] - y0)):
        if p == 0.0:
            if q < 0.0:
                return False
        else:
            r = q / p
            if p < 0.0:
                if r > t1:
                    return False
                t0 = max(t0, r)
            else:
                if r < t0:
                    return False
                t1 = min(t1, r)
    return True


#: a label spot's penalty counts at most this many curve segments crossed
MAX_COUNTED_CROSSINGS = 8


class Segments:
    """Curve segments near one anchor, with their bounding boxes as arrays: a label
    candidate tests only the few whose box meets its own (a dense fan-in brings
    thousands of segments into reach, and each label tries dozens of spots)."""

    def __init__(self, segs: np.ndarray) -> None:
        a = self.segs = np.asarray(segs, dtype=float).reshape(-1, 4)
        self.lo_x, self.hi_x = np.minimum(a[:, 0], a[:, 2]), np.maximum(a[:, 0], a[:, 2])
        self.lo_y, self.hi_y = np.minimum(a[:, 1], a[:, 3]), np.maximum(a[:, 1], a[:, 3])

    def __len__(self) -> int:
        return len(self.segs)

    def hitting(self, b: tuple) -> Iterator[tuple]:
        """The segments that touch box b (as ``seg_hits_box`` says)."""
        near = np.flatnonzero((self.lo_x <= b[2]) & (self.hi_x >= b[0])
                              & (self.lo_y <= b[3]) & (self.hi_y >= b[1]))
        for k in range(0, len(near), 32):  # callers mostly stop at the first few
            for seg in self.segs[near[k:k + 32]].tolist():
                if seg_hits_box(*seg, b):
                    yield seg


class EdgeLabelItem(QGraphicsItem):
    """The text box of one edge: local derivative line and product line.

    Each label belongs to a point on its own edge's curve, its *anchor*: the label sits
    on it (the curve runs through the box) or, where that spot is taken, close by with
    a short leader line from the anchor to the box, so no label can be read off the
    wrong edge."""

    Type = QGraphicsItem.UserType + 4

    def __init__(self, edge: "EdgeItem") -> None:
        super().__init__()
        self.edge = edge
        self.lines: list[str] = []
        #: forward mode: the last line is the edge's share of a tangent (its own colour)
        self.tangent_line = False
        self._size = QRectF()
        self._font = font(LABEL_FONT_PX)
        self.placed = False
        self._xy = (0.0, 0.0)
        self._box = (0.0, 0.0, 0.0, 0.0)
        #: the point on the edge's own curve this label belongs to (scene coordinates)
        self.anchor: tuple[float, float] | None = None
        #: (anchor rank, dx, dy) of the last placement, kept while it stays clear
        self.spot: tuple[int, float, float] | None = None
        #: what the spot covered when it was chosen (0: nothing), for ``keep``
        self.spot_penalty = 0.0
        #: ((shapes version, area), (cards, curve segments)) of the last spot check
        self.near_shapes: tuple | None = None
        self._brect = QRectF()
        self.setZValue(3)
        self.setAcceptedMouseButtons(Qt.NoButton)
        self.setAcceptHoverEvents(True)

    def type(self) -> int:
        return self.Type

    def set_lines(self, lines: list[str]) -> None:
        scene = self.scene()
        ts = scene.geometry.text_scale if scene is not None else 1.0
        px = round(LABEL_FONT_PX * ts)
        if px != self._font.pixelSize():  # presentation mode scales the text
            self._font = font(px)
            self.lines = []
        if lines == self.lines:
            return
        fm = QFontMetricsF(self._font)
        w = max((fm.horizontalAdvance(s) for s in lines), default=0.0)
        h = fm.height() * len(lines)
        self.prepareGeometryChange()
        self.lines = list(lines)
        self._size = QRectF(0, 0, w + 2 * LABEL_PAD_X, h + 2 * LABEL_PAD_Y) if lines else QRectF()
        x, y = self._xy
        self._box = (x, y, x + self._size.width(), y + self._size.height())
        self._update_brect()
        self.setVisible(bool(lines))
        if self.scene() is not None:
            self.scene().label_geometry_changed(self)
        self.update()

    def size(self) -> QRectF:
        return self._size

    def font(self):
        return self._font

    def span_rect(self, line: int, start: int, length: int) -> QRectF:
        """Where characters ``start`` to ``start + length`` of line ``line`` are drawn
        (item coordinates; lines are centred): a quiz field covers its blank there."""
        fm = QFontMetricsF(self._font)
        text = self.lines[line]
        x0 = LABEL_PAD_X + (self._size.width() - 2 * LABEL_PAD_X
                            - fm.horizontalAdvance(text)) / 2
        x = x0 + fm.horizontalAdvance(text[:start])
        w = fm.horizontalAdvance(text[start:start + length])
        return QRectF(x, LABEL_PAD_Y + line * fm.height(), w, fm.height())

    def place_at(self, x: float, y: float, anchor: tuple[float, float] | None = None) -> None:
        """Put the box's top-left at (x, y), belonging to ``anchor`` on the curve."""
        self.placed = True
        if anchor != self.anchor or (x, y) != self._xy:
            self.prepareGeometryChange()
        self._xy = (x, y)
        self.anchor = anchor
        self._box = (x, y, x + self._size.width(), y + self._size.height())
        self._update_brect()
        if (self.pos().x(), self.pos().y()) != (x, y):
            self.setPos(x, y)
        if self.scene() is not None:
            self.scene().label_geometry_changed(self)

    def leader(self) -> QLineF | None:
        """The line from the anchor to the nearest point of the box (item coordinates),
        or None when the anchor lies in the box (the curve runs through the label)."""
        if self.anchor is None:
            return None
        ax, ay = self.anchor[0] - self._xy[0], self.anchor[1] - self._xy[1]
        w, h = self._size.width(), self._size.height()
        if 0.0 <= ax <= w and 0.0 <= ay <= h:
            return None
        return QLineF(ax, ay, min(max(ax, 0.0), w), min(max(ay, 0.0), h))

    def _update_brect(self) -> None:
        r = self._size.adjusted(-1, -1, 1, 1)
        line = self.leader()
        if line is not None:
            r = r.united(QRectF(line.p1(), line.p2()).normalized().adjusted(-4, -4, 4, 4))
        self._brect = r

    def box(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) in scene coordinates (labels are top-level items)."""
        return self._box

    def box_rect(self) -> QRectF:
        """The text box in scene coordinates (without the leader line)."""
        b = self._box
        return QRectF(b[0], b[1], b[2] - b[0], b[3] - b[1])

    def centre(self) -> tuple[float, float]:
        b = self._box
        return ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)

    def text(self) -> str:
        """What the label shows, one line per line (what tests and users read)."""
        scene = self.scene()
        if scene is not None and scene.label_is_stale(self.edge.key):
            scene.word_labels([self.edge.key])
        return "\n".join(self.lines)

    def boundingRect(self) -> QRectF:
        return self._brect

    def hoverEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Hovering a label lights it and its edge (and hovering the edge does too)."""
        if self.scene() is not None:
            self.scene().set_highlight("hover", edges=[self.edge.key])
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.scene() is not None:
            self.scene().clear_highlight("hover")
        super().hoverLeaveEvent(event)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if not self.lines or self.scene() is None:
            return
        if option.levelOfDetailFromTransform(painter.worldTransform()) < LABEL_MIN_LOD:
            return
        t = self.scene().theme
        colour = self.edge.colour()
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setRenderHint(QPainter.TextAntialiasing)
        border = QColor(colour)
        border.setAlpha(150)
        line = self.leader()
        if line is not None:  # from the anchor on the curve to the box, and a dot there
            painter.setPen(QPen(t.highlight if self.edge.highlighted else border, 1.2))
            painter.drawLine(line)
            painter.setBrush(colour)
            painter.setPen(Qt.NoPen)
            painter.drawEllipse(line.p1(), 2.6, 2.6)
        painter.setPen(QPen(t.highlight, 2.5) if self.edge.highlighted else QPen(border, 1.0))
        painter.setBrush(t.label_bg)
        painter.drawRoundedRect(self._size, 5, 5)
        painter.setFont(self._font)
        fm = QFontMetricsF(self._font)
        n = len(self.lines) - (1 if self.tangent_line else 0)  # the chain-rule lines
        for i, line in enumerate(self.lines):
            r = QRectF(LABEL_PAD_X, LABEL_PAD_Y + i * fm.height(),
                       self._size.width() - 2 * LABEL_PAD_X, fm.height())
            last = i == n - 1 and n > 1
            painter.setPen(t.tangent if i >= n else
                           colour if last and self.edge.on_path else t.text)
            painter.drawText(r, Qt.AlignCenter, line)


_PENS: dict[tuple, QPen] = {}
_BRUSHES: dict[int, QBrush] = {}


def _curve_pen(colour: QColor, width: float, dashed: bool) -> QPen:
    """The curve's pen, made once per colour, width and dash (a paint makes no new one)."""
    key = (colour.rgba(), width, dashed)
    pen = _PENS.get(key)
    if pen is None:
        if len(_PENS) > 4096:  # widths are continuous: keep the cache bounded
            _PENS.clear()
        pen = _PENS[key] = QPen(colour, width, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin)
        if dashed:
            pen.setStyle(Qt.DashLine)
    return pen


def _brush(colour: QColor) -> QBrush:
    brush = _BRUSHES.get(colour.rgba())
    if brush is None:
        brush = _BRUSHES[colour.rgba()] = QBrush(colour)
    return brush


#: shared until an edge is routed (update_path assigns new ones; nothing edits these)
_NO_PATH = QPainterPath()
_NO_POINT = QPointF()
_NO_LINE = QLineF()
_NO_RECT = QRectF()


class EdgeItem(QGraphicsItem):
    """The curve of one (source, target, port) edge; owns its label item."""

    Type = QGraphicsItem.UserType + 3

    def __init__(self, src_item, dst_item, port: str) -> None:
        super().__init__()
        self.src_item = src_item
        self.dst_item = dst_item
        self.port = port
        self.product = 0.0
        #: leaves a constant: a plain wire, no derivative along it
        self.constant = False
        self.on_path = False
        self.finite = True
        self._path = _NO_PATH
        self._ends = (_NO_POINT, _NO_POINT)
        #: (pen width, arrow head polygon) at the curve's end, made when first painted
        self._head: tuple | None = None
        #: the label's anchor points on the curve (see anchors)
        self._anchors: list | None = None
        #: what paint draws with (see paint), None after the numbers changed
        self._look: tuple | None = None
        self._mid: QPointF | None = None
        self._line = _NO_LINE
        self._brect = _NO_RECT
        self._numbers: tuple | None = None
        #: the label item, made when first asked for (see ``label``)
        self._label: EdgeLabelItem | None = None
        self._hidden = False
        #: drawn with a wide halo and a bold label (set by CanvasScene.set_highlight)
        self.highlighted = False
        #: the curve's points (see ``samples``), computed when first asked for
        self._samples: list[tuple[float, float]] | None = []
        self._segments: np.ndarray | None = None
        self.setAcceptedMouseButtons(Qt.NoButton)
        self.setAcceptHoverEvents(True)

    @property
    def hidden_by_gesture(self) -> bool:
        """True while a re-route drag has lifted this edge off its port."""
        return self._hidden

    @hidden_by_gesture.setter
    def hidden_by_gesture(self, on: bool) -> None:
        self._hidden = on
        scene = self.scene()
        if scene is not None:
            scene._shape_epoch += 1  # labels near it may now use the room it leaves

    @property
    def label(self) -> EdgeLabelItem:
        """The label item, made (and put in the edge's scene) when first asked for: a
        large file opens with its labels not yet worded, and far out none is drawn, so
        most edges need no label item until a view shows them up close."""
        lab = self._label
        if lab is None:
            lab = self._label = EdgeLabelItem(self)
            scene = self.scene()
            if scene is not None:
                scene.addItem(lab)
        return lab

    def label_item(self) -> EdgeLabelItem | None:
        """The label item if it was made (None: no text yet, nothing placed or drawn)."""
        return self._label

    @property
    def samples(self) -> list[tuple[float, float]]:
        """Points along the curve (scene coordinates), for other labels to keep clear of."""
        if self._samples is None:
            self._samples = curve_samples(*self._ends)
        return self._samples

    def type(self) -> int:
        return self.Type

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.src_item.node_id, self.dst_item.node_id, self.port)

    # ---------------------------------------------------------------- model → item
    def set_numbers(self, er: EdgeResult | None, lines: list[str],
                    full_lines: list[str] | None = None) -> bool:
        """Colour, width and label from the engine's EdgeResult; False when unchanged."""
        er_key = None if er is None else (er.product, er.on_path, er.local, er.reason)
        key = (er_key, tuple(lines))
        if key == self._numbers:
            return False
        self._numbers = key
        if er is None:
            self.product, self.on_path, self.finite = 0.0, False, True
            self.constant = False
        else:
            self.product, self.on_path = er.product or 0.0, er.on_path
            self.constant = er.local is None
            self.finite = self.constant or (math.isfinite(er.product)
                                            and math.isfinite(er.local))
        self.label.set_lines(lines)
        self.label.setOpacity(1.0 if self.on_path or er is None else 0.6)
        tip = "\n".join(full_lines if full_lines is not None else lines)
        if er is not None and er.reason:
            tip += f"\n⚠ {er.reason}"
        self.label.setToolTip(tip)
        self.setToolTip(tip)
        self._look = None
        self.update()
        self.label.update()
        self._overview_changed()
        self.place_label(keep=True, only_own=True)
        return True

    def set_result(self, er: EdgeResult | None, force: bool = False) -> bool:
        """Colour and width from the EdgeResult now; the label's text is worded later
        (CanvasScene.word_labels). True when the label needs new text."""
        er_key = None if er is None else (er.product, er.on_path, er.local, er.reason)
        if not force and self._numbers is not None and er_key == self._numbers[0]:
            return False
        self._numbers = (er_key, None)
        role = self.colour_role()
        if er is None:
            self.product, self.on_path, self.finite = 0.0, False, True
            self.constant = False
        else:
            self.product, self.on_path = er.product or 0.0, er.on_path
            self.constant = er.local is None
            self.finite = self.constant or (math.isfinite(er.product)
                                            and math.isfinite(er.local))
        self._look = None
        self.update()
        if self.colour_role() != role:  # the far-zoom hairline takes the curve's colour
            self._overview_changed()
        return True

    def _overview_changed(self) -> None:
        scene = self.scene()
        if scene is not None:
            scene.overview_changed(nodes=False)

    def numbers_key(self) -> tuple | None | bool:
        """The EdgeResult numbers last shown (False before the first update)."""
        return self._numbers[0] if self._numbers is not None else False

    def colour(self) -> QColor:
        t = self.scene().theme if self.scene() is not None else None
        if t is None:
            return QColor("#888888")
        return getattr(t, self.colour_role())

    def colour_role(self) -> str:
        """Which Theme colour the curve takes: the sign of the product, or why it has none
        (the far-zoom overview groups hairlines by this without a QColor per edge)."""
        if not self.finite:
            return "fault"
        if not self.on_path or self.constant:
            return "off_path"
        if self.product > 0:
            return "positive"
        if self.product < 0:
            return "negative"
        return "zero"

    def pen_width(self) -> float:
        return width_for(self.product) if self.on_path and not self.constant else MIN_WIDTH

    # -------------------------------------------------------------------- geometry
    def endpoints(self) -> tuple[QPointF, QPointF]:
        return self.src_item.port_scene_pos(None), self.dst_item.port_scene_pos(self.port)

    def update_path(self) -> None:
        """Follow the nodes: recompute the curve and re-place the label."""
        p0, p1 = self.endpoints()
        self.prepareGeometryChange()
        self._path = curve(p0, p1)
        self._ends = (p0, p1)
        self._head = self._anchors = self._mid = None
        self._line = QLineF(p0, p1)
        m = MAX_WIDTH + 8.0
        self._brect = self._path.boundingRect().adjusted(-m, -m, m, m)
        self._samples = None
        self._segments = None
        scene = self.scene()
        if scene is not None:
            scene.curve_changed(self)
        self._overview_changed()
        if scene is not None and scene.building:
            # mid-way through a bulk move the other nodes are not where they will be:
            # place once, when it ends, against the finished picture
            scene.labels_pending.add(self)
        else:
            self.place_label()

    def midpoint(self) -> QPointF:
        """The curve's point half way along, made once per route."""
        if self._mid is None:
            self._mid = self._path.pointAtPercent(0.5)
        return self._mid

    def anchors(self) -> list[tuple[float, float]]:
        """The points of the curve a label may belong to (ANCHORS), made once per route."""
        got = self._anchors
        if got is None:
            got = self._anchors = [(a.x(), a.y()) for a in
                                   (self._path.pointAtPercent(t) for t in ANCHORS)]
        return got

    def curve_box(self) -> tuple[float, float, float, float] | None:
        """A box holding the whole curve (that of its control points, as ``curve``
        makes them), or None before it is routed."""
        p0, p1 = self._ends
        if self._path.isEmpty():
            return None
        x0, y0, x3, y3 = p0.x(), p0.y(), p1.x(), p1.y()
        dx = max(40.0, abs(x3 - x0) * 0.5)
        return (min(x0, x3 - dx), min(y0, y3), max(x3, x0 + dx), max(y0, y3))

    def segment_array(self) -> np.ndarray:
        """The sampled curve as rows (x0, y0, x1, y1), made when first asked for."""
        if self._segments is None:
            p = np.asarray(self.samples, dtype=float).reshape(-1, 2)
            self._segments = np.hstack((p[:-1], p[1:]))
        return self._segments

    def hoverEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.scene() is not None:
            self.scene().set_highlight("hover", edges=[self.key])
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.scene() is not None:
            self.scene().clear_highlight("hover")
        super().hoverLeaveEvent(event)

    def path(self) -> QPainterPath:
        return self._path

    def line(self) -> QLineF:
        """The straight hairline drawn far out, port to port (scene coordinates)."""
        return self._line

    def boundingRect(self) -> QRectF:
        return self._brect  # cached in update_path: Qt asks for it on every paint

    def shape(self) -> QPainterPath:
        s = QPainterPathStroker()
        s.setWidth(12.0)
        return s.createStroke(self._path)

    def siblings(self) -> list["EdgeItem"]:
        """Edges between the same two nodes (x·x), in port order, self included."""
        same = [e for e in self.src_item.edges
                if e.dst_item is self.dst_item and e.src_item is self.src_item]
        return sorted(same, key=lambda e: e.dst_item.port_index(e.port))

    def place_label(self, keep: bool = False, only_own: bool = False) -> None:
        """Anchor the label on this edge's own curve and put it where it covers no node,
        no other label and no other edge's curve.

        Anchors are tried near the target port first, then back along the curve; at each
        the label sits on the curve, slid along it, or above or below it with a leader
        line (``_offsets``, cheapest first). The edge's own two nodes and the labels of
        an edge between the same pair (x·x, placed before it) are never covered; other
        nodes, labels and curves only where no clear spot exists within reach (a dense
        graph), and then as few as possible. ``keep``: stay where the label is if that
        spot is still clear (a value change must not make labels jump around);
        ``only_own`` is accepted for callers that only changed this edge's numbers.
        """
        label = self._label
        if label is None or not label.lines or self._path.isEmpty():
            return
        size = label.size()
        w, h = size.width(), size.height()
        own = [_grow_node(self.src_item.card_box()), _grow_node(self.dst_item.card_box())]
        sibs = self.siblings()
        idx = sibs.index(self) if self in sibs else 0
        hard = own + [_grow(s._label.box(), 2) for s in sibs[:idx]
                      if s._label is not None and s._label.lines]
        scene = self.scene()
        anchors = self.anchors()
        leader = MAX_LEADER * (scene.geometry.text_scale if scene is not None else 1.0)
        reach = (w + PORT_CLEARANCE, leader + h)
        cache: dict[int, tuple[list, list, list, list]] = {}

        def obstacles(rank: int, near: tuple | None = None) -> tuple[list, list, list, list]:
            """(nodes, labels, curve segments, other labels' leaders) near one anchor,
            fetched once. ``near``: only those of them that can touch this box or the
            leader to it (the same answers for it, from a smaller area; not cached)."""
            got = None if near is not None else cache.get(rank)
            if got is None:
                ax, ay = anchors[rank]
                area = (ax - reach[0], ay - reach[1], ax + reach[0], ay + reach[1])
                if scene is None:
                    got = ([], [], None, [])
                else:
                    leaders = scene.leaders_in(area, label)  # boxes far off, leaders long
                    shapes = None
                    if near is not None:
                        # what touches the box or the leader overlaps this margin around
                        # them, hence the part of ``area`` inside it
                        m = PORT_CLEARANCE + CURVE_CLEARANCE + 4.0
                        area = (max(area[0], min(near[0], ax) - m),
                                max(area[1], min(near[1], ay) - m),
                                min(area[2], max(near[2], ax) + m),
                                min(area[3], max(near[3], ay) + m))
                        # cards and curves there, as found last time unless one changed
                        key = (scene.shapes_version(), area)
                        if label.near_shapes is not None and label.near_shapes[0] == key:
                            shapes = label.near_shapes[1]
                    if shapes is None:
                        shapes = ([b for b in map(_grow_node, scene.node_boxes_in(area))
                                   if b not in own],
                                  Segments(scene.curve_segments_in(area, skip=sibs)))
                        if near is not None:
                            label.near_shapes = (key, shapes)
                    labels = [_grow(b, 2) for b in scene.label_boxes_in(area, label)]
                    got = (shapes[0], labels, shapes[1], leaders)
                if near is None:
                    cache[rank] = got
            return got

        def leader_hits(r: tuple, rank: int, labels: list) -> bool:
            """Would the leader from the anchor to box r cross another label?"""
            ax, ay = anchors[rank]
            if r[0] <= ax <= r[2] and r[1] <= ay <= r[3]:
                return False
            ex, ey = min(max(ax, r[0]), r[2]), min(max(ay, r[1]), r[3])
            return any(seg_hits_box(ax, ay, ex, ey, o) for o in labels)

        def box_at(rank: int, dx: float, dy: float) -> tuple:
            ax, ay = anchors[rank]
            x, y = ax + dx - w / 2, ay + dy - h / 2
            return (x, y, x + w, y + h)

        def cost_of(r: tuple, rank: int, tier: int, near: bool = False) -> float | None:
            """0 when r is clear; None when it covers what this tier may not cover; else
            a penalty counting what it covers. Tier 0 covers nothing; tier 1 may cross
            other curves; tier 2 (a graph too dense for a clear spot) anything but the
            edge's own nodes and twins. ``near``: fetch only what lies near r."""
            if any(_hit(r, o) for o in hard):
                return None
            nodes, labels, segs, leaders = obstacles(rank, r if near else None)
            penalty = 0.0
            for o in nodes:
                if _hit(r, o):
                    if tier < 2:
                        return None
                    penalty += 5000.0
            for o in labels:
                if _hit(r, o):
                    if tier < 2:
                        return None
                    penalty += 2000.0
            if labels and leader_hits(r, rank, labels) or any(
                    seg_hits_box(*ln, r) for ln in leaders):
                if tier < 2:
                    return None
                penalty += 1000.0
            if segs:
                crossed = 0
                for _ in segs.hitting(_grow(r, CURVE_CLEARANCE)):
                    if tier < 1:
                        return None
                    crossed += 1
                    if crossed == MAX_COUNTED_CROSSINGS:
                        break  # in a dense fan beyond this, every spot is as bad
                penalty += 300.0 * crossed
            return penalty

        if keep and label.placed and label.spot is not None:
            # stay unless the spot now covers more than when it was chosen: in a dense
            # graph no spot is clear, and searching again on every value change (a
            # slider tick) would cost most of the tick and make labels jump
            rank, dx, dy = label.spot
            r = box_at(rank, dx, dy)
            now = cost_of(r, rank, 0 if label.spot_penalty == 0.0 else 2, near=True)
            if now is not None and now <= label.spot_penalty:
                label.place_at(r[0], r[1], anchors[rank])
                return
        offsets = _offsets(w, h, leader)
        best, best_cost, best_extra = None, math.inf, math.inf
        for tier in (0, 1, 2):
            for cost, rank, dx, dy in offsets:
                if cost >= best_cost:
                    break
                r = box_at(rank, dx, dy)
                extra = cost_of(r, rank, tier)
                if extra is None:
                    continue
                if cost + extra < best_cost:
                    best, best_cost, best_extra = (rank, dx, dy), cost + extra, extra
                    if extra == 0.0:
                        break
            if best is not None:
                break
        if best is None:  # boxed in everywhere: sit on the first anchor
            best = (0, 0.0, 0.0)
        rank, dx, dy = best
        r = box_at(rank, dx, dy)
        label.spot = best
        label.spot_penalty = best_extra if math.isfinite(best_extra) else math.inf
        label.place_at(r[0], r[1], anchors[rank])

    # -------------------------------------------------------------------- painting
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        scene = self.scene()
        if scene is None:
            return
        t = scene.theme
        look = self._look  # (theme, colour, width, pen, brush): numbers change it, not paints
        if look is None or look[0] is not t:
            colour, width = getattr(t, self.colour_role()), self.pen_width()
            look = self._look = (t, colour, width,
                                 _curve_pen(colour, width, not self.on_path or not self.finite),
                                 _brush(colour))
        _, colour, width, pen, brush = look
        if option.levelOfDetailFromTransform(painter.worldTransform()) < LINE_MIN_LOD:
            # far out: a one-pixel straight line, the curve and arrow would not show
            painter.setRenderHint(QPainter.Antialiasing, False)
            painter.setPen(QPen(t.highlight if self.highlighted else colour, 0))
            painter.drawLine(self._line)
            return
        painter.setRenderHint(QPainter.Antialiasing)
        if self.highlighted:
            halo = QColor(t.highlight)
            halo.setAlpha(150)
            painter.setPen(QPen(halo, width + 8.0, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
            painter.setBrush(Qt.NoBrush)
            painter.drawPath(self._path)
        painter.setPen(pen)
        painter.setBrush(Qt.NoBrush)
        painter.drawPath(self._path)
        # a small arrow head at the input end: the direction values flow (the curve's
        # end is its input port, where pointAtPercent(1.0) lands exactly)
        head = self._head
        if head is None or head[0] != width:
            p1 = self._ends[1]
            a = 7.0 + width * 0.6
            head = self._head = (width, QPolygonF([
                QPointF(p1.x() - 6.0, p1.y()), QPointF(p1.x() - 6.0 - a, p1.y() - a * 0.55),
                QPointF(p1.x() - 6.0 - a, p1.y() + a * 0.55)]))
        painter.setPen(Qt.NoPen)
        painter.setBrush(brush)
        painter.drawPolygon(head[1])
