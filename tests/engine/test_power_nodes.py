"""Power nodes with a fixed exponent (x ** n): parsed, labelled, saved and refused as a
learner would expect. Numbers by hand: d/dx x³ = 3x² (12 at x = 2), d/dx x⁻¹ = −x⁻²
(−0.25 at x = 2), d/dx x^0.5 = 0.5·x^−0.5 (0.25 at x = 4)."""

from __future__ import annotations

import json
import math

import pytest

from engine import fileformat
from engine.errors import ExpressionError, GraphFileError
from engine.evaluate import evaluate
from engine.expr import parse, to_expression
from engine.labels import edge_label, node_formula

MINUS = "−"


def _only(g, op: str) -> str:
    (nid,) = [n for n in g.ids() if g.op_of(n) == op]
    return nid


@pytest.mark.parametrize("text,x,value,slope,label", [
    ("y = x**3", 2.0, 8.0, 12.0, "∂y/∂x = 3·x² = 12"),
    ("y = x ** -1", 2.0, 0.5, -0.25, f"∂y/∂x = {MINUS}x⁻² = {MINUS}0.25"),
    ("y = x**0.5", 4.0, 2.0, 0.25, f"∂y/∂x = 0.5·x^{MINUS}0.5 = 0.25"),
    ("y = x**2", -0.7, 0.49, -1.4, f"∂y/∂x = 2·x = {MINUS}1.4"),
    ("y = x**1", 5.0, 5.0, 1.0, "∂y/∂x = 1"),
    ("y = x**0", 5.0, 1.0, 0.0, "∂y/∂x = 0"),
])
def test_a_number_as_exponent_is_a_power_node(text, x, value, slope, label) -> None:
    g = parse(text)
    g.set_value(g.id_of("x"), x)
    y, xid = g.id_of("y"), g.id_of("x")
    assert g.op_of(y) == "power" and len(g) == 2  # no const node for the exponent
    r = evaluate(g)
    assert math.isclose(r.value(y), value, rel_tol=1e-15)
    assert math.isclose(r.grad(xid), slope, rel_tol=1e-15, abs_tol=1e-300)
    assert edge_label(g, r, xid, y, "x", mode="local" if slope in (0.0, 1.0) else "both")[0] \
        == label


def test_node_formula_writes_the_power() -> None:
    g = parse("y = (a - b)**3")
    assert node_formula(g, g.id_of("y")) == "y = sub₁³"


def test_square_of_a_negative_base_is_never_nan() -> None:
    """(ŷ − y)² where the base is negative: the tutorial's loss, no NaN anywhere."""
    g = parse("L = (yhat - y)**2")
    g.set_value(g.id_of("yhat"), 0.3)
    g.set_value(g.id_of("y"), 1.0)
    r = evaluate(g)
    for nr in r.nodes.values():
        assert nr.grad is not None and math.isfinite(nr.value) and math.isfinite(nr.grad)
    for er in r.edges.values():
        assert math.isfinite(er.local) and math.isfinite(er.product)
    assert math.isclose(r.grad(g.id_of("yhat")), -1.4)


def test_a_call_with_a_number_and_one_without_are_told_apart() -> None:
    g = parse("y = power(x, 3)")
    assert g.attrs_of(g.id_of("y")) == {"exponent": 3.0}
    with pytest.raises(ExpressionError, match="exponent of power must be a number"):
        parse("y = power(x, k)")
    with pytest.raises(ExpressionError, match=r"power takes 2 arguments \(x, exponent\)"):
        parse("y = power(x)")
    g = parse("y = x ** k")  # a name as exponent: the general pow with a port
    assert g.op_of(g.id_of("y")) == "pow"


def test_writing_back_reads_back_the_same_graph() -> None:
    g = parse("k = const(2)\ny = x ** 3 + x ** k + x ** -0.5 + (x ** 2) ** 2")
    text = to_expression(g)
    again = parse(text)
    assert to_expression(again) == text
    assert sorted(again.attrs_of(n)["exponent"] for n in again.ids()
                  if again.op_of(n) == "power") == [-0.5, 2.0, 2.0, 3.0]
    assert again.op_of(next(n for n in again.ids() if again.op_of(n) == "pow")) == "pow"


def test_files_keep_the_exponent_and_refuse_it_where_it_does_not_belong() -> None:
    g = parse("y = x ** 3")
    text = fileformat.dumps(g)
    data = json.loads(text)
    (node,) = [n for n in data["nodes"] if n["op"] == "power"]
    assert node["exponent"] == 3
    again = fileformat.loads(text)
    assert again.attrs_of(again.id_of("y")) == {"exponent": 3.0}
    assert fileformat.dumps(again) == text

    def broken(change) -> str:
        d = json.loads(text)
        change(d)
        return json.dumps(d)

    with pytest.raises(GraphFileError, match=r"exponent: missing"):
        fileformat.loads(broken(lambda d: [n.pop("exponent") for n in d["nodes"]
                                           if n["op"] == "power"]))
    with pytest.raises(GraphFileError, match="an input node has no exponent"):
        fileformat.loads(broken(lambda d: [n.update(exponent=2) for n in d["nodes"]
                                           if n["op"] == "input"]))
    with pytest.raises(GraphFileError, match="is not of type number"):
        fileformat.loads(broken(lambda d: [n.update(exponent="3") for n in d["nodes"]
                                           if n["op"] == "power"]))


def test_pasting_a_power_node_keeps_its_exponent() -> None:
    g = parse("y = x ** 3")
    fresh = fileformat.prepare_paste(g, fileformat.to_dict(g, [g.id_of("y")]), (40, 40))
    (node,) = fresh["nodes"]
    assert node["op"] == "power" and node["exponent"] == 3.0
