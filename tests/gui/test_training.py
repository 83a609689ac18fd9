"""The training dock as a learner uses it: type η, click Step, Train N, Stop, Reset, undo.

Expected numbers are the tutorial's (Section 6 and exercise 3: w₁ = 0.584, w₂ = 0.44 after
one step at η = 0.1) or gradient descent on the two-layer network's closed-form gradients
written out here by hand (∂L/∂w₁ = −2(y − w₂w₁x)·w₂x, ∂L/∂w₂ = −2(y − w₂w₁x)·w₁x).
"""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from engine.expr import parse
from gui.mainwindow import EXAMPLES_DIR, MainWindow

from _gui_helpers import type_expression

WAIT_MS = 120_000  # a generous bound for slow machines; not a speed assertion


@pytest.fixture
def window(window: MainWindow) -> MainWindow:
    """The main window with the Training panel opened from the View menu (it starts
    hidden, below the canvas)."""
    window.training_dock.toggleViewAction().trigger()
    assert window.training_dock.isVisible()
    return window


def open_example(window: MainWindow, name: str) -> dict[str, str]:
    assert window.open_example(EXAMPLES_DIR / f"{name}.json", ask=False)
    g = window.doc.graph
    return {g.name_of(n): n for n in g.ids()}


def type_into(qtbot, field, text: str) -> None:
    """Click the field, select what is there, type over it, press Enter."""
    qtbot.mouseClick(field, Qt.LeftButton)
    qtbot.keyClick(field, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key_Return)


def value(window: MainWindow, nid: str) -> float:
    return window.doc.graph.node(nid).value


def loss_points(panel) -> list[float]:
    xs, ys = panel.loss_curve.getData()
    return [] if ys is None else [float(y) for y in ys]


def hand_rolled_two_layer(steps: int, lr: float) -> tuple[float, float, list[float]]:
    x, y, w1, w2 = 2.0, 1.0, 0.5, 0.3
    losses = []
    for _ in range(steps):
        r = y - w2 * w1 * x
        losses.append(r * r)
        g1, g2 = -2 * r * w2 * x, -2 * r * w1 * x
        w1, w2 = w1 - lr * g1, w2 - lr * g2
    return w1, w2, losses


def test_step_is_the_tutorials_update_and_one_undo_step(qtbot, window):
    ids = open_example(window, "two_layer")
    panel = window.training
    assert window.training_dock.isVisible()
    type_into(qtbot, panel.lr_edit, "0.5")   # something else first, so typing 0.1 matters
    type_into(qtbot, panel.lr_edit, "0.1")
    qtbot.mouseClick(panel.step_button, Qt.LeftButton)

    assert value(window, ids["w1"]) == pytest.approx(0.584)   # 0.5 − 0.1 × (−0.84)
    assert value(window, ids["w2"]) == pytest.approx(0.44)    # 0.3 − 0.1 × (−1.4)
    text = panel.update_label.toPlainText()
    assert "w₁ ← w₁ − η·∂L/∂w₁ = 0.5 − 0.1 × (−0.84) = 0.584" in text
    assert "w₂ ← w₂ − η·∂L/∂w₂ = 0.3 − 0.1 × (−1.4) = 0.44" in text
    # L after the step: (1 − 0.44 · 0.584 · 2)² = 0.48608² = 0.2362737…
    assert "0.49 → 0.236274" in text
    assert window.output_label.text() == "Output L = 0.236274"
    assert loss_points(panel) == pytest.approx([0.49])
    assert list(panel.now_marker.getData()[1]) == pytest.approx([0.49, 0.2362737])
    for name, (old, new) in {"w1": (0.5, 0.584), "w2": (0.3, 0.44)}.items():
        assert list(panel.param_curves[ids[name]].getData()[1]) == pytest.approx([old, new])
    assert window.doc.undo_stack.count() == 1
    assert window.doc.undo_stack.undoText() == "Train step"

    window.act_undo.trigger()
    assert value(window, ids["w1"]) == 0.5
    assert value(window, ids["w2"]) == 0.3
    assert window.doc.undo_stack.index() == 0
    assert not window.doc.is_modified()


def test_train_n_applies_n_steps_as_one_undo_step_with_n_plot_points(qtbot, window):
    ids = open_example(window, "two_layer")
    panel = window.training
    type_into(qtbot, panel.lr_edit, "0.05")
    type_into(qtbot, panel.steps_spin, "30")
    ended = []
    panel.runEnded.connect(ended.append)
    qtbot.mouseClick(panel.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=WAIT_MS)

    w1, w2, losses = hand_rolled_two_layer(30, 0.05)
    assert ended == [30]
    assert value(window, ids["w1"]) == pytest.approx(w1, rel=1e-9)
    assert value(window, ids["w2"]) == pytest.approx(w2, rel=1e-9)
    drawn = loss_points(panel)
    assert len(drawn) == 30
    assert drawn == pytest.approx(losses, rel=1e-9)
    assert drawn[-1] < drawn[0] == pytest.approx(0.49)
    assert window.doc.result.value(ids["L"]) < 0.49
    for name, start, end in (("w1", 0.5, w1), ("w2", 0.3, w2)):
        xs, ys = panel.param_curves[ids[name]].getData()
        assert len(xs) == 31                # the value before each step, and the value now
        assert ys[0] == start and ys[-1] == pytest.approx(end, rel=1e-9)
    assert window.doc.undo_stack.count() == 1
    assert window.doc.undo_stack.undoText() == "Train 30 steps"
    window.act_undo.trigger()
    assert (value(window, ids["w1"]), value(window, ids["w2"])) == (0.5, 0.3)


def test_stop_keeps_the_values_reached_as_one_step(qtbot, window):
    ids = open_example(window, "two_layer")
    panel = window.training
    type_into(qtbot, panel.lr_edit, "0.01")
    type_into(qtbot, panel.steps_spin, "1000000")
    qtbot.mouseClick(panel.train_button, Qt.LeftButton)
    assert panel.is_running()
    assert not panel.step_button.isEnabled() and panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: panel.steps_done() > 0, timeout=WAIT_MS)
    # the window answers while training: the click is delivered and handled
    qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
    assert not panel.is_running()
    done = len(loss_points(panel))
    assert 0 < done < 1_000_000
    w1, w2, _ = hand_rolled_two_layer(done, 0.01)
    assert value(window, ids["w1"]) == pytest.approx(w1, rel=1e-9)
    assert value(window, ids["w2"]) == pytest.approx(w2, rel=1e-9)
    expected = "Train 1 step" if done == 1 else f"Train {done} steps"
    assert window.doc.undo_stack.count() == 1
    assert window.doc.undo_stack.undoText() == expected
    assert panel.step_button.isEnabled() and not panel.stop_button.isEnabled()
    assert "Stopped after" in panel.status_label.text()


def test_editing_the_graph_during_a_run_stops_it_without_applying(qtbot, window):
    ids = open_example(window, "two_layer")
    panel = window.training
    type_into(qtbot, panel.steps_spin, "1000000")
    qtbot.mouseClick(panel.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.steps_done() > 0, timeout=WAIT_MS)
    # the learner selects x and types a new value in the inspector
    window.canvas.select_ids([ids["x"]])
    type_into(qtbot, window.inspector.value_edit, "3")
    assert value(window, ids["x"]) == 3.0
    assert not panel.is_running()
    assert "edited" in panel.status_label.text()
    assert (value(window, ids["w1"]), value(window, ids["w2"])) == (0.5, 0.3)
    assert window.doc.undo_stack.count() == 1            # only the learner's own edit
    assert window.doc.undo_stack.undoText().startswith("Set x")
    # training afterwards works on the edited graph: ∂L/∂w₁ = −2(1 − 0.3·0.5·3)·0.3·3 = −0.99
    qtbot.mouseClick(panel.step_button, Qt.LeftButton)
    assert value(window, ids["w1"]) == pytest.approx(0.5 + 0.1 * 0.99)


def test_reset_restores_the_values_before_training(qtbot, window):
    ids = open_example(window, "two_layer")
    panel = window.training
    assert not panel.reset_button.isEnabled()
    qtbot.mouseClick(panel.step_button, Qt.LeftButton)
    qtbot.mouseClick(panel.step_button, Qt.LeftButton)
    w1, w2, _ = hand_rolled_two_layer(2, 0.1)
    assert value(window, ids["w1"]) == pytest.approx(w1)
    assert len(loss_points(panel)) == 2
    qtbot.mouseClick(panel.reset_button, Qt.LeftButton)
    assert (value(window, ids["w1"]), value(window, ids["w2"])) == (0.5, 0.3)
    assert window.doc.undo_stack.undoText() == "Reset training"
    assert window.doc.undo_stack.count() == 3
    assert loss_points(panel) == []
    window.act_undo.trigger()                               # undo the reset alone
    assert value(window, ids["w1"]) == pytest.approx(w1)


def test_problems_are_shown_in_the_panel_not_raised(qtbot, window):
    panel = window.training
    open_example(window, "exercise1")                        # inputs only, no params
    qtbot.mouseClick(panel.step_button, Qt.LeftButton)
    assert panel.error_label.isVisible()
    assert "no param" in panel.error_label.text()
    assert window.doc.undo_stack.count() == 0

    # √w at w = 0: the derivative 1/(2√w) is infinite
    window.doc.load_graph(parse("w = param(0)\nL = sqrt(w)\n"))
    assert not panel.error_label.isVisible()
    qtbot.mouseClick(panel.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=WAIT_MS)
    assert "not finite" in panel.error_label.text()
    assert window.doc.graph.node(window.doc.graph.id_of("w")).value == 0.0
    assert window.doc.undo_stack.count() == 0

    ids = open_example(window, "two_layer")
    type_into(qtbot, panel.lr_edit, "fast")
    qtbot.mouseClick(panel.step_button, Qt.LeftButton)
    assert "learning rate" in panel.error_label.text()
    assert value(window, ids["w1"]) == 0.5


def test_xor_trains_below_the_loss_its_note_states(qtbot, window):
    """The note's recipe in the panel: Adam, its η and N, over the four XOR points."""
    open_example(window, "xor")
    note = window.note_label.text()
    m = re.search(r"Adam, η = ([\d.]+) and Train N = (\d+): the mean loss falls below "
                  r"([\d.]+)", note)
    assert m, note
    lr, n, target = m.group(1), int(m.group(2)), float(m.group(3))
    panel = window.training
    qtbot.keyClicks(panel.optimizer_box, "a")
    assert panel.optimizer_box.currentData() == "adam"
    type_into(qtbot, panel.lr_edit, lr)
    type_into(qtbot, panel.steps_spin, str(n))
    start = window.doc.result.batch.mean_loss
    assert start > target
    qtbot.mouseClick(panel.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=WAIT_MS)
    assert len(loss_points(panel)) == n
    assert window.doc.result.batch.mean_loss < target
    assert panel.history["train_acc"][-1] == 1.0
    assert window.doc.undo_stack.undoText() == f"Train {n} steps"


def test_note_is_shown_when_a_file_is_opened(qtbot, window, tmp_path):
    open_example(window, "two_paths")
    assert window.note_dock.isVisible()
    assert window.note_label.isVisible()
    assert window.note_label.text() == window.doc.graph.note
    assert "multivariate chain rule" in window.note_label.text()
    assert window.note_label.wordWrap()
    # the whole paragraph fits in the space it is given
    label = window.note_label
    assert label.height() >= label.heightForWidth(label.width())

    qtbot.keyClick(window, Qt.Key_N, Qt.ControlModifier)   # File › New: no note
    assert not window.note_dock.isVisible()

    path = tmp_path / "mine.json"
    g = parse("x = 3\nf = x * x\n")
    g.note = "My own note."
    from engine import fileformat
    fileformat.save(g, path)
    assert window.open_path(str(path), ask=False)
    assert window.note_dock.isVisible() and window.note_label.text() == "My own note."


def test_new_graph_clears_the_training_history(qtbot, window):
    open_example(window, "two_layer")
    panel = window.training
    qtbot.mouseClick(panel.step_button, Qt.LeftButton)
    assert len(loss_points(panel)) == 1
    seq = QKeySequence(QKeySequence.New)[0]
    qtbot.keyClick(window, seq.key(), seq.keyboardModifiers())
    assert loss_points(panel) == []
    assert panel.update_label.toPlainText() == ""
    assert not panel.reset_button.isEnabled()


def test_set_values_is_one_undo_step_and_skips_no_op_changes(qtbot):
    from gui.document import Document
    doc = Document()
    doc.load_graph(parse("w1 = param(0.5)\nw2 = param(0.3)\nx = 2\nL = w1 * w2 * x\n"))
    g = doc.graph
    w1, w2, x = g.id_of("w1"), g.id_of("w2"), g.id_of("x")
    assert not doc.set_values({w1: 0.5, w2: 0.3}, "Nothing")
    assert doc.undo_stack.count() == 0
    assert doc.set_values({w1: 1.0, w2: 0.3, x: 4.0}, "Train step")
    assert doc.undo_stack.count() == 1 and doc.undo_stack.undoText() == "Train step"
    assert doc.result.value(g.output) == pytest.approx(1.0 * 0.3 * 4.0)
    doc.undo_stack.undo()
    assert (g.node(w1).value, g.node(w2).value, g.node(x).value) == (0.5, 0.3, 2.0)
    assert doc.result.value(g.output) == pytest.approx(0.3)
    with pytest.raises(ValueError):
        doc.set_values({g.output: 1.0}, "not a leaf")


def test_replacing_the_graph_clears_the_training_history(window, qtbot):
    """After a Step, building another function in the expression bar starts a fresh plot:
    the old loss curve does not describe the new graph."""
    w = window
    w.open_example(EXAMPLES_DIR / "two_layer.json", ask=False)
    qtbot.mouseClick(w.training.step_button, Qt.LeftButton)
    assert len(w.training.losses) == 1
    type_expression(qtbot, w, "y = (3*x + 1)**2")
    assert w.doc.graph.name_of(w.doc.graph.resolve_output()) == "y"
    assert w.training.losses == []
    assert not w.note_dock.isVisible()  # the new graph has no note
    w.doc.undo_stack.undo()               # the tutorial graph (and its note) come back
    assert "two-layer" in w.note_label.text()


def test_a_new_graph_starts_with_fresh_plot_axes(window, qtbot):
    """The cleared plots do not keep the old graph's loss range on their axes."""
    fresh = [p.getViewBox().viewRange() for p in (window.training.loss_plot,
                                                   window.training.param_plot)]
    open_example(window, "two_layer")
    qtbot.mouseClick(window.training.step_button, Qt.LeftButton)
    qtbot.wait(50)
    used = window.training.loss_plot.getViewBox().viewRange()
    assert used != fresh[0]  # the loss 0.49 → 0.24 moved the axes
    window.act_new.trigger()
    qtbot.wait(50)
    assert [p.getViewBox().viewRange() for p in (window.training.loss_plot,
                                                 window.training.param_plot)] == fresh

