"""What a new user met trying the quiz and the lessons in a real window, as tests that
act as that user: presentation mode (F5) during a quiz, where the cursor goes after a
right answer, the example's note, the Quiz dock's buttons under the mouse, and a lesson
step that is done while the next step asks about the same graph.

Numbers are the tutorial's two-layer network (x = 2, y = 1, w₁ = 0.5, w₂ = 0.3), by
hand: ∂h/∂w₁ = x = 2, ∂L/∂ŷ = −2(1 − 0.3) = −1.4, ∂L/∂w₁ = −1.4 · 0.3 · 2 = −0.84.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from engine.quiz import LOCAL, PRODUCT, question_key
from gui.mainwindow import EXAMPLES_DIR
from test_lesson_dock import answer, open_lessons, pick, shown
from test_quiz_mode import click_field, ids_of, type_answer


def start_quiz(qtbot, w) -> None:
    qtbot.mouseClick(w.toolbar.widgetForAction(w.quiz_mode.act_quiz), Qt.LeftButton)
    assert w.quiz_mode.active


def test_the_fields_come_back_after_presentation_mode(qtbot, two_layer_window) -> None:
    """F5 lays the canvas out afresh; the fields went with the old labels and never came
    back, so the quiz could not be answered, in presentation mode or after it."""
    w = two_layer_window
    start_quiz(qtbot, w)
    mode = w.quiz_mode
    ids = ids_of(w)
    key = question_key(LOCAL, (ids["w1"], ids["h"], "a"))
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key_F5)
    assert w.presenter.active
    scene = w.canvas.scene()
    assert all(mode.field(q.key) is not None and mode.field(q.key).scene() is scene
               for q in mode.quiz.questions)
    click_field(qtbot, w, key)
    type_answer(qtbot, w, "2")
    assert mode.quiz.mark(key).status == "right"
    qtbot.keyClick(w.canvas, Qt.Key_Escape)  # leaves the field
    qtbot.keyClick(w.canvas, Qt.Key_Escape)  # leaves presentation mode
    assert not w.presenter.active
    assert mode.field(key).scene() is w.canvas.scene()
    assert "2" in mode.field(key).toPlainText()          # the mark is kept
    product = question_key(PRODUCT, (ids["yhat"], ids["L"], "prediction"))
    click_field(qtbot, w, product)
    type_answer(qtbot, w, "-1.4")
    assert mode.quiz.mark(product).status == "right"


def test_after_a_right_answer_the_cursor_goes_to_a_number_it_can_work_out(
        qtbot, two_layer_window) -> None:
    """∂h/∂w₁ right: the product on the same edge needs ∂L/∂h, which is not known yet;
    the next field is ∂h/∂x = w₁, which can be worked out now."""
    w = two_layer_window
    start_quiz(qtbot, w)
    mode = w.quiz_mode
    ids = ids_of(w)
    click_field(qtbot, w, question_key(LOCAL, (ids["w1"], ids["h"], "a")))
    type_answer(qtbot, w, "2")
    focused = w.canvas.scene().focusItem()
    assert focused is mode.field(question_key(LOCAL, (ids["x"], ids["h"], "b")))
    assert not mode.quiz.missing(focused.key)
    type_answer(qtbot, w, "0.5")
    assert not mode.quiz.missing(w.canvas.scene().focusItem().key)


def test_the_examples_note_does_not_give_the_answers_away(qtbot, two_layer_window) -> None:
    """The two-layer example's note reads "∂L/∂w₁ = −0.84"; during a quiz that is an
    answer (the product on w₁ → h)."""
    w = two_layer_window
    assert "0.84" in w.note_label.text()
    start_quiz(qtbot, w)
    assert w.note_dock.isVisible()
    assert "0.84" not in w.note_label.text() and "1.4" not in w.note_label.text()
    assert "hidden" in w.note_label.text()
    qtbot.mouseClick(w.quiz_panel.btn_stop, Qt.LeftButton)
    assert "0.84" in w.note_label.text()


def test_reveal_one_stays_under_the_mouse(qtbot, two_layer_window) -> None:
    """The dock's message changes length after each click; the buttons sat below it and
    moved, so a second click on Reveal one hit nothing."""
    w = two_layer_window
    start_quiz(qtbot, w)
    panel = w.quiz_panel
    QApplication.processEvents()
    at = panel.btn_one.mapTo(panel, QPoint(0, 0))
    qtbot.mouseClick(panel.btn_one, Qt.LeftButton)
    panel.layout().activate()
    QApplication.processEvents()
    assert panel.btn_one.mapTo(panel, QPoint(0, 0)) == at
    assert w.quiz_mode.quiz.score().revealed == 1
    # what is under the mouse where it clicked is still Reveal one: a click reveals more
    under = panel.childAt(at + QPoint(10, 8))
    assert under is panel.btn_one
    qtbot.mouseClick(under, Qt.LeftButton, pos=QPoint(10, 8))
    assert w.quiz_mode.quiz.score().revealed == 2


def test_a_step_done_keeps_the_next_steps_answers_hidden(qtbot, window) -> None:
    """Lesson 3: step 1 asks h, ŷ, L; steps 2–4 go on with the same graph and ask
    ∂L/∂ŷ, ∂L/∂w₁ and ∂L/∂h. Step 1 done showed them all before Next."""
    window.lesson_panel.progress.set_step("03_two_layer", 0)
    pick(qtbot, open_lessons(qtbot, window), 2)
    panel = window.lesson_panel
    assert panel.step_label.text() == "Step 1 of 6"
    answer(qtbot, window, ["0.5*2", "0.3*1", "(1-0.3)^2"])
    assert [m.text() for m in panel.marks] == ["✓", "✓", "✓"]
    assert shown(window, "h")[0] == "1" and shown(window, "L")[0] == "0.49"  # step 1's
    assert shown(window, "w1")[1] == "?" and shown(window, "yhat")[1] == "?"  # later steps'
    assert window.doc.withheld
    qtbot.mouseClick(panel.next_button, Qt.LeftButton)
    answer(qtbot, window, ["-2*(1-0.3)", "0.3", "2"])
    assert panel.next_button.isEnabled()
    assert shown(window, "yhat")[1] == "−1.4"                 # step 2's, now known
    assert shown(window, "w1")[1] == "?" and shown(window, "h")[1] == "?"
    qtbot.mouseClick(panel.next_button, Qt.LeftButton)
    answer(qtbot, window, ["-1.4*0.3*2", "-1.4*1"])
    # step 4 asks ∂L/∂h: it stays hidden (and ∂L/∂w₁ = ∂L/∂h · 2 with it)
    assert shown(window, "h")[1] == "?" and shown(window, "yhat")[1] == "−1.4"
    qtbot.mouseClick(panel.next_button, Qt.LeftButton)
    answer(qtbot, window, ["-1.4*0.3"])
    # step 5 trains, which changes every number: nothing of step 6 is hidden ahead
    assert shown(window, "h")[1] == "−0.42" and not window.doc.withheld


def test_the_status_bar_keeps_a_quizzed_loss_hidden_on_a_dataset(qtbot, window) -> None:
    """On two moons, quizzing values asks for the picked sample's loss; the status bar
    printed it ("sample 1: loss = …") beside the mean."""
    assert window.open_example(EXAMPLES_DIR / "moons.json", ask=False)
    start_quiz(qtbot, window)
    assert "= ?" not in window.output_label.text()      # values are not asked yet
    box = window.quiz_panel.boxes["value"]
    assert box.isVisible()
    qtbot.mouseClick(box, Qt.LeftButton, pos=QPoint(8, box.height() // 2))
    assert "value" in window.quiz_mode.kinds
    text = window.output_label.text()
    assert text.startswith("Mean ") and text.endswith("= ?")
