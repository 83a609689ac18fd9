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
        self._font = font(11)
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
    def set_numbers(self, er: EdgeResult | None, lines: list[str]) -> bool:
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
        tip = "\n".join(lines)
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
        """Put the label on the curve where it covers neither of this edge's nodes.

        Tries points along the curve, nudged up and down; prefers spots clear of
        every node, and always keeps clear of its own two nodes and of the labels
        of edges between the same pair (placed before it).
        """
        if not self.label.lines or self._path.isEmpty():
            return
        size = self.label.size()
        own = [self.src_item.card_scene_rect(), self.dst_item.card_scene_rect()]
        own = [r.adjusted(-CLEARANCE, -CLEARANCE, CLEARANCE, CLEARANCE) for r in own]
        sibs = self.siblings()
        idx = sibs.index(self) if self in sibs else 0
        hard = own + [s.label.sceneBoundingRect() for s in sibs[:idx] if s.label.lines]
        others: list[QRectF] = []
        scene = self.scene()
        if scene is not None:
            area = self._path.boundingRect().adjusted(-size.width(), -3 * size.height(),
                                                      size.width(), 3 * size.height())
            others = [r.adjusted(-CLEARANCE, -CLEARANCE, CLEARANCE, CLEARANCE)
                      for r in scene.node_rects_in(area)
                      if r not in own]
            others += [r.adjusted(-2, -2, 2, 2) for r in scene.label_rects_in(area, self.label)]
        shift0 = (idx - (len(sibs) - 1) / 2.0) * (size.height() + 4.0)
        step = size.height() / 2.0 + 2.0
        fallback = None
        for t in (0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74):
            c = self._path.pointAtPercent(t)
            for k in range(0, 14):
                dy = shift0 + (0 if k == 0 else ((k + 1) // 2) * step * (1 if k % 2 else -1))
                r = QRectF(c.x() - size.width() / 2, c.y() + dy - size.height() / 2,
                           size.width(), size.height())
                if any(r.intersects(o) for o in hard):
                    continue
                if not any(r.intersects(o) for o in others):
                    self.label.setPos(r.topLeft())
                    return
                if fallback is None:
                    fallback = r
        if fallback is None:
            # squeeze failed everywhere on the curve: go above both nodes
            top = min(o.top() for o in hard) - size.height() - 2.0
            c = self._path.pointAtPercent(0.5)
            fallback = QRectF(c.x() - size.width() / 2, top, size.width(), size.height())
        self.label.setPos(fallback.topLeft())

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
