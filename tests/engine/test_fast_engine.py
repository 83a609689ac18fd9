"""The fast engine (engine.fast) against the registry and the reference evaluation.

Both strategies (wide: one registry call per group of nodes; deep: a loop over nodes)
call the registry's own functions, on arrays. numpy picks its SIMD kernels per CPU, so
an array call may differ from a scalar call in the last bit on some machines, and such
differences grow along a graph as rounding errors do. What the engine promises, and
what is checked here on random graphs (hypothesis) with fan-out, repeated operands
(x·x, x − x), constants, deep chains, every op, open ports, faults and outputs that
leave part of the graph off the path, is agreement *step by step*: every value, local
derivative, product and gradient the fast engine reports is within 4 units in the last
place (ulp) of what the registry gives, one node at a time on numpy scalars as the
reference does, for the same inputs — NaN where that is NaN, the same infinity. The
structure (order, on-path, constants) must match the reference exactly. A test below
perturbs the wide strategy by a few ulp to show these checks do not depend on bit
equality, and by many to show they can fail. No timings here.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreement import assert_agrees, close_ulp, ordered, ulps
from engine.evaluate import evaluate
from engine.expr import parse
from engine.fast import compile_graph, topological_order, topology_signature
from engine.fast.wide import WideStrategy
from engine.graph import Graph
from engine.ops import OPS

OP_NAMES = [n for n, s in OPS.items() if not s.is_leaf]
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-300, -1e-300, 1e300, -1e300, 710.0,
           -746.0, math.inf, -math.inf, math.nan, 2.0, -3.0, 1e-8]
EXPONENTS = [2.0, 3.0, 0.5, -1.0, 0.0, 1.0, 1.5, -2.0]
MODES = ["wide", "deep"]





def test_ulp_distance_itself() -> None:
    assert ulps(1.0, 1.0) == 0 and ulps(0.0, -0.0) == 0 and ulps(math.nan, math.nan) == 0
    assert ulps(1.0, np.nextafter(1.0, 2.0)) == 1
    assert ulps(-1e-320, 1e-320) == 2 * ordered(1e-320)  # across zero: the gap counts
    assert ulps(math.inf, 1e308) == math.inf and ulps(math.nan, 0.0) == math.inf
    assert not close_ulp(1.0, 1.0 + 2 ** -49)  # 8 ulp


# --------------------------------------------------------------------- random graphs

@st.composite
def graphs(draw, max_ops: int = 40):
    """A random DAG: leaves with ordinary and special values, op nodes whose operands are
    drawn from earlier nodes (fan-out and repeats), sometimes a port left open, an output
    that may be an inner node, and sometimes a chain tail to make the graph deep."""
    g = Graph()
    nodes: list[str] = []
    n_leaves = draw(st.integers(1, 6))
    values = st.one_of(st.floats(-5, 5, allow_nan=False), st.sampled_from(SPECIAL))
    for _ in range(n_leaves):
        kind = draw(st.sampled_from(["input", "param", "const"]))
        nodes.append(g.add_node(kind, value=draw(values)))
    n_ops = draw(st.integers(1, max_ops))
    for _ in range(n_ops):
        op = draw(st.sampled_from(OP_NAMES))
        spec = OPS[op]
        attrs = {a: draw(st.sampled_from(EXPONENTS)) for a in spec.attr_names}
        nid = g.add_node(op, attrs=attrs)
        if spec.variadic:
            ports = [f"x{i + 1}" for i in range(draw(st.integers(0, 4)))]
        else:
            ports = list(spec.ports)
        for port in ports:
            if not spec.variadic and draw(st.integers(0, 30)) == 0:
                continue  # an unconnected port: the reference's NaN with a reason
            # mostly recent nodes (depth), sometimes any earlier node (fan-out)
            if draw(st.booleans()):
                src = nodes[-1 - draw(st.integers(0, min(2, len(nodes) - 1)))]
            else:
                src = draw(st.sampled_from(nodes))
            g.connect_trusted(src, nid, port)
        nodes.append(nid)
    if draw(st.booleans()):  # a deep tail
        for _ in range(draw(st.integers(1, 30))):
            op = draw(st.sampled_from(["tanh", "mul", "add", "sigmoid", "sin", "power"]))
            nid = g.add_node(op, attrs={"exponent": 2.0} if op == "power" else None)
            if op in ("mul", "add"):
                g.connect_trusted(nodes[-1], nid, "a")
                g.connect_trusted(draw(st.sampled_from(nodes)), nid, "b")
            else:
                g.connect_trusted(nodes[-1], nid, "x")
            nodes.append(nid)
    choice = draw(st.integers(0, 3))
    if choice == 0:
        g.set_output(draw(st.sampled_from(nodes)))
    elif choice == 1:
        g.set_output(nodes[-1])
    # else: no output marked (sole sink, or an output error with zero gradients)
    return g


#: CRS_EXAMPLES=2000 for a longer hunt; the default keeps the suite fast
SETTINGS = settings(max_examples=int(os.environ.get("CRS_EXAMPLES", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("mode", MODES)
@SETTINGS
@given(g=graphs())
def test_fast_engine_agrees_with_registry_step_by_step(mode: str, g: Graph) -> None:
    ref = evaluate(g, allow_no_output=True)
    assert_agrees(g, compile_graph(g, mode=mode).evaluate(), ref)


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=1500, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(g=graphs(max_ops=60))
def test_fast_engine_agrees_on_a_long_hunt(mode: str, g: Graph) -> None:
    """The same check over many more and larger graphs (slow)."""
    assert_agrees(g, compile_graph(g, mode=mode).evaluate(), evaluate(g, allow_no_output=True))


@pytest.mark.parametrize("mode", MODES)
@SETTINGS
@given(g=graphs(max_ops=25), data=st.data())
def test_update_leaf_agrees_after_each_change(mode: str, g: Graph, data) -> None:
    plan = compile_graph(g, mode=mode)
    plan.evaluate()
    for _ in range(3):
        leaf = data.draw(st.sampled_from(plan.leaves))
        v = data.draw(st.one_of(st.floats(-5, 5, allow_nan=False), st.sampled_from(SPECIAL)))
        res = plan.update_leaf(leaf, v)
        g.set_value(leaf, v)
        assert_agrees(g, res, evaluate(g, allow_no_output=True))


# ------------------------------------------------------- the check depends on no bit

def _perturbed(monkeypatch, n_ulp: int) -> None:
    """Make the wide strategy's values n ulp larger than the registry gives, as another
    CPU's SIMD kernels might."""
    original = WideStrategy._eval_group

    def nudged(self, g, sel=None):
        original(self, g, sel)
        s = slice(g.start, g.start + g.n) if sel is None else g.start + sel
        v = self.vals[s]
        for _ in range(n_ulp):
            v = np.nextafter(v, np.inf)
        self.vals[s] = v

    monkeypatch.setattr(WideStrategy, "_eval_group", nudged)


def _wide_sample() -> Graph:
    g = parse("h = tanh(w1*x + b); yhat = sigmoid(w2*h); L = (y - yhat)**2 + exp(h)/3",
              params=["w1", "w2", "b"])
    for name, v in dict(x=0.7, y=1.0, w1=0.4, w2=-1.3, b=0.2).items():
        g.set_value(g.id_of(name), v)
    return g


def test_agreement_tolerates_last_bit_differences(monkeypatch) -> None:
    g = _wide_sample()
    _perturbed(monkeypatch, 2)
    res = compile_graph(g, mode="wide").evaluate()
    ref = evaluate(g)
    assert any(res.value(n) != ref.value(n) for n in g.ids())  # the nudge took effect
    assert_agrees(g, res, ref)


def test_agreement_check_fails_on_a_real_difference(monkeypatch) -> None:
    g = _wide_sample()
    _perturbed(monkeypatch, 64)
    with pytest.raises(AssertionError):
        assert_agrees(g, compile_graph(g, mode="wide").evaluate(), evaluate(g))


# ----------------------------------------------------------- arrays against scalars

def _inputs(op: str, rng: np.random.Generator) -> list[np.ndarray]:
    k = 3 if OPS[op].variadic else len(OPS[op].ports)
    cols = [np.concatenate([rng.choice(SPECIAL, 300), rng.normal(0, 4, 600),
                            rng.uniform(-800, 800, 200)]) for _ in range(k)]
    return cols


@pytest.mark.parametrize("op", OP_NAMES)
def test_registry_on_arrays_agrees_with_registry_on_scalars(op: str) -> None:
    """The wide strategy's call (a 1-d array per port) against the reference's (numpy
    scalars, one node at a time), on random and special inputs: within 4 ulp."""
    spec = OPS[op]
    rng = np.random.default_rng(7)
    cols = _inputs(op, rng)
    n = len(cols[0])
    attrs = {a: rng.choice(EXPONENTS, n) for a in spec.attr_names}
    with np.errstate(all="ignore"):
        out = spec.value(cols, attrs)
        locs = spec.locals(out, cols, attrs)
        for j in range(n):
            xs = [np.float64(c[j]) for c in cols]
            at = {a: np.float64(v[j]) for a, v in attrs.items()}
            o = spec.value(xs, at)
            assert close_ulp(out[j], o), (op, xs, at, out[j], o)
            for p, v in enumerate(spec.locals(o, xs, at)):
                assert close_ulp(locs[p][j], v), (op, xs, at, p, locs[p][j], v)


# ------------------------------------------------------------------ worked examples

@pytest.mark.parametrize("mode", MODES)
def test_tutorial_two_layer_net(mode: str) -> None:
    """The tutorial's numbers: x=2, y=1, w1=0.5, w2=0.3 → L=0.49, dL/dw1=−0.84."""
    g = parse("squared_error(y, w2 * (w1 * x))", params=["w1", "w2"])
    for name, v in {"x": 2.0, "y": 1.0, "w1": 0.5, "w2": 0.3}.items():
        g.set_value(g.id_of(name), v)
    res = compile_graph(g, mode=mode).evaluate()
    out = res.plan.output
    assert math.isclose(res.value(out), 0.49, rel_tol=1e-12)
    assert math.isclose(res.grad(g.id_of("w1")), -0.84, rel_tol=1e-12)
    assert math.isclose(res.grad(g.id_of("w2")), -1.4, rel_tol=1e-12)
    h = [t for (s, t, p) in res.plan.edge_keys if s == g.id_of("w1")][0]
    local, product = res.edge(g.id_of("w1"), h, "a")
    assert math.isclose(local, 2.0) and math.isclose(product, -0.84, rel_tol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_constants_have_no_gradient(mode: str) -> None:
    """(y − ŷ)² with ŷ = 0.3, y = 1, written with a number as the exponent and a
    constant factor: the constant shows no gradient and its edge no numbers, and the
    result is the tutorial's −1.4."""
    g = parse("L = 3 * (y - yhat)**2 / 3")
    for name, v in {"y": 1.0, "yhat": 0.3}.items():
        g.set_value(g.id_of(name), v)
    res = compile_graph(g, mode=mode).evaluate()
    assert math.isclose(res.grad(g.id_of("yhat")), -1.4, rel_tol=1e-12)
    consts = [n for n in g.ids() if g.op_of(n) == "const"]
    assert len(consts) == 2
    for c in consts:
        assert res.grad(c) is None
        for _, d, k in g.nx.out_edges(c, keys=True):
            assert res.edge(c, d, k) == (None, None)
    assert res.all_finite()
    r = res.to_result(g)
    assert all(r.nodes[c].grad is None and r.nodes[c].grad_reason == "constant"
               for c in consts)


@pytest.mark.parametrize("mode", MODES)
def test_faults_and_to_result(mode: str) -> None:
    """log of a negative is NaN in the same places, and to_result carries the reasons."""
    g = parse("log(a) + b * b", params=["a", "b"])
    g.set_value(g.id_of("a"), -1.0)
    g.set_value(g.id_of("b"), 3.0)
    ref = evaluate(g)
    res = compile_graph(g, mode=mode).evaluate()
    assert_agrees(g, res, ref)
    assert math.isnan(res.value(res.plan.output))
    r = res.to_result(g)
    assert r.nodes[r.output].reason == ref.nodes[ref.output].reason
    assert "log is undefined for −1" in r.nodes[r.output].reason
    g.set_value(g.id_of("a"), 2.0)
    res = compile_graph(g, mode=mode).evaluate()
    r = res.to_result(g)
    ref = evaluate(g)
    assert r.order == ref.order and r.output == ref.output
    for nid, nr in ref.nodes.items():
        assert r.nodes[nid].on_path == nr.on_path
        assert close_ulp(r.nodes[nid].value, nr.value) and close_ulp(r.nodes[nid].grad, nr.grad)
    for k, er in ref.edges.items():
        assert r.edges[k].on_path == er.on_path
        assert close_ulp(r.edges[k].local, er.local)
        assert close_ulp(r.edges[k].product, er.product)


def test_auto_mode_picks_deep_for_chains_and_wide_for_wide_graphs() -> None:
    chain = Graph()
    prev = chain.add_node("input", value=0.3)
    for _ in range(300):
        nid = chain.add_node("tanh")
        chain.connect_trusted(prev, nid, "x")
        prev = nid
    assert compile_graph(chain).mode == "deep"
    wide = Graph()
    xs = [wide.add_node("input", value=0.1 * i) for i in range(2000)]
    s = wide.add_node("sum")
    for i, x in enumerate(xs):
        t = wide.add_node("tanh")
        wide.connect_trusted(x, t, "x")
        wide.connect_trusted(t, s, f"x{i + 1}")
    plan = compile_graph(wide)
    assert plan.mode == "wide"
    assert_agrees(wide, plan.evaluate(), evaluate(wide))


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        compile_graph(parse("y = 2 * x"), mode="numpy")


def test_topology_signature_sees_structure_constants_and_exponents_not_values() -> None:
    g = parse("y = a * b + c ** 2")
    sig = topology_signature(g)
    g.set_value(g.id_of("a"), 5.0)
    g.set_kind(g.id_of("a"), "param")  # input ↔ param: both vary, same plan
    assert topology_signature(g) == sig
    g.set_kind(g.id_of("b"), "const")  # a constant has no gradient: another plan
    assert topology_signature(g) != sig
    g.set_kind(g.id_of("b"), "input")
    g.set_attr(next(n for n in g.ids() if g.op_of(n) == "power"), "exponent", 3.0)
    assert topology_signature(g) != sig
    g2 = parse("y = a * b + c ** 2")
    g2.set_output(g2.id_of("a"))
    assert topology_signature(g2) != sig


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60))
def test_topological_order_matches_reference_with_shuffled_ids(seed: int, n: int) -> None:
    """The plan's order (used for the accumulation order) is the reference's: smallest
    ready id first, also when ids were not created in topological order."""
    import random

    rnd = random.Random(seed)
    g = Graph()
    ids = [f"n{i}" for i in range(1, n + 1)]
    rnd.shuffle(ids)
    made: list[str] = []
    for j, nid in enumerate(ids):
        if j < 3:
            made.append(g.add_node("input", value=float(j), id=nid))
            continue
        made.append(g.add_node("mul", id=nid))
        g.connect_trusted(rnd.choice(made[:-1]), nid, "a")
        g.connect_trusted(rnd.choice(made[:-1]), nid, "b")
    assert topological_order(g) == g.topological_order()
    g.set_output(made[-1])
    for mode in MODES:
        assert_agrees(g, compile_graph(g, mode=mode).evaluate(), evaluate(g))
