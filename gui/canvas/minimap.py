"""Finding one's way in a large graph: a minimap of the whole graph and a Find bar.

Both sit over the canvas view's corner and work only through the view's public API
(``centre_on``, ``select_ids``): they never edit the document.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSizeF, QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QCompleter, QFrame, QHBoxLayout, QLabel, QLineEdit, QWidget

from engine.names import pretty

MINIMAP_W, MINIMAP_H = 220, 150
#: Find zooms in to 1:1 from further out than this, so the node found can be read
READABLE_ZOOM = 0.6


class Minimap(QWidget):
    """The whole graph in miniature, the view's visible area as a rectangle; a click or
    drag in it moves the view there. Painted from the scene's far-zoom overview (one
    batched call per colour), so it stays cheap on 10,000 nodes."""

    def __init__(self, view) -> None:
        # a child of the view, not of its viewport: scrolling moves the viewport's children
        super().__init__(view)
        self.view = view
        self.setFixedSize(MINIMAP_W, MINIMAP_H)
        self.setCursor(Qt.PointingHandCursor)
        self.setToolTip("The whole graph; the rectangle is what the canvas shows. "
                        "Click or drag to move there.")
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.setInterval(60)
        self._later.timeout.connect(self.update)
        view.horizontalScrollBar().valueChanged.connect(self.schedule)
        view.verticalScrollBar().valueChanged.connect(self.schedule)
        view.scene().changed.connect(self.schedule)
        self.hide()

    def schedule(self, *_args) -> None:
        """Repaint soon (scrolling and scene changes come in bursts)."""
        if self.isVisible() and not self._later.isActive():
            self._later.start()

    def place(self) -> None:
        """In the viewport's lower right corner (in the view's coordinates)."""
        vp = self.view.viewport().geometry()
        self.move(vp.right() - MINIMAP_W - 10, vp.bottom() - MINIMAP_H - 10)

    # ---------------------------------------------------------------- geometry
    def _frame(self) -> tuple[QRectF, float, QPointF]:
        """(the scene area shown, scale, offset) mapping scene → minimap."""
        ext = QRectF(self.view.scene().extent())
        shown = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        area = ext.united(shown) if not ext.isEmpty() else shown
        inner = QRectF(6, 6, MINIMAP_W - 12, MINIMAP_H - 12)
        s = min(inner.width() / max(area.width(), 1.0), inner.height() / max(area.height(), 1.0))
        off = QPointF(inner.center().x() - area.center().x() * s,
                      inner.center().y() - area.center().y() * s)
        return area, s, off

    def to_scene(self, p: QPointF) -> QPointF:
        _area, s, off = self._frame()
        return QPointF((p.x() - off.x()) / s, (p.y() - off.y()) / s)

    def visible_rect(self) -> QRectF:
        """The rectangle drawn for the view's visible area, in minimap pixels."""
        _area, s, off = self._frame()
        shown = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        return QRectF(shown.x() * s + off.x(), shown.y() * s + off.y(),
                      shown.width() * s, shown.height() * s)

    # ----------------------------------------------------------------- painting
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        scene = self.view.scene()
        t = scene.theme
        p = QPainter(self)
        bg = QColor(t.background)  # opaque: the canvas beneath would blur the miniature
        p.setPen(QPen(t.card_border, 1))
        p.setBrush(bg)
        p.drawRoundedRect(QRectF(0.5, 0.5, MINIMAP_W - 1, MINIMAP_H - 1), 6, 6)
        _area, s, off = self._frame()
        p.translate(off)
        p.scale(s, s)
        for colour, lines in scene.overview_lines():
            p.setPen(QPen(colour, 0))
            p.drawLines(lines)
        p.setPen(Qt.NoPen)
        for colour, opacity, boxes in scene.overview_boxes():
            p.setOpacity(opacity)
            p.setBrush(colour)
            p.drawRects(boxes)
        p.resetTransform()
        p.setOpacity(1.0)
        p.setBrush(Qt.NoBrush)
        p.setPen(QPen(t.highlight, 2))
        shown = self.visible_rect()
        if shown.width() < 8 or shown.height() < 8:  # zoomed far in: still findable
            c = shown.center()
            shown.setSize(shown.size().expandedTo(QSizeF(8, 8)))
            shown.moveCenter(c)
        p.drawRect(shown)
        p.end()

    # -------------------------------------------------------------------- mouse
    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.view.centre_on(self.to_scene(event.position()))
        self.update()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.buttons() & Qt.LeftButton:
            self.view.centre_on(self.to_scene(event.position()))
            self.update()


class FindBar(QFrame):
    """Ctrl+F on the canvas: type a node's name (completion offers every name), Enter
    selects it and brings it to the middle of the view; Esc closes the bar."""

    found = Signal(str)

    def __init__(self, view) -> None:
        super().__init__(view)
        self.view = view
        self.setFrameShape(QFrame.StyledPanel)
        self.setAutoFillBackground(True)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addWidget(QLabel("Find node:"))
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("name, e.g. w1 or h")
        self.edit.setClearButtonEnabled(True)
        self.edit.setMinimumWidth(220)
        lay.addWidget(self.edit)
        self.status = QLabel("")
        self.status.setObjectName("hint")
        lay.addWidget(self.status)
        self._model = QStringListModel(self)
        self.completer = QCompleter(self._model, self)
        self.completer.setCaseSensitivity(Qt.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchContains)
        self.edit.setCompleter(self.completer)
        self.edit.returnPressed.connect(self.find)
        self.completer.activated.connect(lambda _text: self.find())
        self.hide()

    def open(self) -> None:
        g = self.view.document.graph
        self._model.setStringList(sorted(g.names(), key=str.lower))
        self.status.setText("")
        self.adjustSize()
        self.move(10, 10)
        self.show()
        self.raise_()
        self.edit.setFocus()
        self.edit.selectAll()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key_Escape:
            self.hide()
            self.view.setFocus()
            return
        super().keyPressEvent(event)

    def find(self) -> bool:
        """Select and centre the node named by the text (its name or as drawn, w₁ for
        w1; else the first whose name contains it). False, with a word, when none does."""
        text = self.edit.text().strip()
        nid = find_node(self.view.document.graph, text)
        if nid is None:
            self.status.setText(f"no node is named {text!r}" if text else "type a name")
            return False
        self.status.setText("")
        self.view.select_ids([nid])
        if self.view.zoom() < READABLE_ZOOM:  # far out a found node would be a dot
            self.view.set_zoom(1.0)
        self.view.centre_on(self.view.scene().nodes[nid].card_qrect().center())
        self.found.emit(nid)
        return True


def find_node(graph, text: str) -> str | None:
    """The node a typed name means: exact name, name as drawn (w₁), then the first name
    (in id order) that starts with or contains it, ignoring case."""
    if not text:
        return None
    nid = graph.id_of(text)
    if nid is not None:
        return nid
    low = text.lower()
    ids = graph.ids()
    for nid in ids:
        if pretty(graph.name_of(nid)).lower() == low:
            return nid
    for test in (str.startswith, str.__contains__):
        for nid in ids:
            if test(graph.name_of(nid).lower(), low):
                return nid
    return None
