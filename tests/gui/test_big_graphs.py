"""Finding one's way in a large graph, as a user does: Fit All and the wheel show all of
it, the minimap moves the view, Ctrl+F finds a node by name, and a derivation along a
long chain stays legible (its middle folded into one factor)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from engine.expr import parse

N = 1500


@pytest.fixture(scope="module")
def chain_text() -> str:
    lines = ["x = 0.5", "h0 = tanh(x)"] + [f"h{i} = tanh(h{i - 1})" for i in range(1, N)]
    return "\n".join(lines)


@pytest.fixture
def big(window, chain_text):
    window.doc.load_graph(parse(chain_text))
    window.canvas.fit_all()
    return window


def shown_rect(view):
    return view.mapToScene(view.viewport().rect()).boundingRect()


def test_fit_all_and_the_wheel_show_the_whole_graph(qtbot, big) -> None:
    view = big.canvas
    cards = [it.card_scene_rect() for it in view.scene().nodes.values()]
    first, last = min(cards, key=lambda r: r.left()), max(cards, key=lambda r: r.right())
    assert shown_rect(view).contains(first) and shown_rect(view).contains(last)
    # zoom in, then out with the wheel as far as it goes: everything is in sight again
    for _ in range(30):
        view.zoom_in()
    assert not shown_rect(view).contains(last)
    vp = view.viewport()
    for _ in range(80):
        ev = QWheelEvent(QPointF(vp.rect().center()), QPointF(vp.mapToGlobal(vp.rect().center())),
                         QPoint(0, 0), QPoint(0, -120), Qt.NoButton, Qt.NoModifier,
                         Qt.NoScrollPhase, False)
        QApplication.sendEvent(vp, ev)
    shown = shown_rect(view)
    assert shown.width() >= last.right() - first.left()


def test_ctrl_f_finds_a_node_selects_it_and_brings_it_to_the_middle(qtbot, big) -> None:
    view = big.canvas
    view.setFocus()
    qtbot.keyClick(view, Qt.Key_F, Qt.ControlModifier)
    bar = view.find_bar
    assert bar.isVisible() and bar.edit.hasFocus()
    qtbot.keyClicks(bar.edit, "h700")
    qtbot.keyClick(bar.edit, Qt.Key_Return)
    nid = big.doc.graph.id_of("h700")
    assert view.selected_ids() == [nid]
    centre = view.viewport().rect().center()
    card = view.mapFromScene(view.scene().nodes[nid].card_scene_rect().center())
    assert abs(card.x() - centre.x()) <= 2 and abs(card.y() - centre.y()) <= 2
    assert view.zoom() >= 0.6  # near enough to read the node found
    assert big.inspector.name_edit.text() == "h700"
    # a name that is not there says so and changes nothing
    bar.edit.clear()
    qtbot.keyClicks(bar.edit, "nothing_here")
    qtbot.keyClick(bar.edit, Qt.Key_Return)
    assert "no node is named" in bar.status.text() and view.selected_ids() == [nid]
    qtbot.keyClick(bar.edit, Qt.Key_Escape)
    assert not bar.isVisible()


def test_the_minimap_shows_the_view_and_moves_it(qtbot, big) -> None:
    view = big.canvas
    view.set_minimap(True)
    mm = view.minimap
    assert mm.isVisible()
    for _ in range(20):
        view.zoom_in()
    before = shown_rect(view).center()
    target = QPoint(mm.width() - 12, mm.height() // 2)  # far right: the chain's end
    want = mm.to_scene(QPointF(target))
    qtbot.mouseClick(mm, Qt.LeftButton, Qt.NoModifier, target)
    after = shown_rect(view).center()
    px = view.zoom() * abs(after.x() - want.x())  # in screen pixels
    assert px <= 2 and after.x() > before.x() + 1000
    assert mm.visible_rect().contains(QPointF(target))  # the rectangle follows the view
    # ...and the minimap stays in the canvas's lower right corner however the view scrolls
    vp = view.viewport()
    corner = vp.mapTo(big, QPoint(vp.width(), vp.height()))
    at = mm.mapTo(big, QPoint(mm.width(), mm.height()))
    assert 0 < corner.x() - at.x() <= 20 and 0 < corner.y() - at.y() <= 20
    img = mm.grab().toImage()
    assert img.width() == mm.width()


def test_a_long_chain_derivation_folds_its_middle(qtbot, big) -> None:
    big.derivation_dock.show()
    x = big.doc.graph.id_of("x")
    big.canvas.select_ids([x])
    panel = big.derivation
    qtbot.waitUntil(lambda: panel.derivation is not None and panel.derivation.node == x)
    text = panel.browser.toPlainText()
    assert f"⋯ {N - 10:,} more ⋯" in text
    assert text.count("∂h") < 40  # ten factors written out, not 1,500
