"""What a learner sees of constants and powers: typed in the expression bar, read on the
canvas, in the inspector and in the derivation dock.

Expected numbers by hand: L = (ŷ − y)² at ŷ = 0.3, y = 1 is 0.49, ∂L/∂sub = 2·(−0.7) =
−1.4, ∂L/∂ŷ = −1.4, ∂L/∂y = 1.4 — the tutorial's loss. y = (2x)² at x = 3 is 36 with
dy/dx = 2·6·2 = 24.
"""

from __future__ import annotations

import random

import pytest
from PySide6.QtCore import Qt

from _gui_helpers import type_expression
from gui.mainwindow import MainWindow

MINUS = "−"


def everything_shown(window: MainWindow) -> str:
    """Every node's numbers and captions and every edge label, as drawn."""
    scene = window.canvas.scene()
    parts = []
    for item in scene.nodes.values():
        parts += [item.symbol, item.value_text, item.grad_text, item.grad_caption,
                  item.toolTip()]
    for e in scene.edges.values():
        parts.append(e.label.text())
    return "\n".join(parts)


def test_the_tutorial_loss_written_with_a_square(qtbot, window) -> None:
    type_expression(qtbot, window, "yhat = 0.3; y = 1; L = (yhat - y)**2")
    g, scene = window.doc.graph, window.canvas.scene()
    L = g.id_of("L")
    assert g.op_of(L) == "power" and g.attrs_of(L) == {"exponent": 2.0}
    assert not [n for n in g.ids() if g.op_of(n) == "const"]  # the 2 is the node's own
    assert scene.nodes[L].symbol == "x²"
    (sub, _, port), = g.nx.in_edges(L, keys=True)
    label = scene.edges[(sub, L, port)].label.text()
    assert label.splitlines()[0] == f"∂L/∂sub₁ = 2·sub₁ = {MINUS}1.4"
    r = window.doc.result
    assert r.value(L) == pytest.approx(0.49)
    assert r.grad(g.id_of("yhat")) == pytest.approx(-1.4)
    assert r.grad(g.id_of("y")) == pytest.approx(1.4)
    assert "NaN" not in everything_shown(window)


def test_a_constant_shows_no_gradient_and_its_edge_is_a_plain_wire(qtbot, window) -> None:
    type_expression(qtbot, window, "x = 3; y = (2*x)**2")
    g, scene = window.doc.graph, window.canvas.scene()
    two = next(n for n in g.ids() if g.op_of(n) == "const")
    assert window.doc.result.grad(g.id_of("x")) == pytest.approx(24.0)
    card = scene.nodes[two]
    assert card.value_text == "2" and card.grad_text == ""
    assert card.grad_caption == "constant: no gradient"
    (_, mul, port), = g.nx.out_edges(two, keys=True)
    wire = scene.edges[(two, mul, port)]
    assert wire.label.text() == "" and wire.colour_role() == "off_path"
    # the inspector says so too
    window.canvas.select_ids([two])
    assert "a constant: it has no gradient" in window.inspector.numbers.text()
    window.canvas.select_ids([mul])
    assert "from a constant, not differentiated" in window.inspector.derivs.text()
    # and so does the derivation dock
    window.canvas.select_ids([two])
    window.derivation_dock.show()
    qtbot.waitUntil(lambda: "constant" in window.derivation.browser.toPlainText())
    assert "no gradient" in window.derivation.browser.toPlainText()


def test_the_exponent_is_edited_in_the_inspector_and_undone(qtbot, window) -> None:
    type_expression(qtbot, window, "x = 2; y = x**2")
    g, scene = window.doc.graph, window.canvas.scene()
    y = g.id_of("y")
    window.canvas.select_ids([y])
    edit = window.inspector.attr_edit
    assert edit.isVisible() and edit.text() == "2"
    qtbot.mouseClick(edit, Qt.LeftButton)
    qtbot.keyClick(edit, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClicks(edit, "3")
    qtbot.keyClick(edit, Qt.Key_Return)
    assert g.attrs_of(y) == {"exponent": 3.0} and scene.nodes[y].symbol == "x³"
    assert window.doc.result.value(y) == 8.0 and window.doc.result.grad(g.id_of("x")) == 12.0
    (x, _, port), = g.nx.in_edges(y, keys=True)
    assert scene.edges[(x, y, port)].label.text().splitlines()[0] == "∂y/∂x = 3·x² = 12"
    window.doc.undo_stack.undo()
    assert g.attrs_of(y) == {"exponent": 2.0} and scene.nodes[y].symbol == "x²"
    assert window.doc.result.grad(g.id_of("x")) == 4.0
    # a number that is not one is refused in words and changes nothing
    qtbot.mouseClick(edit, Qt.LeftButton)
    qtbot.keyClick(edit, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClicks(edit, "two")
    qtbot.keyClick(edit, Qt.Key_Return)
    assert g.attrs_of(y) == {"exponent": 2.0}
    assert "must be a finite number" in window.inspector.problem.text()


def test_deleting_a_power_node_and_undoing_keeps_its_exponent(qtbot, window) -> None:
    type_expression(qtbot, window, "x = 2; y = x**3")
    g = window.doc.graph
    y = g.id_of("y")
    window.doc.delete([y])
    assert y not in g
    window.doc.undo_stack.undo()
    assert g.attrs_of(y) == {"exponent": 3.0} and window.doc.result.value(y) == 8.0


def test_an_undefined_local_derivative_is_said_in_words(qtbot, window) -> None:
    type_expression(qtbot, window, "x = -1; y = log(x)")
    g, scene = window.doc.graph, window.canvas.scene()
    x, y = g.id_of("x"), g.id_of("y")
    label = scene.edges[(x, y, "x")].label.text()
    assert label.splitlines()[0] == f"∂y/∂x: log is undefined for {MINUS}1"
    assert "1/x" not in label
    assert f"log is undefined for {MINUS}1" in scene.nodes[y].toolTip()


@pytest.mark.parametrize("seed", range(4))
def test_random_expressions_with_squares_of_negative_numbers_show_no_nan(qtbot, window,
                                                                         seed: int) -> None:
    """A 40-op random expression with ** 2 on negative bases: nothing reads NaN."""
    rnd = random.Random(seed)
    terms = ["a", "b", "c"]
    lines = ["a = -1.5", "b = -0.25", "c = 2"]
    for i in range(40):
        x, y = rnd.choice(terms), rnd.choice(terms)
        form = rnd.choice([f"({x} - {y} - 1)**2", f"{x} * {y}", f"tanh({x}) - {y}",
                           f"({x} - 3)**3", f"sigmoid({x}) * 2", f"{x} + 0.5"])
        lines.append(f"t{i} = {form}")
        terms.append(f"t{i}")
    lines.append("L = " + " + ".join(terms[3:]))
    type_expression(qtbot, window, "; ".join(lines))
    g = window.doc.graph
    assert g.id_of("L") is not None and sum(g.op_of(n) == "power" for n in g.ids()) > 3
    shown = everything_shown(window)
    assert "NaN" not in shown and "∞" not in shown
