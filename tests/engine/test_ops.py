"""Every op's forward value and local derivatives against mathematics.

Forward values are compared with ``math``-only reference functions; local derivatives
(both through ``engine.evaluate`` on a tiny graph and by calling the registry's
functions directly) are compared with central finite differences of those references.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from _engine_helpers import ATTRS, REFERENCE, central_diff, close, op_graph
from engine.evaluate import evaluate
from engine.ops import OPS

ROOT = Path(__file__).resolve().parents[2]

#: points strictly inside each op's domain, away from kinks
POINTS: dict[str, list[tuple[float, ...]]] = {
    "add": [(1.5, -2.3), (0.1, 7.0), (-3.0, -4.0)],
    "sub": [(1.5, -2.3), (0.1, 7.0), (-3.0, -4.0)],
    "mul": [(1.5, -2.3), (0.2, 3.0), (-1.1, -0.7)],
    "div": [(1.5, -2.3), (3.0, 0.5), (-2.0, 4.0)],
    "neg": [(2.5,), (-0.3,), (0.0,)],
    "pow": [(1.5, 2.3), (2.0, 3.0), (0.7, -1.5), (3.0, 0.5)],
    "power": [(1.5,), (0.2,), (4.0,)],
    "square": [(2.5,), (-0.3,), (0.0,)],
    "exp": [(-2.0,), (0.0,), (3.0,)],
    "log": [(0.1,), (1.0,), (5.0,)],
    "sqrt": [(0.25,), (1.0,), (9.0,)],
    "abs": [(-2.0,), (0.3,), (4.0,)],
    "sin": [(-2.0,), (0.5,), (3.0,)],
    "cos": [(-2.0,), (0.5,), (3.0,)],
    "tanh": [(-1.5,), (0.0,), (2.0,)],
    "sigmoid": [(-3.0,), (0.0,), (2.5,)],
    "relu": [(-2.0,), (0.5,), (3.0,)],
    "squared_error": [(1.0, 0.3), (6.0, 3.0), (-2.0, 5.0)],
    "binary_cross_entropy": [(1.0, 0.3), (0.0, 0.8), (0.25, 0.6)],
}

NON_LEAF = sorted(n for n, s in OPS.items() if not s.is_leaf)
FIXED_ARITY = sorted(n for n in NON_LEAF if not OPS[n].variadic)
CASES = [(op, args) for op in FIXED_ARITY for args in POINTS.get(op, [])]


def test_registry_has_exactly_the_documented_ops() -> None:
    expected_ops = {"add", "sub", "mul", "div", "neg", "pow", "power", "square", "exp", "log",
                    "sqrt",
                    "abs", "sin", "cos", "tanh", "sigmoid", "relu", "sum", "squared_error",
                    "binary_cross_entropy"}
    assert set(NON_LEAF) == expected_ops
    assert {n for n, s in OPS.items() if s.is_leaf} == {"input", "param", "const", "data"}


def test_every_fixed_arity_op_is_covered_by_these_tests() -> None:
    # a new op must come with reference maths here, or this test fails
    assert set(FIXED_ARITY) == set(REFERENCE) == set(POINTS)


@pytest.mark.parametrize("op", FIXED_ARITY)
def test_ports_match_reference_order(op: str) -> None:
    spec = OPS[op]
    assert spec.ports == REFERENCE[op][1]
    assert len(spec.derivs) == len(spec.ports) == len(spec.deriv_formulas) \
        == len(spec.tex_derivs)


@pytest.mark.parametrize("op,args", CASES)
def test_forward_value_matches_math(op: str, args: tuple[float, ...]) -> None:
    ref, _ = REFERENCE[op]
    g, _, node = op_graph(op, args)
    r = evaluate(g)
    assert close(r.value(node), ref(*args), rel=1e-12, abs_=1e-15)
    assert r.nodes[node].reason is None
    assert r.grad(node) == 1.0


@pytest.mark.parametrize("op,args", CASES)
def test_local_derivatives_via_evaluate_match_finite_differences(
        op: str, args: tuple[float, ...]) -> None:
    ref, ports = REFERENCE[op]
    g, leaves, node = op_graph(op, args)
    r = evaluate(g)
    for i, (leaf, port) in enumerate(zip(leaves, ports)):
        fd = central_diff(ref, args, i)
        edge = r.edge(leaf, node, port)
        assert close(edge.local, fd, rel=1e-6, abs_=1e-6), (op, args, port, edge.local, fd)
        # output gradient is 1, so the product equals the local derivative
        assert close(edge.product, edge.local, rel=1e-15, abs_=0.0)
        assert close(r.grad(leaf), fd, rel=1e-6, abs_=1e-6)
        assert edge.on_path and r.nodes[leaf].on_path


def _value_and_locals(op: str, *args: float) -> tuple[float, list[float]]:
    """The registry's value and local derivatives at one point (numpy scalars)."""
    spec = OPS[op]
    xs = [np.float64(a) for a in args]
    attrs = ATTRS.get(op, {})
    out = spec.value(xs, attrs)
    return float(out), [float(v) for v in spec.locals(out, xs, attrs)]


@pytest.mark.parametrize("op,args", CASES)
def test_registry_functions_match_finite_differences(op: str, args: tuple[float, ...]) -> None:
    ref, ports = REFERENCE[op]
    spec = OPS[op]
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        value, locs = _value_and_locals(op, *args)
    assert close(value, ref(*args), rel=1e-12, abs_=1e-15)
    for i, port in enumerate(ports):
        assert spec.deriv_text(port, ATTRS.get(op)) and spec.tex_deriv_text(port, ATTRS.get(op))
        fd = central_diff(ref, args, i)
        assert close(locs[i], fd, rel=1e-6, abs_=1e-6), (op, port)


@pytest.mark.parametrize("op,args", CASES)
def test_engine_forward_is_differentiated_consistently(op: str, args: tuple[float, ...]) -> None:
    """Finite differences of the registry's own forward agree with its derivatives too."""
    def f(*xs: float) -> float:
        return _value_and_locals(op, *xs)[0]

    locs = _value_and_locals(op, *args)[1]
    for i, port in enumerate(OPS[op].ports):
        assert close(locs[i], central_diff(f, args, i), rel=1e-6, abs_=1e-6)


# ------------------------------------------------------------------ conventions

@pytest.mark.parametrize("op", ["relu", "abs"])
def test_kink_derivative_at_zero_is_zero(op: str) -> None:
    g, (leaf,), node = op_graph(op, (0.0,))
    r = evaluate(g)
    assert r.value(node) == 0.0
    assert r.edge(leaf, node, "x").local == 0.0
    assert r.grad(leaf) == 0.0
    assert _value_and_locals(op, 0.0)[1] == [0.0]


def test_relu_derivative_on_either_side_of_zero() -> None:
    assert _value_and_locals("relu", -1e-300)[1] == [0.0]
    assert _value_and_locals("relu", 1e-300)[1] == [1.0]


def test_abs_derivative_on_either_side_of_zero() -> None:
    assert _value_and_locals("abs", -1e-300)[1] == [-1.0]
    assert _value_and_locals("abs", 1e-300)[1] == [1.0]


@pytest.mark.parametrize("x,expected", [(1000.0, 1.0), (-1000.0, 0.0), (1e308, 1.0),
                                        (-1e308, 0.0)])
def test_sigmoid_is_stable_for_large_inputs(x: float, expected: float) -> None:
    g, (leaf,), node = op_graph("sigmoid", (x,))
    r = evaluate(g)
    assert r.value(node) == expected
    assert r.nodes[node].reason is None
    local = r.edge(leaf, node, "x").local
    assert local == 0.0 and not math.isnan(local)
    assert r.grad(leaf) == 0.0
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):  # no overflow warning inside the op either
        assert _value_and_locals("sigmoid", x)[0] == expected


def test_sigmoid_symmetry_and_midpoint() -> None:
    def s(x: float) -> float:
        return _value_and_locals("sigmoid", x)[0]

    assert s(0.0) == 0.5
    assert _value_and_locals("sigmoid", 0.0)[1] == [0.25]
    for x in (0.3, 2.0, 10.0, 30.0):
        assert close(s(x) + s(-x), 1.0, rel=1e-15, abs_=1e-15)


@pytest.mark.parametrize("a,b", [(2.0, 3.0), (0.5, 2.0), (3.0, -1.0), (1.7, 0.3)])
def test_pow_derivative_in_exponent_is_a_pow_b_ln_a(a: float, b: float) -> None:
    g, (base, expo), node = op_graph("pow", (a, b))
    r = evaluate(g)
    assert close(r.edge(expo, node, "exponent").local, a ** b * math.log(a), rel=1e-12)
    assert close(r.edge(base, node, "base").local, b * a ** (b - 1), rel=1e-12)


def test_pow_of_a_node_by_itself_sums_both_ports() -> None:
    # x**x: d/dx = x^x (1 + ln x); at x = 2: 4 (1 + ln 2)
    from engine.graph import Graph

    g = Graph()
    x = g.add_node("input", "x", 2.0)
    p = g.add_node("pow", "p")
    g.connect(x, p, "base")
    g.connect(x, p, "exponent")
    r = evaluate(g)
    assert r.value(p) == 4.0
    assert close(r.edge(x, p, "base").local, 4.0, rel=1e-14)
    assert close(r.edge(x, p, "exponent").local, 4.0 * math.log(2.0), rel=1e-14)
    assert close(r.grad(x), 4.0 * (1.0 + math.log(2.0)), rel=1e-14)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_sum_with_n_inputs(n: int) -> None:
    values = [0.5 * i - 1.25 for i in range(1, n + 1)]
    ports = [f"x{i}" for i in range(1, n + 1)]
    g, leaves, node = op_graph("sum", values, ports)
    r = evaluate(g)
    assert close(r.value(node), math.fsum(values), rel=1e-15, abs_=1e-15)
    for leaf, port in zip(leaves, ports):
        e = r.edge(leaf, node, port)
        assert e.local == 1.0 and e.product == 1.0
        assert r.grad(leaf) == 1.0
        f = lambda *xs: math.fsum(xs)  # noqa: E731
        assert close(e.local, central_diff(f, values, ports.index(port)), rel=1e-6)


def test_sum_with_repeated_operand() -> None:
    from engine.graph import Graph

    g = Graph()
    x = g.add_node("input", "x", 1.5)
    s = g.add_node("sum", "s")
    for port in ("x1", "x2", "x3"):
        g.connect(x, s, port)
    r = evaluate(g)
    assert r.value(s) == 4.5
    assert r.grad(x) == 3.0


def test_sum_ports_grow_and_reject_bad_names() -> None:
    from engine.errors import PortError
    from engine.graph import Graph

    g = Graph()
    x = g.add_node("input", "x", 1.0)
    s = g.add_node("sum", "s")
    assert g.ports(s) == ["x1"]
    g.connect(x, s, "x1")
    assert g.ports(s) == ["x1", "x2"]
    for bad in ("x0", "y1", "x", "x01", "a"):
        with pytest.raises(PortError):
            g.connect(x, s, bad)


def test_squared_error_has_no_half() -> None:
    # tutorial: L = (y − ŷ)², y = 1, ŷ = 0.3 → 0.49; dL/dŷ = −2(y − ŷ) = −1.4
    g, (t, p), node = op_graph("squared_error", (1.0, 0.3))
    r = evaluate(g)
    assert close(r.value(node), 0.49, rel=1e-14)
    assert close(r.edge(p, node, "prediction").local, -1.4, rel=1e-14)
    assert close(r.edge(t, node, "target").local, 1.4, rel=1e-14)


def test_squared_error_port_order_is_target_then_prediction() -> None:
    assert OPS["squared_error"].ports == ("target", "prediction")


# ------------------------------------------------------------------ display text

def test_mul_derivative_formula_text() -> None:
    assert OPS["mul"].generic_derivs() == ["∂(a·b)/∂a = b", "∂(a·b)/∂b = a"]


@pytest.mark.parametrize("op", NON_LEAF)
def test_every_op_has_symbol_title_and_derivative_text(op: str) -> None:
    spec = OPS[op]
    assert spec.symbol and spec.title
    texts = spec.generic_derivs()
    assert texts and all(t.startswith("∂") and " = " in t for t in texts)
    if not spec.variadic:
        assert len(texts) == len(spec.ports)


def _ops_doc() -> str:
    path = ROOT / "docs" / "ops.md"
    assert path.is_file(), "docs/ops.md is missing (issue 2, item 3)"
    return path.read_text(encoding="utf-8")


def test_docs_ops_md_mentions_every_op() -> None:
    doc = _ops_doc()
    missing = [op for op in sorted(OPS) if f"`{op}`" not in doc and op not in doc]
    assert not missing, f"docs/ops.md does not mention {missing}"


def test_docs_ops_md_states_kink_conventions() -> None:
    doc = _ops_doc()
    for op in ("relu", "abs"):
        assert OPS[op].conventions in doc or f"{op}′(0) = 0" in doc


def test_docs_ops_md_contains_registry_conventions() -> None:
    # docs/ops.md is generated from (or checked against) the registry
    doc = _ops_doc()
    missing = [op for op in sorted(OPS) if OPS[op].conventions and OPS[op].conventions not in doc]
    assert not missing, f"docs/ops.md lacks the registry's conventions text for {missing}"
