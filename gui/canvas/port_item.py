"""A node's connection point: a small circle with a generous hit area.

Input ports sit on a node's left edge, the output port on its right edge. The
circle is drawn small, but the shape used for hovering and clicking is 20 px
across so a port is easy to grab at any zoom a learner uses.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

#: same threshold as node_item.BOX_MIN_LOD (imported there would be circular)
BOX_MIN_LOD = 0.15
RADIUS = 5.0
HIT_RADIUS = 10.0


class PortItem(QGraphicsItem):
    """One port of one node; ``port`` is the input port name, or None for the output."""

    Type = QGraphicsItem.UserType + 2

    def __init__(self, node_item: QGraphicsItem, node_id: str, port: str | None) -> None:
        super().__init__(node_item)
        self.node_id = node_id
        self.port = port
        #: None, "valid" (a legal drop target while dragging) or "source"
        self._highlight: str | None = None
        self._hover = False
        self._fed = False
        self.setAcceptHoverEvents(True)
        self.setZValue(2)
        self.setCursor(Qt.CrossCursor)

    def type(self) -> int:
        return self.Type

    @property
    def is_output(self) -> bool:
        return self.port is None

    def center(self) -> QPointF:
        """Where edges attach, in scene coordinates."""
        return self.scenePos()

    def set_fed(self, fed: bool) -> None:
        if fed != self._fed:
            self._fed = fed
            self.update()

    def set_highlight(self, state: str | None) -> None:
        if state != self._highlight:
            self._highlight = state
            self.update()

    def boundingRect(self) -> QRectF:
        r = HIT_RADIUS + 1
        return QRectF(-r, -r, 2 * r, 2 * r)

    def shape(self) -> QPainterPath:
        p = QPainterPath()
        p.addEllipse(QPointF(0, 0), HIT_RADIUS, HIT_RADIUS)
        return p

    def hoverEnterEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self._hover = False
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        theme = self.scene().theme if self.scene() is not None else None
        if theme is None or option.levelOfDetailFromTransform(
                painter.worldTransform()) < BOX_MIN_LOD:
            return  # too small to see or hit: the node draws a flat box
        painter.setRenderHint(QPainter.Antialiasing)
        if self._highlight == "valid":
            ring = theme.port_valid
            glow = ring.lighter(100)
            glow.setAlpha(70)
            painter.setPen(Qt.NoPen)
            painter.setBrush(glow)
            painter.drawEllipse(QPointF(0, 0), HIT_RADIUS, HIT_RADIUS)
            painter.setPen(QPen(ring, 2.0))
            painter.setBrush(QBrush(ring))
            painter.drawEllipse(QPointF(0, 0), RADIUS + 1.5, RADIUS + 1.5)
            return
        r = RADIUS + (1.5 if self._hover or self._highlight == "source" else 0.0)
        edge_colour = theme.selection if (self._hover or self._highlight) else theme.port
        painter.setPen(QPen(edge_colour, 1.6))
        painter.setBrush(QBrush(edge_colour if (self._fed or self.is_output) else theme.card))
        painter.drawEllipse(QPointF(0, 0), r, r)
