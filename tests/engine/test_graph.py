"""The graph model: typed connect errors, one edge per port, ids, names and the output."""

from __future__ import annotations

import math

import pytest

from engine.errors import (
    ConnectError,
    CycleError,
    EngineError,
    InvalidNameError,
    OutputError,
    PortError,
    PortTakenError,
    SelfLoopError,
)
from engine.evaluate import evaluate
from engine.graph import Graph
from engine.ops import OPS


def chain() -> tuple[Graph, str, str, str]:
    """x → a = neg(x) → b = exp(a)."""
    g = Graph()
    x = g.add_node("input", "x", 1.0)
    a = g.add_node("neg", "a")
    b = g.add_node("exp", "b")
    g.connect(x, a, "x")
    g.connect(a, b, "x")
    return g, x, a, b


def snapshot(g: Graph) -> tuple:
    return (sorted(g.nx.nodes(data=True), key=lambda t: t[0]), g.edges(), g.output)


# ------------------------------------------------------------------ connect errors

def test_error_types_form_a_hierarchy() -> None:
    for cls in (CycleError, SelfLoopError, PortTakenError, PortError):
        assert issubclass(cls, ConnectError) and issubclass(cls, EngineError)
    assert issubclass(InvalidNameError, EngineError)
    assert issubclass(OutputError, EngineError)


def test_two_node_cycle_is_refused_with_cycle_error() -> None:
    g = Graph()
    m1 = g.add_node("mul", "m1")
    m2 = g.add_node("mul", "m2")
    g.connect(m1, m2, "a")
    before = snapshot(g)
    with pytest.raises(CycleError):
        g.connect(m2, m1, "a")
    assert snapshot(g) == before


def test_longer_cycle_is_refused_even_when_port_is_free() -> None:
    g = Graph()
    x = g.add_node("input", "x", 1.0)
    m1 = g.add_node("mul", "m1")
    m2 = g.add_node("mul", "m2")
    m3 = g.add_node("mul", "m3")
    g.connect(x, m1, "a")
    g.connect(m1, m2, "a")
    g.connect(m2, m3, "a")
    before = snapshot(g)
    with pytest.raises(CycleError):
        g.connect(m3, m1, "b")
    assert snapshot(g) == before
    assert g.connect_error(m3, m1, "b").__class__ is CycleError


def test_self_loop_is_refused() -> None:
    g = Graph()
    m = g.add_node("mul", "m")
    with pytest.raises(SelfLoopError):
        g.connect(m, m, "a")
    assert g.nx.number_of_edges() == 0


def test_port_already_fed_is_refused() -> None:
    g = Graph()
    x = g.add_node("input", "x", 1.0)
    y = g.add_node("input", "y", 2.0)
    m = g.add_node("mul", "m")
    g.connect(x, m, "a")
    with pytest.raises(PortTakenError):
        g.connect(y, m, "a")
    with pytest.raises(PortTakenError):
        g.connect(x, m, "a")
    assert g.source_of(m, "a") == x
    assert g.nx.number_of_edges() == 1


@pytest.mark.parametrize("op,port", [("mul", "c"), ("mul", "x"), ("neg", "a"),
                                     ("squared_error", "a"), ("pow", "b"), ("sum", "a")])
def test_unknown_port_is_refused(op: str, port: str) -> None:
    g = Graph()
    x = g.add_node("input", "x", 1.0)
    n = g.add_node(op)
    with pytest.raises(PortError):
        g.connect(x, n, port)
    assert g.nx.number_of_edges() == 0


@pytest.mark.parametrize("leaf", ["input", "param", "const"])
def test_leaves_have_no_input_ports(leaf: str) -> None:
    g = Graph()
    x = g.add_node("input", "x", 1.0)
    n = g.add_node(leaf)
    with pytest.raises(PortError):
        g.connect(x, n, "x")


def test_disconnect_frees_the_port() -> None:
    g = Graph()
    x = g.add_node("input", "x", 1.0)
    y = g.add_node("input", "y", 2.0)
    m = g.add_node("mul", "m")
    g.connect(x, m, "a")
    assert g.disconnect(m, "a") == x
    g.connect(y, m, "a")
    assert g.source_of(m, "a") == y
    with pytest.raises(PortError):
        g.disconnect(m, "b")


# ------------------------------------------------------------------ one edge per port

@pytest.mark.parametrize("op,x,locals_,grad", [
    ("mul", 3.0, {"a": 3.0, "b": 3.0}, 6.0),           # x·x: 2x
    ("sub", 3.0, {"a": 1.0, "b": -1.0}, 0.0),          # x − x: 0
    ("div", 4.0, {"a": 0.25, "b": -0.25}, 0.0),        # x / x: 1/x and −x/x²
    ("add", 3.0, {"a": 1.0, "b": 1.0}, 2.0),
    ("squared_error", 3.0, {"target": 0.0, "prediction": 0.0}, 0.0),
])
def test_same_node_on_both_ports_gives_two_edges(op: str, x: float, locals_: dict,
                                                 grad: float) -> None:
    g = Graph()
    xi = g.add_node("input", "x", x)
    n = g.add_node(op, "n")
    for port in OPS[op].ports:
        g.connect(xi, n, port)
    assert g.nx.number_of_edges(xi, n) == 2
    assert sorted(p for _, _, p in g.edges()) == sorted(OPS[op].ports)
    r = evaluate(g)
    for port, local in locals_.items():
        e = r.edge(xi, n, port)
        assert math.isclose(e.local, local, rel_tol=1e-15, abs_tol=1e-15)
        assert math.isclose(e.product, local, rel_tol=1e-15, abs_tol=1e-15)
    assert math.isclose(r.grad(xi), grad, rel_tol=1e-15, abs_tol=1e-15)
    assert len(r.edges) == 2


def test_inputs_are_in_port_order() -> None:
    g = Graph()
    x = g.add_node("input", "x", 1.0)
    y = g.add_node("input", "y", 2.0)
    d = g.add_node("div", "d")
    g.connect(y, d, "b")
    g.connect(x, d, "a")
    assert g.inputs(d) == [("a", x), ("b", y)]
    s = g.add_node("sum", "s")
    for i, src in ((10, x), (2, y), (1, x)):
        g.connect(src, s, f"x{i}")
    assert [p for p, _ in g.inputs(s)] == ["x1", "x2", "x10"]
    assert g.ports(s) == ["x1", "x2", "x10", "x11"]


# ------------------------------------------------------------------ ids

def test_ids_are_unique_short_and_not_reused_after_removal() -> None:
    g = Graph()
    ids = [g.add_node("input") for _ in range(5)]
    assert len(set(ids)) == 5
    assert all(i.startswith("n") and i[1:].isdigit() for i in ids)
    g.remove_node(ids[-1])
    g.remove_node(ids[0])
    new = g.add_node("input")
    assert new not in ids
    assert len(set(g.ids())) == len(g) == 4


def test_ids_are_stable_across_other_edits() -> None:
    g, x, a, b = chain()
    g.rename(a, "hidden")
    g.set_value(x, 5.0)
    g.set_pos(b, (10.0, 20.0))
    g.remove_node(b)
    assert g.id_of("hidden") == a and g.id_of("x") == x
    assert g.node(a).name == "hidden" and g.node(x).value == 5.0


def test_explicit_ids_advance_the_counter_and_duplicates_are_refused() -> None:
    g = Graph()
    g.add_node("input", "x", id="n10")
    nxt = g.add_node("input", "y")
    assert nxt != "n10" and int(nxt[1:]) > 10
    with pytest.raises(ValueError):
        g.add_node("input", "z", id="n10")


def test_copy_does_not_share_state_and_keeps_ids() -> None:
    g, x, a, b = chain()
    c = g.copy()
    assert c.ids() == g.ids()
    c.rename(a, "other")
    c.set_value(x, 9.0)
    c.remove_node(b)
    assert g.name_of(a) == "a" and g.node(x).value == 1.0 and b in g
    n1 = g.add_node("input")
    n2 = c.add_node("input")
    assert n1 == n2  # both continue from the same counter
    assert n1 not in (x, a, b)


def test_ids_sort_numerically() -> None:
    g = Graph()
    for _ in range(12):
        g.add_node("input")
    assert g.ids() == [f"n{i}" for i in range(1, 13)]


# ------------------------------------------------------------------ names

def test_default_names_are_unique() -> None:
    g = Graph()
    names = [g.name_of(g.add_node(op)) for op in ("input", "input", "param", "mul", "mul")]
    assert len(set(names)) == 5


def test_duplicate_name_is_refused_on_add_and_rename() -> None:
    g = Graph()
    x = g.add_node("input", "x", 1.0)
    y = g.add_node("input", "y", 1.0)
    with pytest.raises(InvalidNameError):
        g.add_node("param", "x")
    with pytest.raises(InvalidNameError):
        g.rename(y, "x")
    assert g.name_of(y) == "y" and g.id_of("x") == x
    assert len(g) == 2


def test_rename_to_own_name_is_allowed_and_old_name_is_freed() -> None:
    g = Graph()
    x = g.add_node("input", "x", 1.0)
    g.rename(x, "x")
    g.rename(x, "x2")
    assert g.id_of("x") is None and g.id_of("x2") == x
    y = g.add_node("input", "x")
    assert g.id_of("x") == y


@pytest.mark.parametrize("bad", ["", "1x", "a b", "x-y", "w.1", "x'", "for", "lambda",
                                 "None", "True", "import", " x", "x\n"])
def test_non_identifier_and_keyword_names_are_refused(bad: str) -> None:
    g = Graph()
    x = g.add_node("input", "x", 1.0)
    with pytest.raises(InvalidNameError):
        g.rename(x, bad)
    with pytest.raises(InvalidNameError):
        g.add_node("input", bad)
    assert g.name_of(x) == "x" and len(g) == 1


@pytest.mark.parametrize("op", sorted(n for n in OPS if not OPS[n].is_leaf))
def test_op_names_are_refused_as_node_names(op: str) -> None:
    g = Graph()
    x = g.add_node("input", "x", 1.0)
    with pytest.raises(InvalidNameError):
        g.rename(x, op)
    with pytest.raises(InvalidNameError):
        g.add_node("input", op)


@pytest.mark.parametrize("good", ["x", "w1", "y_hat", "_t", "ŷ", "θ", "L", "loss_2"])
def test_identifier_names_are_accepted(good: str) -> None:
    g = Graph()
    x = g.add_node("input", "x0", 1.0)
    g.rename(x, good)
    assert g.id_of(good) == x


# ------------------------------------------------------------------ values and kinds

def test_only_leaves_hold_values_and_switch_kind() -> None:
    g, x, a, b = chain()
    with pytest.raises(ValueError):
        g.set_value(a, 1.0)
    g.set_kind(x, "param")
    assert g.op_of(x) == "param" and g.node(x).value == 1.0
    with pytest.raises(ValueError):
        g.set_kind(x, "mul")
    with pytest.raises(ValueError):
        g.set_kind(a, "input")


def test_unknown_op_is_refused() -> None:
    g = Graph()
    with pytest.raises(KeyError):
        g.add_node("softmax")
    assert len(g) == 0


# ------------------------------------------------------------------ output

def test_marked_output_wins_over_the_sole_sink() -> None:
    g, x, a, b = chain()
    assert g.resolve_output() == b
    g.set_output(a)
    assert g.resolve_output() == a
    r = evaluate(g)
    assert r.output == a
    assert r.grad(a) == 1.0 and r.grad(x) == -1.0
    assert r.grad(b) == 0.0 and not r.nodes[b].on_path
    assert not r.edge(a, b, "x").on_path and r.edge(a, b, "x").product == 0.0


def test_sole_sink_is_the_output() -> None:
    g, x, a, b = chain()
    r = evaluate(g)
    assert r.output == b
    assert math.isclose(r.grad(x), -math.exp(-1.0), rel_tol=1e-15)


def test_ambiguous_output_names_the_candidates() -> None:
    g = Graph()
    x = g.add_node("input", "x", 1.0)
    p = g.add_node("neg", "first")
    q = g.add_node("exp", "second")
    g.connect(x, p, "x")
    g.connect(x, q, "x")
    with pytest.raises(OutputError) as ei:
        g.resolve_output()
    assert sorted(ei.value.candidates) == ["first", "second"]
    assert "first" in str(ei.value) and "second" in str(ei.value)
    with pytest.raises(OutputError):
        evaluate(g)
    r = evaluate(g, allow_no_output=True)
    assert r.output is None and r.output_error is not None
    assert r.value(q) == math.e and r.value(p) == -1.0
    assert all(n.grad == 0.0 and not n.on_path for n in r.nodes.values())
    assert r.edge(x, q, "x").local == math.e


def test_empty_graph_has_no_output() -> None:
    with pytest.raises(OutputError):
        Graph().resolve_output()


def test_removing_the_output_clears_the_mark() -> None:
    g, x, a, b = chain()
    g.set_output(a)
    g.remove_node(a)
    assert g.output is None
    # x and b both feed nothing now, so resolution is ambiguous
    assert sorted(g.sinks()) == sorted([x, b])
    with pytest.raises(OutputError) as ei:
        g.resolve_output()
    assert sorted(ei.value.candidates) == ["b", "x"]


def test_set_output_to_missing_node_is_refused() -> None:
    g, *_ = chain()
    with pytest.raises(KeyError):
        g.set_output("n999")
