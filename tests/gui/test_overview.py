"""Far out, the view draws the whole graph from the scene's batched overview instead of
asking every item to paint. These tests zoom out like a user (F, the wheel), select,
drag and step through a pass, and compare each frame with the picture the items
themselves paint (``view.overview_enabled = False``): node boxes, hairlines (and which
lies on top where they cross), selection, highlight, the output mark and the rubber band
must be where and as the items draw them.
"""

from __future__ import annotations

import random

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

import engine
from engine.layout import apply_layout
from engine.passes import BACKWARD, Pass
from gui.canvas import CanvasView
from gui.canvas.view import OVERVIEW_MAX_ZOOM
from _gui_helpers import shown_view


def layered_graph(width: int = 12, layers: int = 4) -> engine.Graph:
    """A small scalar network (~330 nodes): ``layers`` tanh layers of ``width`` units,
    each unit tanh(w·x_j + v·x_j+1), summed into a squared error; mixed-sign weights so
    hairlines of both gradient signs show; one constant off the path (drawn greyed)."""
    rnd = random.Random(7)
    g = engine.Graph()
    xs = [g.add_node("input", f"x{i}", rnd.uniform(-1, 1)) for i in range(width)]
    for layer in range(layers):
        out = []
        for j in range(width):
            w = g.add_node("param", f"w{layer}_{j}", rnd.uniform(-1.5, 1.5))
            v = g.add_node("param", f"v{layer}_{j}", rnd.uniform(-1.5, 1.5))
            a = g.add_node("mul", f"a{layer}_{j}")
            b = g.add_node("mul", f"b{layer}_{j}")
            s = g.add_node("add", f"s{layer}_{j}")
            h = g.add_node("tanh", f"h{layer}_{j}")
            g.connect(w, a, "a")
            g.connect(xs[j], a, "b")
            g.connect(v, b, "a")
            g.connect(xs[(j + 1) % width], b, "b")
            g.connect(a, s, "a")
            g.connect(b, s, "b")
            g.connect(s, h, "x")
            out.append(h)
        xs = out
    total = xs[0]
    for k, h in enumerate(xs[1:]):
        t = g.add_node("add", f"t{k}")
        g.connect(total, t, "a")
        g.connect(h, t, "b")
        total = t
    y = g.add_node("input", "y", 0.5)
    loss = g.add_node("squared_error", "L")
    g.connect(y, loss, "target")
    g.connect(total, loss, "prediction")
    g.add_node("const", "lonely", 1.0)
    g.set_output(loss)
    apply_layout(g)
    return g


@pytest.fixture
def far(qtbot):
    """(document, view) of the layered graph, fitted with F and then zoomed out with
    the wheel until the view draws its overview."""
    doc, view = shown_view(qtbot, layered_graph())
    view.setFocus()
    qtbot.keyClick(view, Qt.Key_F)
    centre = view.viewport().rect().center()
    for _ in range(40):
        if view.zoom() < OVERVIEW_MAX_ZOOM:
            break
        wheel(view, centre, -120)
    assert view.zoom() < OVERVIEW_MAX_ZOOM
    assert view.draws_overview()
    return doc, view


def wheel(view: CanvasView, at: QPoint, dy: int) -> None:
    vp = view.viewport()
    ev = QWheelEvent(QPointF(at), QPointF(vp.mapToGlobal(at)), QPoint(0, 0), QPoint(0, dy),
                     Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(vp, ev)


def move_held(view: CanvasView, pts: list[QPoint]) -> None:
    """Mouse moves with the left button held (qtbot.mouseMove carries no button)."""
    for p in pts:
        ev = QMouseEvent(QEvent.MouseMove, QPointF(p), QPointF(view.viewport().mapToGlobal(p)),
                         Qt.NoButton, Qt.LeftButton, Qt.NoModifier)
        QApplication.sendEvent(view.viewport(), ev)


def steps(a: QPoint, b: QPoint, n: int = 6) -> list[QPoint]:
    return [QPoint(round(a.x() + (b.x() - a.x()) * i / n), round(a.y() + (b.y() - a.y()) * i / n))
            for i in range(1, n + 1)]


def grab(view: CanvasView) -> QImage:
    return view.viewport().grab().toImage().convertToFormat(QImage.Format_RGB32)


def item_drawing(view: CanvasView) -> QImage:
    """The same frame painted by the items themselves (Qt's own paintEvent)."""
    view.overview_enabled = False
    try:
        return grab(view)
    finally:
        view.overview_enabled = True


def centre_px(view: CanvasView, img: QImage, nid: str) -> QColor:
    item = view.scene().nodes[nid]
    p = view.mapFromScene(item.card_scene_rect().center())
    return img.pixelColor(p)


def assert_like_items(view: CanvasView) -> QImage:
    """Grab the overview frame, then the items' own frame: every node box's centre has
    the same colour, and the pictures are the same but for rounding (a blended pixel
    may differ by a level or two)."""
    fast = grab(view)
    slow = item_drawing(view)
    assert fast.size() == slow.size()
    shown = [n for n, it in view.scene().nodes.items()
             if fast.rect().contains(view.mapFromScene(it.card_scene_rect().center()))]
    assert len(shown) > 50
    for nid in shown:
        assert centre_px(view, fast, nid) == centre_px(view, slow, nid), nid
    w, h = fast.width(), fast.height()
    differ = 0
    for y in range(0, h, 2):
        for x in range(0, w, 2):
            a, b = fast.pixel(x, y), slow.pixel(x, y)
            if a != b and max(abs((a >> k & 255) - (b >> k & 255)) for k in (0, 8, 16)) > 8:
                differ += 1
    assert differ <= 0.001 * (w // 2) * (h // 2), f"{differ} sampled pixels differ"
    return fast


def test_fit_all_far_out_draws_boxes_hairlines_selection_and_output(qtbot, far):
    doc, view = far
    scene = view.scene()
    g = doc.graph
    some = [n for n in g.ids() if g.op_of(n) == "tanh"][:3]
    # click one box, Ctrl-click another: selected boxes take the selection colour
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, Qt.NoModifier,
                     view.mapFromScene(scene.nodes[some[0]].card_scene_rect().center()))
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, Qt.ControlModifier,
                     view.mapFromScene(scene.nodes[some[1]].card_scene_rect().center()))
    assert sorted(view.selected_ids()) == sorted(some[:2])
    # the derivation panel's highlight of a node and the edges into it
    into = [k for k in scene.edges if k[1] == some[2]]
    scene.set_highlight("derivation", [some[2]], into)
    img = assert_like_items(view)
    t = scene.theme
    assert centre_px(view, img, some[0]) == t.selection
    assert centre_px(view, img, some[2]) == t.highlight
    assert centre_px(view, img, g.output) == t.output
    # both gradient signs are drawn as hairlines somewhere in the frame
    colours = {img.pixel(x, y) for y in range(0, img.height(), 3)
               for x in range(0, img.width(), 3)}
    assert t.positive.rgb() in colours and t.negative.rgb() in colours
    # the greyed constant off the path is drawn half transparent, as the item draws it
    lonely = next(n for n in g.ids() if g.name_of(n) == "lonely")
    assert centre_px(view, img, lonely) != t.leaf_accent["const"]


def test_overview_follows_moves_values_theme_and_escape(qtbot, far):
    doc, view = far
    scene = view.scene()
    g = doc.graph
    assert_like_items(view)  # fills the overview's caches
    # drag a node's box somewhere else: its box and its hairlines follow
    nid = next(n for n in g.ids() if g.op_of(n) == "add")
    card = scene.nodes[nid].card_scene_rect()
    a = view.mapFromScene(card.center())
    top = min(it.card_scene_rect().top() for it in scene.nodes.values())
    b = view.mapFromScene(QPointF(card.center().x(), top - 400))  # above every node
    old = g.node(nid).pos
    qtbot.mousePress(view.viewport(), Qt.LeftButton, Qt.NoModifier, a)
    move_held(view, steps(a, b))
    qtbot.mouseRelease(view.viewport(), Qt.LeftButton, Qt.NoModifier, b)
    assert g.node(nid).pos != old
    img = assert_like_items(view)
    assert centre_px(view, img, nid) == scene.theme.selection  # the dragged node is selected
    # a slider drag of an input flips gradient signs: hairline colours follow
    x0 = next(n for n in g.ids() if g.name_of(n) == "x0")
    for k in range(3):
        doc.set_value(x0, -3.0 + k, merge_id=77)
    assert_like_items(view)
    # mark another node as output from its context menu: the dark output box moves there
    other = next(n for n in g.ids() if g.name_of(n) == "t3")
    menu = view.node_menu(other)
    next(a for a in menu.actions() if a.text() == "Mark as output").trigger()
    assert g.output == other
    img = assert_like_items(view)
    assert centre_px(view, img, other) == scene.theme.output
    qtbot.keyClick(view, Qt.Key_Escape)  # clears the selection
    assert view.selected_ids() == []
    assert_like_items(view)
    scene.set_dark(True)
    img = assert_like_items(view)
    assert centre_px(view, img, g.output) == scene.theme.output
    # zoomed back in, the items paint themselves again
    for _ in range(8):
        wheel(view, view.viewport().rect().center(), 120)
    assert view.zoom() > OVERVIEW_MAX_ZOOM and not view.draws_overview()


def test_rubber_band_shows_and_selects_far_out(qtbot, far):
    doc, view = far
    scene = view.scene()
    boxes = [it.card_scene_rect() for it in scene.nodes.values()]
    left = min(r.left() for r in boxes)
    top = min(r.top() for r in boxes)
    bottom = max(r.bottom() for r in boxes)
    # from empty canvas left of the graph, a band over the first columns
    a = view.mapFromScene(QPointF(left - 150, top - 150))
    a = QPoint(max(a.x(), 6), max(a.y(), 6))  # inside the viewport
    b = view.mapFromScene(QPointF(left + 300, (top + bottom) / 2))
    before = grab(view)
    qtbot.mousePress(view.viewport(), Qt.LeftButton, Qt.NoModifier, a)
    move_held(view, steps(a, b))
    band = view.rubberBandRect()
    assert not band.isEmpty()
    during = assert_like_items(view)
    edge = [QPoint(x, band.top()) for x in range(band.left() + 2, band.right() - 2, 4)]
    assert sum(during.pixel(p) != before.pixel(p) for p in edge) > 0.8 * len(edge)
    qtbot.mouseRelease(view.viewport(), Qt.LeftButton, Qt.NoModifier, b)
    chosen = view.selected_ids()
    assert chosen
    img = assert_like_items(view)
    for nid in chosen[:10]:
        assert centre_px(view, img, nid) == scene.theme.selection


def test_step_through_pass_shows_far_out(qtbot, far):
    doc, view = far
    scene = view.scene()
    p = Pass(doc.graph, doc.result, BACKWARD)
    k = len(p) // 3
    scene.set_pass_mask(p.mask(k))
    step = p.step(k)
    scene.set_highlight("pass", [step.node], [])
    img = assert_like_items(view)
    assert centre_px(view, img, step.node) == scene.theme.highlight
    # products not computed yet are drawn as zero (grey) hairlines, as the items draw them
    colours = {img.pixel(x, y) for y in range(0, img.height(), 2)
               for x in range(0, img.width(), 2)}
    assert scene.theme.zero.rgb() in colours
    scene.set_pass_mask(None)
    scene.clear_highlight("pass")
    assert_like_items(view)


def test_panning_far_out_draws_what_the_items_draw(qtbot, far):
    """A pan far out reuses the last frame moved and draws only the strips it uncovers:
    after middle-drags of a few pixels each way, the frame is still the items' picture."""
    doc, view = far
    vp = view.viewport()
    a = vp.rect().center()
    for d in (QPoint(7, 0), QPoint(0, -5), QPoint(-23, 11), QPoint(1, 1)):
        grab(view)  # the frame the pan starts from
        before = view.horizontalScrollBar().value(), view.verticalScrollBar().value()
        qtbot.mousePress(vp, Qt.MiddleButton, Qt.NoModifier, a)
        ev = QMouseEvent(QEvent.MouseMove, QPointF(a + d), QPointF(vp.mapToGlobal(a + d)),
                         Qt.NoButton, Qt.MiddleButton, Qt.NoModifier)
        QApplication.sendEvent(vp, ev)
        qtbot.mouseRelease(vp, Qt.MiddleButton, Qt.NoModifier, a + d)
        after = view.horizontalScrollBar().value(), view.verticalScrollBar().value()
        assert after == (before[0] - d.x(), before[1] - d.y())
        assert view.draws_overview()
        assert_like_items(view)


def fresh_grab(qtbot, view: CanvasView) -> QImage:
    """What a new view on the same scene, at the same size, zoom and scroll position,
    draws in its first frame (no picture of its own to reuse)."""
    other = CanvasView(view.document, scene=view.scene())
    qtbot.addWidget(other)
    other.resize(view.size())
    other.show()
    qtbot.waitExposed(other)
    other.setSceneRect(view.sceneRect())
    other.setTransform(view.transform())
    other.horizontalScrollBar().setValue(view.horizontalScrollBar().value())
    other.verticalScrollBar().setValue(view.verticalScrollBar().value())
    assert other.viewportTransform() == view.viewportTransform()
    img = grab(other)
    other.hide()
    return img


def zoomed_further_out(qtbot, view: CanvasView, notches: int = 3) -> None:
    """Wheel out a few notches from the fixture's zoom (just inside the overview), so a
    step in stays far out; wait until the view is crisp again."""
    for _ in range(notches):
        wheel(view, view.viewport().rect().center(), -120)
    qtbot.waitUntil(view.zoom_settled)
    grab(view)  # the crisp frame the steps start from


def node_near(view: CanvasView, at: QPoint, skip=()) -> str:
    """The node whose box centre lies nearest the viewport point ``at``."""
    def dist(nid: str) -> float:
        p = view.mapFromScene(view.scene().nodes[nid].card_scene_rect().center())
        return (p.x() - at.x()) ** 2 + (p.y() - at.y()) ** 2
    return min((n for n in view.scene().nodes if n not in skip), key=dist)


def test_wheel_zoom_far_out_shows_the_last_frame_scaled_then_settles_crisp(qtbot, far):
    """A wheel step far out first shows the last picture scaled (the node boxes already
    where the new zoom puts them); once the steps stop, the frame is exactly what a
    fresh view draws at that zoom, zooming in and zooming out."""
    doc, view = far
    vp = view.viewport()
    zoomed_further_out(qtbot, view)
    assert view.zoom_settled()
    at = vp.rect().center() + QPoint(90, -40)
    for dy in (120, -120, 240):
        z = view.zoom()
        wheel(view, at, dy)
        assert view.zoom() != z and view.draws_overview()
        assert not view.zoom_settled()
        preview = grab(view)
        qtbot.waitUntil(view.zoom_settled)
        settled = grab(view)
        assert settled != preview  # the first frame was the scaled one
        shown = [n for n, it in view.scene().nodes.items()
                 if settled.rect().contains(view.mapFromScene(it.card_scene_rect().center()))]
        assert len(shown) > 50
        for nid in shown:  # boxes are drawn crisp on the scaled hairlines (a greyed
            if view.scene().nodes[nid].greyed:  # one is see-through: the grid shows)
                continue
            assert centre_px(view, preview, nid) == centre_px(view, settled, nid), nid
        assert settled == fresh_grab(qtbot, view)
    assert_like_items(view)


def test_key_zoom_steps_settle_to_the_fresh_picture(qtbot, far):
    """Ctrl+= and Ctrl+- in quick succession: one crisp frame at the end, identical to a
    fresh view's."""
    doc, view = far
    zoomed_further_out(qtbot, view)
    view.setFocus()
    for key in (Qt.Key_Minus, Qt.Key_Equal, Qt.Key_Equal):
        qtbot.keyClick(view, key, Qt.ControlModifier)
        grab(view)
    assert not view.zoom_settled()
    qtbot.waitUntil(view.zoom_settled)
    assert grab(view) == fresh_grab(qtbot, view)


def test_a_click_right_after_a_wheel_zoom_selects_the_node_under_it(qtbot, far):
    """The picture is scaled until the zoom settles, but the scene is not: a click made
    at once lands on the node drawn under the cursor."""
    doc, view = far
    vp = view.viewport()
    zoomed_further_out(qtbot, view)
    at = vp.rect().center() + QPoint(60, 30)
    wheel(view, at, 240)
    assert view.draws_overview() and not view.zoom_settled()
    grab(view)  # the scaled frame is up
    target = node_near(view, at)
    p = view.mapFromScene(view.scene().nodes[target].card_scene_rect().center())
    qtbot.mouseClick(vp, Qt.LeftButton, Qt.NoModifier, p)
    assert not view.zoom_settled()
    assert view.selected_ids() == [target]
    # and one more step out, then a click on another node
    wheel(view, at, -120)
    other = node_near(view, at, skip={target})
    p = view.mapFromScene(view.scene().nodes[other].card_scene_rect().center())
    qtbot.mouseClick(vp, Qt.LeftButton, Qt.NoModifier, p)
    assert view.selected_ids() == [other]
    assert doc.undo_stack.count() == 0  # a zoom and clicks edit nothing
