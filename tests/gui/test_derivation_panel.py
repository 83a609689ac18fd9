"""The Derivation dock as a learner uses it: open the tutorial's example, click w₁ on the
canvas, read ∂L/∂w₁ written out, point at a factor to find its edge, copy the text.

Expected numbers are the tutorial's Section 6 (x=2, y=1, w1=0.5, w2=0.3):
∂L/∂ŷ = −2(y − ŷ) = −1.4, ∂ŷ/∂h = w₂ = 0.3, ∂h/∂w₁ = x = 2, ∂L/∂w₁ = −0.84.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from engine.expr import parse
from gui.canvas.node_item import HEADER
from gui.mainwindow import MainWindow

MINUS = "\u2212"
YHAT = "y\u0302"


def open_example(window: MainWindow, qtbot, name: str) -> None:
    """File › Examples › name, as the menu does it."""
    window._fill_examples()
    act = next(a for a in window.examples_menu.actions()
               if a.data() and Path(a.data()).name == name)
    act.trigger()
    qtbot.wait(20)  # the window fits the new graph on the next event-loop turn


def load(window: MainWindow, qtbot, text: str) -> None:
    window.doc.load_graph(parse(text))
    qtbot.wait(20)


def node_point(window: MainWindow, nid: str) -> QPoint:
    """The middle of a node's body: away from its ports and its name."""
    item = window.canvas.scene().nodes[nid]
    return window.canvas.mapFromScene(QPointF(item.scenePos().x() + item.w / 2,
                                              item.scenePos().y() + HEADER + 12))


def click_node(window: MainWindow, qtbot, name: str) -> str:
    nid = window.doc.graph.id_of(name)
    pt = node_point(window, nid)
    vp = window.canvas.viewport()
    qtbot.mousePress(vp, Qt.LeftButton, Qt.NoModifier, pt)
    qtbot.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, pt)
    assert window.canvas.selected_ids() == [nid]
    panel = window.derivation  # shown, it derives right after the click's events
    if panel.isVisible():
        qtbot.waitUntil(lambda: panel.derivation is not None
                        and panel.derivation.node == nid)
    return nid


def hover(widget, pt: QPoint) -> None:
    """A mouse move with no button held (qtbot has no plain hover)."""
    ev = QMouseEvent(QEvent.MouseMove, QPointF(pt), QPointF(widget.mapToGlobal(pt)),
                     Qt.NoButton, Qt.NoButton, Qt.NoModifier)
    QApplication.sendEvent(widget, ev)


def anchor_point(panel, href: str) -> QPoint:
    rect = panel.anchor_rect(href)
    assert rect is not None, href
    return rect.center()


# ---------------------------------------------------------------------- tests
def test_clicking_w1_shows_the_tutorial_derivation(window, qtbot):
    open_example(window, qtbot, "two_layer.json")
    panel = window.derivation
    assert window.derivation_dock.isVisible()
    assert "Select a node" in panel.text()
    click_node(window, qtbot, "w1")
    text = panel.text()
    assert f"∂L/∂w₁ = {MINUS}0.84" in text                       # the heading
    assert f"∂L/∂{YHAT} · ∂{YHAT}/∂h · ∂h/∂w₁" in text            # symbols
    assert f"{MINUS}2(y {MINUS} {YHAT}) · w₂ · x" in text          # formulas
    assert f"({MINUS}1.4) × 0.3 × 2" in text                     # numbers
    assert f"= {MINUS}0.84" in text.replace("=\n", "= ")         # the product
    assert "Backpropagation reaches the same total" in text


def test_panel_follows_value_changes(window, qtbot):
    open_example(window, qtbot, "two_layer.json")
    click_node(window, qtbot, "w1")
    # w1 = 1: h = 2, ŷ = 0.6, ∂L/∂ŷ = −2(1 − 0.6) = −0.8; ∂L/∂w₁ = −0.8 × 0.3 × 2 = −0.48
    window.doc.set_value(window.doc.graph.id_of("w1"), 1.0)
    text = window.derivation.text()
    assert f"({MINUS}0.8) × 0.3 × 2" in text
    assert f"∂L/∂w₁ = {MINUS}0.48" in text
    window.doc.undo_stack.undo()
    assert f"({MINUS}1.4) × 0.3 × 2" in window.derivation.text()


def test_panel_catches_up_with_a_slider_drag_on_its_own(window, qtbot):
    """Value changes are coalesced: many ticks in a row end with the last one shown,
    without anyone asking for the text."""
    open_example(window, qtbot, "two_layer.json")
    click_node(window, qtbot, "w1")
    w1 = window.doc.graph.id_of("w1")
    for k in range(1, 11):  # one drag: w1 = 0.55, 0.6, …, 1.0
        window.doc.set_value(w1, 0.5 + 0.05 * k, merge_id=7)
    # w1 = 1 as above: ∂L/∂w₁ = −0.48
    qtbot.waitUntil(lambda: f"∂L/∂w₁ = {MINUS}0.48" in window.derivation.browser.toPlainText())
    assert window.doc.undo_stack.count() == 1


def test_hovering_and_clicking_a_factor_highlights_its_edge(window, qtbot):
    open_example(window, qtbot, "two_layer.json")
    click_node(window, qtbot, "w1")
    g, scene, panel = window.doc.graph, window.canvas.scene(), window.derivation
    h, yhat, w1, L = (g.id_of(n) for n in ("h", "yhat", "w1", "L"))
    vp = panel.browser.viewport()
    assert scene.highlighted() == (set(), set())

    # the second factor, ∂ŷ/∂h (its number 0.3 too), is the edge h → ŷ
    hover(vp, anchor_point(panel, "f:0:1"))
    assert scene.highlighted() == ({h, yhat}, {(h, yhat, "b")})
    # moving off the text clears it
    hover(vp, QPoint(vp.width() - 3, vp.height() - 3))
    assert scene.highlighted() == (set(), set())
    # … and so does leaving the panel straight from a link
    hover(vp, anchor_point(panel, "f:0:2"))
    assert scene.highlighted() == ({w1, h}, {(w1, h, "a")})
    QApplication.sendEvent(vp, QEvent(QEvent.Leave))
    assert scene.highlighted() == (set(), set())

    # the path heading lights the whole path
    hover(vp, anchor_point(panel, "p:0"))
    assert scene.highlighted() == ({w1, h, yhat, L},
                                   {(w1, h, "a"), (h, yhat, "b"), (yhat, L, "prediction")})

    # a click keeps the first factor's edge (ŷ → L) lit after the mouse leaves
    pt = anchor_point(panel, "f:0:0")
    hover(vp, pt)
    qtbot.mouseClick(vp, Qt.LeftButton, Qt.NoModifier, pt)
    hover(vp, QPoint(vp.width() - 3, vp.height() - 3))
    assert scene.highlighted() == ({yhat, L}, {(yhat, L, "prediction")})
    # selecting another node drops it
    click_node(window, qtbot, "w2")
    assert scene.highlighted() == (set(), set())


def test_every_factor_link_names_an_edge_of_the_graph(window, qtbot):
    open_example(window, qtbot, "two_layer.json")
    click_node(window, qtbot, "w1")
    panel = window.derivation
    factor_links = {a for a in panel.anchors() if a.startswith("f:")}
    assert factor_links == {"f:0:0", "f:0:1", "f:0:2"}
    edges = set(window.doc.graph.edges())
    for href in factor_links:
        _, e = panel.target(href)
        assert len(e) == 1 and e <= edges


def test_copy_buttons_put_latex_markdown_and_text_on_the_clipboard(window, qtbot):
    open_example(window, qtbot, "two_layer.json")
    click_node(window, qtbot, "w1")
    panel, cb = window.derivation, QApplication.clipboard()
    buttons = {b.text(): b for b in panel.copy_buttons}
    qtbot.mouseClick(buttons["LaTeX"], Qt.LeftButton)
    tex = cb.text()
    assert r"\frac{\partial L}{\partial w_1}" in tex and r"\partial" in tex
    assert r"(-1.4) \times 0.3 \times 2" in tex
    qtbot.mouseClick(buttons["Markdown"], Qt.LeftButton)
    assert cb.text().startswith("### ∂L/∂w₁") and "```" in cb.text()
    qtbot.mouseClick(buttons["Text"], Qt.LeftButton)
    assert f"= ({MINUS}1.4) × 0.3 × 2" in cb.text()
    assert "\\partial" not in cb.text()


def test_hints_for_no_selection_several_and_the_output(window, qtbot):
    open_example(window, qtbot, "two_layer.json")
    panel = window.derivation
    click_node(window, qtbot, "L")
    assert "∂L/∂L = 1" in panel.text()
    # Ctrl-click adds a second node: the panel asks for one
    pt = node_point(window, window.doc.graph.id_of("w2"))
    qtbot.mouseClick(window.canvas.viewport(), Qt.LeftButton, Qt.ControlModifier, pt)
    assert len(window.canvas.selected_ids()) == 2
    assert "Select a single node" in panel.text()
    # a click on empty canvas clears the selection
    empty = window.canvas.mapFromScene(window.canvas.scene().items_rect().bottomRight()
                                       + QPointF(60, 60))
    qtbot.mouseClick(window.canvas.viewport(), Qt.LeftButton, Qt.NoModifier, empty)
    assert window.canvas.selected_ids() == []
    assert "Select a node" in panel.text()
    assert not panel.act_copy_latex.isEnabled()


def test_x_times_x_lists_two_paths_summing_to_2x(window, qtbot):
    load(window, qtbot, "x = 3; f = x * x")
    click_node(window, qtbot, "x")
    text = window.derivation.text()
    assert "Path 1" in text and "Path 2" in text
    assert "∂f/∂x = 3 + 3 = 6" in text  # d(x²)/dx = 2x = 6 at x = 3


def test_two_branches_sum_to_y_plus_cos_x(window, qtbot):
    load(window, qtbot, "x = 0.5; y = 2; f = x*y + sin(x)")
    click_node(window, qtbot, "x")
    text = window.derivation.text()
    assert "2 paths lead from x to f" in text
    # y + cos x = 2 + 0.87758… = 2.878 (4 significant digits)
    assert f"∂f/∂x = 2 + {math.cos(0.5):.4g} = {2 + math.cos(0.5):.4g}" in text


def test_ladder_shows_twenty_paths_and_counts_the_rest(window, qtbot):
    k = 7
    lines = ["x = 0.5", "a1 = x + x"] + [f"a{i} = a{i - 1} + a{i - 1}" for i in range(2, k + 1)]
    load(window, qtbot, "\n".join(lines))
    click_node(window, qtbot, "x")
    text = window.derivation.text()
    assert "Path 20:" in text and "Path 21:" not in text
    assert f"… and {2 ** k - 20} more paths ({2 ** k} in all)." in text
    assert f"∂a₇/∂x = {2 ** k}" in text  # 2^7 = 128, from backprop


def test_view_menu_toggles_the_dock(window, qtbot):
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    toggle = next(a for a in view_menu.actions() if a.text() == "Derivation")
    assert toggle.isChecked()
    toggle.trigger()
    assert not window.derivation_dock.isVisible()
    toggle.trigger()
    assert window.derivation_dock.isVisible()


def test_hidden_panel_catches_up_when_shown(window, qtbot):
    open_example(window, qtbot, "two_layer.json")
    window.derivation_dock.hide()
    click_node(window, qtbot, "w2")
    window.derivation_dock.show()
    qtbot.waitExposed(window.derivation)
    assert f"({MINUS}1.4) × 1" in window.derivation.text()  # ∂L/∂ŷ × h, h = 1
