"""Numeric faults never raise: they become NaN/±inf with a reason, and downstream says where."""

from __future__ import annotations

import math
import warnings

import pytest

from _engine_helpers import op_graph
from engine.evaluate import evaluate
from engine.graph import Graph


def _eval_quietly(g: Graph):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning escaping numpy is a fault too
        return evaluate(g)


def test_log_of_minus_one() -> None:
    g, (x,), node = op_graph("log", (-1.0,))
    r = _eval_quietly(g)
    assert math.isnan(r.value(node))
    reason = r.nodes[node].reason
    assert reason == "log is undefined for −1"  # the real minus sign, as the learner reads it
    assert r.nodes[node].origin == node
    # the edge says the same in words: its local derivative does not exist (1/x would
    # read −1 here, a slope of a value that does not exist)
    e = r.edge(x, node, "x")
    assert math.isnan(e.local) and e.reason == "log is undefined for −1"


def test_log_of_zero_is_minus_infinity() -> None:
    g, (x,), node = op_graph("log", (0.0,))
    r = _eval_quietly(g)
    assert r.value(node) == -math.inf
    assert r.nodes[node].reason == "log of 0 is −∞"


@pytest.mark.parametrize("a,sign", [(1.0, 1), (-2.0, -1)])
def test_division_by_zero(a: float, sign: int) -> None:
    g, (na, nb), node = op_graph("div", (a, 0.0))
    r = _eval_quietly(g)
    assert r.value(node) == sign * math.inf
    assert "division by zero" in r.nodes[node].reason
    assert r.nodes[node].origin == node


def test_zero_over_zero() -> None:
    g, _, node = op_graph("div", (0.0, 0.0))
    r = _eval_quietly(g)
    assert math.isnan(r.value(node))
    assert r.nodes[node].reason == "0 / 0 is undefined"


def test_sqrt_of_minus_one() -> None:
    g, _, node = op_graph("sqrt", (-1.0,))
    r = _eval_quietly(g)
    assert math.isnan(r.value(node))
    assert r.nodes[node].reason == "√ is undefined for −1"


def test_zero_to_a_negative_power() -> None:
    g, _, node = op_graph("pow", (0.0, -1.0))
    r = _eval_quietly(g)
    assert r.value(node) == math.inf
    assert r.nodes[node].reason == "0 to a negative power (−1) is infinite"


def test_negative_base_non_integer_exponent() -> None:
    g, _, node = op_graph("pow", (-8.0, 1.0 / 3.0))
    r = _eval_quietly(g)
    assert math.isnan(r.value(node))
    assert "negative number is undefined for a non-integer exponent" in r.nodes[node].reason


def test_exp_overflow() -> None:
    g, _, node = op_graph("exp", (1000.0,))
    r = _eval_quietly(g)
    assert r.value(node) == math.inf
    assert "overflow" in r.nodes[node].reason
    assert "1000" in r.nodes[node].reason


@pytest.mark.parametrize("op,args", [("mul", (1e200, 1e200)), ("add", (1.7e308, 1.7e308)),
                                     ("square", (1e200,)), ("squared_error", (1e200, -1e200))])
def test_arithmetic_overflow(op: str, args: tuple) -> None:
    g, _, node = op_graph(op, args)
    r = _eval_quietly(g)
    assert math.isinf(r.value(node))
    assert "overflow" in r.nodes[node].reason


def _downstream() -> tuple[Graph, dict[str, str]]:
    """bad = log(x) with x = −1; then y = bad·2 → z = exp(y) → L = z + w."""
    g = Graph()
    ids = {}
    ids["x"] = g.add_node("input", "x", -1.0)
    ids["bad"] = g.add_node("log", "bad")
    ids["two"] = g.add_node("const", "two", 2.0)
    ids["y"] = g.add_node("mul", "y")
    ids["z"] = g.add_node("exp", "z")
    ids["w"] = g.add_node("param", "w", 1.0)
    ids["L"] = g.add_node("add", "L")
    g.connect(ids["x"], ids["bad"], "x")
    g.connect(ids["bad"], ids["y"], "a")
    g.connect(ids["two"], ids["y"], "b")
    g.connect(ids["y"], ids["z"], "x")
    g.connect(ids["z"], ids["L"], "a")
    g.connect(ids["w"], ids["L"], "b")
    return g, ids


def test_downstream_nodes_name_the_origin() -> None:
    g, ids = _downstream()
    r = _eval_quietly(g)
    for name in ("y", "z", "L"):
        nr = r.nodes[ids[name]]
        assert math.isnan(nr.value)
        assert nr.origin == ids["bad"]
        assert "bad" in nr.reason, nr.reason
    assert r.nodes[ids["bad"]].reason == "log is undefined for −1"
    # leaves stay finite and evaluation finished: every node has a result
    assert r.value(ids["w"]) == 1.0 and len(r.nodes) == 7


def test_fault_gradients_do_not_raise_and_are_explained() -> None:
    g, ids = _downstream()
    r = _eval_quietly(g)
    # ∂L/∂w = 1 whatever z is
    assert r.grad(ids["w"]) == 1.0
    assert r.grad(ids["L"]) == 1.0
    # ∂L/∂z = 1 too (L = z + w), the NaN enters through exp's local derivative
    assert r.grad(ids["z"]) == 1.0
    assert math.isnan(r.grad(ids["x"]))
    assert r.nodes[ids["x"]].grad_reason


def test_unconnected_port_gives_nan_with_reason() -> None:
    g = Graph()
    x = g.add_node("input", "x", 2.0)
    m = g.add_node("mul", "m")
    g.connect(x, m, "a")
    r = _eval_quietly(g)
    assert math.isnan(r.value(m))
    reason = r.nodes[m].reason
    assert "'b'" in reason
    assert "not connected" in reason
    assert math.isnan(r.edge(x, m, "a").local)


def test_op_with_no_inputs_at_all_gives_nan_with_reason() -> None:
    g = Graph()
    m = g.add_node("exp", "e")
    r = _eval_quietly(g)
    assert math.isnan(r.value(m)) and "not connected" in r.nodes[m].reason


def test_empty_sum_is_zero() -> None:
    g = Graph()
    s = g.add_node("sum", "s")
    r = _eval_quietly(g)
    assert r.value(s) == 0.0 and r.nodes[s].reason is None


def test_nan_leaf_value_does_not_raise() -> None:
    g, _, node = op_graph("sin", (math.nan,))
    r = _eval_quietly(g)
    assert math.isnan(r.value(node))
    assert r.nodes[node].reason


def test_infinite_local_derivative_has_reason() -> None:
    # √0 = 0 is finite but its derivative 1/(2√0) is +inf
    g, (x,), node = op_graph("sqrt", (0.0,))
    r = _eval_quietly(g)
    assert r.value(node) == 0.0
    e = r.edge(x, node, "x")
    assert e.local == math.inf and e.reason == "the slope of square root is infinite at 0"
