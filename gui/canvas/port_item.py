"""A node's connection point: a small circle with a generous hit area.

Input ports sit on a node's left edge, the output port on its right edge. The
circle is drawn small, but the area used for hovering and clicking is 20 px
across so a port is easy to grab at any zoom a learner uses.

A port is not a QGraphicsItem of its own: a 10,000-node graph has ~25,000 ports, and
an item each (construction, index, a Python boundingRect call per query) was a large
part of opening one. Its node draws it (``NodeItem.paint``), hit-tests it
(``NodeItem.port_near``, and the node's shape covers its hit area) and tracks the
mouse over it (the node's hover events).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QPainter, QPen

RADIUS = 5.0
HIT_RADIUS = 10.0


class Port:
    """One port of one node; ``port`` is the input port name, or None for the output.
    ``x``, ``y``: its centre in the node's coordinates (set by the node)."""

    __slots__ = ("node", "node_id", "port", "x", "y", "_highlight", "_hover", "_fed")

    def __init__(self, node, node_id: str, port: str | None) -> None:
        self.node = node
        self.node_id = node_id
        self.port = port
        self.x = 0.0
        self.y = 0.0
        #: None, "valid" (a legal drop target while dragging) or "source"
        self._highlight: str | None = None
        self._hover = False
        self._fed = False

    @property
    def is_output(self) -> bool:
        return self.port is None

    # -------------------------------------------------- as the old child item did
    def pos(self) -> QPointF:
        """The centre in the node's coordinates."""
        return QPointF(self.x, self.y)

    def scenePos(self) -> QPointF:  # noqa: N802 - the QGraphicsItem name callers know
        """Where edges attach, in scene coordinates."""
        p = self.node.pos()
        return QPointF(p.x() + self.x, p.y() + self.y)

    center = scenePos

    def scene(self):
        return self.node.scene()

    def parentItem(self):  # noqa: N802
        return self.node

    def update(self) -> None:
        r = HIT_RADIUS + 1.0
        self.node.update(QRectF(self.x - r, self.y - r, 2 * r, 2 * r))

    # ------------------------------------------------------------------- state
    def set_fed(self, fed: bool) -> None:
        if fed != self._fed:
            self._fed = fed
            self.update()

    def set_highlight(self, state: str | None) -> None:
        if state != self._highlight:
            self._highlight = state
            self.update()

    def set_hover(self, on: bool) -> None:
        if on != self._hover:
            self._hover = on
            self.update()

    def hits(self, x: float, y: float) -> bool:
        """Is the node-coordinate point (x, y) in this port's hit area?"""
        dx, dy = x - self.x, y - self.y
        return dx * dx + dy * dy <= HIT_RADIUS * HIT_RADIUS


def paint_port(painter: QPainter, theme, port: Port) -> None:
    """Draw ``port`` in its node's coordinates (the node has checked the zoom)."""
    c = QPointF(port.x, port.y)
    if port._highlight == "valid":
        ring = theme.port_valid
        glow = ring.lighter(100)
        glow.setAlpha(70)
        painter.setPen(Qt.NoPen)
        painter.setBrush(glow)
        painter.drawEllipse(c, HIT_RADIUS, HIT_RADIUS)
        painter.setPen(QPen(ring, 2.0))
        painter.setBrush(QBrush(ring))
        painter.drawEllipse(c, RADIUS + 1.5, RADIUS + 1.5)
        return
    lit = port._hover or port._highlight
    r = RADIUS + (1.5 if port._hover or port._highlight == "source" else 0.0)
    edge_colour = theme.selection if lit else theme.port
    painter.setPen(QPen(edge_colour, 1.6))
    painter.setBrush(QBrush(edge_colour if (port._fed or port.is_output) else theme.card))
    painter.drawEllipse(c, r, r)
