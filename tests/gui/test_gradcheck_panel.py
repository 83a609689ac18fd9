"""The gradient-check dock as a user meets it: open it from the View menu, read the table,
click a row. Expected gradients are the tutorial's (Section 6): ∂L/∂w₁ = −0.84,
∂L/∂w₂ = −1.4, and by hand ∂L/∂x = −1.4·w₂·w₁ = −0.21, ∂L/∂y = 2(y − ŷ) = 1.4.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
from PySide6.QtCore import Qt

from engine.check import TOLERANCE
from engine.expr import parse
import numpy as np

from engine.ops import OPS
from gui.gradcheck_panel import AUTO_COST, COLUMNS, STATUS_COLOUR
from gui.mainwindow import EXAMPLES_DIR, MainWindow

MINUS = "−"
STATUS = COLUMNS.index("Status")
NOTE = COLUMNS.index("Note")
BACKPROP = COLUMNS.index("Backprop")


def open_panel(qtbot, w: MainWindow):
    """View ▸ Gradient Check, as the user opens it; wait for its first check."""
    assert not w.gradcheck_dock.isVisible()
    w.gradcheck_dock.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: w.gradcheck_dock.isVisible())
    return w.gradcheck


def wait_rows(qtbot, panel, n: int) -> None:
    qtbot.waitUntil(lambda: len(panel.rows) == n and panel.table.rowCount() == n)


def row_by_name(panel, name: str) -> int:
    g = panel.doc.graph
    return next(i for i, r in enumerate(panel.rows) if g.name_of(r.id) == name)


def test_two_layer_leaves_match_the_tutorial_and_pass(qtbot, window) -> None:
    window.open_example(EXAMPLES_DIR / "two_layer.json", ask=False)
    panel = open_panel(qtbot, window)
    wait_rows(qtbot, panel, 4)
    expected = {"w1": -0.84, "w2": -1.4, "x": -0.21, "y": 1.4}
    for name, grad in expected.items():
        i = row_by_name(panel, name)
        r = panel.rows[i]
        assert r.analytic == pytest.approx(grad, abs=1e-12)
        assert r.numeric == pytest.approx(grad, abs=1e-8)
        assert r.error < TOLERANCE and r.status == "ok"
        assert panel.table.item(i, STATUS).text() == "✓ ok"
        assert panel.table.item(i, BACKPROP).background().style() == Qt.NoBrush
    w1 = row_by_name(panel, "w1")
    assert panel.table.item(w1, 0).text().startswith("w₁")
    assert panel.table.item(w1, BACKPROP).text() == f"{MINUS}0.84"
    assert panel.table.item(row_by_name(panel, "w2"), BACKPROP).text() == f"{MINUS}1.4"
    assert panel.summary.text().startswith("✓ passed: 4 leaves")


def test_the_table_follows_an_edit(qtbot, window) -> None:
    window.open_example(EXAMPLES_DIR / "two_layer.json", ask=False)
    panel = open_panel(qtbot, window)
    wait_rows(qtbot, panel, 4)
    g = window.doc.graph
    window.doc.set_value(g.id_of("w1"), 1.0)
    # now ŷ = 0.6, ∂L/∂ŷ = −2(1 − 0.6) = −0.8, ∂L/∂w₂ = −0.8·h = −0.8·2 = −1.6
    qtbot.waitUntil(lambda: panel.rows[row_by_name(panel, "w2")].analytic
                    == pytest.approx(-1.6))
    assert panel.table.item(row_by_name(panel, "w2"), BACKPROP).text() == f"{MINUS}1.6"


def test_abs_at_zero_is_explained_as_a_kink_not_failed(qtbot, window) -> None:
    panel = open_panel(qtbot, window)
    bar = window.expression_bar
    qtbot.mouseClick(bar.edit, Qt.LeftButton)
    qtbot.keyClicks(bar.edit, "x = 0; y = abs(x) + 3*x")
    qtbot.keyClick(bar.edit, Qt.Key_Return)
    wait_rows(qtbot, panel, 1)  # the constant 3 has no gradient: no row
    i = row_by_name(panel, "x")
    r = panel.rows[i]
    # slopes 3 − 1 = 2 from the left and 3 + 1 = 4 from the right; abs′(0) = 0 gives 3
    assert r.analytic == 3.0 and r.status == "kink"
    assert panel.table.item(i, STATUS).text() == "◆ kink"
    note = panel.table.item(i, NOTE).text()
    assert "kink" in note and "2 from the left" in note and "4 from the right" in note
    assert panel.table.item(i, STATUS).background().color() == STATUS_COLOUR["kink"]
    assert "passed" in panel.summary.text() and "kink" in panel.summary.text()
    assert "FAIL" not in panel.summary.text()


def test_a_wrong_derivative_is_flagged(qtbot, window, monkeypatch) -> None:
    # sin′ deliberately wrong (2·cos): backprop says 2·cos(1), finite differences cos(1)
    wrong = dataclasses.replace(OPS["sin"], derivs=(lambda y, x: 2 * np.cos(x),))
    monkeypatch.setitem(OPS, "sin", wrong)
    window.doc.load_graph(parse("x = 1; y = sin(x)"))
    panel = open_panel(qtbot, window)
    wait_rows(qtbot, panel, 1)
    r = panel.rows[0]
    assert r.analytic == pytest.approx(2 * math.cos(1.0))
    assert r.numeric == pytest.approx(math.cos(1.0), abs=1e-8)
    assert r.status == "FAIL"
    assert panel.table.item(0, STATUS).text() == "✗ FAIL"
    assert panel.table.item(0, STATUS).background().color() == STATUS_COLOUR["FAIL"]
    assert panel.summary.text().startswith("✗ 1 of 1 leaves over the tolerance")


def test_clicking_a_row_selects_that_node_on_the_canvas(qtbot, window) -> None:
    window.open_example(EXAMPLES_DIR / "two_layer.json", ask=False)
    panel = open_panel(qtbot, window)
    wait_rows(qtbot, panel, 4)
    w2 = window.doc.graph.id_of("w2")
    window.canvas.centerOn(5000, 5000)   # the graph is out of sight
    node_item = window.canvas.scene().nodes[w2]
    seen = window.canvas.mapToScene(window.canvas.viewport().rect()).boundingRect()
    assert not seen.intersects(node_item.sceneBoundingRect())
    i = row_by_name(panel, "w2")
    item = panel.table.item(i, NOTE)
    panel.table.scrollToItem(item)
    pos = panel.table.visualItemRect(item).center()
    qtbot.mouseClick(panel.table.viewport(), Qt.LeftButton, pos=pos)
    assert window.canvas.selected_ids() == [w2]
    seen = window.canvas.mapToScene(window.canvas.viewport().rect()).boundingRect()
    assert seen.contains(node_item.sceneBoundingRect())


def test_a_large_graph_is_checked_only_on_the_button(qtbot, window) -> None:
    n = 400  # 400 leaves and 399 adds: 400 × 799 > AUTO_COST evaluations' worth
    assert n * (2 * n - 1) > AUTO_COST
    window.doc.load_graph(parse("y = " + " + ".join(f"x{i}" for i in range(n))))
    panel = open_panel(qtbot, window)
    qtbot.waitUntil(lambda: "press Check now" in panel.summary.text())
    assert panel.rows == [] and panel.table.rowCount() == 0
    window.doc.load_graph(parse("y = " + " + ".join(f"x{i}" for i in range(40))))
    wait_rows(qtbot, panel, 40)  # small again: automatic
    qtbot.mouseClick(panel.refresh_button, Qt.LeftButton)
    assert all(r.analytic == 1.0 and r.status == "ok" for r in panel.rows)


def test_a_graph_without_an_output_says_why(qtbot, window) -> None:
    window.doc.load_graph(parse("a = 2*x; b = 3*x; c = a + b"))
    g = window.doc.graph
    window.doc.set_output(None)
    window.doc.add_node("sin", (0, 400))   # a second sink: no output can be chosen
    panel = open_panel(qtbot, window)
    qtbot.waitUntil(lambda: panel.summary.text().startswith("Cannot check"))
    assert panel.table.rowCount() == 0 and len(g) == 7


# ------------------------------------------------ long checks: progress and Stop

def _sum_of(n: int):
    return parse("y = " + " + ".join(f"x{i}" for i in range(n)))


def test_a_2000_leaf_check_shows_progress_and_stop_keeps_the_rows(qtbot, window) -> None:
    from PySide6.QtCore import QTimer
    window.doc.load_graph(_sum_of(2000))
    panel = open_panel(qtbot, window)
    qtbot.waitUntil(lambda: "press Check now" in panel.summary.text())
    assert not panel.progress_bar.isVisible() and not panel.stop_button.isVisible()
    seen: list[tuple] = []
    ticks = []

    def watch() -> None:
        """Runs from the window's event loop while the check is going: a user's look."""
        ticks.append(1)
        if panel.progress_bar.isVisible() and panel.progress_bar.value() > 0 and not seen:
            bar = panel.progress_bar
            seen.append((bar.value(), bar.maximum(), panel.stop_button.isVisible(),
                         panel.summary.text(), panel.refresh_button.isEnabled()))
            qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
            timer.stop()

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(watch)
    timer.start()
    qtbot.mouseClick(panel.refresh_button, Qt.LeftButton)  # returns once stopped
    timer.stop()
    assert seen, "the check never showed its progress"
    done, total, stop_shown, text, check_enabled = seen[0]
    assert total == 2000 and 0 < done < 2000 and stop_shown and not check_enabled
    assert text == f"Checking… {done:,} of 2,000 leaves"
    assert len(ticks) > 1  # the window kept handling events during the check
    n = len(panel.rows)
    assert done <= n < 2000 and panel.table.rowCount() == n
    assert all(r.analytic == 1.0 and r.status == "ok" for r in panel.rows)  # ∂y/∂xᵢ = 1
    assert [r.name for r in panel.rows] == [f"x{i}" for i in range(n)]
    assert panel.summary.text().startswith(f"Stopped after {n:,} of 2,000 leaves")
    assert not panel.progress_bar.isVisible() and not panel.stop_button.isVisible()
    assert panel.refresh_button.isEnabled() and not panel.is_running()


def manual_check_of_300(qtbot, window, monkeypatch):
    """The panel on a 300-leaf sum, run by its button only, with its progress shown from
    the start and the window's events processed after every leaf."""
    import gui.gradcheck_panel as gp
    monkeypatch.setattr(gp, "SHOW_PROGRESS_AFTER", 0.0)
    monkeypatch.setattr(gp, "EVENTS_EVERY", 0.0)
    window.doc.load_graph(_sum_of(300))
    panel = open_panel(qtbot, window)
    panel.auto_box.setChecked(False)
    return panel


def test_progress_grows_to_the_end_of_a_check(qtbot, window, monkeypatch) -> None:
    from PySide6.QtCore import QTimer
    panel = manual_check_of_300(qtbot, window, monkeypatch)
    values: list[int] = []
    timer = QTimer()
    timer.setInterval(0)
    timer.timeout.connect(lambda: panel.progress_bar.isVisible()
                          and values.append(panel.progress_bar.value()))
    timer.start()
    qtbot.mouseClick(panel.refresh_button, Qt.LeftButton)
    timer.stop()
    assert values and values == sorted(values) and values[-1] > values[0]
    assert panel.progress_bar.maximum() == 300
    assert len(panel.rows) == 300 and panel.summary.text().startswith("✓ passed: 300 leaves")
    assert not panel.progress_bar.isVisible()


def test_an_edit_during_a_check_ends_it_without_stale_rows(qtbot, window, monkeypatch) -> None:
    from PySide6.QtCore import QTimer
    panel = manual_check_of_300(qtbot, window, monkeypatch)
    x0 = window.doc.graph.id_of("x0")

    def edit() -> None:
        if panel.is_running():
            timer.stop()
            window.doc.set_value(x0, 7.0)  # as a slider drag would, mid-check
    timer = QTimer()
    timer.setInterval(0)
    timer.timeout.connect(edit)
    timer.start()
    qtbot.mouseClick(panel.refresh_button, Qt.LeftButton)
    timer.stop()
    assert window.doc.graph.node(x0).value == 7.0
    assert panel.rows == [] and "changed during the check" in panel.summary.text()
    qtbot.mouseClick(panel.refresh_button, Qt.LeftButton)
    assert len(panel.rows) == 300
