"""Build the tutorial's two-layer network through the Document's edit API, as the editor does."""

from __future__ import annotations

from gui.document import Document


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
