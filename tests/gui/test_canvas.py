"""The canvas, used the way a learner uses it: real mouse presses, moves with the
button held and releases on the view's viewport, real keys, palette drops.

Every expected number comes from the tutorial's hand calculation (x=2, y=1,
w1=0.5, w2=0.3: h=1, ŷ=0.3, L=0.49, ∂L/∂ŷ=−1.4, ∂L/∂h=−0.42, ∂L/∂w1=−0.84).
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, QSize, Qt
from PySide6.QtGui import (QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeySequence,
                           QMouseEvent, QWheelEvent)
from PySide6.QtWidgets import QApplication

import engine

MINUS = "\u2212"
YHAT = "y\u0302"  # how engine.names.pretty writes yhat: y + combining circumflex


# --------------------------------------------------------------------- set-up
def tutorial_graph(with_w1_edge: bool = True) -> tuple[engine.Graph, dict[str, str]]:
    """The two-layer net, laid out in four columns 130 px apart."""
    g = engine.Graph()
    ids = {
        "x": g.add_node("input", "x", 2.0, (0, 0)),
        "w1": g.add_node("param", "w1", 0.5, (0, 130)),
        "w2": g.add_node("param", "w2", 0.3, (0, 260)),
        "y": g.add_node("input", "y", 1.0, (0, 390)),
        "h": g.add_node("mul", "h", pos=(300, 60)),
        "yhat": g.add_node("mul", "yhat", pos=(600, 140)),
        "L": g.add_node("squared_error", "L", pos=(900, 260)),
    }
    edges = [("x", "h", "a"), ("w1", "h", "b"), ("w2", "yhat", "a"), ("h", "yhat", "b"),
             ("y", "L", "target"), ("yhat", "L", "prediction")]
    for s, d, p in edges:
        if with_w1_edge or s != "w1":
            g.connect(ids[s], ids[d], p)
    g.set_output(ids["L"])
    return g, ids


def vp(view, x: float, y: float) -> QPoint:
    return view.mapFromScene(QPointF(x, y))


def press(qtbot, view, pt: QPoint, mods=Qt.NoModifier) -> None:
    qtbot.mousePress(view.viewport(), Qt.LeftButton, mods, pt)


def drag_to(view, pts: list[QPoint], button=Qt.LeftButton) -> None:
    """Mouse moves with the button held (qtbot.mouseMove carries no button)."""
    for p in pts:
        ev = QMouseEvent(QEvent.MouseMove, QPointF(p), QPointF(view.viewport().mapToGlobal(p)),
                         Qt.NoButton, button, Qt.NoModifier)
        QApplication.sendEvent(view.viewport(), ev)


def release(qtbot, view, pt: QPoint) -> None:
    qtbot.mouseRelease(view.viewport(), Qt.LeftButton, Qt.NoModifier, pt)


def steps(a: QPoint, b: QPoint, n: int = 5) -> list[QPoint]:
    return [QPoint(round(a.x() + (b.x() - a.x()) * i / n), round(a.y() + (b.y() - a.y()) * i / n))
            for i in range(1, n + 1)]


def drag(qtbot, view, a: QPoint, b: QPoint) -> None:
    press(qtbot, view, a)
    drag_to(view, steps(a, b))
    release(qtbot, view, b)


def out_port(view, nid: str) -> QPoint:
    return view.mapFromScene(view.scene().nodes[nid].out_port.scenePos())


def in_port(view, nid: str, port: str) -> QPoint:
    return view.mapFromScene(view.scene().nodes[nid].port_item(port).scenePos())


def label(view, s: str, d: str, p: str) -> str:
    return view.scene().edge_label_text(s, d, p)


# ---------------------------------------------------------------------- tests
def test_move_node_by_dragging_is_one_undo_step(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    before = doc.undo_stack.count()
    a = vp(view, 80, 10)          # x's header, away from its ports
    b = vp(view, 80 + 60, 10 + 45)
    drag(qtbot, view, a, b)
    assert doc.graph.node(ids["x"]).pos == (60.0, 45.0)
    assert doc.undo_stack.count() == before + 1
    item = view.scene().nodes[ids["x"]]
    assert (item.pos().x(), item.pos().y()) == (60.0, 45.0)
    # the edge x → h starts at x's moved output port
    edge = view.scene().edges[(ids["x"], ids["h"], "a")]
    assert edge.path().pointAtPercent(0) == item.out_port.scenePos()
    doc.undo_stack.undo()
    assert doc.graph.node(ids["x"]).pos == (0.0, 0.0)
    assert (item.pos().x(), item.pos().y()) == (0.0, 0.0)
    assert edge.path().pointAtPercent(0) == item.out_port.scenePos()


def test_connect_two_ports_shows_local_derivative_and_product(qtbot, canvas):
    g, ids = tutorial_graph(with_w1_edge=False)
    doc, view = canvas(g)
    assert doc.graph.source_of(ids["h"], "b") is None
    drag(qtbot, view, out_port(view, ids["w1"]), in_port(view, ids["h"], "b"))
    assert doc.graph.source_of(ids["h"], "b") == ids["w1"]
    text = label(view, ids["w1"], ids["h"], "b")
    # ∂h/∂w₁ = x = 2 ; ∂L/∂h × 2 = −0.84 (tutorial)
    assert "∂h/∂w₁ = x = 2" in text
    assert f"∂L/∂h × 2 = {MINUS}0.84" in text
    w1 = view.scene().nodes[ids["w1"]]
    assert w1.grad_text == f"{MINUS}0.84"
    assert view.scene().nodes[ids["L"]].value_text == "0.49"
    assert doc.undo_stack.undoText().startswith("Connect")


def test_refused_cycle_leaves_graph_unchanged_and_says_why(qtbot, canvas):
    g = engine.Graph()
    x = g.add_node("input", "x", 1.0, (0, 0))
    s = g.add_node("add", "s", pos=(300, 0))
    m = g.add_node("mul", "m", pos=(600, 0))
    g.connect(x, s, "a")
    g.connect(s, m, "a")
    g.connect(x, m, "b")
    doc, view = canvas(g)
    messages = []
    view.statusMessage.connect(messages.append)
    edges_before = doc.graph.edges()
    steps_before = doc.undo_stack.count()
    a, b = out_port(view, m), in_port(view, s, "b")
    press(qtbot, view, a)
    drag_to(view, steps(a, b))
    # while dragging, the cycle-making port is not offered; nothing valid exists here
    assert view.scene().nodes[s].port_item("b")._highlight is None
    release(qtbot, view, b)
    assert doc.graph.edges() == edges_before
    assert doc.undo_stack.count() == steps_before
    assert messages and "cycle" in messages[-1]


def test_valid_ports_highlight_while_dragging(qtbot, canvas):
    g, ids = tutorial_graph(with_w1_edge=False)
    doc, view = canvas(g)
    a = out_port(view, ids["w1"])
    press(qtbot, view, a)
    drag_to(view, steps(a, a + QPoint(40, 0), 2))
    nodes = view.scene().nodes
    assert nodes[ids["h"]].port_item("b")._highlight == "valid"   # free port
    assert nodes[ids["h"]].port_item("a")._highlight is None      # fed by x
    release(qtbot, view, a + QPoint(40, 0))  # on empty canvas → quick-add popup
    popup = view.quick_add_popup()
    if popup is not None:
        popup.hide()
    assert nodes[ids["h"]].port_item("b")._highlight is None

def test_hovering_a_port_enlarges_it_and_shows_a_cross(qtbot, canvas):
    g, ids = tutorial_graph(with_w1_edge=False)
    doc, view = canvas(g)
    h = view.scene().nodes[ids["h"]]
    port = h.port_item("b")
    qtbot.mouseMove(view.viewport(), vp(view, 380, 70))  # h's header: no port
    assert not port._hover
    assert view.viewport().cursor().shape() != Qt.CrossCursor
    # 7 px left of the port's centre: outside the card, inside the port's hit area
    p = in_port(view, ids["h"], "b") - QPoint(7, 0)
    qtbot.mouseMove(view.viewport(), p)
    qtbot.waitUntil(lambda: port._hover)
    assert view.viewport().cursor().shape() == Qt.CrossCursor
    assert not h.port_item("a")._hover
    qtbot.mouseMove(view.viewport(), vp(view, 380, 70))
    qtbot.waitUntil(lambda: not port._hover)
    assert view.viewport().cursor().shape() != Qt.CrossCursor


def test_pressing_beside_a_card_on_a_port_starts_a_connection(qtbot, canvas):
    g, ids = tutorial_graph(with_w1_edge=False)
    doc, view = canvas(g)
    # from the part of w1's output port that sticks out right of the card
    a = out_port(view, ids["w1"]) + QPoint(6, 0)
    drag(qtbot, view, a, in_port(view, ids["h"], "b") - QPoint(6, 0))
    assert doc.graph.source_of(ids["h"], "b") == ids["w1"]


def test_a_rubber_band_over_a_port_alone_selects_nothing(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    # h's card starts at x = 300; its port a (y ≈ 60 + 24 + …) sticks out to x = 290
    pa = view.scene().nodes[ids["h"]].port_item("a").scenePos()
    drag(qtbot, view, vp(view, 200, pa.y() - 4), vp(view, 295, pa.y() + 4))
    assert view.selected_ids() == []
    drag(qtbot, view, vp(view, 200, pa.y() - 4), vp(view, 305, pa.y() + 4))
    assert view.selected_ids() == [ids["h"]]


def test_rubber_band_and_ctrl_click_select(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    # a band from above-left of x to the middle of w1 touches x and w1 only
    drag(qtbot, view, vp(view, -40, -40), vp(view, 100, 170))
    assert sorted(view.selected_ids()) == sorted([ids["x"], ids["w1"]])
    # Ctrl-click adds h
    p = vp(view, 380, 70)
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, Qt.ControlModifier, p)
    assert sorted(view.selected_ids()) == sorted([ids["x"], ids["w1"], ids["h"]])


def test_delete_key_then_undo_and_redo_keys(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, vp(view, 380, 70))
    assert view.selected_ids() == [ids["h"]]
    qtbot.keyClick(view, Qt.Key_Delete)
    assert ids["h"] not in doc.graph
    assert len(doc.graph.edges()) == 3
    assert ids["h"] not in view.scene().nodes
    qtbot.keyClick(view, Qt.Key_Z, Qt.ControlModifier)
    assert ids["h"] in doc.graph and len(doc.graph.edges()) == 6
    assert f"∂L/∂h × 2 = {MINUS}0.84" in label(view, ids["w1"], ids["h"], "b")
    redo = QKeySequence(QKeySequence.Redo)[0]
    qtbot.keyClick(view, redo.key(), redo.keyboardModifiers())
    assert ids["h"] not in doc.graph


def test_backspace_deletes_too(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    view.select_ids([ids["y"]])
    qtbot.keyClick(view, Qt.Key_Backspace)
    assert ids["y"] not in doc.graph


def test_palette_drop_places_the_op_at_the_drop_point(qtbot, canvas):
    from gui.palette import OpPalette
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    palette = OpPalette()
    qtbot.addWidget(palette)
    mime: QMimeData = palette.mime_data("sigmoid")
    at = vp(view, 400, 480)
    vpw = view.viewport()
    enter = _drag_event(QDragEnterEvent, at, mime)
    QApplication.sendEvent(vpw, enter)
    assert enter.isAccepted()
    move = _drag_event(QDragMoveEvent, at, mime)
    QApplication.sendEvent(vpw, move)
    assert move.isAccepted()
    drop = QDropEvent(QPointF(at), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(vpw, drop)
    new = [n for n in doc.graph.nodes() if n.op == "sigmoid"]
    assert len(new) == 1
    item = view.scene().nodes[new[0].id]
    assert item.card_scene_rect().contains(QPointF(400, 480))
    doc.undo_stack.undo()
    assert not [n for n in doc.graph.nodes() if n.op == "sigmoid"]


def _drag_event(cls, at: QPoint, mime: QMimeData):
    """PySide6 ≤ 6.11 takes a QPoint here, 6.12 prefers a QPointF."""
    try:
        return cls(QPointF(at), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    except TypeError:
        return cls(at, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)


def test_drag_input_end_to_empty_canvas_disconnects(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    drag(qtbot, view, in_port(view, ids["h"], "a"), vp(view, 200, 520))
    assert doc.graph.source_of(ids["h"], "a") is None
    assert (ids["x"], ids["h"], "a") not in view.scene().edges
    doc.undo_stack.undo()
    assert doc.graph.source_of(ids["h"], "a") == ids["x"]
    assert view.scene().edges[(ids["x"], ids["h"], "a")].isVisible()


def test_drag_input_end_to_another_port_reroutes(qtbot, canvas):
    g, ids = tutorial_graph(with_w1_edge=False)
    doc, view = canvas(g)
    # x feeds h.a; move that end to h.b
    drag(qtbot, view, in_port(view, ids["h"], "a"), in_port(view, ids["h"], "b"))
    assert doc.graph.source_of(ids["h"], "a") is None
    assert doc.graph.source_of(ids["h"], "b") == ids["x"]
    assert doc.undo_stack.count() == 1


def test_edge_dropped_on_empty_canvas_offers_quick_add_and_connects(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    view.scene().nodes[ids["L"]]
    a = out_port(view, ids["L"])
    b = a + QPoint(120, 120)
    drag(qtbot, view, a, b)
    popup = view.quick_add_popup()
    assert popup is not None and popup.isVisible()
    assert "input" not in popup.visible_ops()      # a new edge needs an op with an input
    qtbot.keyClicks(popup.edit, "sqrt")
    qtbot.keyClick(popup.edit, Qt.Key_Return)
    new = [n for n in doc.graph.nodes() if n.op == "sqrt"]
    assert len(new) == 1
    assert doc.graph.source_of(new[0].id, "x") == ids["L"]
    doc.undo_stack.undo()                            # add + connect is one step
    assert not [n for n in doc.graph.nodes() if n.op == "sqrt"]


def test_double_click_name_renames_and_refusal_is_reported(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    messages = []
    view.statusMessage.connect(messages.append)
    name_pt = vp(view, 300 + 60, 60 + 12)
    qtbot.mouseDClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, name_pt)
    editor = view._editor
    assert editor is not None
    qtbot.keyClick(view.viewport(), Qt.Key_A, Qt.ControlModifier)
    for ch in "hidden":
        qtbot.keyClick(view.viewport(), ch)
    qtbot.keyClick(view.viewport(), Qt.Key_Return)
    assert doc.graph.name_of(ids["h"]) == "hidden"
    assert "∂L/∂hidden × 2" in label(view, ids["w1"], ids["h"], "b")
    qtbot.mouseDClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, name_pt)
    for ch in "x":
        qtbot.keyClick(view.viewport(), Qt.Key_A, Qt.ControlModifier)
        qtbot.keyClick(view.viewport(), ch)
    qtbot.keyClick(view.viewport(), Qt.Key_Return)
    assert doc.graph.name_of(ids["h"]) == "hidden"    # x is taken
    assert messages and "already used" in messages[-1]


def test_value_change_updates_numbers_in_place(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    scene = view.scene()
    node_items = dict(scene.nodes)
    edge_items = dict(scene.edges)
    doc.set_value(ids["y"], 2.0)
    # y=2: L=(2−0.3)²=2.89, ∂L/∂ŷ=−3.4, ∂L/∂h=−1.02, ∂L/∂w1=−2.04
    assert scene.nodes == node_items and scene.edges == edge_items   # same items, no rebuild
    assert scene.nodes[ids["L"]].value_text == "2.89"
    assert scene.nodes[ids["w1"]].grad_text == f"{MINUS}2.04"
    assert f"∂L/∂h × 2 = {MINUS}2.04" in label(view, ids["w1"], ids["h"], "b")


def test_label_modes(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    key = (ids["h"], ids["yhat"], "b")
    view.set_label_mode("local")
    assert label(view, *key) == f"∂{YHAT}/∂h = 0.3"
    view.set_label_mode("product")
    assert label(view, *key) == f"∂L/∂{YHAT} × 0.3 = {MINUS}0.42"
    view.set_label_mode("none")
    assert label(view, *key) == ""
    assert not view.scene().edges[key].label.isVisible()
    view.set_label_mode("both")
    assert label(view, *key) == f"∂{YHAT}/∂h = w₂ = 0.3\n∂L/∂{YHAT} × 0.3 = {MINUS}0.42"


def test_edge_colour_and_width_follow_the_product(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    t = view.scene().theme
    neg = view.scene().edges[(ids["w1"], ids["h"], "b")]      # product −0.84
    pos = view.scene().edges[(ids["y"], ids["L"], "target")]   # ∂L/∂y = 2(y−ŷ) = 1.4
    assert neg.colour() == t.negative
    assert pos.colour() == t.positive
    assert pos.pen_width() > neg.pen_width()


def test_labels_clear_their_own_nodes_and_twin_edges_both_readable(qtbot, canvas):
    g = engine.Graph()
    x = g.add_node("input", "x", 3.0, (0, 0))
    m = g.add_node("mul", "m", pos=(300, 0))
    g.connect(x, m, "a")
    g.connect(x, m, "b")
    doc, view = canvas(g)
    scene = view.scene()
    ea, eb = scene.edges[(x, m, "a")], scene.edges[(x, m, "b")]
    # m = x·x at x=3: each port's local derivative is the other operand, 3; ∂m/∂m = 1
    assert ea.label.text().splitlines() == ["∂m/∂x [a] = x = 3", "∂m/∂m × 3 = 3"]
    assert eb.label.text().splitlines() == ["∂m/∂x [b] = x = 3", "∂m/∂m × 3 = 3"]
    ra, rb = ea.label.box_rect(), eb.label.box_rect()
    assert not ra.intersects(rb)
    for e in (ea, eb):
        r = e.label.box_rect()
        assert not r.intersects(scene.nodes[x].card_scene_rect())
        assert not r.intersects(scene.nodes[m].card_scene_rect())


def test_tutorial_labels_never_cover_their_own_nodes(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    scene = view.scene()
    for (s, d, p), e in scene.edges.items():
        r = e.label.box_rect()
        assert not r.intersects(scene.nodes[s].card_scene_rect()), (s, d, p)
        assert not r.intersects(scene.nodes[d].card_scene_rect()), (s, d, p)


def test_nan_node_has_a_badge_and_the_reason(qtbot, canvas):
    g = engine.Graph()
    x = g.add_node("input", "x", -1.0, (0, 0))
    lg = g.add_node("log", "l", pos=(300, 0))
    g.connect(x, lg, "x")
    doc, view = canvas(g)
    item = view.scene().nodes[lg]
    assert item.fault is not None
    assert "log is undefined for −1" in item.toolTip()
    assert item.value_text == "NaN"


def test_node_size_and_place_come_from_the_engine(qtbot, canvas):
    from engine.layout import node_size
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    for nid, item in view.scene().nodes.items():
        w, h = node_size(doc.graph, nid)
        r = item.card_scene_rect()
        assert (r.width(), r.height()) == (w, h)
        assert (r.left(), r.top()) == doc.graph.node(nid).pos


def test_off_path_nodes_are_greyed_and_output_marked(qtbot, canvas):
    g, ids = tutorial_graph()
    stray = g.add_node("input", "z", 1.0, (0, 520))
    doc, view = canvas(g)
    nodes = view.scene().nodes
    assert nodes[stray].greyed and not nodes[ids["x"]].greyed
    assert nodes[ids["L"]].is_output and not nodes[ids["h"]].is_output
    doc.set_output(ids["h"])
    assert nodes[ids["h"]].is_output and not nodes[ids["L"]].is_output
    assert nodes[ids["y"]].greyed      # y only feeds L, now past the output
    assert "off the path" in label(view, ids["y"], ids["L"], "target")


def test_zoom_keys_and_fit(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    z0 = view.zoom()
    qtbot.keyClick(view, Qt.Key_Equal, Qt.ControlModifier)
    assert view.zoom() > z0
    qtbot.keyClick(view, Qt.Key_Minus, Qt.ControlModifier)
    qtbot.keyClick(view, Qt.Key_Minus, Qt.ControlModifier)
    assert view.zoom() < z0
    qtbot.keyClick(view, Qt.Key_F)
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    for item in view.scene().nodes.values():
        assert shown.contains(item.card_scene_rect())


def test_graph_reset_rebuilds_items(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    g2 = engine.Graph()
    only = g2.add_node("input", "q", 1.0, (0, 0))
    doc.load_graph(g2)
    assert list(view.scene().nodes) == [only]
    assert view.scene().edges == {}


def test_wheel_zooms_around_the_cursor(qtbot, canvas):
    from PySide6.QtGui import QWheelEvent
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    at = vp(view, 380, 100)            # over h
    z0 = view.zoom()
    ev = QWheelEvent(QPointF(at), QPointF(view.viewport().mapToGlobal(at)), QPoint(0, 0),
                     QPoint(0, 240), Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), ev)
    assert view.zoom() > z0
    under = view.mapToScene(at)
    assert abs(under.x() - 380) < 3 and abs(under.y() - 100) < 3   # the point stayed put


def test_middle_drag_pans_without_editing(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    a = vp(view, 380, 100)                   # even when starting on a node
    before = view.mapToScene(view.viewport().rect().center())
    qtbot.mousePress(view.viewport(), Qt.MiddleButton, Qt.NoModifier, a)
    drag_to(view, steps(a, a + QPoint(-120, -60), 4), button=Qt.MiddleButton)
    qtbot.mouseRelease(view.viewport(), Qt.MiddleButton, Qt.NoModifier, a + QPoint(-120, -60))
    after = view.mapToScene(view.viewport().rect().center())
    assert (after.x() - before.x(), after.y() - before.y()) == pytest.approx((120, 60), abs=2)
    assert doc.graph.node(ids["h"]).pos == (300.0, 60.0)
    assert doc.undo_stack.count() == 0


def test_space_drag_pans(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    a = vp(view, 200, 600)
    before = view.mapToScene(view.viewport().rect().center())
    qtbot.keyPress(view, Qt.Key_Space)
    drag(qtbot, view, a, a + QPoint(80, 0))
    qtbot.keyRelease(view, Qt.Key_Space)
    after = view.mapToScene(view.viewport().rect().center())
    assert after.x() - before.x() == pytest.approx(-80, abs=2)
    assert view.selected_ids() == []


def test_double_click_on_empty_canvas_places_the_chosen_op_there(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    at = vp(view, 420, 560)
    qtbot.mouseDClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, at)
    popup = view.quick_add_popup()
    assert popup is not None and popup.isVisible()
    qtbot.keyClicks(popup.edit, "tanh")
    qtbot.keyClick(popup.edit, Qt.Key_Return)
    new = [n for n in doc.graph.nodes() if n.op == "tanh"]
    assert len(new) == 1
    assert view.scene().nodes[new[0].id].card_scene_rect().contains(QPointF(420, 560))


def test_tab_opens_quick_add(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key_Tab)
    popup = view.quick_add_popup()
    assert popup is not None and popup.isVisible()
    popup.hide()


def test_node_context_menu_marks_output_renames_and_deletes(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    menu = view.node_menu(ids["yhat"])
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts == ["Mark as output", "Rename…", "Delete"]
    menu.actions()[0].trigger()
    assert doc.graph.output == ids["yhat"]
    assert view.scene().nodes[ids["yhat"]].is_output
    view.select_ids([ids["y"]])
    view.node_menu(ids["y"]).actions()[-1].trigger()
    assert ids["y"] not in doc.graph


def test_rename_commits_when_clicking_elsewhere_and_escape_cancels(qtbot, canvas):
    g, ids = tutorial_graph()
    doc, view = canvas(g)
    name_pt = vp(view, 300 + 60, 60 + 12)
    qtbot.mouseDClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, name_pt)
    qtbot.keyClick(view.viewport(), Qt.Key_A, Qt.ControlModifier)
    for ch in "z1":
        qtbot.keyClick(view.viewport(), ch)
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, vp(view, 700, 600))
    assert doc.graph.name_of(ids["h"]) == "z1"
    assert view._editor is None
    qtbot.mouseDClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, name_pt)
    qtbot.keyClick(view.viewport(), Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClick(view.viewport(), "q")
    qtbot.keyClick(view.viewport(), Qt.Key_Escape)
    assert doc.graph.name_of(ids["h"]) == "z1"
    assert view._editor is None


def test_highlight_channels_are_independent_and_drawn(qtbot):
    """Two channels highlight independently; the picture changes where the halo is drawn."""
    from gui.canvas import CanvasView
    from gui.document import Document
    from engine import fileformat
    from pathlib import Path
    from PySide6.QtGui import QImage, QPainter

    doc = Document()
    doc.load_graph(fileformat.load(Path(__file__).resolve().parents[2]
                                   / "assets" / "examples" / "two_layer.json"))
    view = CanvasView(doc)
    qtbot.addWidget(view)
    scene = view.scene()
    g = doc.graph
    w1 = g.id_of("w1")
    edge = next(k for k in scene.edges if k[0] == w1)

    def picture():
        img = QImage(400, 300, QImage.Format_ARGB32)
        img.fill(0)
        p = QPainter(img)
        scene.render(p, source=scene.nodes[w1].sceneBoundingRect().adjusted(-20, -20, 20, 20))
        p.end()
        return img

    before = picture()
    scene.set_highlight("pass", [w1], [edge])
    scene.set_highlight("derivation", [], [edge])
    assert scene.highlighted() == ({w1}, {edge})
    assert picture() != before
    scene.clear_highlight("pass")
    assert scene.highlighted() == (set(), {edge})   # the other channel still holds the edge
    scene.clear_highlight("derivation")
    assert scene.highlighted() == (set(), set())
    assert picture() == before


# ------------------------------------------------ found by using it in a real window

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
