"""Shared GUI test helpers: the tutorial's two-layer network built through the Document's
edit API (as the editor does), and a canvas view on a graph, shown as a user sees it."""

from __future__ import annotations

from engine.graph import Graph
from gui.canvas import CanvasView
from gui.document import Document


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
