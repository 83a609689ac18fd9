"""Gradient check at the cost of the leaves' cones, its refusals and notes, and training
that stops before a param leaves the finite numbers.

Expected values come from the registry applied node by node (``agreement``), from the
reference evaluation (``engine.evaluate``) or from the arithmetic of the update rule."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreement import _scalar_step, assert_agrees, close_ulp
from engine import train
from engine.check import gradient_check
from engine.evaluate import evaluate
from engine.expr import parse
from engine.fast import compile_graph
from engine.fast.deep import DeepStrategy
from engine.fast.wide import WideStrategy
from engine.graph import Graph
from engine.ops import OPS
from test_fast_engine import SPECIAL, graphs

MODES = ["wide", "deep"]
values = st.one_of(st.floats(-5, 5, allow_nan=False), st.sampled_from(SPECIAL))


def _values_follow_the_registry(g: Graph, plan, leaf_values: dict[str, float]) -> None:
    """Every value the plan holds is the registry's function of the values it holds for
    that node's inputs (within MAX_ULP), and every leaf holds what it was given."""
    for nid in plan.ids:
        spec = OPS[g.op_of(nid)]
        v = plan.value_of(nid)
        if spec.is_leaf:
            want = leaf_values.get(nid, g.node(nid).value)
            assert v == want or (math.isnan(v) and math.isnan(want)), nid
            continue
        ins = g.inputs(nid)
        if not spec.variadic and len(ins) < len(spec.ports):
            assert math.isnan(v)
            continue
        want, _ = _scalar_step(g, nid, v, [plan.value_of(s) for _, s in ins])
        assert close_ulp(v, want), (nid, g.op_of(nid), v, want)


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(g=graphs(max_ops=25), data=st.data())
def test_nudge_leaf_recomputes_every_value_downstream(mode: str, g: Graph, data) -> None:
    plan = compile_graph(g, mode=mode)
    plan.evaluate()
    given_values: dict[str, float] = {}
    for _ in range(4):
        leaf = data.draw(st.sampled_from(plan.leaves))
        v = data.draw(values)
        plan.nudge_leaf(leaf, v)
        given_values[leaf] = v
        _values_follow_the_registry(g, plan, given_values)
    # derivatives were not kept up to date by the nudges: the next update_leaf must
    # still give every number right
    leaf = data.draw(st.sampled_from(plan.leaves))
    v = data.draw(values)
    res = plan.update_leaf(leaf, v)
    given_values[leaf] = v
    for nid, x in given_values.items():
        g.set_value(nid, x)
    assert_agrees(g, res, evaluate(g, allow_no_output=True))


@pytest.mark.parametrize("mode", MODES)
def test_nudge_before_any_evaluation_starts_from_a_full_forward(mode: str) -> None:
    g = parse("x = 2; y = 3; a = x*y; b = sin(y); L = a + b")
    plan = compile_graph(g, mode=mode)
    plan.nudge_leaf(g.id_of("x"), 5.0)
    assert plan.value_of(g.id_of("L")) == 5.0 * 3.0 + math.sin(3.0)


@pytest.mark.parametrize("mode", MODES)
def test_a_check_runs_one_backward_pass_however_many_leaves(mode: str, monkeypatch) -> None:
    """Nudges recompute forward values only; the one backward pass is the base one."""
    strategy = WideStrategy if mode == "wide" else DeepStrategy
    calls = {"backward": 0, "forward": 0}
    for name in calls:
        original = getattr(strategy, name)

        def counted(self, _original=original, _name=name):
            calls[_name] += 1
            return _original(self)

        monkeypatch.setattr(strategy, name, counted)
    text = "; ".join(f"t{i} = tanh(w{i}*x{i})" for i in range(30))
    g = parse(text + "; L = sum(" + ", ".join(f"t{i}" for i in range(30)) + ")",
              params=[f"w{i}" for i in range(30)])
    import engine.check
    monkeypatch.setattr(engine.check, "compile_graph",
                        lambda graph: compile_graph(graph, mode=mode))
    rows = gradient_check(g)
    assert len(rows) == 60 and all(r.status == "ok" for r in rows)
    assert calls == {"backward": 1, "forward": 1}


def test_a_tolerance_that_is_nan_or_negative_is_refused() -> None:
    g = parse("x = 1; y = 2*x")
    for bad in (math.nan, -1e-9, -math.inf):
        with pytest.raises(ValueError):
            gradient_check(g, bad)
    assert len(gradient_check(g, 0.0)) == 1  # zero is a tolerance: nothing is let through
    assert gradient_check(g, math.inf)[0].status == "ok"


def test_progress_is_reported_and_can_stop_the_check() -> None:
    g = parse("a = 1; b = 2; c = 3; d = 4; L = a*b + c*d")
    seen: list[tuple[int, int]] = []
    rows = gradient_check(g, progress=lambda done, total: seen.append((done, total)) or True)
    assert len(rows) == 4 and seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    rows = gradient_check(g, progress=lambda done, total: done < 2)
    assert [r.name for r in rows] == ["a", "b"]
    assert gradient_check(g, progress=lambda done, total: False) == []


def test_an_underflowed_gradient_says_where() -> None:
    # σ′ ≤ 1/4 at every node, so ∂L/∂x ≤ 4^−1000 ≈ 1e−602: far below the smallest double
    g = Graph()
    a = g.add_node("input", "x", 0.5)
    for i in range(1000):
        b = g.add_node("sigmoid", f"s{i}")
        g.connect(a, b, "x")
        a = b
    g.set_output(a)
    (row,) = gradient_check(g)
    assert row.analytic == 0.0 and row.status == "ok"
    assert "underflowed at node s" in row.note, row.note
    where = row.note.split("underflowed at node ")[1].split(":")[0]
    ref = evaluate(g)
    src = g.id_of(where)
    (tgt, port), = g.consumers(src)
    edge = ref.edge(src, tgt, port)
    # the named node is where the product of nonzero numbers rounded to 0
    assert ref.grad(src) == 0.0 and ref.grad(tgt) != 0.0 and edge.local != 0.0
    assert edge.product == 0.0
    assert g.name_of(tgt) in row.note and row.note.startswith(f"∂{g.name_of(a)}/∂x is 0")


def test_a_gradient_that_is_truly_zero_has_no_underflow_note() -> None:
    rows = gradient_check(parse("x = -1; c = const(0); L = relu(x) + x*c"))
    (row,) = [r for r in rows if r.name == "x"]
    assert row.analytic == 0.0 and "underflow" not in row.note


def _quadratic() -> Graph:
    return parse("x = 3; y = 6; w = param(1); L = (y - w*x)**2")


def test_a_step_that_would_make_a_param_infinite_is_refused_and_changes_nothing() -> None:
    g = _quadratic()
    with pytest.raises(train.DivergedError) as ei:
        train.step(g, 1e308)  # w − η·(−18) = 1.8e309: beyond the doubles
    assert ei.value.name == "w" and "w would become ∞" in str(ei.value)
    assert isinstance(ei.value, train.TrainingError)
    assert g.node(g.id_of("w")).value == 1.0


def test_diverging_training_stops_at_the_last_finite_values() -> None:
    # L = w·x with x = 3: ∂L/∂w = 3, so at η = 1e307 each step takes 3e307 off w;
    # w = 1 − 6·3e307 = −1.8e308 is past the largest double (≈ 1.797e308): step 6 of 1…6
    g = parse("x = 3; w = param(1); L = w*x")
    w = g.id_of("w")
    done = 0
    with pytest.raises(train.DivergedError) as ei:
        for _ in range(100):
            train.step(g, 1e307)
            done += 1
    assert done == 5 and ei.value.name == "w"
    assert math.isclose(g.node(w).value, 1 - 5 * 3e307, rel_tol=1e-12)


def test_a_gradient_that_overflows_stops_training_without_changing_params() -> None:
    # exp′(710) = e^710 ≈ 2.2e308 is past the largest double
    g = parse("w = param(710); L = exp(w)")
    with pytest.raises(train.TrainingError):
        train.step(g, 0.1)
    assert g.node(g.id_of("w")).value == 710.0
