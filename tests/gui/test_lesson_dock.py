"""Lessons in the editor, driven as a learner: File › Lessons…, a click on a lesson,
answers typed into the Lesson dock, Check, Next; progress survives closing the window.
Expected numbers are the tutorial's, worked by hand (u = 2·3, y = 6², dy/dx = 8·3)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from _gui_helpers import type_expression, type_text
from gui.lessons_dialog import LessonsDialog
from gui.mainwindow import MainWindow


def file_action(window: MainWindow, text: str):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    return next(a for a in menu.actions() if a.text() == text)


def open_lessons(qtbot, window: MainWindow) -> LessonsDialog:
    file_action(window, "&Lessons…").trigger()
    dialog = window.findChild(LessonsDialog)
    assert dialog is not None
    qtbot.waitExposed(dialog)
    return dialog


def pick(qtbot, dialog: LessonsDialog, row: int) -> None:
    """Click the lesson's row, then Open."""
    lst = dialog.list
    rect = lst.visualItemRect(lst.item(row))
    qtbot.mouseClick(lst.viewport(), Qt.LeftButton, pos=rect.center())
    assert lst.currentRow() == row
    qtbot.mouseClick(dialog.open_button, Qt.LeftButton)


def answer(qtbot, window: MainWindow, texts: list[str]) -> None:
    panel = window.lesson_panel
    for field, text in zip(panel.fields, texts):
        qtbot.mouseClick(field, Qt.LeftButton)
        qtbot.keyClick(field, Qt.Key_A, Qt.ControlModifier)
        type_text(qtbot, field, text)
    qtbot.mouseClick(panel.check_button, Qt.LeftButton)


def shown(window: MainWindow, name: str) -> tuple[str, str]:
    """The value and gradient text drawn on a node's card."""
    item = window.canvas.scene().nodes[window.doc.graph.id_of(name)]
    return item.value_text, item.grad_text


def test_lesson_one_answered_in_the_dock_and_progress_restored(qtbot, window, dialogs) -> None:
    dialog = open_lessons(qtbot, window)
    titles = [les.title for les in dialog.lessons()]
    assert len(titles) >= 4 and titles[0].startswith("1. The chain rule")
    assert dialog.list.item(0).text().endswith("not started")
    pick(qtbot, dialog, 0)
    panel = window.lesson_panel
    assert window.lesson_dock.isVisible()
    assert panel.step_label.text() == "Step 1 of 5"
    assert window.doc.graph.names() == {"x", "c1", "u", "y"}  # chain_2x, x = 3
    assert shown(window, "u")[0] == "?" and shown(window, "y")[0] == "?"  # the quiz hides them
    assert window.output_label.text() == "Output y = ?"
    assert not panel.next_button.isEnabled()

    answer(qtbot, window, ["2·3", "6^2"])  # u = 2x, y = u²
    assert [m.text() for m in panel.marks] == ["✓", "✓"]
    assert panel.next_button.isEnabled() and shown(window, "u")[0] == "6"
    qtbot.mouseClick(panel.next_button, Qt.LeftButton)
    assert panel.step_label.text() == "Step 2 of 5"
    # a quiz is not an edit: nothing on the undo stack, nothing modified
    assert window.doc.undo_stack.count() == 0 and not window.doc.is_modified()

    window.close()
    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    dialog = open_lessons(qtbot, again)
    assert dialog.list.item(0).text().endswith("step 2 of 5 · 1 of 5 tasks done")
    pick(qtbot, dialog, 0)
    panel = again.lesson_panel
    assert panel.step_label.text() == "Step 2 of 5"
    assert panel.text_label.text().startswith("Each link knows")
    qtbot.mouseClick(panel.back_button, Qt.LeftButton)
    assert panel.step_label.text() == "Step 1 of 5"
    assert panel.status_label.text() == "Done ✓" and panel.next_button.isEnabled()
    assert [f.text() for f in panel.fields] == ["6", "36"]
    again.doc.undo_stack.setClean()


def test_a_wrong_answer_is_marked_and_shows_the_hint(qtbot, window) -> None:
    pick(qtbot, open_lessons(qtbot, window), 0)
    panel = window.lesson_panel
    qtbot.mouseClick(panel.next_button, Qt.LeftButton)  # not done: nothing happens
    assert panel.step_label.text() == "Step 1 of 5"
    answer(qtbot, window, ["6", "12"])                   # y = u², not 2u
    assert [m.text() for m in panel.marks] == ["✓", "✗"]
    assert panel.status_label.text() == "1 of 2 right"
    assert panel.hint_label.isVisible() and "u times u" in panel.hint_label.text()
    assert not panel.next_button.isEnabled() and shown(window, "y")[0] == "?"
    qtbot.mouseClick(panel.skip_button, Qt.LeftButton)  # Skip: on, without the task
    assert panel.step_label.text() == "Step 2 of 5"
    assert 0 not in panel.progress.done("01_chain_rule")


def test_dy_dx_is_hidden_until_answered_then_shown(qtbot, window) -> None:
    window.lesson_panel.progress.set_step("01_chain_rule", 2)
    pick(qtbot, open_lessons(qtbot, window), 0)
    panel = window.lesson_panel
    assert panel.step_label.text() == "Step 3 of 5"
    assert shown(window, "x")[1] == "?" and shown(window, "u")[1] == "12"
    assert window.doc.withheld  # the inspector and the derivation hide it too
    answer(qtbot, window, ["12*2"])
    assert panel.marks[0].text() == "✓" and shown(window, "x")[1] == "24"
    assert not window.doc.withheld


def test_a_new_step_graph_asks_before_dropping_changes(qtbot, window, dialogs) -> None:
    window.lesson_panel.progress.set_step("02_two_paths", 0)
    pick(qtbot, open_lessons(qtbot, window), 1)
    panel = window.lesson_panel
    x = window.doc.graph.id_of("x")
    window.doc.set_value(x, 5.0)  # an edit: the document is modified
    # the quiz asks about the graph as it is now: at x = 5, cos 5 = 0.283662
    answer(qtbot, window, ["3", "0.28366", "3.28366"])
    assert panel.next_button.isEnabled()
    dialogs.answer = QMessageBox.Cancel
    qtbot.mouseClick(panel.next_button, Qt.LeftButton)
    assert len(dialogs.questions) == 1 and "Save the changes" in dialogs.questions[0]
    assert panel.step_label.text() == "Step 1 of 4"           # kept, as File › Open keeps it
    assert window.doc.graph.node(x).value == 5.0
    dialogs.answer = QMessageBox.Discard
    qtbot.mouseClick(panel.next_button, Qt.LeftButton)
    assert panel.step_label.text() == "Step 2 of 4"
    assert window.doc.graph.names() == {"x", "f"}              # square_by_mul


def test_a_training_task_with_the_training_dock(qtbot, window) -> None:
    window.lesson_panel.progress.set_step("03_two_layer", 4)
    pick(qtbot, open_lessons(qtbot, window), 2)
    panel = window.lesson_panel
    assert panel.training_button.isVisible()
    qtbot.mouseClick(panel.training_button, Qt.LeftButton)
    assert window.training_dock.isVisible() and window.training.lr_edit.text() == "0.1"
    qtbot.mouseClick(panel.check_button, Qt.LeftButton)
    assert "not below 0.3" in panel.status_label.text()
    qtbot.mouseClick(window.training.step_button, Qt.LeftButton)
    qtbot.mouseClick(panel.check_button, Qt.LeftButton)
    assert panel.status_label.text().endswith("✓") and panel.next_button.isEnabled()
    qtbot.mouseClick(panel.next_button, Qt.LeftButton)  # goes on with the trained graph
    g = window.doc.graph
    assert g.node(g.id_of("w1")).value == 0.5 - 0.1 * -0.84
    answer(qtbot, window, ["0.5 - 0.1*(-0.84)", "0.3 + 0.14"])
    assert [m.text() for m in panel.marks] == ["✓", "✓"]
    window.doc.undo_stack.setClean()


def test_a_build_task_typed_in_the_expression_bar(qtbot, window) -> None:
    window.lesson_panel.progress.set_step("01_chain_rule", 4)
    pick(qtbot, open_lessons(qtbot, window), 0)
    panel = window.lesson_panel
    type_expression(qtbot, window, "y = (3*x)**2 + 1")
    qtbot.mouseClick(panel.check_button, Qt.LeftButton)
    assert panel.status_label.text().startswith("Not yet")
    type_expression(qtbot, window, "u = 3*x + 1; y = u*u")
    qtbot.mouseClick(panel.check_button, Qt.LeftButton)
    assert panel.status_label.text().startswith("Your graph computes it ✓")
    assert panel.next_button.text() == "Finish ✓" and panel.next_button.isEnabled()
    window.doc.undo_stack.setClean()
