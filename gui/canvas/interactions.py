"""Mouse gestures on the canvas, one small object each.

A gesture starts on a mouse press, follows the moves and ends on the release
(or Escape). While it runs it only changes the picture (a rubber edge, port
highlights, items moved live); when it ends it makes ONE call into the
document, which pushes the undo command. The scene then follows the
document's signals like for any other edit.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from engine.ops import OPS
from gui.canvas.edge_item import curve
from gui.canvas.node_item import NodeItem
from gui.canvas.port_item import Port


class Gesture:
    """Base: press → move* → release, or cancel."""

    def __init__(self, view) -> None:
        self.view = view

    @property
    def doc(self):
        return self.view.document

    @property
    def scene(self):
        return self.view.scene()

    def move(self, scene_pos: QPointF, view_pos) -> None:
        pass

    def release(self, scene_pos: QPointF, view_pos) -> None:
        pass

    def cancel(self) -> None:
        pass


class PanGesture(Gesture):
    """Middle-drag or Space+drag: scroll the view with the hand."""

    def __init__(self, view, view_pos) -> None:
        super().__init__(view)
        self.last = view_pos
        view.viewport().setCursor(Qt.ClosedHandCursor)

    def move(self, scene_pos, view_pos) -> None:
        d = view_pos - self.last
        self.last = view_pos
        h, v = self.view.horizontalScrollBar(), self.view.verticalScrollBar()
        h.setValue(h.value() - d.x())
        v.setValue(v.value() - d.y())

    def release(self, scene_pos, view_pos) -> None:
        self.view.viewport().unsetCursor()

    cancel = lambda self: self.view.viewport().unsetCursor()  # noqa: E731


class MoveGesture(Gesture):
    """Nodes are moved live by Qt (ItemIsMovable); on release the document records
    one Move command with every moved node's old and new position."""

    def __init__(self, view) -> None:
        super().__init__(view)
        self.start = {it.node_id: (it.pos().x(), it.pos().y())
                      for it in self.scene.selectedItems() if isinstance(it, NodeItem)}

    def release(self, scene_pos, view_pos) -> None:
        moves = {}
        for nid, old in self.start.items():
            item = self.scene.nodes.get(nid)
            if item is None:
                continue
            new = (item.pos().x(), item.pos().y())
            if new != old:
                moves[nid] = (old, new)
        if moves:
            self.doc.move(moves)

    def cancel(self) -> None:
        for nid, (x, y) in self.start.items():
            item = self.scene.nodes.get(nid)
            if item is not None:
                item.setPos(x, y)


class RubberEdge(QGraphicsItem):
    """The curve that follows the mouse while a connection is being made."""

    def __init__(self, anchor: QPointF, from_output: bool) -> None:
        super().__init__()
        self.anchor = anchor
        self.from_output = from_output
        self._path = QPainterPath()
        self.valid = False
        self.setZValue(5)
        self.setAcceptedMouseButtons(Qt.NoButton)

    def set_end(self, p: QPointF, valid: bool) -> None:
        self.prepareGeometryChange()
        self.valid = valid
        self._path = curve(self.anchor, p) if self.from_output else curve(p, self.anchor)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._path.boundingRect().adjusted(-4, -4, 4, 4)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        t = self.scene().theme
        painter.setRenderHint(QPainter.Antialiasing)
        colour = QColor(t.port_valid if self.valid else t.selection)
        pen = QPen(colour, 2.2, Qt.DashLine if not self.valid else Qt.SolidLine, Qt.RoundCap)
        painter.setPen(pen)
        painter.drawPath(self._path)


def port_at(view, view_pos) -> Port | None:
    """The port under the view point: of the nodes there (a node's shape covers its
    ports' hit areas), topmost first, the first with a port there."""
    sp = None
    for it in view.items(view_pos):
        if isinstance(it, NodeItem):
            if sp is None:
                sp = view.mapToScene(view_pos)
            port = it.port_at(sp)
            if port is not None:
                return port
    return None


def node_at(view, view_pos) -> NodeItem | None:
    """The topmost node under the view point, its ports' hit areas included."""
    for it in view.items(view_pos):
        if isinstance(it, NodeItem):
            return it
    return None


class _WireGesture(Gesture):
    """Shared by connect and re-route: a rubber edge and highlighted valid targets."""

    def __init__(self, view, anchor: QPointF, from_output: bool) -> None:
        super().__init__(view)
        self.rubber = RubberEdge(anchor, from_output)
        self.scene.addItem(self.rubber)
        self.valid: set[Port] = set()

    def highlight(self, ports) -> None:
        self.valid = set(ports)
        for p in self.valid:
            p.set_highlight("valid")

    def move(self, scene_pos, view_pos) -> None:
        port = port_at(self.view, view_pos)
        if port in self.valid:
            self.rubber.set_end(port.scenePos(), True)
        else:
            self.rubber.set_end(scene_pos, False)

    def cleanup(self) -> None:
        for p in self.valid:
            if p.scene() is not None:
                p.set_highlight(None)
        self.valid = set()
        if self.rubber.scene() is not None:
            self.scene.removeItem(self.rubber)

    def cancel(self) -> None:
        self.cleanup()


class ConnectGesture(_WireGesture):
    """Drag from an output port to an input port (or from a free input port back to an
    output port). Release on a port: connect, or say why not. Release on empty canvas:
    the quick-add popup, and the chosen node is connected."""

    def __init__(self, view, port: Port) -> None:
        super().__init__(view, port.scenePos(), port.is_output)
        self.origin = port
        port.set_highlight("source")
        doc = self.doc
        if port.is_output:
            src = port.node_id
            self.highlight(p for n in self.scene.nodes.values() for p in n.in_ports
                           if doc.can_connect(src, p.node_id, p.port))
        else:
            self.highlight(n.out_port for n in self.scene.nodes.values()
                           if doc.can_connect(n.node_id, port.node_id, port.port))
        self.rubber.set_end(port.scenePos(), False)

    def _endpoints(self, other: Port) -> tuple[str, str, str] | None:
        """(src, dst, port) when ``other`` is the right kind of port for this drag."""
        if self.origin.is_output and not other.is_output:
            return self.origin.node_id, other.node_id, other.port
        if not self.origin.is_output and other.is_output:
            return other.node_id, self.origin.node_id, self.origin.port
        return None

    def release(self, scene_pos, view_pos) -> None:
        self.cleanup()
        if self.origin.scene() is not None:
            self.origin.set_highlight(None)
        port = port_at(self.view, view_pos)
        node = node_at(self.view, view_pos)
        if port is self.origin or (port is None and node is self.origin.parentItem()):
            return
        if port is not None:
            ends = self._endpoints(port)
            if ends is None:
                kind = "an output" if port.is_output else "an input"
                self.view.statusMessage.emit(
                    f"Cannot connect {kind} port to {kind} port: drag from an output "
                    "(right side) to an input (left side)")
                return
            self._connect(*ends)
        elif node is not None:
            self._connect_to_node(node)
        else:
            self._quick_add(scene_pos, view_pos)

    def _connect(self, src: str, dst: str, port: str) -> None:
        why = self.doc.connect(src, dst, port)
        if why:
            self.view.statusMessage.emit(f"Not connected: {why}")
        else:
            g = self.doc.graph
            self.view.statusMessage.emit(f"Connected {g.name_of(src)} → {g.name_of(dst)} ({port})")

    def _connect_to_node(self, node: NodeItem) -> None:
        """Dropped on a node's body: use its first port that can take the edge."""
        if self.origin.is_output:
            candidates = [p for p in node.in_ports]
            if not candidates:
                self.view.statusMessage.emit(
                    f"Not connected: {self.doc.graph.name_of(node.node_id)} has no input port")
                return
            ends = [self._endpoints(p) for p in candidates]
        else:
            ends = [self._endpoints(node.out_port)]
        for e in ends:
            if self.doc.can_connect(*e):
                self._connect(*e)
                return
        self._connect(*ends[0])  # refused: reports the reason

    def _quick_add(self, scene_pos: QPointF, view_pos) -> None:
        origin = self.origin
        if origin.is_output:
            ops = [o for o, s in OPS.items() if not s.is_leaf]
        else:
            ops = list(OPS)

        def chosen(op: str) -> None:
            doc = self.doc
            pos = (scene_pos.x(), scene_pos.y() - 30.0) if origin.is_output else \
                (scene_pos.x() - 170.0, scene_pos.y() - 30.0)
            doc.undo_stack.beginMacro(f"Add {op} and connect")
            try:
                nid = doc.add_node(op, pos)
                if origin.is_output:
                    free = [p for p in doc.graph.ports(nid)
                            if doc.can_connect(origin.node_id, nid, p)]
                    if free:
                        doc.connect(origin.node_id, nid, free[0])
                else:
                    doc.connect(nid, origin.node_id, origin.port)
            finally:
                doc.undo_stack.endMacro()

        self.view.open_quick_add(view_pos, chosen, ops)


class RerouteGesture(_WireGesture):
    """Drag an edge's input end away: release on empty canvas disconnects, on another
    input port re-routes (document.reconnect), on its own port changes nothing."""

    def __init__(self, view, port: Port, edge) -> None:
        super().__init__(view, edge.src_item.out_port.scenePos(), True)
        self.edge = edge
        self.src, self.dst, self.port = edge.key
        edge.hidden_by_gesture = True
        edge.hide()
        self.scene.overview_changed(nodes=False)
        edge.label.hide()
        trial = self.doc.graph.copy()
        trial.disconnect(self.dst, self.port)
        self.highlight(p for n in self.scene.nodes.values() for p in n.in_ports
                       if trial.connect_error(self.src, p.node_id, p.port) is None)
        self.rubber.set_end(port.scenePos(), True)

    def _restore(self) -> None:
        self.edge.hidden_by_gesture = False
        if self.scene.edges.get((self.src, self.dst, self.port)) is self.edge:
            self.edge.show()
            self.edge.label.setVisible(bool(self.edge.label.lines))
            self.scene.overview_changed(nodes=False)

    def release(self, scene_pos, view_pos) -> None:
        self.cleanup()
        port = port_at(self.view, view_pos)
        node = node_at(self.view, view_pos) if port is None else None
        if port is not None and not port.is_output:
            if (port.node_id, port.port) != (self.dst, self.port):
                why = self.doc.reconnect(self.dst, self.port, port.node_id, port.port)
                if why:
                    self.view.statusMessage.emit(f"Not re-routed: {why}")
        elif node is not None:
            if node.node_id != self.dst:
                target = next((p for p in node.in_ports if p in self.valid), None)
                why = (self.doc.reconnect(self.dst, self.port, node.node_id, target.port)
                       if target is not None else
                       f"{self.doc.graph.name_of(node.node_id)} has no free port that can take it")
                if why:
                    self.view.statusMessage.emit(f"Not re-routed: {why}")
        elif port is None:
            g = self.doc.graph
            self.view.statusMessage.emit(
                f"Disconnected {g.name_of(self.src)} → {g.name_of(self.dst)} ({self.port})")
            self.doc.disconnect(self.dst, self.port)
        self._restore()

    def cancel(self) -> None:
        self.cleanup()
        self._restore()
