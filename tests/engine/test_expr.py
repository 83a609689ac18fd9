"""The expression language: the tutorial's forms, every rejected construct, round trips."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EngineError, ExpressionError
from engine.evaluate import evaluate
from engine.expr import parse, to_expression
from engine.graph import Graph

ROOT = Path(__file__).resolve().parents[2]


def iso(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-14)


def set_values(g: Graph, **values: float) -> None:
    for name, v in values.items():
        g.set_value(g.id_of(name), v)


# ------------------------------------------------------------------ the tutorial

def test_two_layer_network_with_squared_error_call() -> None:
    g = parse("h = w1*x; yhat = w2*h; L = squared_error(y, yhat)", params=["w1", "w2"])
    assert {g.name_of(n): g.op_of(n) for n in g.ids()} == {
        "h": "mul", "yhat": "mul", "L": "squared_error",
        "w1": "param", "w2": "param", "x": "input", "y": "input"}
    assert g.name_of(g.resolve_output()) == "L"
    L = g.id_of("L")
    assert g.source_of(L, "target") == g.id_of("y")
    assert g.source_of(L, "prediction") == g.id_of("yhat")
    set_values(g, x=2, y=1, w1=0.5, w2=0.3)
    r = evaluate(g)
    v = lambda n: r.value(g.id_of(n))  # noqa: E731
    d = lambda n: r.grad(g.id_of(n))  # noqa: E731
    assert iso(v("h"), 1.0) and iso(v("yhat"), 0.3) and iso(v("L"), 0.49)
    assert iso(d("yhat"), -1.4) and iso(d("h"), -0.42)
    assert iso(d("w1"), -0.84) and iso(d("w2"), -1.4)
    e = r.edge(g.id_of("w1"), g.id_of("h"), "a")
    assert iso(e.local, 2.0) and iso(e.product, -0.84)


def test_two_layer_network_with_power_form_and_values_in_text() -> None:
    text = ("x = 2\ny = 1\nw1 = param(0.5)\nw2 = param(0.3)\n"
            "h = w1*x\nyhat = w2*h\nL = (y - yhat)**2\n")
    g = parse(text)
    assert g.op_of(g.id_of("w1")) == "param" and g.op_of(g.id_of("x")) == "input"
    r = evaluate(g)
    assert iso(r.value(g.id_of("L")), 0.49)
    assert iso(r.grad(g.id_of("yhat")), -1.4)
    assert iso(r.grad(g.id_of("h")), -0.42)
    assert iso(r.grad(g.id_of("w1")), -0.84)
    assert iso(r.grad(g.id_of("w2")), -1.4)


def test_params_listed_become_param_leaves() -> None:
    g = parse("L = (y - yhat)**2", params=["yhat"])
    assert g.op_of(g.id_of("yhat")) == "param" and g.op_of(g.id_of("y")) == "input"
    set_values(g, y=1, yhat=0.3)
    r = evaluate(g)
    assert iso(r.value(g.id_of("L")), 0.49) and iso(r.grad(g.id_of("yhat")), -1.4)


def test_y_equals_two_x_squared() -> None:
    g = parse("y = (2*x)**2")
    set_values(g, x=3)
    r = evaluate(g)
    assert iso(r.value(g.id_of("y")), 36.0) and iso(r.grad(g.id_of("x")), 24.0)
    consts = [n for n in g.ids() if g.op_of(n) == "const"]
    assert [g.node(n).value for n in consts] == [2.0]  # the factor; ** 2 is no node
    assert r.grad(consts[0]) is None  # a constant has no gradient
    y = g.id_of("y")
    assert g.op_of(y) == "power" and g.attrs_of(y) == {"exponent": 2.0}


def test_exercise_one() -> None:
    g = parse("x = 2\ny = (3*x + 1)**2")
    r = evaluate(g)
    assert iso(r.value(g.id_of("y")), 49.0) and iso(r.grad(g.id_of("x")), 42.0)


def test_exercise_two() -> None:
    g = parse("x = 3; y = 6; w = param(1); yhat = w*x; L = (y - yhat)**2")
    r = evaluate(g)
    assert iso(r.grad(g.id_of("w")), -18.0)


def test_statements_by_newline_and_semicolon_are_the_same_graph() -> None:
    a = parse("h = w1*x; yhat = w2*h; L = squared_error(y, yhat)")
    b = parse("h = w1*x\nyhat = w2*h\nL = squared_error(y, yhat)\n")
    assert _structure(a) == _structure(b)


def test_bare_final_expression_is_the_output() -> None:
    g = parse("h = 2*x\nh + 1")
    out = g.resolve_output()
    assert g.op_of(out) == "add" and g.output == out


def test_variadic_sum_and_unary_minus() -> None:
    g = parse("x = 1; y = 2; z = 4; s = sum(x, y, z, x); n = -s")
    r = evaluate(g)
    assert r.value(g.id_of("n")) == -8.0 and r.grad(g.id_of("x")) == -2.0
    assert g.op_of(g.id_of("n")) == "neg"


def test_every_op_can_be_called_by_name() -> None:
    g = parse("x = 0.7; y = 1.3\n"
              "a = exp(x) + log(y) + sqrt(y) + abs(x) + sin(x) + cos(x) + tanh(x)\n"
              "b = sigmoid(x) + relu(x) + square(x) + neg(x) + pow(y, x) + add(x, y)\n"
              "c = sub(x, y) + mul(x, y) + div(x, y) + squared_error(x, y) + sum(x)\n"
              "L = a + b + c")
    r = evaluate(g)
    x, y = 0.7, 1.3
    a = math.exp(x) + math.log(y) + math.sqrt(y) + x + math.sin(x) + math.cos(x) + math.tanh(x)
    b = 1 / (1 + math.exp(-x)) + x + x * x - x + y ** x + x + y
    c = x - y + x * y + x / y + (x - y) ** 2 + x
    assert math.isclose(r.value(g.id_of("L")), a + b + c, rel_tol=1e-12)


def test_unknown_param_name_is_rejected() -> None:
    with pytest.raises(ExpressionError):
        parse("y = 2*x", params=["w"])


# ------------------------------------------------------------------ rejections

REJECTED = [
    # (id, text, line, column) — 1-based position of the offending construct
    ("attribute", "y = x.real", 1, 5),
    ("attribute_call", "y = 2*x\nz = os.system(y)", 2, 5),
    ("subscript", "y = x[0]", 1, 5),
    ("string", "y = 'a'", 1, 5),
    ("bytes", "y = b'a'", 1, 5),
    ("lambda", "y = lambda: 1", 1, 5),
    ("import", "x = 1\nimport os", 2, 1),
    ("import_from", "from os import system", 1, 1),
    ("unknown_function", "y = 2\nz = foo(y)", 2, 5),
    ("dunder_import", "y = __import__('os')", 1, 5),
    ("keyword_argument", "y = exp(x=1)", 1, 9),
    ("assigned_twice", "a = x*2\na = x*3", 2, 1),
    ("comparison", "y = x < 1", 1, 5),
    ("boolean_op", "y = x and 1", 1, 5),
    ("not", "y = not x", 1, 5),
    ("f_string", "y = f'{x}'", 1, 5),
    ("starred", "y = sum(*x)", 1, 9),
    ("walrus", "y = (z := x)", 1, 6),
    ("chained_assignment", "a = b = x*2", 1, 5),
    ("augmented_assignment", "x = 1\nx += 2", 2, 1),
    ("if", "x = 1\nif x:\n    y = 1", 2, 1),
    ("for", "for i in x:\n    y = i", 1, 1),
    ("while", "while x:\n    y = 1", 1, 1),
    ("def", "def f():\n    return 1", 1, 1),
    ("class", "class A:\n    pass", 1, 1),
    ("with", "with x:\n    y = 1", 1, 1),
    ("list", "y = [x]", 1, 5),
    ("tuple_target", "a, b = x, x", 1, 1),
    ("conditional", "y = x if x else 1", 1, 5),
    ("floor_div", "y = x // 2", 1, 5),
    ("modulo", "y = x % 2", 1, 5),
    ("complex", "y = 2j", 1, 5),
    ("true", "y = True", 1, 5),
    ("none", "y = None", 1, 5),
    ("op_name_assigned", "exp = x*2", 1, 1),
    ("op_name_as_leaf", "y = sum * 2", 1, 5),
    ("wrong_arity", "y = exp(x, x)", 1, 5),
    ("leaf_call_inline", "y = 2*param(3)", 1, 7),
    ("syntax_error", "y = (x", 1, 5),
    ("bare_expression_not_last", "x*2\ny = x", 1, 1),
    ("unary_invert", "y = ~x", 1, 5),
]


@pytest.mark.parametrize("text,line,col", [r[1:] for r in REJECTED], ids=[r[0] for r in REJECTED])
def test_rejected_construct_points_at_it(text: str, line: int, col: int) -> None:
    with pytest.raises(ExpressionError) as ei:
        parse(text)
    e = ei.value
    assert (e.line, e.col) == (line, col), str(e)
    assert f"line {line}" in str(e) and f"column {col}" in str(e)
    assert isinstance(e, EngineError)


def test_bare_name_assignment_is_rejected_at_the_statement() -> None:
    with pytest.raises(ExpressionError) as ei:
        parse("x = 2\ny = x")
    assert ei.value.line == 2 and ei.value.col in (1, 5)


def test_assigned_after_used_as_a_leaf_points_at_one_of_the_two_places() -> None:
    with pytest.raises(ExpressionError) as ei:
        parse("y = x*2\nx = 3")
    assert (ei.value.line, ei.value.col) in ((1, 5), (2, 1))
    assert "line 1" in str(ei.value) and "line 2" in str(ei.value)


def test_unknown_function_message_names_it() -> None:
    with pytest.raises(ExpressionError) as ei:
        parse("y = foo(x)")
    assert "foo" in str(ei.value)


def test_assigned_twice_message_names_the_name() -> None:
    with pytest.raises(ExpressionError) as ei:
        parse("a = x*2\na = x*3")
    assert "'a'" in str(ei.value) or "a" in ei.value.reason


def test_empty_expression_is_rejected() -> None:
    for text in ("", "\n\n", "   "):
        with pytest.raises(ExpressionError):
            parse(text)


def test_too_long_input_is_rejected_without_parsing() -> None:
    from engine import expr

    text = "y = x\n" + " " * expr.MAX_CHARS
    with pytest.raises(ExpressionError) as ei:
        parse(text)
    assert ei.value.line == 1 and ei.value.col == 1
    assert "too long" in str(ei.value)


def test_deeply_nested_parentheses_are_an_expression_error() -> None:
    with pytest.raises(ExpressionError):
        parse("y = " + "(" * 1000 + "x" + ")" * 1000)


@pytest.mark.slow
def test_very_long_sum_in_one_statement() -> None:
    # engine/expr.py promises sums of 100,000 terms need no deep recursion
    n = 100_000
    g = parse("x = 1\ny = " + " + ".join(["x"] * n))
    r = evaluate(g)
    assert r.value(g.id_of("y")) == float(n) and r.grad(g.id_of("x")) == float(n)


def test_many_statements_parse() -> None:
    n = 3000
    lines = ["a0 = 3*x"] + [f"a{i} = 2*a{i - 1} + 1" for i in range(1, n)]
    g = parse("\n".join(lines), layout=False)
    assert len(g) == 4 * n - 1  # x; a0: const, mul; then per statement const, mul, const, add
    assert g.name_of(g.resolve_output()) == f"a{n - 1}"


def test_expr_module_never_calls_eval_exec_or_compile() -> None:
    src = (ROOT / "engine" / "expr.py").read_text(encoding="utf-8")
    tree = ast.parse(src)
    banned = {"eval", "exec", "compile", "__import__"}
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) \
                else None
            if name in banned:
                calls.append((name, node.lineno))
        if isinstance(node, ast.Name) and node.id in banned:
            calls.append((node.id, node.lineno))  # e.g. passed around as a value
    assert not calls


def test_parsing_hostile_text_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"y = __import__('os').system('touch {marker}')"
    with pytest.raises(ExpressionError):
        parse(text)
    assert not marker.exists()


# ------------------------------------------------------------------ round trip

def _structure(g: Graph) -> dict:
    """Everything but ids and positions, by name."""
    name = g.name_of
    return {
        "nodes": sorted((name(n), g.op_of(n), g.node(n).value) for n in g.ids()),
        "edges": sorted((name(s), name(d), p) for s, d, p in g.edges()),
        "output": name(g.resolve_output()),
    }


UNARY = ["neg", "square", "exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu"]
BINARY = ["add", "sub", "mul", "div", "pow", "squared_error"]
stems_st = st.sampled_from(["a", "b", "h", "w", "y_hat", "loss", "z", "_t", "x"])
values_st = st.one_of(st.integers(-5, 5).map(float),
                      st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
                      st.sampled_from([0.1, -0.5, 1e-300, 2.5e17, -0.0]))


@st.composite
def graphs(draw) -> Graph:
    g = Graph()
    used: set[str] = set()

    def fresh() -> str:
        n = f"{draw(stems_st)}{len(used)}"
        used.add(n)
        return n

    nodes: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["input", "param", "const"]))
        nodes.append(g.add_node(kind, fresh(), draw(values_st)))
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["unary", "binary", "sum"]))
        pick = st.sampled_from(nodes)
        if kind == "unary":
            op, srcs = draw(st.sampled_from(UNARY)), [draw(pick)]
            ports = ["x"]
        elif kind == "binary":
            op = draw(st.sampled_from(BINARY))
            srcs = [draw(pick), draw(pick)]
            from engine.ops import OPS
            ports = list(OPS[op].ports)
        else:
            op = "sum"
            srcs = [draw(pick) for _ in range(draw(st.integers(1, 4)))]
            ports = [f"x{i + 1}" for i in range(len(srcs))]
        n = g.add_node(op, fresh())
        for s, p in zip(srcs, ports):
            g.connect(s, n, p)
        nodes.append(n)
    g.set_output(draw(st.sampled_from(nodes[-3:])))
    return g


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_round_trip_keeps_the_structure(g: Graph) -> None:
    text = to_expression(g)
    back = parse(text)
    assert _structure(back) == _structure(g), text
    # and writing again gives the same text
    assert to_expression(back) == text


@pytest.mark.parametrize("text", [
    "h = w1*x; yhat = w2*h; L = squared_error(y, yhat)",
    "x = 3\ny = (2*x)**2",
    "x = 2\ny = (3*x + 1)**2",
    "x = -2\nk = const(-3)\ny = -x - k - (-1.5) * x ** -2",
    "x = 1\na = x - (x - x)\nb = x / (x / x)\nc = (x ** x) ** x\nd = x ** (x ** x)\nL = a + b + c + d",
    "x = 2\ny = -(-x)\nz = -(3)\nL = y + z",
])
def test_round_trip_of_written_expressions(text: str) -> None:
    g = parse(text)
    back = parse(to_expression(g))
    assert _structure(back) == _structure(g)
    rg, rb = evaluate(g), evaluate(back)
    assert sorted((g.name_of(n), rg.value(n)) for n in g.ids() if g.op_of(n) != "const") == \
        sorted((back.name_of(n), rb.value(n)) for n in back.ids() if back.op_of(n) != "const")


def test_a_name_python_would_normalise_is_refused() -> None:
    # "ﬁ" (U+FB01) is a valid identifier, but Python's parser reads it as "fi" (NFKC), so
    # such a name could not survive parse(to_expression(g)): the graph refuses it up front
    from engine.errors import InvalidNameError
    g = Graph()
    with pytest.raises(InvalidNameError):
        g.add_node("input", "\ufb01", 2.0)
    x = g.add_node("input", "fi", 2.0)
    with pytest.raises(InvalidNameError):
        g.rename(x, "\u210c")  # ℌ reads back as H
    n = g.add_node("neg", "out")
    g.connect(x, n, "x")
    back = parse(to_expression(g))
    assert _structure(back) == _structure(g)


def test_round_trip_keeps_the_sign_of_negative_zero() -> None:
    # 1/x tells −0.0 from 0.0: x = −0.0 gives −inf, and so must the written-back graph
    g = parse("x = -0.0\ny = 1/x")
    assert evaluate(g).value(g.id_of("y")) == -math.inf
    back = parse(to_expression(g))
    assert math.copysign(1.0, back.node(back.id_of("x")).value) == -1.0
    assert evaluate(back).value(back.id_of("y")) == -math.inf


@pytest.mark.parametrize("text,col", [
    ("ŷ = a.b", 5),           # the syntax tree says byte 6: ŷ is two bytes in UTF-8
    ("ŷŷ = foo(x)", 6),       # two two-byte letters before the call
    ("h = ŵ * 𝑎.b", 9),       # a four-byte letter is one column too
])
def test_columns_count_characters_not_bytes(text: str, col: int) -> None:
    with pytest.raises(ExpressionError) as ei:
        parse(text)
    assert ei.value.col == col, str(ei.value)
