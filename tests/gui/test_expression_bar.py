"""The expression bar as a user meets it: click into it, type, press Enter (or Shift+Enter),
read the graph, the numbers on the canvas, and the error line under the bar.

Expected numbers are worked by hand: y = (3x + 1)² at x = 2 is 7² = 49 and
dy/dx = 2·(3x + 1)·3 = 6·7 = 42.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QTextDocument

from engine import fileformat
from engine.expr import parse
from _gui_helpers import type_expression
from gui.mainwindow import EXAMPLES_DIR, MainWindow

ROOT = EXAMPLES_DIR.parent.parent
MINUS = "−"


def node(window: MainWindow, name: str) -> str:
    nid = window.doc.graph.id_of(name)
    assert nid is not None, f"no node named {name}"
    return nid


def message_text(window: MainWindow) -> str:
    """The error/info line as plain text, as it reads on screen."""
    d = QTextDocument()
    d.setHtml(window.expression_bar.message.text())
    return d.toPlainText().replace("\xa0", " ")


def snapshot(window: MainWindow) -> dict:
    g = window.doc.graph
    return {"graph": fileformat.to_dict(g), "note": g.note, "output": g.output}


# ------------------------------------------------------------- building

def test_enter_builds_3x_plus_1_squared_and_the_canvas_shows_42(qtbot, two_layer_window) -> None:
    w = two_layer_window
    type_expression(qtbot, w, "x = 2; y = (3*x + 1)**2")
    g, r = w.doc.graph, w.doc.result
    assert g.name_of(r.output) == "y"
    assert r.value(r.output) == pytest.approx(49.0)
    assert r.grad(node(w, "x")) == pytest.approx(42.0)
    # what is drawn: the x node shows its value and its gradient dy/dx
    item = w.canvas.scene().nodes[node(w, "x")]
    assert item.grad_text == "42"
    assert w.output_label.text() == "Output y = 49"
    assert w.doc.undo_stack.count() == 1
    assert "two_layer" not in g.note  # the example's note does not describe the new graph


def test_a_free_name_keeps_the_value_it_had_in_the_graph(qtbot, window) -> None:
    """'type y = (3*x + 1)**2 with x = 2': set x once, then edit the formula alone."""
    type_expression(qtbot, window, "x = 2; y = 3*x")
    assert window.doc.result.value(window.doc.result.output) == 6.0
    type_expression(qtbot, window, "y = (3*x + 1)**2")
    r = window.doc.result
    assert window.doc.graph.node(node(window, "x")).value == 2.0
    assert r.value(r.output) == pytest.approx(49.0)
    assert r.grad(node(window, "x")) == pytest.approx(42.0)
    assert "kept from the previous graph: x = 2" in message_text(window)


def test_a_value_written_in_the_text_wins_over_the_kept_one(qtbot, window) -> None:
    type_expression(qtbot, window, "x = 2; y = 3*x")
    assert window.doc.result.value(window.doc.result.output) == 6.0
    type_expression(qtbot, window, "x = 1; y = (3*x + 1)**2")
    r = window.doc.result
    assert r.value(r.output) == pytest.approx(16.0)          # (3 + 1)²
    assert r.grad(node(window, "x")) == pytest.approx(24.0)  # 2·4·3


def test_a_new_free_name_starts_at_zero_and_the_bar_says_how_to_set_it(qtbot, window) -> None:
    type_expression(qtbot, window, "y = (3*x + 1)**2")
    r = window.doc.result
    assert r.value(r.output) == pytest.approx(1.0)   # (3·0 + 1)²
    assert r.grad(node(window, "x")) == pytest.approx(6.0)
    assert "x = 0" in message_text(window) and "x = 2; …" in message_text(window)


def test_a_bare_expression_is_named_f_as_the_label_says(qtbot, window) -> None:
    bar = window.expression_bar
    qtbot.mouseClick(bar.edit, Qt.LeftButton)
    qtbot.keyClicks(bar.edit, "sin(x) * x")
    assert bar.label.text() == "f ="
    qtbot.keyClick(bar.edit, Qt.Key_Return)
    g = window.doc.graph
    assert g.name_of(window.doc.result.output) == "f"
    qtbot.keyClicks(bar.edit, "; y = f")
    assert bar.label.text() != "f ="


def test_the_bar_matches_the_command_line(qtbot, window) -> None:
    text = ("x = 0.7; b = 0.2; w = param(-1.3); z = w*x + b; "
            "L = sigmoid(z)**2 + log(x)*tanh(b) - exp(-z)/(1 + x*x)")
    type_expression(qtbot, window, text)
    run = subprocess.run([sys.executable, str(ROOT / "main.py"), "eval", "--expr", text, "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    cli = json.loads(run.stdout)
    g, r = window.doc.graph, window.doc.result
    assert cli["output"] == g.name_of(r.output) == "L"
    assert sorted(n["name"] for n in cli["nodes"]) == sorted(g.names())
    for n in cli["nodes"]:
        nid = node(window, n["name"])
        assert g.op_of(nid) == n["op"]
        assert r.value(nid) == pytest.approx(n["value"], rel=1e-12, abs=1e-12), n["name"]
        if n["grad"] is None:  # a constant: no gradient on either surface
            assert r.grad(nid) is None and n["grad_reason"] == "constant", n["name"]
        else:
            assert r.grad(nid) == pytest.approx(n["grad"], rel=1e-12, abs=1e-12), n["name"]


def test_the_built_graph_is_laid_out_left_to_right(qtbot, window) -> None:
    type_expression(qtbot, window, "x = 2; y = (3*x + 1)**2")
    g = window.doc.graph
    xs = {g.name_of(n): g.node(n).pos[0] for n in g.ids()}
    assert xs["x"] < xs["y"]
    positions = [g.node(n).pos for n in g.ids()]
    assert len(set(positions)) == len(positions)


# ------------------------------------------------------------- errors

def test_a_syntax_error_leaves_the_document_untouched_and_marks_the_column(
        qtbot, two_layer_window) -> None:
    w = two_layer_window
    before = snapshot(w)
    count = w.doc.undo_stack.count()
    text = "y = (3*x + 1)*/2"
    type_expression(qtbot, w, text)
    assert snapshot(w) == before
    assert w.doc.undo_stack.count() == count
    assert len(w.doc.graph) == 7
    assert not w.doc.is_modified()
    assert not w.isWindowModified()
    # the error line: the text, then a caret under the "/" (column 15) and the reason
    assert w.expression_bar.message.isVisible()
    lines = message_text(w).splitlines()
    assert lines[0] == text
    assert lines[1].index("^") == text.index("/") == 14
    assert "column 15" in lines[1] and "invalid syntax" in lines[1]
    assert w.expression_bar.edit.cursorPosition() == 14
    assert w.expression_bar.edit.text() == text   # the user's text is kept to fix


def test_a_rejected_construct_is_pointed_at_by_character_not_byte(qtbot, window) -> None:
    text = "ŷ = w*x + a.b"
    edit = window.expression_bar.edit
    qtbot.mouseClick(edit, Qt.LeftButton)
    edit.insert("ŷ")  # QTest types ASCII only: the ŷ is pasted, the rest typed
    qtbot.keyClicks(edit, text[1:])
    qtbot.keyClick(edit, Qt.Key_Return)
    assert len(window.doc.graph) == 0
    lines = message_text(window).splitlines()
    assert lines[1].index("^") == text.index("a.b")
    assert "attributes" in lines[1]


def test_an_unknown_function_is_an_error_and_typing_clears_it(qtbot, window) -> None:
    type_expression(qtbot, window, "y = softmax(x)")
    assert window.doc.undo_stack.count() == 0
    assert "unknown function 'softmax'" in message_text(window)
    qtbot.keyClick(window.expression_bar.edit, Qt.Key_Backspace)
    assert not window.expression_bar.message.isVisible()


# ------------------------------------------------------------- undo, insert

def test_undo_after_enter_restores_the_previous_graph_in_one_step(qtbot, two_layer_window) -> None:
    w = two_layer_window
    before = snapshot(w)
    type_expression(qtbot, w, "x = 2; y = (3*x + 1)**2")
    assert snapshot(w) != before
    qtbot.keyClick(w.expression_bar.edit, Qt.Key_Escape)
    assert w.canvas.hasFocus()
    combo = QKeySequence(QKeySequence.Undo)[0]
    qtbot.keyClick(w.canvas, combo.key(), combo.keyboardModifiers())
    assert snapshot(w) == before
    assert w.doc.undo_stack.index() == 0 and not w.doc.is_modified()
    r = w.doc.result
    assert w.doc.graph.name_of(r.output) == "L" and r.value(r.output) == pytest.approx(0.49)
    assert w.canvas.scene().nodes[node(w, "w1")].grad_text == f"{MINUS}0.84"
    w.doc.undo_stack.redo()
    assert w.doc.result.grad(node(w, "x")) == pytest.approx(42.0)


def test_shift_enter_inserts_beside_and_keeps_the_old_nodes(qtbot, two_layer_window) -> None:
    w = two_layer_window
    old = {n.id: (n.name, n.pos) for n in w.doc.graph.nodes()}
    right = max(p[0] for _, p in old.values())
    type_expression(qtbot, w, "x = 2; y = (3*x + 1)**2", Qt.ShiftModifier)
    g = w.doc.graph
    assert {nid: (g.name_of(nid), g.node(nid).pos) for nid in old} == old
    new = [n for n in g.ids() if n not in old]
    assert len(new) == 6  # x, 3, 3·x, 1, 3·x + 1, (3·x + 1)²
    assert all(g.node(n).pos[0] > right for n in new)
    # the old output still drives the gradients; the new part is selected
    r = w.doc.result
    assert g.name_of(r.output) == "L" and r.value(r.output) == pytest.approx(0.49)
    assert sorted(w.canvas.selected_ids()) == sorted(new)
    assert w.doc.undo_stack.count() == 1
    w.doc.undo_stack.undo()
    assert sorted(g.ids()) == sorted(old)


def test_ctrl_enter_inserts_beside_too(qtbot, two_layer_window) -> None:
    w = two_layer_window
    type_expression(qtbot, w, "q = sin(t)", Qt.ControlModifier)
    assert len(w.doc.graph) == 7 + 2 and w.doc.undo_stack.count() == 1


# ------------------------------------------------------------- from graph, keys

def test_from_graph_writes_the_graph_back_and_enter_rebuilds_it(qtbot, two_layer_window) -> None:
    w = two_layer_window
    qtbot.mouseClick(w.expression_bar.from_graph_button, Qt.LeftButton)
    text = w.expression_bar.edit.text()
    assert "\n" not in text and "squared_error(y, yhat)" in text.replace("ŷ", "yhat")
    g = parse(text)
    assert g.names() == w.doc.graph.names()
    assert w.doc.undo_stack.count() == 0
    qtbot.mouseClick(w.expression_bar.edit, Qt.LeftButton)
    qtbot.keyClick(w.expression_bar.edit, Qt.Key_Return)
    r = w.doc.result
    assert r.value(r.output) == pytest.approx(0.49)
    assert r.grad(node(w, "w1")) == pytest.approx(-0.84)
    assert r.grad(node(w, "w2")) == pytest.approx(-1.4)


def test_ctrl_e_focuses_the_bar_and_escape_returns_to_the_canvas(qtbot, window) -> None:
    combo = QKeySequence("Ctrl+E")[0]
    qtbot.keyClick(window.canvas, combo.key(), combo.keyboardModifiers())
    assert window.expression_bar.edit.hasFocus()
    qtbot.keyClick(window.expression_bar.edit, Qt.Key_Escape)
    assert window.canvas.hasFocus()


def test_up_and_down_walk_the_history(qtbot, window) -> None:
    type_expression(qtbot, window, "y = x*2")
    type_expression(qtbot, window, "y = x*3")
    edit = window.expression_bar.edit
    qtbot.keyClicks(edit, "; z")
    qtbot.keyClick(edit, Qt.Key_Up)
    assert edit.text() == "y = x*3"
    qtbot.keyClick(edit, Qt.Key_Up)
    assert edit.text() == "y = x*2"
    qtbot.keyClick(edit, Qt.Key_Down)
    qtbot.keyClick(edit, Qt.Key_Down)
    assert edit.text() == "y = x*3; z"   # back to the draft


def test_the_view_menu_lists_the_bar_and_the_gradient_check(window) -> None:
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    texts = [a.text() for a in view.actions()]
    assert "&Expression Bar" in texts and "Gradient Check" in texts


def test_retyping_the_tutorial_net_as_one_formula_keeps_values_and_params(
        qtbot, two_layer_window) -> None:
    w = two_layer_window
    type_expression(qtbot, w, "L = (y - w2*(w1*x))**2")
    g, r = w.doc.graph, w.doc.result
    assert {g.name_of(n): g.op_of(n) for n in g.ids() if g.op_of(n) in ("input", "param")} == \
        {"x": "input", "y": "input", "w1": "param", "w2": "param"}
    assert r.value(r.output) == pytest.approx(0.49)          # (1 − 0.3·0.5·2)²
    assert r.grad(node(w, "w1")) == pytest.approx(-0.84)
    assert r.grad(node(w, "w2")) == pytest.approx(-1.4)
