"""Binary cross-entropy: values and slopes by hand, and no NaN or overflow at extreme
logits (a sigmoid that saturates to exactly 0 or 1)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.expr import parse
from engine.fast import evaluate_graph
from engine.ops import OPS

BCE = OPS["binary_cross_entropy"]


def bce(t: float, p: float) -> tuple[float, float, float]:
    out = np.array(BCE.value([np.float64(t), np.float64(p)]))
    locs = BCE.locals(out, [np.float64(t), np.float64(p)])
    return float(out), float(locs[0]), float(locs[1])


@pytest.mark.parametrize("t, p", [(1.0, 0.3), (0.0, 0.3), (0.0, 0.9), (0.5, 0.5),
                                  (1.0, 1e-6), (0.0, 1 - 1e-9)])
def test_values_and_slopes_match_the_formula(t: float, p: float) -> None:
    loss, d_t, d_p = bce(t, p)
    assert loss == pytest.approx(-(t * math.log(p) + (1 - t) * math.log(1 - p)), rel=1e-12)
    assert d_t == pytest.approx(math.log(1 - p) - math.log(p), rel=1e-9)
    assert d_p == pytest.approx((p - t) / (p * (1 - p)), rel=1e-9)


def test_hand_values() -> None:
    # −ln 0.3 and (0.3 − 1)/(0.3·0.7) = −10/3
    loss, _, d_p = bce(1.0, 0.3)
    assert loss == pytest.approx(1.2039728043259361, rel=1e-15)
    assert d_p == pytest.approx(-10 / 3, rel=1e-14)
    # ln 2 at p = ½ for either label, slope ±2
    assert bce(0.0, 0.5)[0] == pytest.approx(math.log(2), rel=1e-15)
    assert bce(0.0, 0.5)[2] == pytest.approx(2.0, rel=1e-15)


@pytest.mark.parametrize("z, y", [(800.0, 0.0), (800.0, 1.0), (-800.0, 1.0), (-800.0, 0.0),
                                  (40.0, 0.0), (-40.0, 1.0)])
def test_extreme_logits_give_finite_numbers(z: float, y: float) -> None:
    g = parse(f"z = {z}\ny = {y}\np = sigmoid(z)\nL = bce(y, p)")
    r = evaluate_graph(g)
    loss = r.value(r.output)
    assert math.isfinite(loss) and 0 <= loss <= 100.0
    for nid in g.ids():
        assert math.isfinite(r.value(nid))
        grad = r.grad(nid)
        assert grad is None or math.isfinite(grad)
    for e in r.edges.values():
        assert e.local is None or math.isfinite(e.local)
        assert e.product is None or math.isfinite(e.product)
    # a confident right answer costs ~0; a confident wrong one is clamped at 100
    right = (z > 0) == (y == 1.0)
    if abs(z) == 800:
        assert loss == (0.0 if right else 100.0)


@pytest.mark.parametrize("z, y", [(2.0, 1.0), (-3.0, 1.0), (10.0, 0.0), (0.5, 0.0)])
def test_through_a_sigmoid_the_slope_is_p_minus_y(z: float, y: float) -> None:
    """d/dz BCE(y, σ(z)) = σ(z) − y: the textbook result."""
    g = parse(f"z = {z}\ny = {y}\np = sigmoid(z)\nL = bce(y, p)")
    r = evaluate_graph(g)
    p = 1 / (1 + math.exp(-z))
    assert r.grad(g.id_of("z")) == pytest.approx(p - y, rel=1e-9)
