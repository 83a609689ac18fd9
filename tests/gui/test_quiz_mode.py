"""Quiz mode as a learner uses it: the toolbar's Quiz, clicks into fields, typed answers.

Expected numbers are the tutorial's (x = 2, y = 1, w₁ = 0.5, w₂ = 0.3), worked out by
hand below; the document's undo stack and modified flag must not move.
"""

from __future__ import annotations

import unicodedata

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from engine.quiz import LOCAL, PRODUCT, question_key

#: every local derivative and product of the two-layer network, by its prompt
BY_HAND = {
    "∂L/∂ŷ": "-2*(1-0.3)", "∂L/∂y": "2*(1-0.3)", "∂ŷ/∂w₂": "1", "∂ŷ/∂h": "0.3",
    "∂h/∂w₁": "2", "∂h/∂x": "0.5",
    "∂L/∂L × ∂L/∂ŷ": "-1.4", "∂L/∂L × ∂L/∂y": "1.4", "∂L/∂ŷ × ∂ŷ/∂w₂": "-1.4*1",
    "∂L/∂ŷ × ∂ŷ/∂h": "-1.4*0.3", "∂L/∂h × ∂h/∂w₁": "-0.42*2", "∂L/∂h × ∂h/∂x": "-0.42*0.5",
}


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def ids_of(w) -> dict[str, str]:
    g = w.doc.graph
    return {g.name_of(n): n for n in g.ids()}


def click_field(qtbot, w, key: str) -> None:
    view = w.canvas
    f = w.quiz_mode.field(key)
    view.ensureVisible(f.sceneBoundingRect(), 30, 30)
    pos = view.mapFromScene(f.sceneBoundingRect().center())
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=pos)
    assert w.canvas.scene().focusItem() is f


def type_answer(qtbot, w, text: str) -> None:
    view = w.canvas
    qtbot.keyClick(view, Qt.Key_A, Qt.ControlModifier)  # replace what is there
    qtbot.keyClicks(view, text)
    qtbot.keyClick(view, Qt.Key_Return)


def drawn_share(w, key: str, colour: str) -> float:
    """How much of the field's box is drawn in ``colour`` on the canvas as the user
    sees it (a wrong answer is filled pale red, a right one pale green)."""
    view = w.canvas
    f = w.quiz_mode.field(key)
    r = view.mapFromScene(f.sceneBoundingRect()).boundingRect()
    img = view.viewport().grab(r).toImage()
    want = QColor(colour)
    hits = 0
    for x in range(img.width()):
        for y in range(img.height()):
            c = img.pixelColor(x, y)
            if abs(c.red() - want.red()) + abs(c.green() - want.green()) + \
                    abs(c.blue() - want.blue()) < 12:
                hits += 1
    return hits / max(1, img.width() * img.height())


def test_a_learner_works_out_local_derivatives_and_products(qtbot, two_layer_window) -> None:
    w = two_layer_window
    doc = w.doc
    undo_count, modified = doc.undo_stack.count(), doc.is_modified()
    ids = ids_of(w)
    w1h = (ids["w1"], ids["h"], "a")
    hy = (ids["h"], ids["yhat"], "b")
    label = w.canvas.scene().edges[w1h].label
    assert "2" in label.text().split("\n")[0]          # before the quiz: ∂h/∂w₁ = x = 2

    # the toolbar's Quiz button; local derivatives and products are the default kinds
    button = w.toolbar.widgetForAction(w.quiz_mode.act_quiz)
    qtbot.mouseClick(button, Qt.LeftButton)
    mode = w.quiz_mode
    assert mode.active and w.quiz_dock.isVisible()
    assert w.quiz_panel.boxes[LOCAL].isChecked() and w.quiz_panel.boxes[PRODUCT].isChecked()
    assert len(mode.quiz) == 12                         # 6 edges × (local, product)
    # the hidden numbers are not drawn: ∂h/∂w₁ is a blank, its formula too
    first = nfc(label.text().split("\n")[0])
    assert first.startswith("∂h/∂w₁ = ") and not any(c.isdigit() for c in first[8:])
    assert "x" not in first[8:]
    assert "−0.84" not in label.text()
    # gradients are not quizzed, but each is the sum of products still to be worked
    # out: "?" on the cards (∂L/∂w₁ = −0.84 would be the product on w₁ → h); values show
    cards = w.canvas.scene().nodes
    assert cards[ids["h"]].grad_text == "?" and cards[ids["w1"]].grad_text == "?"
    assert cards[ids["h"]].value_text == "1"

    key = question_key(LOCAL, w1h)
    click_field(qtbot, w, key)
    type_answer(qtbot, w, "1")                          # wrong: red, no hint yet
    assert mode.quiz.mark(key).status == "wrong"
    assert drawn_share(w, key, "#fde8e8") > 0.3 and drawn_share(w, key, "#e6f4e7") == 0
    assert "Hint" not in w.statusBar().currentMessage()
    type_answer(qtbot, w, "0.5")                        # wrong again: the formula
    msg = nfc(w.statusBar().currentMessage())
    assert "Hint: ∂h/∂w₁ = x, with x = 2" in msg
    assert "∂h/∂w₁ = x" in nfc(mode.field(key).toolTip())
    assert "Hint: ∂h/∂w₁ = x" in nfc(w.quiz_panel.note.text())
    type_answer(qtbot, w, "2")                          # right: green
    assert mode.quiz.mark(key).status == "hinted"
    assert drawn_share(w, key, "#e6f4e7") > 0.3 and drawn_share(w, key, "#fde8e8") == 0

    # a product from numbers on the canvas: ∂L/∂ŷ × ∂ŷ/∂h = −1.4 × 0.3
    click_field(qtbot, w, question_key(LOCAL, hy))
    type_answer(qtbot, w, "0.3")
    pkey = question_key(PRODUCT, hy)
    click_field(qtbot, w, pkey)
    type_answer(qtbot, w, "-1.4*0.3")
    assert mode.quiz.mark(pkey).status == "right"
    assert "−0.42" in mode.field(pkey).toPlainText()
    # ∂L/∂h is that one product: now on h's card; ∂L/∂w₁ still waits for w₁ → h
    assert cards[ids["h"]].grad_text == "−0.42" and cards[ids["w1"]].grad_text == "?"

    # the rest in pass order: after a right answer the cursor is in the next field
    for _ in range(20):
        if mode.quiz.done:
            break
        focused = w.canvas.scene().focusItem()
        assert focused is not None and focused.key in mode.quiz
        type_answer(qtbot, w, BY_HAND[nfc(mode.quiz.question(focused.key).prompt)])
    assert mode.quiz.done
    score = mode.quiz.score()
    assert (score.right, score.hinted, score.revealed, score.total) == (11, 1, 0, 12)
    assert "11 of 12 right at the first try, 1 after a wrong try" in w.quiz_panel.score.text()
    # the quiz is not an edit
    assert doc.undo_stack.count() == undo_count and doc.is_modified() == modified

    qtbot.mouseClick(w.quiz_panel.btn_stop, Qt.LeftButton)
    assert not mode.active and not w.quiz_mode.act_quiz.isChecked()
    assert "2" in label.text().split("\n")[0] and "−0.84" in label.text()
    assert doc.undo_stack.count() == undo_count and doc.is_modified() == modified


def test_tab_moves_in_pass_order_and_reveal_one_reveals_the_next(qtbot, two_layer_window) -> None:
    w = two_layer_window
    w.quiz_mode.act_quiz.trigger()
    mode = w.quiz_mode
    qs = mode.quiz.questions
    click_field(qtbot, w, qs[0].key)
    qtbot.keyClick(w.canvas, Qt.Key_Tab)
    assert w.canvas.scene().focusItem() is mode.field(qs[1].key)
    qtbot.keyClick(w.canvas, Qt.Key_Backtab, Qt.ShiftModifier)
    assert w.canvas.scene().focusItem() is mode.field(qs[0].key)
    qtbot.mouseClick(w.quiz_panel.btn_one, Qt.LeftButton)
    assert mode.quiz.mark(qs[0].key).status == "revealed"
    qtbot.mouseClick(w.quiz_panel.btn_every, Qt.LeftButton)
    assert mode.quiz.done and mode.quiz.score().revealed == 12
    assert not w.doc.is_modified() and w.doc.undo_stack.count() == 0


def test_an_edit_refreshes_the_quiz_and_a_pass_ends_it(qtbot, two_layer_window) -> None:
    w = two_layer_window
    w.quiz_mode.act_quiz.trigger()
    mode = w.quiz_mode
    ids = ids_of(w)
    w1h, w2y = (ids["w1"], ids["h"], "a"), (ids["w2"], ids["yhat"], "a")
    for edge, answer in ((w1h, "2"), (w2y, "1")):
        click_field(qtbot, w, question_key(LOCAL, edge))
        type_answer(qtbot, w, answer)
    assert mode.quiz.mark(question_key(LOCAL, w2y)).status == "right"
    w.doc.set_value(ids["w1"], 1.0)   # h = 2: ∂ŷ/∂w₂ = h changes, ∂h/∂w₁ = x does not
    assert mode.active
    assert mode.quiz.mark(question_key(LOCAL, w1h)).status == "right"
    assert mode.quiz.mark(question_key(LOCAL, w2y)).status == "open"
    assert mode.field(question_key(LOCAL, w2y)).status == "open"
    w.stepper.act_forward.trigger()
    assert not mode.active and not mode.act_quiz.isChecked()


def test_the_side_panels_do_not_give_the_answers_away(qtbot, two_layer_window) -> None:
    """During a quiz the inspector and the derivation of a clicked node hide their
    numbers (∂L/∂h = −0.42 by hand: −2·(1 − 0.3)·0.3; ∂h/∂w₁ = x = 2); Stop shows them."""
    from test_derivation_panel import click_node
    w = two_layer_window
    w.derivation_dock.show()
    w.inspector_dock.show()
    w.inspector_dock.raise_()
    qtbot.mouseClick(w.toolbar.widgetForAction(w.quiz_mode.act_quiz), Qt.LeftButton)
    assert w.quiz_mode.active
    click_node(w, qtbot, "h")
    numbers = w.inspector.numbers.text() + w.inspector.derivs.text()
    assert "0.42" not in numbers and "hidden" in numbers
    assert not w.inspector.derivs_box.isVisible()
    text = w.derivation.text()
    assert "0.42" not in text and "hidden" in text
    assert not w.derivation.act_copy_latex.isEnabled()
    w.gradcheck_dock.show()
    check = w.gradcheck_dock.widget()
    assert not check.table.isVisible() and "hidden" in check.summary.text()
    qtbot.mouseClick(w.toolbar.widgetForAction(w.quiz_mode.act_quiz), Qt.LeftButton)
    assert not w.quiz_mode.active
    assert "0.42" in w.inspector.numbers.text().replace("−", "-")
    assert "0.42" in w.derivation.text().replace("−", "-")
    assert check.table.isVisible()
