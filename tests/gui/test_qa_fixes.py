"""Regressions found by using the editor in a real window, each replayed as a user:
mouse presses, moves with the button held and releases on the viewport, keys, drops.

Expected numbers are the tutorial's hand calculation (x=2, y=1, w1=0.5, w2=0.3:
∂L/∂w1 = −0.84).
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, QSize, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QWheelEvent
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication

from _gui_helpers import two_layer
from test_canvas import _drag_event, canvas, drag, tutorial_graph, vp  # noqa: F401
from test_mainwindow import dialogs, window  # noqa: F401

MINUS = "\u2212"


def _hit(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_renaming_the_output_renames_every_gradient_caption(qtbot, canvas):
    """Renaming the loss used to leave "∂squared_error₁/∂w₁" on the other nodes."""
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    w1 = view.scene().nodes[ids["w1"]]
    assert w1.grad_caption == "∂L/∂w₁"
    name_pt = vp(view, 900 + 60, 260 + 12)  # the loss node's header
    qtbot.mouseDClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, name_pt)
    assert view._editor is not None
    qtbot.keyClick(view.viewport(), Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClick(view.viewport(), "E")
    qtbot.keyClick(view.viewport(), Qt.Key_Return)
    assert doc.graph.name_of(ids["L"]) == "E"
    assert w1.grad_caption == "∂E/∂w₁"
    assert view.scene().nodes[ids["h"]].grad_caption == "∂E/∂h"
    assert w1.grad_text == f"{MINUS}0.84"
    doc.undo_stack.undo()
    assert w1.grad_caption == "∂L/∂w₁"


def test_moving_a_node_onto_labels_moves_those_labels_off_it(qtbot, canvas):
    """Labels of other edges must not stay under a node dropped on them."""
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    scene = view.scene()
    target = scene.edges[(ids["w2"], ids["yhat"], "a")].label
    assert target.placed
    tl, tt, tr, tb = target.box()
    y_item = scene.nodes[ids["y"]]
    card = y_item.card_box()
    # grab y by its header and drop it so its card covers the middle of that label
    grab = QPointF(card[0] + 40, card[1] + 10)
    dest = QPointF((tl + tr) / 2 - (card[2] - card[0]) / 2 + 40, (tt + tb) / 2 - 20 + 10)
    drag(qtbot, view, vp(view, grab.x(), grab.y()), vp(view, dest.x(), dest.y()))
    assert doc.graph.node(ids["y"]).pos != (0.0, 390.0)
    cards = {nid: it.card_box() for nid, it in scene.nodes.items()}
    for key, e in scene.edges.items():
        if not e.label.lines:
            continue
        for nid, c in cards.items():
            assert not _hit(e.label.box(), c), f"label of {key} lies on node {nid}"


def test_palette_drop_selects_the_new_node(qtbot, canvas):
    from gui.palette import OpPalette
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    palette = OpPalette()
    qtbot.addWidget(palette)
    mime: QMimeData = palette.mime_data("param")
    at = vp(view, 400, 480)
    for cls in (QDragEnterEvent, QDragMoveEvent):
        QApplication.sendEvent(view.viewport(), _drag_event(cls, at, mime))
    QApplication.sendEvent(view.viewport(),
                           QDropEvent(QPointF(at), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    new = [n.id for n in doc.graph.nodes() if n.op == "param"]
    assert len(new) == 3
    added = [n for n in new if n not in (ids["w1"], ids["w2"])]
    assert view.selected_ids() == added


def _wheel(view, at: QPoint, dy: int) -> None:
    ev = QWheelEvent(QPointF(at), QPointF(view.viewport().mapToGlobal(at)), QPoint(0, 0),
                     QPoint(0, dy), Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), ev)


def test_fit_follows_the_window_size_until_the_user_zooms(qtbot, canvas):
    """A start-up fit made in a small window must not leave the graph tiny once it grows."""
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    view.resize(500, 300)
    view.fit_all()
    small = view.zoom()
    view.resize(1300, 800)
    qtbot.waitUntil(lambda: view.viewport().size() == QSize(1300, 800))
    grown = view.zoom()
    assert grown > small * 1.5
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    assert shown.contains(view.scene().items_rect())
    _wheel(view, QPoint(300, 300), 120)
    zoomed = view.zoom()
    view.resize(600, 400)
    qtbot.waitUntil(lambda: view.viewport().size() == QSize(600, 400))
    assert view.zoom() == zoomed


def test_delete_and_f_in_the_palette_leave_the_canvas_alone(window, qtbot):
    ids = two_layer(window.doc)
    window.canvas.select_ids([ids["h"]])
    window.palette.setFocus()
    qtbot.keyClick(window.palette, Qt.Key_Delete)
    assert ids["h"] in window.doc.graph
    before = window.canvas.transform()
    qtbot.keyClick(window.palette, Qt.Key_F)
    qtbot.keyClick(window.palette, Qt.Key_L)
    assert window.canvas.transform() == before
    assert window.doc.undo_stack.undoText() != "Auto-layout"
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas.viewport(), Qt.Key_Delete)
    assert ids["h"] not in window.doc.graph


def test_letters_typed_in_a_rename_are_not_shortcuts(window, qtbot):
    ids = two_layer(window.doc)
    view = window.canvas
    view.resetTransform()
    view.centerOn(400, 150)
    before_moves = window.doc.undo_stack.count()
    view.start_rename(ids["h"])
    qtbot.keyClick(view.viewport(), Qt.Key_A, Qt.ControlModifier)
    for ch in "lfl":
        qtbot.keyClick(view.viewport(), ch)
    qtbot.keyClick(view.viewport(), Qt.Key_Return)
    assert window.doc.graph.name_of(ids["h"]) == "lfl"
    assert window.doc.undo_stack.count() == before_moves + 1  # the rename only


def test_l_lays_out_and_keeps_the_whole_graph_in_sight(window, qtbot):
    ids = two_layer(window.doc)
    # spread the nodes far apart, then zoom in on one corner
    window.doc.move({ids["L"]: (window.doc.graph.node(ids["L"]).pos, (3000.0, 2000.0))})
    view = window.canvas
    view.resetTransform()
    view.scale(1.5, 1.5)
    view.centerOn(0, 0)
    qtbot.keyClick(view.viewport(), Qt.Key_L)
    assert window.doc.undo_stack.undoText() == "Auto-layout"
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    assert shown.contains(view.scene().items_rect())


def test_output_tooltip_names_the_real_output_and_inspector_without_output(window):
    """The tooltip said "the output L" whatever the output was called; the inspector
    showed a bare "∂L/∂ = —" when nothing was marked as the output."""
    doc = window.doc
    x = doc.add_node("input", (0, 0), "x", -1.0)
    lg = doc.add_node("log", (260, 0), "lg")
    assert doc.connect(x, lg, "x") is None
    doc.add_node("input", (0, 200), "z", 1.0)  # two sinks: no output is chosen
    window.canvas.select_ids([lg])
    assert "∂L/∂ =" not in window.inspector.numbers.text()
    assert "mark a node as the output" in window.inspector.numbers.text()
    doc.set_output(lg)
    tip = window.canvas.scene().nodes[lg].toolTip()
    assert "output L" not in tip and "lg" in tip
    # the NaN badge's reason is the engine's: log of a negative number
    assert "log is undefined for" in tip
