"""Forward mode in the editor, driven as a user: pick w₁ as the direction, read the
tangents drawn on the cards and the edges and the Forward vs reverse table, step the
forward-mode pass, edit a value, turn it off. Expected numbers are the tutorial's, by
hand: ẇ₁ = 1, ḣ = x = 2, ŷ̇ = w₂·ḣ = 0.6, L̇ = −2(y − ŷ)·ŷ̇ = −0.84 = ∂L/∂w₁."""

from __future__ import annotations

import unicodedata

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def pick_in_toolbar(qtbot, window, text: str) -> None:
    """Arrow down the toolbar's forward-mode list (focused as a click would) to ``text``."""
    box = window.forward.box
    box.setFocus(Qt.MouseFocusReason)
    target = box.findText(text)
    assert target >= 0, text
    for _ in range(box.count()):
        if box.currentIndex() == target:
            break
        qtbot.keyClick(box, Qt.Key_Down if box.currentIndex() < target else Qt.Key_Up)
    assert box.currentText() == text


def tangents_drawn(window) -> dict[str, str | None]:
    scene, g = window.canvas.scene(), window.doc.graph
    return {g.name_of(n): (None if it.tangent_text is None else nfc(it.tangent_text))
            for n, it in scene.nodes.items()}


def label(window, src: str, dst: str, port: str) -> list[str]:
    g = window.doc.graph
    key = (g.id_of(src), g.id_of(dst), port)
    return [nfc(s) for s in window.canvas.scene().edges[key].label.text().split("\n")]


def test_forward_mode_from_w1_shows_tangents_and_the_comparison(two_layer_window, qtbot):
    w = two_layer_window
    doc, g = w.doc, w.doc.graph
    undo_before = doc.undo_stack.count()
    assert all(t is None for t in tangents_drawn(w).values())
    pick_in_toolbar(qtbot, w, "Forward from w₁")

    assert tangents_drawn(w) == {"w1": "ẇ₁ = 1", "x": "ẋ = 0", "y": "ẏ = 0", "w2": "ẇ₂ = 0",
                                 "h": "ḣ = 2", "yhat": nfc("(ŷ)˙ = 0.6"), "L": "L̇ = −0.84"}
    # each edge: its local × the source's tangent, under the reverse-mode lines
    assert label(w, "w1", "h", "a") == ["∂h/∂w₁ = x = 2", "∂L/∂h × 2 = −0.84", "2 × ẇ₁ = 2"]
    assert label(w, "x", "h", "b")[-1] == "0.5 × ẋ = 0"
    assert label(w, "h", "yhat", "b")[-1] == "0.3 × ḣ = 0.6"
    assert label(w, "yhat", "L", "prediction")[-1] == nfc("(−1.4) × (ŷ)˙ = −0.84")
    lab = w.canvas.scene().edges[(g.id_of("w1"), g.id_of("h"), "a")].label
    assert lab.tangent_line
    # the tags above the cards and the labels do not overlap
    scene = w.canvas.scene()
    tags = [it.mapRectToScene(it.tangent_rect()) for it in scene.nodes.values()]
    for e in scene.edges.values():
        box = e.label.box_rect()
        assert not any(box.intersects(t) for t in tags), e.key

    # the side panel: passes of each mode, and both modes' numbers for each leaf
    assert w.forward_dock.isVisible()
    panel = w.forward_panel
    text = panel.passes.text()
    assert "forward mode needs 4 passes" in text and "reverse mode 1" in text
    rows = {r[0]: r for r in panel.row_texts()}
    assert set(rows) == {"x", "y", "w₁", "w₂"}
    assert rows["w₁"][1:] == ["L̇ = −0.84 from w₁", "∂L/∂w₁ = −0.84", "✓"]
    assert rows["x"][1:] == ["L̇ = −0.21 from x", "∂L/∂x = −0.21", "✓"]
    assert rows["w₂"][2:] == ["∂L/∂w₂ = −1.4", "✓"]
    assert "reverse mode wins" in panel.why.text()

    # not an edit
    assert doc.undo_stack.count() == undo_before and not doc.is_modified()

    # it follows a value typed in the inspector: x = 3 makes ḣ = 3
    x = g.id_of("x")
    w.inspector.set_selection([x])
    edit = w.inspector.value_edit
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "3")
    qtbot.keyClick(edit, Qt.Key_Return)
    assert g.node(x).value == 3.0
    assert tangents_drawn(w)["h"] == "ḣ = 3"
    # h = 1.5, ŷ = 0.45, ∂L/∂ŷ = −2(1 − 0.45) = −1.1, (ŷ)˙ = 0.3·3 = 0.9, L̇ = −0.99
    assert tangents_drawn(w)["L"] == "L̇ = −0.99"
    qtbot.waitUntil(lambda: {r[0]: r for r in panel.row_texts()}["w₁"][1] == "L̇ = −0.99 from w₁")
    assert {r[0]: r for r in panel.row_texts()}["w₁"][2:] == ["∂L/∂w₁ = −0.99", "✓"]

    # off: the normal view is back
    pick_in_toolbar(qtbot, w, "Forward mode: off")
    assert all(t is None for t in tangents_drawn(w).values())
    assert label(w, "w1", "h", "a") == ["∂h/∂w₁ = x = 3", "∂L/∂h × 3 = −0.99"]


def test_context_menu_and_passes_menu_pick_the_direction(two_layer_window, qtbot, monkeypatch):
    w = two_layer_window
    g = w.doc.graph
    menu = w.canvas.node_menu(g.id_of("x"))
    act = next(a for a in menu.actions() if a.text() == "Differentiate forward from this leaf")
    act.trigger()
    assert w.forward.direction == g.id_of("x")
    assert tangents_drawn(w)["h"] == "ḣ = 0.5"          # ∂h/∂x = w₁
    assert not any(a.text().startswith("Differentiate")
                   for a in w.canvas.node_menu(g.id_of("h")).actions())  # an op: no entry
    monkeypatch.setattr(QInputDialog, "getItem",
                        staticmethod(lambda *a, **k: ("w₂", True)))
    w.forward.act_choose.trigger()
    assert tangents_drawn(w)["yhat"] == nfc("(ŷ)˙ = 1")   # ∂ŷ/∂w₂ = h = 1
    assert w.forward.box.currentText() == "Forward from w₂"
    w.forward.act_off.trigger()
    assert tangents_drawn(w)["yhat"] is None


def test_forward_mode_pass_steps_tangents_with_narration(two_layer_window, qtbot):
    w = two_layer_window
    g = w.doc.graph
    pick_in_toolbar(qtbot, w, "Forward from w₁")
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key_Right, Qt.ControlModifier | Qt.ShiftModifier)
    # the first step is x: only ẋ is known so far
    drawn = tangents_drawn(w)
    assert drawn["x"] == "ẋ = 0" and drawn["h"] == "ḣ = ?" and drawn["L"] == "L̇ = ?"
    assert label(w, "w1", "h", "a")[-1] == "2 × ẇ₁ = ?"
    assert w.canvas.scene().nodes[g.id_of("L")].grad_text == "1"  # gradients stay shown
    while g.name_of(w.stepper.step.node) != "h":
        qtbot.keyClick(w.canvas, Qt.Key_Right, Qt.ControlModifier | Qt.ShiftModifier)
    assert nfc(w.narration.current_text()).startswith(
        "5. ḣ = ∂h/∂w₁·ẇ₁ + ∂h/∂x·ẋ = 2·1 + 0.5·0 = 2")
    assert tangents_drawn(w)["h"] == "ḣ = 2" and label(w, "w1", "h", "a")[-1] == "2 × ẇ₁ = 2"
    assert tangents_drawn(w)["yhat"] == nfc("(ŷ)˙ = ?")
    assert w.stepper.title().startswith("Forward-mode pass · step 5 of 7")
    qtbot.keyClick(w.canvas, Qt.Key_R, Qt.ControlModifier)  # Reset: every tangent again
    assert tangents_drawn(w)["L"] == "L̇ = −0.84"


def test_a_quiz_and_forward_mode_exclude_each_other(qtbot, two_layer_window) -> None:
    """From w₁, L̇ = ∂L/∂w₁ = −0.84: tangents on screen would answer the quiz."""
    w = two_layer_window
    quiz_button = w.toolbar.widgetForAction(w.quiz_mode.act_quiz)
    qtbot.mouseClick(quiz_button, Qt.LeftButton)
    assert w.quiz_mode.active
    pick_in_toolbar(qtbot, w, "Forward from w₁")
    assert w.forward.direction == w.doc.graph.id_of("w1")
    assert not w.quiz_mode.active and not w.quiz_mode.act_quiz.isChecked()
    qtbot.mouseClick(quiz_button, Qt.LeftButton)
    assert w.quiz_mode.active and w.forward.direction is None
    assert not any(tangents_drawn(w).values())
