"""An edge: a curve from an output port to an input port, and its chain-rule label.

The curve's colour says the sign of the accumulated product (∂L/∂target ×
local), its width the product's magnitude on a log scale, so a learner sees at
a glance where the gradient flows and how strongly. The label carries the text
``engine.labels.edge_label`` produced; the GUI adds no numbers of its own.
"""

from __future__ import annotations

import bisect
import heapq
import math
from typing import Iterator

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


def curve(p0: QPointF, p1: QPointF) -> QPainterPath:
    """A horizontal-tangent cubic from an output port (p0) to an input port (p1)."""
    dx = max(40.0, abs(p1.x() - p0.x()) * 0.5)
    path = QPainterPath(p0)
    path.cubicTo(QPointF(p0.x() + dx, p0.y()), QPointF(p1.x() - dx, p1.y()), p1)
    return path


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

#: where along the curve a label may sit, best first
_SPOTS = (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8)
#: how far (scene px) above or below a spot on the curve a label may slide
SLIDE = 260.0
#: candidates tried before a crowded label settles for the least covered one seen
BUDGET = 60


def _outward(ys: list[float], y0: float) -> Iterator[tuple[float, float]]:
    """(|y − y0|, y): y0 first, then the sorted ``ys`` walking outward from it."""
    yield 0.0, y0
    hi = bisect.bisect_left(ys, y0)
    lo = hi - 1
    while lo >= 0 or hi < len(ys):
        if hi >= len(ys) or (lo >= 0 and y0 - ys[lo] <= ys[hi] - y0):
            yield y0 - ys[lo], ys[lo]
            lo -= 1
        else:
            yield ys[hi] - y0, ys[hi]
            hi += 1


def _stream(ys: list[float], y0: float, base: float, rank: int, x: float, near: list,
            hard_x: list) -> Iterator[tuple]:
    """Candidates at one spot and x, cheapest first: (cost, rank, x, y, soft, hard)."""
    for d, y in _outward(ys, y0):
        if d > SLIDE:
            return
        yield base + d, rank, x, y, near, hard_x


def _best_spot(path: QPainterPath, w: float, h: float, own: list, hard: list, soft_in,
               shift: float) -> tuple | None:
    """The label box (left, top, right, bottom) of least cost near the curve.

    Candidates: at each spot along the curve, slid sideways off the edge's own nodes and
    up or down to just clear any box nearby. Cost: distance slid + 25 per spot rank +
    1000 per soft box covered; a hard box is never covered. Candidates are visited
    cheapest first (a lazy merge), so the search stops at the first one that covers
    nothing — usually after a handful — and only boxes near each spot are fetched. Where
    nothing is clear (a dense graph), it settles after ``BUDGET`` candidates."""
    streams = []
    for rank, t in enumerate(_SPOTS):
        c = path.pointAtPercent(t)
        x0 = c.x() - w / 2
        y0 = c.y() + shift - h / 2
        m = PORT_CLEARANCE + CLEARANCE  # boxes are grown after the query
        soft = soft_in((x0 - w - m, y0 - SLIDE - h - m, x0 + 2 * w + m, y0 + SLIDE + 2 * h + m))
        boxes = hard + soft
        ys = sorted({o[1] - h - 0.5 for o in boxes} | {o[3] + 0.5 for o in boxes})
        xs = {x0}
        for o in own:
            xs.add(o[2] + 0.5)
            xs.add(o[0] - w - 0.5)
        for x in sorted(xs):
            dx = abs(x - x0)
            if dx > w:
                continue
            base = dx + 25.0 * rank
            near = [o for o in soft if o[0] < x + w and x < o[2]]
            hard_x = [o for o in hard if o[0] < x + w and x < o[2]]
            streams.append(_stream(ys, y0, base, rank, x, near, hard_x))
    best, best_score = None, math.inf
    for n, (score, _rank, x, y, near, hard_x) in enumerate(
            heapq.merge(*streams, key=lambda c: c[:4])):
        if score >= best_score or (n >= BUDGET and best is not None):
            break
        r = (x, y, x + w, y + h)
        if any(_hit(r, o) for o in hard_x):
            continue
        for o in near:
            if _hit(r, o):
                score += 1000.0
                if score >= best_score:
                    break
        if score < best_score:
            best, best_score = r, score
    return best


class EdgeLabelItem(QGraphicsItem):
    """The text box of one edge: local derivative line and product line."""

    Type = QGraphicsItem.UserType + 4

    def __init__(self, edge: "EdgeItem") -> None:
        super().__init__()
        self.edge = edge
        self.lines: list[str] = []
        self._size = QRectF()
        self._font = font(LABEL_FONT_PX)
        self.placed = False
        self._xy = (0.0, 0.0)
        self._box = (0.0, 0.0, 0.0, 0.0)
        self.setZValue(3)
        self.setAcceptedMouseButtons(Qt.NoButton)

    def type(self) -> int:
        return self.Type

    def set_lines(self, lines: list[str]) -> None:
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
        self.setVisible(bool(lines))
        if self.scene() is not None:
            self.scene().label_geometry_changed(self)
        self.update()

    def size(self) -> QRectF:
        return self._size

    def place_at(self, x: float, y: float) -> None:
        self.placed = True
        self._xy = (x, y)
        self._box = (x, y, x + self._size.width(), y + self._size.height())
        if (self.pos().x(), self.pos().y()) != (x, y):
            self.setPos(x, y)
        if self.scene() is not None:
            self.scene().label_geometry_changed(self)

    def box(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) in scene coordinates (labels are top-level items)."""
        return self._box

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
        return self._size.adjusted(-1, -1, 1, 1)

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
        painter.setPen(QPen(t.highlight, 2.5) if self.edge.highlighted else QPen(border, 1.0))
        painter.setBrush(t.label_bg)
        painter.drawRoundedRect(self._size, 5, 5)
        painter.setFont(self._font)
        fm = QFontMetricsF(self._font)
        for i, line in enumerate(self.lines):
            r = QRectF(LABEL_PAD_X, LABEL_PAD_Y + i * fm.height(),
                       self._size.width() - 2 * LABEL_PAD_X, fm.height())
            last = i == len(self.lines) - 1 and len(self.lines) > 1
            painter.setPen(colour if last and self.edge.on_path else t.text)
            painter.drawText(r, Qt.AlignCenter, line)


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
        self._path = QPainterPath()
        self._ends = (QPointF(), QPointF())
        self._line = QLineF()
        self._brect = QRectF()
        self._numbers: tuple | None = None
        self.label = EdgeLabelItem(self)
        #: True while a re-route drag has lifted this edge off its port
        self.hidden_by_gesture = False
        #: drawn with a wide halo and a bold label (set by CanvasScene.set_highlight)
        self.highlighted = False
        self.setZValue(0)
        self.setAcceptedMouseButtons(Qt.NoButton)
        self.setAcceptHoverEvents(False)

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
        if er is None:
            self.product, self.on_path, self.finite = 0.0, False, True
            self.constant = False
        else:
            self.product, self.on_path = er.product or 0.0, er.on_path
            self.constant = er.local is None
            self.finite = self.constant or (math.isfinite(er.product)
                                            and math.isfinite(er.local))
        self.update()
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
        p0 = self.src_item.out_port.scenePos()
        port = self.dst_item.port_item(self.port)
        p1 = port.scenePos() if port is not None else self.dst_item.scenePos()
        return p0, p1

    def update_path(self) -> None:
        """Follow the nodes: recompute the curve and re-place the label."""
        p0, p1 = self.endpoints()
        self.prepareGeometryChange()
        self._path = curve(p0, p1)
        self._ends = (p0, p1)
        self._line = QLineF(p0, p1)
        m = MAX_WIDTH + 8.0
        self._brect = self._path.boundingRect().adjusted(-m, -m, m, m)
        self._overview_changed()
        self.place_label()

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
        """Put the label near the middle of the curve where it covers no node.

        Candidates are the curve's middle and points either side of it, each also
        slid just above or just below every box in the way. A spot on one of this
        edge's own two nodes, or on the label of an edge between the same pair
        (x·x, placed before it), is never taken; other nodes and labels are avoided
        when possible. Among what is left the spot nearest the curve wins.
        ``keep``: stay centred where the label is if that spot is still clear (a
        value change must not make labels jump around). ``only_own``: with ``keep``,
        only the edge's own nodes and twin labels must be clear (a value change moves
        nothing else, and it must stay cheap on a large graph).
        """
        label = self.label
        if not label.lines or self._path.isEmpty():
            return
        size = label.size()
        w, h = size.width(), size.height()
        own = [_grow_node(self.src_item.card_box()), _grow_node(self.dst_item.card_box())]
        sibs = self.siblings()
        idx = sibs.index(self) if self in sibs else 0
        hard = own + [_grow(s.label.box(), 2) for s in sibs[:idx] if s.label.lines]
        scene = self.scene()

        def soft_in(area: tuple) -> list[tuple]:
            if scene is None:
                return []
            soft = [_grow_node(b) for b in scene.node_boxes_in(area)]
            soft = [b for b in soft if b not in own]
            return soft + [_grow(b, 2) for b in scene.label_boxes_in(area, label)]

        if keep and label.placed:
            cx, cy = label.centre()
            r = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            if not any(_hit(r, o) for o in hard) and (
                    only_own or not any(_hit(r, o) for o in soft_in(r))):
                label.place_at(r[0], r[1])
                return
        best = _best_spot(self._path, w, h, own, hard, soft_in,
                          (idx - (len(sibs) - 1) / 2.0) * (h + 4.0))
        if best is None:  # boxed in everywhere: go above both nodes
            c = self._path.pointAtPercent(0.5)
            best = (c.x() - w / 2, min(o[1] for o in hard) - h - 2.0)
        label.place_at(best[0], best[1])

    # -------------------------------------------------------------------- painting
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if self.scene() is None:
            return
        colour = self.colour()
        if option.levelOfDetailFromTransform(painter.worldTransform()) < LINE_MIN_LOD:
            # far out: a one-pixel straight line, the curve and arrow would not show
            painter.setRenderHint(QPainter.Antialiasing, False)
            painter.setPen(QPen(self.scene().theme.highlight if self.highlighted else colour, 0))
            painter.drawLine(self._line)
            return
        painter.setRenderHint(QPainter.Antialiasing)
        if self.highlighted:
            halo = QColor(self.scene().theme.highlight)
            halo.setAlpha(150)
            painter.setPen(QPen(halo, self.pen_width() + 8.0, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
            painter.setBrush(Qt.NoBrush)
            painter.drawPath(self._path)
        pen = QPen(colour, self.pen_width(), Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin)
        if not self.on_path or not self.finite:
            pen.setStyle(Qt.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.NoBrush)
        painter.drawPath(self._path)
        # a small arrow head at the input end: the direction values flow
        p1 = self._path.pointAtPercent(1.0)
        a = 7.0 + self.pen_width() * 0.6
        head = QPolygonF([QPointF(p1.x() - 6.0, p1.y()),
                          QPointF(p1.x() - 6.0 - a, p1.y() - a * 0.55),
                          QPointF(p1.x() - 6.0 - a, p1.y() + a * 0.55)])
        painter.setPen(Qt.NoPen)
        painter.setBrush(QBrush(colour))
        painter.drawPolygon(head)
