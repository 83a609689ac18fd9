"""Step-through passes as a learner uses them: keys and toolbar buttons on the tutorial's
two-layer network, reading the narration and the numbers drawn on the canvas.

Expected numbers are the tutorial's (Section 6: x = 2, y = 1, w₁ = 0.5, w₂ = 0.3) or
plain ``math``; names compare after NFC (ŷ is drawn as y + a combining hat).
"""

from __future__ import annotations

import math
import unicodedata

import pytest
from PySide6.QtCore import Qt

from engine.expr import parse
from gui.mainwindow import EXAMPLES_DIR, MainWindow


@pytest.fixture(autouse=True)
def _two_layer(window: MainWindow) -> None:
    """Every test here starts from the tutorial's two-layer network."""
    assert window.open_example(EXAMPLES_DIR / "two_layer.json", ask=False)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def ids(w: MainWindow) -> dict[str, str]:
    g = w.doc.graph
    return {g.name_of(n): n for n in g.ids()}


def drawn(w: MainWindow) -> dict[str, tuple[str, str]]:
    """What each node card shows: name → (value text, gradient text)."""
    g = w.doc.graph
    return {g.name_of(n): (it.value_text, it.grad_text) for n, it in w.canvas.scene().nodes.items()}


def number(text: str) -> float:
    return float(text.replace("−", "-"))


def step_backward_key(qtbot, w: MainWindow) -> None:
    qtbot.keyClick(w.canvas, Qt.Key_Left, Qt.ControlModifier)


def step_forward_key(qtbot, w: MainWindow) -> None:
    qtbot.keyClick(w.canvas, Qt.Key_Right, Qt.ControlModifier)


def click(qtbot, w: MainWindow, action) -> None:
    qtbot.mouseClick(w.toolbar.widgetForAction(action), Qt.LeftButton)


def current_text(w: MainWindow) -> str:
    """The narration dock's current (last) paragraph, as the learner reads it."""
    return nfc(w.narration.current_text())


def test_backward_steps_show_the_tutorials_gradients_leg_by_leg(qtbot, window):
    w, n = window, ids(window)
    # before the pass every number is drawn
    assert drawn(w)["w1"] == ("0.5", "−0.84")
    seen = []  # (current node, its gradient as drawn) at each step
    for _ in range(len(w.doc.result.backward_order)):
        step_backward_key(qtbot, w)
        node = w.stepper.step.node
        seen.append((w.doc.graph.name_of(node), drawn(w)[w.doc.graph.name_of(node)][1]))
        # the current node and the edges its gradient flows back along are highlighted
        hn, he = w.canvas.scene().highlighted()
        assert hn == {node}
        assert he == {(s, node, p) for s, _, p in w.doc.graph.nx.in_edges(node, keys=True)}
    names = [s for s, _ in seen]
    grads = {s: number(t) for s, t in seen}
    assert names[0] == "L" and names.index("yhat") < names.index("h") < names.index("w1")
    assert grads["yhat"] == pytest.approx(-2 * (1 - 0.3))            # −1.4
    assert grads["h"] == pytest.approx(-2 * (1 - 0.3) * 0.3)         # −0.42
    assert grads["w1"] == pytest.approx(-2 * (1 - 0.3) * 0.3 * 2)    # −0.84
    assert grads["w2"] == pytest.approx(-2 * (1 - 0.3) * 1.0)        # −1.4


def test_narration_and_canvas_hide_what_is_not_yet_computed(qtbot, window):
    w, n = window, ids(window)
    step_backward_key(qtbot, w)           # L sends ∂L/∂ŷ and ∂L/∂y
    d = drawn(w)
    assert d["L"][1] == "1" and d["yhat"][1] == "−1.4"
    for name in ("h", "w1", "w2", "x"):   # not reached: no gradient drawn
        assert d[name][1] == "?", name
        assert d[name][0] != "?"          # values are all known in the backward pass
    label = w.canvas.scene().edge_label_text(n["h"], n["yhat"], "b")
    assert label.splitlines()[-1].endswith("= ?")  # the product ∂L/∂ŷ × 0.3 is not known yet
    assert "w₂ = 0.3" in label                       # the local derivative is
    step_backward_key(qtbot, w)           # ŷ: the example sentence of the issue
    text = current_text(w)
    assert "ŷ = w₂·h:  ∂L/∂ŷ = −1.4" in text
    assert "∂ŷ/∂h = w₂ = 0.3, so ∂L/∂h += −1.4 × 0.3 = −0.42" in text
    assert nfc(w.stepper.narration()) == text.replace("\n    ", ";  ").removeprefix("2. ")
    assert text.startswith("2. ")
    assert drawn(w)["h"][1] == "−0.42" and drawn(w)["w1"][1] == "?"
    assert w.canvas.scene().edge_label_text(n["h"], n["yhat"], "b").endswith("= −0.42")
    click(qtbot, w, w.stepper.act_backward)   # the toolbar button does the same: h
    assert "∂L/∂w₁ += −0.42 × 2 = −0.84" in current_text(w)
    assert drawn(w)["w1"][1] == "−0.84"
    assert nfc(w.narration.header.text()).startswith("Backward pass · step 3 of 7 · h")
    # the earlier steps stay readable above the current one
    history = nfc(w.narration.plain_text())
    assert history.index("∂L/∂ŷ = −1.4") < history.index("∂L/∂h = −0.42") < history.index("−0.84")


def test_forward_steps_visit_nodes_in_topological_order(qtbot, window):
    w, n = window, ids(window)
    order = w.doc.graph.topological_order()
    values = {}
    for i, nid in enumerate(order):
        step_forward_key(qtbot, w)
        assert w.stepper.step.node == nid
        d = drawn(w)
        name = w.doc.graph.name_of(nid)
        values[name] = number(d[name][0])
        for later in order[i + 1:]:
            assert d[w.doc.graph.name_of(later)][0] == "?"   # not reached: no value
        assert all(g == "?" for _, g in d.values())          # no gradient on the way forward
    assert values["h"] == pytest.approx(0.5 * 2)            # 1.0
    assert values["yhat"] == pytest.approx(0.3 * 1.0)       # 0.3
    assert values["L"] == pytest.approx((1 - 0.3) ** 2)     # 0.49
    assert "L = (y − ŷ)² = (1 − 0.3)² = 0.49" in current_text(w)
    step_forward_key(qtbot, w)    # past the last node: the pass is complete
    assert w.stepper.step is None
    assert "Forward pass complete: L = 0.49" in w.narration.plain_text()


def test_a_variable_feeding_two_paths_sums_its_gradient_term_by_term(qtbot, window):
    w = window
    w.doc.load_graph(parse("x = 2\ny = 3\nf = x*y + sin(x)"))
    x = w.doc.graph.id_of("x")
    texts, shown = [], []
    for _ in range(len(w.doc.result.backward_order)):
        click(qtbot, w, w.stepper.act_backward)
        texts.append(current_text(w))
        shown.append(w.canvas.scene().nodes[x].grad_text)
    expected = math.cos(2.0) + 3.0   # ∂(xy + sin x)/∂x = y + cos x
    # after sin sends its term x shows a partial sum, then the completed one
    partial = [s for s in shown if s.endswith("+ …")]
    assert partial and number(partial[0].removesuffix(" + …")) == pytest.approx(math.cos(2.0),
                                                                             abs=1e-4)
    assert number(shown[-1]) == pytest.approx(expected, abs=5e-4)  # drawn to 4 digits
    summed = [t for t in texts if "making ∂f/∂x = " in t]
    assert len(summed) == 1
    assert "∂f/∂x = −0.4161 + 3 = 2.584" in summed[0]
    assert w.doc.result.grad(x) == pytest.approx(expected, rel=1e-15)


def test_editing_during_a_pass_ends_it_and_shows_every_number(qtbot, window):
    w, n = window, ids(window)
    step_backward_key(qtbot, w)
    step_backward_key(qtbot, w)
    assert drawn(w)["w1"][1] == "?"
    # moving a node changes no number: the pass goes on
    w.doc.move({n["x"]: (w.doc.graph.node(n["x"]).pos, (10.0, 300.0))})
    assert w.stepper.pass_ is not None and drawn(w)["w1"][1] == "?"
    w.doc.set_value(n["w1"], 0.6)
    assert w.stepper.pass_ is None
    assert w.canvas.scene().highlighted() == (set(), set())
    d = drawn(w)
    assert "?" not in {t for pair in d.values() for t in pair}
    # w₁ = 0.6: h = 1.2, ŷ = 0.36, ∂L/∂w₁ = −2(1 − 0.36)·0.3·2
    assert number(d["w1"][1]) == pytest.approx(-2 * (1 - 0.36) * 0.3 * 2, abs=1e-4)
    assert "graph changed" in w.narration.plain_text()
    # undo is an edit too
    step_backward_key(qtbot, w)
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert w.doc.graph.node(n["w1"]).value == 0.5
    assert w.stepper.pass_ is None and drawn(w)["w1"] == ("0.5", "−0.84")


def test_play_advances_and_pause_stops(qtbot, window):
    w = window
    w.stepper.speed_box.setCurrentIndex(w.stepper.speed_box.count() - 1)  # the fastest
    assert w.stepper.speed == 8.0
    qtbot.keyClick(w.canvas, Qt.Key_P)
    assert w.stepper.playing and w.stepper.pass_.direction == "forward"
    assert not w.stepper.act_play.isEnabled() and w.stepper.act_pause.isEnabled()
    # forward, then on into the backward pass
    qtbot.waitUntil(lambda: w.stepper.pass_ is not None
                    and w.stepper.pass_.direction == "backward" and w.stepper.index >= 1,
                    timeout=10000)
    qtbot.keyClick(w.canvas, Qt.Key_P)
    assert not w.stepper.playing
    at = w.stepper.index
    qtbot.wait(400)  # three ticks' time: nothing moves while paused
    assert w.stepper.index == at and w.stepper.pass_.direction == "backward"
    click(qtbot, w, w.stepper.act_play)  # resume to the end, where playing stops
    qtbot.waitUntil(lambda: not w.stepper.playing, timeout=10000)
    assert w.stepper.index == len(w.stepper.pass_)
    assert "Backward pass complete" in w.narration.plain_text()
    assert "∂L/∂w₁ = −0.84" in w.narration.plain_text()


def test_reset_restores_the_full_display(qtbot, window):
    w, n = window, ids(window)
    before = drawn(w)
    labels = {k: w.canvas.scene().edge_label_text(*k) for k in w.canvas.scene().edges}
    step_forward_key(qtbot, w)
    step_forward_key(qtbot, w)
    assert drawn(w) != before
    assert w.stepper.act_reset.isEnabled()
    qtbot.keyClick(w.canvas, Qt.Key_R, Qt.ControlModifier)
    assert w.stepper.pass_ is None and not w.stepper.act_reset.isEnabled()
    assert drawn(w) == before
    assert {k: w.canvas.scene().edge_label_text(*k) for k in w.canvas.scene().edges} == labels
    assert w.canvas.scene().highlighted() == (set(), set())
    assert w.canvas.scene().pass_mask() is None


def test_passes_menu_lists_the_actions_with_their_keys(window):
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    texts = [a.text() for a in menus["Passes"].actions() if not a.isSeparator()]
    for act in window.stepper.actions():
        assert act.text() in texts
        assert act.shortcut().toString() in act.toolTip()
    keys = [a.shortcut().toString() for a in window.findChildren(type(window.act_new))
            if not a.shortcut().isEmpty() and a not in window.stepper.actions()]
    for act in (window.stepper.act_forward, window.stepper.act_backward,
                window.stepper.act_reset):
        assert act.shortcut().toString() not in keys   # no clash with an existing key
