"""Layout (no overlaps, left to right), training steps and edge labels, in process."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.check import gradient_check
from engine.evaluate import evaluate
from engine.expr import parse
from engine.graph import Graph
from engine.labels import edge_label, local_formula, node_formula
from engine.layout import layout, node_size
from engine.ops import OPS
from engine import train

OPS_FIXED = sorted(n for n, s in OPS.items() if not s.is_leaf and not s.variadic)


@st.composite
def graphs(draw) -> Graph:
    g = Graph()
    nodes = [g.add_node("input", f"v{i}", 1.0) for i in range(draw(st.integers(1, 5)))]
    for i in range(draw(st.integers(0, 25))):
        if draw(st.integers(0, 5)) == 0:
            n = g.add_node("sum", f"s{i}")
            for k in range(draw(st.integers(0, 7))):
                g.connect(draw(st.sampled_from(nodes)), n, f"x{k + 1}")
        else:
            op = draw(st.sampled_from(OPS_FIXED))
            n = g.add_node(op, f"o{i}")
            for port in OPS[op].ports:
                if draw(st.integers(0, 6)):  # sometimes leave a port free
                    g.connect(draw(st.sampled_from(nodes)), n, port)
        nodes.append(n)
    return g


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_layout_has_no_overlaps_and_flows_left_to_right(g: Graph) -> None:
    pos = layout(g)
    assert set(pos) == set(g.ids())
    rects = []
    for nid, (x, y) in pos.items():
        assert math.isfinite(x) and math.isfinite(y)
        w, h = node_size(g, nid)
        rects.append((x, y, x + w, y + h, nid))
    rects.sort()
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            if b[0] >= a[2]:
                break
            assert a[3] <= b[1] or b[3] <= a[1], (a, b)
    for s, t, _ in g.edges():
        assert pos[s][0] < pos[t][0]


def test_layout_of_an_empty_graph() -> None:
    assert layout(Graph()) == {}


def test_train_step_two_layer() -> None:
    g = parse("x = 2; y = 1; w1 = param(0.5); w2 = param(0.3)\n"
              "h = w1*x; yhat = w2*h; L = (y - yhat)**2")
    s = train.step(g, 0.1)
    assert math.isclose(s.loss, 0.49, rel_tol=1e-12)
    new = {u.name: u.new for u in s.updates}
    assert math.isclose(new["w1"], 0.584, rel_tol=1e-12)
    assert math.isclose(new["w2"], 0.44, rel_tol=1e-12)
    assert math.isclose(g.node(g.id_of("w1")).value, 0.584, rel_tol=1e-12)
    # loss after the step, by hand: h = 1.168, ŷ = 0.51392, L = 0.48608²
    assert math.isclose(train.loss(g), 0.48608 ** 2, rel_tol=1e-12)


def test_train_exercise_two_converges_to_w_2() -> None:
    g = parse("x = 3; y = 6; w = param(1); L = (y - w*x)**2")
    train.step(g, 0.1)
    assert math.isclose(g.node(g.id_of("w")).value, 2.8, rel_tol=1e-12)
    for _ in range(200):
        train.step(g, 0.01)
    assert math.isclose(g.node(g.id_of("w")).value, 2.0, rel_tol=1e-9)


def test_train_refuses_a_nan_gradient_without_changing_params() -> None:
    g = parse("x = -1; w = param(2); L = w*log(x)")
    with pytest.raises(train.TrainingError):
        train.step(g, 0.1)
    assert g.node(g.id_of("w")).value == 2.0


def test_gradient_check_passes_for_smooth_and_reports_kinks() -> None:
    g = parse("x = 0.7; w = param(-1.3); L = sigmoid(w*x)**2 + log(x)")
    rows = gradient_check(g)
    assert rows and all(r.status == "ok" for r in rows)
    g = parse("x = 0; L = relu(x) + 2*x")
    (row,) = [r for r in gradient_check(g) if r.name == "x"]
    assert row.status == "kink" and row.analytic == 2.0


def test_gradient_check_explains_a_kink_even_where_the_central_difference_agrees() -> None:
    # |x| at 0: slopes −1 and +1 average to 0, which is also abs′(0) by convention, so the
    # error is 0; the row must still say it is a kink rather than pass silently
    g = parse("x = 0; y = abs(x)")
    (row,) = gradient_check(g)
    assert row.analytic == 0.0 and row.numeric == 0.0
    assert row.status == "kink" and "-1 from the left, 1 from the right" in row.note


def test_gradient_check_does_not_call_steep_smooth_functions_kinks() -> None:
    # 1/x at 0.01: f′ = −10⁴, f″ = 2·10⁶; the one-sided slopes differ by f″·h ≈ 12
    # (more than 10⁻³ relative) but shrink with h: curvature, not a kink
    g = parse("x = 0.01; y = 1/x")
    (row,) = [r for r in gradient_check(g) if r.name == "x"]
    assert row.status == "ok" and row.note == ""
    assert row.analytic == pytest.approx(-1e4)


def test_edge_labels_show_tutorial_numbers() -> None:
    g = parse("x = 2; y = 1; w1 = param(0.5); w2 = param(0.3)\n"
              "h = w1*x; yhat = w2*h; L = (y - yhat)**2")
    r = evaluate(g)
    w1, h = g.id_of("w1"), g.id_of("h")
    lines = edge_label(g, r, w1, h, "a", "both")
    text = "\n".join(lines)
    assert "∂h/∂w₁" in text and "2" in text and "−0.84" in text
    assert local_formula(g, w1, h, "a") == "∂h/∂w₁ = x"
    import unicodedata
    assert unicodedata.normalize("NFC", node_formula(g, g.id_of("yhat"))) == "ŷ = w₂·h"


def test_edge_label_names_the_port_for_repeated_operands() -> None:
    g = parse("x = 3; y = x*x")
    r = evaluate(g)
    x, y = g.id_of("x"), g.id_of("y")
    a = local_formula(g, x, y, "a")
    b = local_formula(g, x, y, "b")
    assert a != b
    assert edge_label(g, r, x, y, "a", "local") != [] and "3" in edge_label(g, r, x, y, "a",
                                                                            "local")[0]
