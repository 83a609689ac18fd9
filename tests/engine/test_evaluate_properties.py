"""Property tests: backpropagation over random DAGs against finite differences.

Each random DAG is generated together with its own reference evaluation (``math`` only,
see ``_engine_helpers.REFERENCE``), so the expected gradients come from central finite
differences of an evaluator that shares no code with the engine. The generator keeps
every intermediate value inside its op's smooth domain (away from kinks and poles) and
bounds how sensitive each node is to the leaves, so finite differences stay accurate.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _engine_helpers import REFERENCE, central_diff
from engine.evaluate import evaluate
from engine.graph import Graph

VALUE_BOUND = 20.0      # |value| of every node (keeps the x·0.01 fallback under the bound)
SENSITIVITY_BOUND = 50.0  # an upper bound of Σ|∂node/∂leaf| over leaves
MARGIN = 0.25           # distance from poles, kinks and domain edges

UNARY = ["neg", "square", "exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu"]
BINARY = ["add", "sub", "mul", "div", "pow", "squared_error"]


@dataclass
class RefNode:
    op: str
    inputs: list[tuple[str, int]] = field(default_factory=list)  # (port, index)
    value: float = 0.0  # leaf value


@dataclass
class RefDag:
    nodes: list[RefNode]
    output: int

    def values(self, leaf_values: dict[int, float] | None = None) -> list[float]:
        vals: list[float] = []
        for i, n in enumerate(self.nodes):
            if n.op in ("input", "param", "const"):
                vals.append(leaf_values.get(i, n.value) if leaf_values else n.value)
            elif n.op == "sum":
                vals.append(math.fsum(vals[j] for _, j in n.inputs))
            else:
                f, ports = REFERENCE[n.op]
                by_port = dict(n.inputs)
                vals.append(f(*[vals[by_port[p]] for p in ports]))
        return vals

    def leaves(self) -> list[int]:
        return [i for i, n in enumerate(self.nodes) if n.op in ("input", "param", "const")]

    def variables(self) -> set[int]:
        """Nodes that depend on an input or a param (constants have no gradient)."""
        var: set[int] = set()
        for i, n in enumerate(self.nodes):
            if n.op in ("input", "param") or any(j in var for _, j in n.inputs):
                var.add(i)
        return var

    def ancestors_of_output(self) -> set[int]:
        seen = {self.output}
        stack = [self.output]
        while stack:
            for _, j in self.nodes[stack.pop()].inputs:
                if j not in seen:
                    seen.add(j)
                    stack.append(j)
        return seen

    def to_graph(self) -> tuple[Graph, list[str]]:
        g = Graph()
        ids: list[str] = []
        for i, n in enumerate(self.nodes):
            nid = g.add_node(n.op, name=f"v{i}", value=n.value)
            ids.append(nid)
            for port, j in n.inputs:
                g.connect(ids[j], nid, port)
        g.set_output(ids[self.output])
        return g, ids


def _domain_ok(op: str, args: list[float]) -> bool:
    if op in ("log", "sqrt"):
        return args[0] > MARGIN
    if op in ("abs", "relu"):
        return abs(args[0]) > MARGIN
    if op == "exp":
        return args[0] < 3.5
    if op == "div":
        return abs(args[1]) > MARGIN
    if op == "pow":
        return args[0] > MARGIN and abs(args[1]) < 3.0
    return True


def _local_abs(op: str, args: list[float]) -> list[float]:
    """|∂op/∂port| by finite differences of the math reference (for the sensitivity bound)."""
    if op == "sum":
        return [1.0] * len(args)
    f, _ = REFERENCE[op]
    return [abs(central_diff(f, args, i)) for i in range(len(args))]


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[RefNode] = []
        self.vals: list[float] = []
        self.sens: list[float] = []

    def leaf(self, kind: str, value: float) -> int:
        self.nodes.append(RefNode(kind, value=value))
        self.vals.append(value)
        self.sens.append(1.0)
        return len(self.nodes) - 1

    def try_op(self, op: str, operands: list[int]) -> int | None:
        """Add op over operands if it stays smooth and well conditioned, else None."""
        if op == "sum":
            ports = [f"x{k + 1}" for k in range(len(operands))]
            args = [self.vals[j] for j in operands]
            value = math.fsum(args)
        else:
            f, ports = REFERENCE[op]
            args = [self.vals[j] for j in operands]
            if not _domain_ok(op, args):
                return None
            try:
                value = f(*args)
            except (OverflowError, ValueError, ZeroDivisionError):
                return None
        if not math.isfinite(value) or abs(value) > VALUE_BOUND:
            return None
        sens = sum(d * self.sens[j] for d, j in zip(_local_abs(op, args), operands))
        if not math.isfinite(sens) or sens > SENSITIVITY_BOUND:
            return None
        self.nodes.append(RefNode(op, list(zip(ports, operands))))
        self.vals.append(value)
        self.sens.append(sens)
        return len(self.nodes) - 1

    def shrink(self, j: int) -> int:
        """Fallback that always succeeds: j · 0.01 (a fresh const leaf)."""
        c = self.leaf("const", 0.01)
        out = self.try_op("mul", [j, c])
        assert out is not None
        return out


leaf_values = st.floats(-2.0, 2.0, allow_nan=False).map(lambda v: round(v, 6))


@st.composite
def dags(draw, min_ops: int = 1, max_ops: int = 12, deep: bool = False) -> RefDag:
    b = _Builder()
    n_leaves = draw(st.integers(1, 4))
    for _ in range(n_leaves):
        b.leaf(draw(st.sampled_from(["input", "param", "const"])), draw(leaf_values))
    n_ops = draw(st.integers(min_ops, max_ops))
    last = len(b.nodes) - 1
    for _ in range(n_ops):
        kind = draw(st.sampled_from(["unary", "binary", "sum"]))
        pick_any = st.integers(0, len(b.nodes) - 1)
        # deep chains always extend the latest node; otherwise any node (fan-out)
        first = last if deep or draw(st.booleans()) else draw(pick_any)
        if kind == "unary":
            op = draw(st.sampled_from(UNARY))
            operands = [first]
        elif kind == "binary":
            op = draw(st.sampled_from(BINARY))
            second = first if draw(st.integers(0, 4)) == 0 else draw(pick_any)  # repeats
            operands = [first, second] if draw(st.booleans()) else [second, first]
        else:
            op = "sum"
            k = draw(st.integers(1, 5))
            operands = [first] + [draw(pick_any) for _ in range(k - 1)]
        idx = b.try_op(op, operands)
        last = idx if idx is not None else b.shrink(first)
    op_nodes = [i for i, n in enumerate(b.nodes) if n.op not in ("input", "param", "const")]
    output = last if deep or draw(st.booleans()) else draw(st.sampled_from(op_nodes))
    return RefDag(b.nodes, output)


def _fd_grad(dag: RefDag, leaf: int) -> float:
    """Central difference with one Richardson step (error O(h⁴))."""
    x = dag.nodes[leaf].value

    def f(v: float) -> float:
        return dag.values({leaf: v})[dag.output]

    h = 1e-4 * max(1.0, abs(x))
    d1 = (f(x + h) - f(x - h)) / (2 * h)
    d2 = (f(x + h / 2) - f(x - h / 2)) / h
    return (4 * d2 - d1) / 3


def _check(dag: RefDag) -> None:
    g, ids = dag.to_graph()
    ref_vals = dag.values()
    r = evaluate(g)
    scale = 1.0 + max(abs(v) for v in ref_vals)

    # values match the math reference
    for i, nid in enumerate(ids):
        assert math.isclose(r.value(nid), ref_vals[i], rel_tol=1e-9, abs_tol=1e-12), i
        assert r.nodes[nid].reason is None

    # every input's and param's gradient matches finite differences; constants have none
    variables = dag.variables()
    for i in dag.leaves():
        got = r.grad(ids[i])
        if i not in variables:
            assert got is None and r.nodes[ids[i]].grad_reason == "constant"
            continue
        fd = _fd_grad(dag, i)
        assert math.isclose(got, fd, rel_tol=1e-5, abs_tol=1e-6 * scale), (i, got, fd)

    on_path = dag.ancestors_of_output()
    out = ids[dag.output]
    assert r.output == out and r.grad(out) == (1.0 if dag.output in variables else None)
    for i, nid in enumerate(ids):
        nr = r.nodes[nid]
        if i not in variables:
            assert nr.grad is None and nr.on_path == (i in on_path)
            for _, d, k in g.nx.out_edges(nid, keys=True):
                e = r.edge(nid, d, k)
                assert e.local is None and e.product is None and e.reason == "constant"
            continue
        if i not in on_path:
            # does not reach the output: no gradient, off the path
            assert nr.grad == 0.0 and nr.on_path is False
            for _, d, k in g.nx.out_edges(nid, keys=True):
                assert r.edge(nid, d, k).product == 0.0 and not r.edge(nid, d, k).on_path
            continue
        assert nr.on_path is True
        if nid == out:
            continue
        products = [r.edge(nid, d, k).product for _, d, k in g.nx.out_edges(nid, keys=True)
                    if r.nodes[d].on_path]
        assert math.isclose(nr.grad, math.fsum(products), rel_tol=1e-12,
                            abs_tol=1e-12 * (1.0 + sum(abs(p) for p in products)))

    # every edge: local = ∂target/∂source (FD of the op), product = grad[target] × local
    for i, n in enumerate(dag.nodes):
        if not n.inputs:
            continue
        args = [ref_vals[j] for _, j in n.inputs]
        for k, (port, j) in enumerate(n.inputs):
            e = r.edge(ids[j], ids[i], port)
            if j not in variables:
                continue  # checked above: no numbers on an edge leaving a constant
            if n.op == "sum":
                expected_local = 1.0
            else:
                f, ports = REFERENCE[n.op]
                ordered = [ref_vals[dict(n.inputs)[p]] for p in ports]
                expected_local = central_diff(f, ordered, ports.index(port))
            assert math.isclose(e.local, expected_local, rel_tol=1e-5, abs_tol=1e-6), (n.op, port)
            assert e.product == r.grad(ids[i]) * e.local
            assert e.on_path == (i in on_path)
    assert len(r.edges) == sum(len(n.inputs) for n in dag.nodes)

    # evaluating twice gives identical numbers
    r2 = evaluate(g)
    assert r2.nodes == r.nodes and r2.edges == r.edges and r2.order == r.order


_SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                         HealthCheck.data_too_large])


@settings(max_examples=80, **_SETTINGS)
@given(dags())
def test_random_dags_backprop_matches_finite_differences(dag: RefDag) -> None:
    _check(dag)


@settings(max_examples=12, **_SETTINGS)
@given(dags(min_ops=50, max_ops=300, deep=True))
def test_deep_random_chains_backprop_matches_finite_differences(dag: RefDag) -> None:
    _check(dag)


def test_generator_produces_repeated_operands_fan_out_and_sums() -> None:
    """Guard against a generator that silently stops covering the interesting cases."""
    seen = {"repeat": False, "fanout": False, "sum3": False, "offpath": False}

    @settings(max_examples=200, database=None, **_SETTINGS)
    @given(dags())
    def probe(dag: RefDag) -> None:
        uses: dict[int, int] = {}
        for n in dag.nodes:
            srcs = [j for _, j in n.inputs]
            if len(srcs) != len(set(srcs)):
                seen["repeat"] = True
            if n.op == "sum" and len(srcs) >= 3:
                seen["sum3"] = True
            for j in set(srcs):
                uses[j] = uses.get(j, 0) + 1
        if any(c > 1 for c in uses.values()):
            seen["fanout"] = True
        if len(dag.ancestors_of_output()) < len(dag.nodes):
            seen["offpath"] = True

    probe()
    assert all(seen.values()), seen


def test_tutorial_two_layer_network_by_hand() -> None:
    g = Graph()
    x = g.add_node("input", "x", 2.0)
    y = g.add_node("input", "y", 1.0)
    w1 = g.add_node("param", "w1", 0.5)
    w2 = g.add_node("param", "w2", 0.3)
    h = g.add_node("mul", "h")
    yhat = g.add_node("mul", "yhat")
    L = g.add_node("squared_error", "L")
    g.connect(w1, h, "a")
    g.connect(x, h, "b")
    g.connect(w2, yhat, "a")
    g.connect(h, yhat, "b")
    g.connect(y, L, "target")
    g.connect(yhat, L, "prediction")
    r = evaluate(g)
    iso = lambda a, b: math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)  # noqa: E731
    assert iso(r.value(h), 1.0) and iso(r.value(yhat), 0.3) and iso(r.value(L), 0.49)
    assert iso(r.grad(yhat), -1.4) and iso(r.grad(h), -0.42)
    assert iso(r.grad(w1), -0.84) and iso(r.grad(w2), -1.4)
    e = r.edge(w1, h, "a")
    assert iso(e.local, 2.0) and iso(e.product, -0.84)
    assert r.backward_order[0] == L


def test_tutorial_composed_square() -> None:
    # y = (2x)² at x = 3: dy/dx = 24
    g = Graph()
    x = g.add_node("input", "x", 3.0)
    two = g.add_node("const", "c", 2.0)
    u = g.add_node("mul", "u")
    y = g.add_node("square", "y")
    g.connect(two, u, "a")
    g.connect(x, u, "b")
    g.connect(u, y, "x")
    r = evaluate(g)
    assert r.value(y) == 36.0 and r.grad(x) == 24.0 and r.grad(u) == 12.0


def _deep_chain(op: str, depth: int, x0: float) -> tuple[Graph, str, str]:
    g = Graph()
    x = g.add_node("input", "x", x0)
    prev = x
    for i in range(depth):
        n = g.add_node(op, name=f"v{i}")
        g.connect(prev, n, "x")
        prev = n
    return g, x, prev


def test_5000_deep_chain_evaluates_without_recursion_error() -> None:
    depth = 5000
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        g, x, out = _deep_chain("neg", depth, 1.25)
        r = evaluate(g)
        assert r.value(out) == 1.25 and r.grad(x) == 1.0  # (−1)^5000
        assert sum(1 for n in r.nodes.values() if n.on_path) == depth + 1

        g, x, out = _deep_chain("sin", depth, 0.7)
        r = evaluate(g)
        v, d = 0.7, 1.0
        for _ in range(depth):
            d *= math.cos(v)
            v = math.sin(v)
        assert math.isclose(r.value(out), v, rel_tol=1e-9)
        assert math.isclose(r.grad(x), d, rel_tol=1e-6)
    finally:
        sys.setrecursionlimit(old)
