"""Every shipped example: loads, carries a note, and its gradients agree with finite
differences; the newer teaching examples hold the numbers their notes state, checked
against mathematics written out here (math.sin, math.tanh, …), not the program's output."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from engine import fileformat
from engine.check import gradient_check
from engine.evaluate import evaluate
from engine.graph import Graph

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "assets" / "examples"
EXAMPLES = sorted(EX.glob("*.json"))


def load(name: str) -> Graph:
    return fileformat.load(EX / f"{name}.json")


def by_name(g: Graph):
    r = evaluate(g)
    return (lambda n: r.value(g.id_of(n))), (lambda n: r.grad(g.id_of(n))), r


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_the_teaching_examples_are_shipped() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"two_paths", "square_by_mul", "vanishing", "sigmoid_neuron", "xor"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_has_a_note_and_passes_the_gradient_check(path: Path) -> None:
    g = fileformat.load(path)
    assert len(g.note.split()) >= 15, "the note should be a real paragraph"
    assert g.note.rstrip().endswith((".", ")"))
    rows = gradient_check(g)
    assert rows
    assert all(row.status == "ok" for row in rows), [(r.name, r.status) for r in rows]


def test_two_paths_sums_the_gradient_over_both_paths() -> None:
    g = load("two_paths")
    v, d, _ = by_name(g)
    x, y = v("x"), v("y")
    assert (x, y) == (2, 3)
    assert v("f") == pytest.approx(x * y + math.sin(x))
    assert d("x") == pytest.approx(y + math.cos(x))          # 3 + cos 2
    assert d("y") == pytest.approx(x)
    assert len(g.consumers(g.id_of("x"))) == 2               # two paths leave x
    assert "2.584" in g.note and f"{y + math.cos(x):.3f}" == "2.584"


def test_square_by_mul_feeds_both_ports() -> None:
    g = load("square_by_mul")
    v, d, _ = by_name(g)
    x, f = g.id_of("x"), g.id_of("f")
    assert g.inputs(f) == [("a", x), ("b", x)]
    assert v("f") == 9 and d("x") == pytest.approx(2 * 3)


def test_vanishing_gradients_shrink_faster_through_sigmoids() -> None:
    g = load("vanishing")
    _, d, _ = by_name(g)
    ds, dt = 1.0, 1.0
    s = t = 1.0
    for _ in range(10):
        s = sigmoid(s)
        ds *= s * (1 - s)            # σ′ = σ(1 − σ) ≤ 1/4
        t = math.tanh(t)
        dt *= 1 - t * t              # tanh′ = 1 − tanh² ≤ 1
    assert d("a") == pytest.approx(ds, rel=1e-9)
    assert d("b") == pytest.approx(dt, rel=1e-9)
    assert d("a") < 1e-6 < 0.01 < d("b")
    assert f"{ds:.1e}".replace("-0", "−") in g.note       # 2.8e−7
    assert f"{dt:.3f}" in g.note                            # 0.041
    for i in range(1, 11):
        assert g.op_of(g.id_of(f"s{i}")) == "sigmoid" and g.op_of(g.id_of(f"t{i}")) == "tanh"


def test_sigmoid_neuron_matches_the_hand_calculation() -> None:
    g = load("sigmoid_neuron")
    v, d, _ = by_name(g)
    x, y, w, b = 2.0, 1.0, 0.5, 0.0
    assert (v("x"), v("y"), v("w"), v("b")) == (x, y, w, b)
    yhat = sigmoid(w * x + b)
    dz = -2 * (y - yhat) * yhat * (1 - yhat)
    assert v("L") == pytest.approx((y - yhat) ** 2)
    assert d("w") == pytest.approx(dz * x)
    assert d("b") == pytest.approx(dz)
    for number in (yhat, (y - yhat) ** 2, dz * x, dz):
        assert f"{number:.4f}".replace("-", "−").rstrip("0") in g.note


XOR = {(0, 0): 0, (0, 1): 1, (1, 0): 1, (1, 1): 0}


def test_xor_is_a_shared_2_2_1_network_on_the_four_points() -> None:
    g = load("xor")
    params = [n for n in g.ids() if g.op_of(n) == "param"]
    assert len(params) == 9                                  # 2·2 + 2 biases + 2 + 1
    for p in params:                                         # every param serves all four points
        assert len(g.consumers(p)) == 4
    points = {}
    for k in range(1, 5):
        val = lambda n: g.node(g.id_of(f"{n}{k}")).value  # noqa: E731
        points[(val("p"), val("q"))] = val("t")
    assert points == XOR
    assert g.op_of(g.output) == "sum" and len(g.inputs(g.output)) == 4


def test_xor_gradient_descent_reaches_the_loss_its_note_states() -> None:
    """Hand-rolled gradient descent with the engine's gradients: w ← w − η·∂L/∂w."""
    g = load("xor")
    m = re.search(r"N = (\d+) at η = ([\d.]+) brings it below ([\d.]+)", g.note)
    assert m, g.note
    steps, lr, target = int(m.group(1)), float(m.group(2)), float(m.group(3))
    params = [n for n in g.ids() if g.op_of(n) == "param"]
    first = None
    for _ in range(steps):
        r = evaluate(g)
        first = r.value(g.output) if first is None else first
        new = {p: g.node(p).value - lr * r.grad(p) for p in params}
        for p, w in new.items():
            g.set_value(p, w)
    assert f"{first:.2f}" in g.note and first > target       # "starts at about 1.02"
    final = evaluate(g).value(g.output)
    assert final < target
    # the trained network answers XOR: each prediction on the right side of ½
    r = evaluate(g)
    for k in range(1, 5):
        t = g.node(g.id_of(f"t{k}")).value
        assert (r.value(g.id_of(f"yhat{k}")) > 0.5) == (t == 1)
