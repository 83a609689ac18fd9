"""An edge: a curve from an output port to an input port, and its chain-rule label.

The curve's colour says the sign of the accumulated product (∂L/∂target ×
local), its width the product's magnitude on a log scale, so a learner sees at
a glance where the gradient flows and how strongly. The label carries the text
``engine.labels.edge_label`` produced; the GUI adds no numbers of its own.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (QBrush, QColor, QFontMetricsF, QPainter, QPainterPath,
                           QPainterPathStroker, QPen, QPolygonF)
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from engine.evaluate import EdgeResult
from gui.canvas.theme import font

MIN_WIDTH = 1.4
MAX_WIDTH = 7.0
LABEL_MIN_LOD = 0.45
LABEL_FONT_PX = 11
LABEL_PAD_X = 5.0
LABEL_PAD_Y = 3.0
#: clearance kept between a label and any node card
CLEARANCE = 4.0


def curve(p0: QPointF, p1: QPointF) -> QPainterPath:
    """A horizontal-tangent cubic from an output port (p0) to an input port (p1)."""
    dx = max(40.0, abs(p1.x() - p0.x()) * 0.5)
    path = QPainterPath(p0)
    path.cubicTo(QPointF(p0.x() + dx, p0.y()), QPointF(p1.x() - dx, p1.y()), p1)
    return path


def width_for(product: float) -> float:
    """Stroke width from |product|, log-scaled and clamped so huge gradients stay drawable."""
    if not math.isfinite(product):
        return 2.0
    return max(MIN_WIDTH, min(MAX_WIDTH, 1.4 + 1.3 * math.log10(1.0 + 10.0 * abs(product))))


class EdgeLabelItem(QGraphicsItem):
    """The text box of one edge: local derivative line and product line."""

    Type = QGraphicsItem.UserType + 4

    def __init__(self, edge: "EdgeItem") -> None:
        super().__init__()
        self.edge = edge
        self.lines: list[str] = []
        self._size = QRectF()
        self._font = font(LABEL_FONT_PX)
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
        self.setVisible(bool(lines))
        self.update()

    def size(self) -> QRectF:
        return self._size

    def text(self) -> str:
        """What the label shows, one line per line (what tests and users read)."""
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
        painter.setPen(QPen(border, 1.0))
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
        self.on_path = False
        self.finite = True
        self._path = QPainterPath()
        self._numbers: tuple | None = None
        self.label = EdgeLabelItem(self)
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
        else:
            self.product, self.on_path = er.product, er.on_path
            self.finite = math.isfinite(er.product) and math.isfinite(er.local)
        self.label.set_lines(lines)
        self.label.setOpacity(1.0 if self.on_path or er is None else 0.6)
        tip = "\n".join(full_lines if full_lines is not None else lines)
        if er is not None and er.reason:
            tip += f"\n⚠ {er.reason}"
        self.label.setToolTip(tip)
        self.update()
        self.label.update()
        self.place_label()
        return True

    def numbers_key(self) -> tuple | None | bool:
        """The EdgeResult numbers last shown (False before the first update)."""
        return self._numbers[0] if self._numbers is not None else False

    def colour(self) -> QColor:
        t = self.scene().theme if self.scene() is not None else None
        if t is None:
            return QColor("#888888")
        if not self.finite:
            return t.fault
        if not self.on_path:
            return t.off_path
        if self.product > 0:
            return t.positive
        if self.product < 0:
            return t.negative
        return t.zero

    def pen_width(self) -> float:
        return width_for(self.product) if self.on_path else MIN_WIDTH

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
        self.place_label()

    def path(self) -> QPainterPath:
        return self._path

    def boundingRect(self) -> QRectF:
        m = MAX_WIDTH + 8.0
        return self._path.boundingRect().adjusted(-m, -m, m, m)

    def shape(self) -> QPainterPath:
        s = QPainterPathStroker()
        s.setWidth(12.0)
        return s.createStroke(self._path)

    def siblings(self) -> list["EdgeItem"]:
        """Edges between the same two nodes (x·x), in port order, self included."""
        same = [e for e in self.src_item.edges
                if e.dst_item is self.dst_item and e.src_item is self.src_item]
        return sorted(same, key=lambda e: e.dst_item.port_index(e.port))

    def place_label(self) -> None:
        """Put the label near the middle of the curve where it covers no node.

        Candidates are the curve's middle and points either side of it, each also
        slid just above or just below every box in the way. A spot on one of this
        edge's own two nodes, or on the label of an edge between the same pair
        (x·x, placed before it), is never taken; other nodes and labels are avoided
        when possible. Among what is left the spot nearest the curve wins.
        """
        if not self.label.lines or self._path.isEmpty():
            return
        size = self.label.size()
        w, h = size.width(), size.height()
        grow = lambda r, m: r.adjusted(-m, -m, m, m)  # noqa: E731
        own = [grow(self.src_item.card_scene_rect(), CLEARANCE),
               grow(self.dst_item.card_scene_rect(), CLEARANCE)]
        sibs = self.siblings()
        idx = sibs.index(self) if self in sibs else 0
        hard = own + [grow(s.label.sceneBoundingRect(), 2) for s in sibs[:idx] if s.label.lines]
        soft: list[QRectF] = []
        scene = self.scene()
        if scene is not None:
            area = self._path.boundingRect().adjusted(-w, -4 * h, w, 4 * h)
            soft = [grow(r, CLEARANCE) for r in scene.node_rects_in(area) if grow(r, CLEARANCE) not in own]
            soft += [grow(r, 2) for r in scene.label_rects_in(area, self.label)]
        shift0 = (idx - (len(sibs) - 1) / 2.0) * (h + 4.0)
        best, best_score = None, math.inf
        for rank, t in enumerate((0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8)):
            c = self._path.pointAtPercent(t)
            x = c.x() - w / 2
            y0 = c.y() + shift0 - h / 2
            ys = {y0}
            for o in hard + soft:
                if o.right() > x and o.left() < x + w:
                    ys.add(o.top() - h - 0.5)
                    ys.add(o.bottom() + 0.5)
            for y in ys:
                r = QRectF(x, y, w, h)
                if any(r.intersects(o) for o in hard):
                    continue
                crowd = sum(1 for o in soft if r.intersects(o))
                score = abs(y - y0) + 25.0 * rank + 1000.0 * crowd
                if score < best_score:
                    best, best_score = r, score
        if best is None:  # boxed in everywhere: go above both nodes
            c = self._path.pointAtPercent(0.5)
            best = QRectF(c.x() - w / 2, min(o.top() for o in hard) - h - 2.0, w, h)
        self.label.setPos(best.topLeft())

    # -------------------------------------------------------------------- painting
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if self.scene() is None:
            return
        painter.setRenderHint(QPainter.Antialiasing)
        colour = self.colour()
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
