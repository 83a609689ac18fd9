"""Adding an op is one registry entry: a throwaway op registered at run time works end
to end — parser, both evaluators, the fast engine's strategies, finite differences,
LaTeX, the file format and the generated docs — with nothing else edited."""

from __future__ import annotations

import math

import numpy as np
import pytest

from _engine_helpers import central_diff
from agreement import assert_agrees
from engine import fileformat
from engine.evaluate import evaluate
from engine.expr import parse, to_expression
from engine.fast import compile_graph
from engine.latex import local_formula_latex
from engine.opsdoc import render
from engine.ops import OPS, OpSpec, register, unregister


def _softplus_math(x: float) -> float:
    return math.log1p(math.exp(-abs(x))) + max(x, 0.0)


@pytest.fixture
def softplus():
    spec = register(OpSpec(
        "softplus", "ζ", "function", "Softplus", ("x",), ("x",),
        lambda x: np.logaddexp(0.0, x),          # log(1 + eˣ) without overflow
        (lambda y, x: np.exp(x - y),),           # σ(x) = eˣ / (1 + eˣ) = e^(x − y)
        "softplus({x})", ("σ({x})",),
        r"\operatorname{{softplus}}({x})", (r"\sigma({x})",),
        conventions="log(1 + eˣ), a smooth relu."))
    yield spec
    unregister("softplus")
    assert "softplus" not in OPS


def test_a_new_op_works_end_to_end(softplus) -> None:
    g = parse("y = softplus(w * x) + softplus(-x)", params=["w"])
    for name, v in {"w": 0.7, "x": -1.3}.items():
        g.set_value(g.id_of(name), v)
    r = evaluate(g)
    w, x = 0.7, -1.3

    def f(w: float, x: float) -> float:
        return _softplus_math(w * x) + _softplus_math(-x)

    assert math.isclose(r.value(g.id_of("y")), f(w, x), rel_tol=1e-14)
    assert math.isclose(r.grad(g.id_of("w")), central_diff(f, [w, x], 0), rel_tol=1e-7)
    assert math.isclose(r.grad(g.id_of("x")), central_diff(f, [w, x], 1), rel_tol=1e-7)
    # the fast engine, both strategies, schedules the new op without knowing it
    for mode in ("wide", "deep"):
        assert_agrees(g, compile_graph(g, mode=mode).evaluate(), r)
    # LaTeX and the derivative text come from the entry
    sp = next(n for n in g.ids() if g.op_of(n) == "softplus" and g.name_of(n) != "y")
    (src, _, port), = g.nx.in_edges(sp, keys=True)
    assert local_formula_latex(g, src, sp, port).startswith(r"\sigma(")
    # written back, saved and read again
    assert to_expression(parse(to_expression(g), params=["w"])) == to_expression(g)
    again = fileformat.loads(fileformat.dumps(g))
    assert math.isclose(evaluate(again).value(again.id_of("y")), f(w, x), rel_tol=1e-14)
    # the docs list it
    assert "| `softplus` | ζ | x | softplus(x) | ∂(softplus(x))/∂x = σ(x) |" in render()


def test_a_new_op_name_is_reserved_while_registered(softplus) -> None:
    from engine.errors import ExpressionError
    with pytest.raises(ExpressionError, match="name of an op"):
        parse("softplus = x * 2")


def test_registering_a_name_twice_or_a_short_entry_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register(OPS["tanh"])
    with pytest.raises(ValueError, match="one derivative"):
        register(OpSpec("broken", "b", "function", "Broken", ("x",), ("x",),
                        np.tanh, (), "b({x})", (), "", ()))
    assert "broken" not in OPS
