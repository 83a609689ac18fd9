"""Shared GUI test helpers: the tutorial's two-layer network built through the Document's
edit API (as the editor does), and a canvas view on a graph, shown as a user sees it."""

from __future__ import annotations

from PySide6.QtCore import Qt

from engine.graph import Graph
from gui.canvas import CanvasView
from gui.document import Document
from gui.mainwindow import MainWindow


def shown_view(qtbot, graph: Graph) -> tuple[Document, CanvasView]:
    """A document holding ``graph`` and a 1300×800 canvas view on it, shown and exposed."""
    doc = Document()
    doc.load_graph(graph)
    view = CanvasView(doc)
    qtbot.addWidget(view)
    view.resize(1300, 800)
    view.show()
    qtbot.waitExposed(view)
    return doc, view


def two_layer(doc: Document) -> dict[str, str]:
    """x=2, y=1, w1=0.5, w2=0.3: h = x·w1, yhat = h·w2, L = (y − yhat)². Returns name → id."""
    ids = {
        "x": doc.add_node("input", (0, 0), "x", 2.0),
        "w1": doc.add_node("param", (0, 120), "w1", 0.5),
        "h": doc.add_node("mul", (260, 40), "h"),
        "w2": doc.add_node("param", (260, 200), "w2", 0.3),
        "yhat": doc.add_node("mul", (520, 80), "yhat"),
        "y": doc.add_node("input", (520, 260), "y", 1.0),
        "L": doc.add_node("squared_error", (780, 140), "L"),
    }
    for src, dst, port in (("x", "h", "a"), ("w1", "h", "b"), ("h", "yhat", "a"),
                           ("w2", "yhat", "b"), ("y", "L", "target"), ("yhat", "L", "prediction")):
        assert doc.connect(ids[src], ids[dst], port) is None
    return ids


def type_expression(qtbot, window: MainWindow, text: str,
                    modifier: Qt.KeyboardModifier = Qt.NoModifier) -> None:
    """Click into the expression bar, clear it, type the text and press Enter."""
    edit = window.expression_bar.edit
    qtbot.mouseClick(edit, Qt.LeftButton)
    qtbot.keyClick(edit, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClick(edit, Qt.Key_Delete)
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key_Return, modifier)


def type_text(qtbot, widget, text: str) -> None:
    """Type ``text`` key by key, as a keyboard would; characters QTest cannot spell
    (∞, the typographic minus −) arrive as key events carrying that text, as from an
    input method."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication
    for ch in text:
        if ch.isascii():
            qtbot.keyClicks(widget, ch)
            continue
        for kind in (QEvent.KeyPress, QEvent.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, Qt.Key_unknown, Qt.NoModifier, ch))
