"""Step-through passes: the engine's orders, the tutorial's numbers, running sums.

Expected numbers are the tutorial's hand calculation (Section 6: x = 2, y = 1,
w₁ = 0.5, w₂ = 0.3) or plain ``math``; orders are checked against the edges.
"""

from __future__ import annotations

import math
import random
import unicodedata
from pathlib import Path

import pytest

from engine import evaluate, fileformat
from engine.expr import parse
from engine.graph import Graph
from engine.labels import local_formula
from engine.ops import OPS
from engine.passes import BACKWARD, FORWARD, Pass

TWO_LAYER = Path(__file__).resolve().parents[2] / "assets" / "examples" / "two_layer.json"

# the tutorial's hand calculation
X, Y, W1, W2 = 2.0, 1.0, 0.5, 0.3
H = W1 * X                      # 1.0
YHAT = W2 * H                   # 0.3
LOSS = (Y - YHAT) ** 2          # 0.49
D_YHAT = -2 * (Y - YHAT)        # −1.4
D_H = D_YHAT * W2               # −0.42
D_W1 = D_H * X                  # −0.84
D_W2 = D_YHAT * H               # −1.4


@pytest.fixture
def two_layer():
    g = fileformat.load(str(TWO_LAYER))
    return g, evaluate(g)


def nfc(text: str) -> str:
    """``ŷ`` is drawn as y + a combining hat; compare with the tutorial's precomposed ŷ."""
    return unicodedata.normalize("NFC", text)


def by_name(g: Graph) -> dict[str, str]:
    return {g.name_of(n): n for n in g.ids()}


def test_backward_steps_follow_the_tutorial_leg_by_leg(two_layer) -> None:
    g, r = two_layer
    ids = by_name(g)
    p = Pass(g, r, BACKWARD)
    steps = p.steps()
    order = [g.name_of(s.node) for s in steps]
    # the tutorial's relay: ŷ first, then h, then w₁ (other nodes in between are fine)
    assert order.index("L") == 0
    assert order.index("yhat") < order.index("h") < order.index("w1")
    # each step's node gradient is the engine's and the tutorial's
    grads = {g.name_of(s.node): p.mask(s.index).grads[s.node] for s in steps}
    assert grads["yhat"] == pytest.approx(D_YHAT)
    assert grads["h"] == pytest.approx(D_H)
    assert grads["w1"] == pytest.approx(D_W1)
    assert grads["w2"] == pytest.approx(D_W2)
    # the brief's narration for ŷ, in the tutorial's words and numbers
    yhat_text = nfc(steps[order.index("yhat")].text)
    assert yhat_text.startswith("ŷ = w₂·h:  ∂L/∂ŷ = −1.4;")
    assert "∂ŷ/∂h = w₂ = 0.3, so ∂L/∂h += −1.4 × 0.3 = −0.42" in yhat_text
    assert "∂ŷ/∂w₂ = h = 1, so ∂L/∂w₂ += −1.4 × 1 = −1.4" in yhat_text
    h_text = steps[order.index("h")].text
    assert "∂h/∂w₁ = x = 2, so ∂L/∂w₁ += −0.42 × 2 = −0.84" in h_text
    first = nfc(steps[0].text)
    assert "∂L/∂L = 1" in first and "∂L/∂ŷ = −2(y − ŷ) = −1.4" in first
    # the current node and the edges the gradient flows back along
    hs = steps[order.index("h")]
    assert hs.node == ids["h"]
    assert set(hs.edges) == {(ids["w1"], ids["h"], "a"), (ids["x"], ids["h"], "b")}


def test_backward_pass_is_the_engines_reverse_topological_order(two_layer) -> None:
    g, r = two_layer
    p = Pass(g, r, BACKWARD)
    assert p.nodes == r.backward_order
    assert p.nodes == [n for n in reversed(g.topological_order()) if r.nodes[n].on_path]
    pos = {n: i for i, n in enumerate(p.nodes)}
    for s, t, _ in g.edges():
        assert pos[t] < pos[s]  # a node sends its gradient before its inputs send theirs


def test_forward_steps_visit_nodes_in_topological_order_with_the_tutorials_values(
        two_layer) -> None:
    g, r = two_layer
    ids = by_name(g)
    p = Pass(g, r, FORWARD)
    assert p.nodes == r.order == g.topological_order()
    pos = {n: i for i, n in enumerate(p.nodes)}
    for s, t, _ in g.edges():
        assert pos[s] < pos[t]
    texts = {g.name_of(s.node): nfc(s.text) for s in p.steps()}
    assert texts["h"].startswith("h = w₁·x = 0.5 × 2 = 1;")
    assert texts["yhat"].startswith("ŷ = w₂·h = 0.3 × 1 = 0.3;")
    assert texts["L"].startswith("L = (y − ŷ)² = (1 − 0.3)² = 0.49;")
    assert "∂ŷ/∂h = w₂ = 0.3" in texts["yhat"]  # locals are computed on the way forward
    # the values known after each step: exactly the nodes visited so far
    for i, nid in enumerate(p.nodes):
        m = p.mask(i)
        assert m.values == set(p.nodes[: i + 1])
        assert m.grads == {} and m.products == set()
    m = p.mask(pos[ids["yhat"]])
    assert r.value(ids["yhat"]) == pytest.approx(YHAT)
    assert ids["L"] not in m.values and ids["h"] in m.values
    assert (ids["h"], ids["yhat"], "b") in m.locals
    assert (ids["yhat"], ids["L"], "prediction") not in m.locals
    assert r.value(ids["L"]) == pytest.approx(LOSS)


def test_backward_masks_reveal_gradients_only_once_computed(two_layer) -> None:
    g, r = two_layer
    ids = by_name(g)
    p = Pass(g, r, BACKWARD)
    before = p.mask(-1)
    assert before.grads == {} and before.products == set() and before.values is None
    m0 = p.mask(0)  # L has sent its gradient to ŷ and y
    assert set(m0.grads) == {ids["L"], ids["yhat"], ids["y"]}
    assert m0.grads[ids["yhat"]] == pytest.approx(D_YHAT)
    assert m0.node_state(ids["h"]) == (True, None, False)
    assert m0.edge_state((ids["h"], ids["yhat"], "b")) == (True, False)
    m1 = p.mask(1)
    assert m1.grads[ids["h"]] == pytest.approx(D_H)
    assert ids["w1"] not in m1.grads
    assert m1.edge_state((ids["h"], ids["yhat"], "b")) == (True, True)
    last = p.mask(len(p) - 1)
    assert last.grads == {n: r.grad(n) for n in r.backward_order}
    assert last.products == {k for k, e in r.edges.items() if e.on_path}
    # asking again, or out of order, gives the same answer (the prefix cache)
    assert p.mask(0).grads == m0.grads and p.mask(1).grads == m1.grads


def test_fan_out_shows_the_gradient_summed_term_by_term() -> None:
    g = parse("x = 2\ny = 3\nf = x*y + sin(x)")
    r = evaluate(g)
    x = g.id_of("x")
    p = Pass(g, r, BACKWARD)
    terms = p.grad_terms(x)
    assert len(terms) == 2
    assert sorted(terms) == pytest.approx(sorted([3.0, math.cos(2.0)]))  # ∂(xy)/∂x, ∂sin x/∂x
    # the step that adds the second term writes the running sum out
    adds = [(s, t) for s in p.steps() for t in s.terms if t.edge[0] == x]
    (s1, t1), (s2, t2) = adds
    assert s1.index < s2.index
    assert t1.total == terms[0] and t2.total == r.grad(x)  # exactly the engine's grad
    assert t2.total == pytest.approx(math.cos(2.0) + 3.0, rel=1e-15)
    from engine.numfmt import fmt
    ptxt = lambda v: f"({fmt(v)})" if v < 0 else fmt(v)  # noqa: E731
    assert f"∂f/∂x = {fmt(terms[0])} + {ptxt(terms[1])} = {fmt(math.cos(2.0) + 3.0)}" in s2.text
    assert "∂f/∂x = −0.4161 + 3 = 2.584" in s2.text  # cos 2 = −0.41615, plus 3
    # between the two steps x's gradient is a partial sum
    assert p.mask(s1.index).node_state(x) == (True, terms[0], True)
    assert p.mask(s2.index).node_state(x) == (True, r.grad(x), False)
    x_step = next(s for s in p.steps() if s.node == x)
    assert "the sum over its 2 uses" in x_step.text


def test_a_node_feeding_both_ports_of_one_op() -> None:
    g = parse("x = 3\nf = x*x")
    r = evaluate(g)
    p = Pass(g, r, BACKWARD)
    first = p.step(0).text
    assert "∂f/∂x [a] = x = 3, so ∂f/∂x += 1 × 3 = 3" in first
    assert "making ∂f/∂x = 3 + 3 = 6" in first
    assert r.grad(g.id_of("x")) == 6.0  # d(x²)/dx = 2x


def test_every_ops_narration_uses_the_registrys_derivative_formula() -> None:
    for name, spec in OPS.items():
        if spec.is_leaf:
            continue
        g = Graph()
        ports = spec.ports or ("x1", "x2")
        # 0.2, 0.5: inside every op's domain (a probability for binary cross-entropy)
        srcs = [g.add_node("input", f"a{i}", 0.2 + 0.3 * i) for i in range(len(ports))]
        op = g.add_node(name, "out")
        for s, port in zip(srcs, ports):
            g.connect(s, op, port)
        r = evaluate(g)
        text = Pass(g, r, BACKWARD).step(0).text
        for s, port in zip(srcs, ports):
            assert local_formula(g, s, op, port) in text, name


def test_no_output_gives_an_empty_backward_pass() -> None:
    g = Graph()
    g.add_node("input", "a", 1.0)
    g.add_node("input", "b", 2.0)
    r = evaluate(g, allow_no_output=True)
    assert len(Pass(g, r, BACKWARD)) == 0
    assert len(Pass(g, r, FORWARD)) == 2
    with pytest.raises(ValueError):
        Pass(g, r, "sideways")


@pytest.mark.parametrize("seed", range(40))
def test_running_sums_end_exactly_at_the_engines_gradients(seed: int) -> None:
    rnd = random.Random(seed)
    g = Graph()
    nodes = [g.add_node(rnd.choice(["input", "param"]), f"v{i}", rnd.uniform(-2, 2))
             for i in range(rnd.randint(1, 4))]
    for k in range(rnd.randint(1, 14)):
        op = rnd.choice(["add", "mul", "sub", "sin", "tanh", "square", "sum", "sigmoid"])
        spec = OPS[op]
        nid = g.add_node(op, f"t{k}")
        ports = spec.ports or tuple(f"x{i + 1}" for i in range(rnd.randint(1, 4)))
        for port in ports:
            g.connect(rnd.choice(nodes), nid, port)  # repeats give fan-out and x·x
        nodes.append(nid)
    g.set_output(nodes[-1])
    r = evaluate(g)
    p = Pass(g, r, BACKWARD)
    seen: dict[str, int] = {}
    for s in p.steps():
        for t in s.terms:
            seen[t.edge[0]] = seen.get(t.edge[0], 0) + 1
            assert t.terms[-1] == t.product == r.edges[t.edge].product
            assert t.expected >= len(t.terms)
    for nid in r.backward_order:
        terms = p.grad_terms(nid)
        if nid == r.output:
            continue
        assert len(terms) == seen[nid]
        total = 0.0
        for v in terms:
            total += v
        assert total == r.grad(nid)  # same order, same floats: bit for bit
        assert p.mask(len(p) - 1).grads[nid] == r.grad(nid)


def test_partial_sums_follow_the_engines_order_where_rounding_would_show_it() -> None:
    # x reaches f three ways: 0.1·x (visited first: it has the higher id), then x / x
    # at the numerator (1/x) and the denominator (−x/x² = −1/x). In floating point
    # (0.1 + 1/3) − 1/3 is not 0.1, so only the engine's order ends at its gradient.
    g = parse("x = 3\nf = x / x + 0.1 * x")
    r = evaluate(g)
    x = g.id_of("x")
    p = Pass(g, r, BACKWARD)
    assert p.grad_terms(x) == (0.1, 1 / 3, -3 / 9)
    totals = [t.total for s in p.steps() for t in s.terms if t.edge[0] == x]
    assert totals == [0.1, 0.1 + 1 / 3, (0.1 + 1 / 3) + (-3 / 9)]
    assert totals[-1] == r.grad(x)
    assert totals[-1] != 0.1  # the rounding this test relies on is really there


def test_constants_are_not_visited_backward_and_send_nothing() -> None:
    """y = (2x)² at x = 3: the backward pass visits y, the product 2x and x — never the
    constant 2 — and ∂y/∂x = 2·6 · 2 = 24 arrives as one term."""
    g = parse("x = 3; y = (2*x)**2")
    r = evaluate(g)
    two = next(n for n in g.ids() if g.op_of(n) == "const")
    back = Pass(g, r, BACKWARD)
    assert two not in back.nodes
    assert [g.name_of(n) for n in back.nodes] == ["y", "mul1", "x"]
    sent = [t.edge[0] for s in back.steps() for t in s.terms]
    assert two not in sent and g.id_of("x") in sent
    assert back.grad_terms(g.id_of("x")) == (24.0,)
    mask = back.mask(len(back) - 1)
    assert two not in mask.grads  # no gradient is ever shown for it
    forward = Pass(g, r, FORWARD)
    text = forward.step(forward.nodes.index(g.id_of("mul1"))).text
    assert "∂mul₁/∂x = 2" in text and "∂mul₁/∂2" not in text
