"""The derivation written out path by path, checked against mathematics.

Expected numbers come from the tutorial's Section 6 (x=2, y=1, w1=0.5, w2=0.3:
∂L/∂ŷ = −2(y − ŷ) = −1.4, ∂ŷ/∂h = w2 = 0.3, ∂h/∂w1 = x = 2, product −0.84), from
hand calculus (d(x·x)/dx = 2x, d(xy + sin x)/dx = y + cos x), from counting
(a ladder of k doublings has 2^k paths) and from central finite differences.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from _engine_helpers import central_diff, close, leaf_function
from engine import Graph, evaluate, fileformat
from engine.derivation import (
    IS_OUTPUT,
    MAX_PATHS,
    NO_OUTPUT,
    NO_PATH,
    PATHS,
    count_paths,
    derive,
    iter_paths,
    to_latex,
    to_markdown,
    to_text,
)
from engine.expr import parse
from engine.latex import latex_name, local_formula_latex, template_latex
from engine.numfmt import fmt

MINUS = "\u2212"
YHAT = "y\u0302"
TWO_LAYER = Path(__file__).resolve().parents[2] / "assets" / "examples" / "two_layer.json"


def two_layer():
    g = fileformat.load(TWO_LAYER)
    return g, evaluate(g)


def ladder(k: int, x: float = 0.75) -> Graph:
    """a1 = x + x, a2 = a1 + a1, …: 2^k paths from x to a_k, and d a_k / dx = 2^k."""
    lines = [f"x = {x}", "a1 = x + x"] + [f"a{i} = a{i - 1} + a{i - 1}" for i in range(2, k + 1)]
    return parse("\n".join(lines), layout=False)


# ----------------------------------------------------------------- the tutorial
def test_w1_in_the_two_layer_network_reads_like_the_tutorial():
    g, r = two_layer()
    w1, h, yhat, L = (g.id_of(n) for n in ("w1", "h", "yhat", "L"))
    d = derive(g, r, w1)
    assert d.kind == PATHS and d.path_count == 1 and d.more == 0
    (term,) = d.paths
    assert term.nodes == (w1, h, yhat, L)
    # from the output end: ∂L/∂ŷ, ∂ŷ/∂h, ∂h/∂w₁
    assert term.edges == ((yhat, L, "prediction"), (h, yhat, "b"), (w1, h, "a"))
    assert [f.symbol for f in term.factors] == [f"∂L/∂{YHAT}", f"∂{YHAT}/∂h", "∂h/∂w₁"]
    assert [f.formula for f in term.factors] == [f"{MINUS}2(y {MINUS} {YHAT})", "w₂", "x"]
    hand = [-2 * (1 - 0.3), 0.3, 2.0]
    assert all(close(f.value, v, 1e-12) for f, v in zip(term.factors, hand))
    assert close(term.product, -0.84, 1e-12)
    assert close(d.total, -0.84, 1e-12)

    text = to_text(d)
    assert f"∂L/∂w₁ = ∂L/∂{YHAT} · ∂{YHAT}/∂h · ∂h/∂w₁" in text
    assert f"= {MINUS}2(y {MINUS} {YHAT}) · w₂ · x" in text
    assert f"= ({MINUS}1.4) × 0.3 × 2" in text
    assert f"= {MINUS}0.84" in text
    assert "Backpropagation reaches the same total node by node" in text
    assert f"w₁ → h → {YHAT} → L" in text


def test_w2_is_exercise_3():
    g, r = two_layer()
    d = derive(g, r, g.id_of("w2"))
    (term,) = d.paths
    assert [f.formula for f in term.factors] == [f"{MINUS}2(y {MINUS} {YHAT})", "h"]
    assert close(term.product, -1.4, 1e-12)  # −2(1 − 0.3) × h, h = 0.5 × 2 = 1
    assert f"({MINUS}1.4) × 1" in to_text(d)


def test_latex_and_markdown_of_w1():
    g, r = two_layer()
    d = derive(g, r, g.id_of("w1"))
    tex = to_latex(d)
    assert r"\frac{\partial L}{\partial w_1}" in tex
    assert r"\frac{\partial L}{\partial \hat{y}} \cdot \frac{\partial \hat{y}}{\partial h}" in tex
    assert r"-2(y - \hat{y}) \cdot w_2 \cdot x" in tex
    assert r"(-1.4) \times 0.3 \times 2" in tex
    assert "−" not in tex and "∂" not in tex.split("$")[0].split(":")[0]
    assert tex.count(r"\begin{aligned}") == tex.count(r"\end{aligned}") == 1
    assert tex.count("{") == tex.count("}")
    md = to_markdown(d)
    assert md.startswith("### ∂L/∂w₁")
    assert md.count("```") == 2
    assert f"({MINUS}1.4) × 0.3 × 2" in md


# ------------------------------------------------------------------ edge cases
def test_the_output_itself():
    g, r = two_layer()
    d = derive(g, r, g.id_of("L"))
    assert d.kind == IS_OUTPUT and d.total == 1.0 and d.path_count == 1
    assert "∂L/∂L = 1" in to_text(d)
    assert r"\frac{\partial L}{\partial L} = 1" in to_latex(d)


def test_node_off_every_path_to_the_output_has_zero_gradient():
    g = parse("x = 1.5; z = 2; q = z * 3; f = sin(x)", layout=False)
    r = evaluate(g)
    for name in ("z", "q"):
        d = derive(g, r, g.id_of(name))
        assert d.kind == NO_PATH and d.path_count == 0 and d.paths == ()
        assert d.total == 0.0
        assert f"∂f/∂{name} = 0" in to_text(d)


def test_no_output_says_so():
    g = Graph()
    a = g.add_node("input", "a", 1.0)
    b = g.add_node("input", "b", 2.0)
    s = g.add_node("add", "s")
    g.connect(a, s, "a")
    g.connect(b, s, "b")
    g.add_node("input", "lonely", 3.0)  # a second sink: no output can be chosen
    r = evaluate(g, allow_no_output=True)
    d = derive(g, r, a)
    assert d.kind == NO_OUTPUT and d.output is None and d.paths == ()
    assert "mark" in to_text(d).lower()
    assert "mark" in to_latex(d).lower()


def test_non_finite_local_derivatives_are_shown_with_their_reason():
    # ln(x) at x = 0: value −inf, local derivative 1/x = +inf; the gradient is not finite
    g = parse("x = 0; f = 2 * log(x)", layout=False)
    r = evaluate(g)
    d = derive(g, r, g.id_of("x"))
    (term,) = d.paths
    assert math.isinf(term.factors[-1].value)
    text = to_text(d)
    assert "∞" in text
    assert any("log of 0 is −∞" in n for n in d.notes)  # the engine's reason, in words
    assert r"\infty" in to_latex(d)


def test_missing_port_gives_nan_not_an_exception():
    g = Graph()
    x = g.add_node("input", "x", 2.0)
    m = g.add_node("mul", "m")
    g.connect(x, m, "a")  # port b is left empty: m is NaN
    g.set_output(m)
    r = evaluate(g)
    d = derive(g, r, x)
    assert math.isnan(d.paths[0].product)
    assert "NaN" in to_text(d)


# ------------------------------------------------------------ several paths
def test_x_times_x_has_two_paths_summing_to_2x():
    x0 = 1.7
    g = parse(f"x = {x0}; f = x * x", layout=False)
    r = evaluate(g)
    x, f = g.id_of("x"), g.id_of("f")
    d = derive(g, r, x)
    assert d.path_count == 2 and len(d.paths) == 2
    assert {t.edges for t in d.paths} == {((x, f, "a"),), ((x, f, "b"),)}
    # ∂(a·b)/∂a = b = x and ∂(a·b)/∂b = a = x: two terms x, sum 2x
    assert all(close(t.product, x0, 1e-15) for t in d.paths)
    assert close(d.path_sum, 2 * x0, 1e-15)
    text = to_text(d)
    assert "Path 1" in text and "Path 2" in text
    assert "[a]" in text and "[b]" in text
    assert "∂f/∂x = 1.7 + 1.7 = 3.4" in text


def test_x_feeding_two_branches_sums_to_y_plus_cos_x():
    x0, y0 = 0.7, -1.3
    g = parse(f"x = {x0}; y = {y0}; f = x*y + sin(x)", layout=False)
    r = evaluate(g)
    d = derive(g, r, g.id_of("x"))
    assert d.path_count == 2
    products = sorted(t.product for t in d.paths)
    assert close(products[0], y0, 1e-15) and close(products[1], math.cos(x0), 1e-15)
    assert close(d.path_sum, y0 + math.cos(x0), 1e-15)
    assert close(d.total, y0 + math.cos(x0), 1e-15)
    formulas = {t.factors[-1].formula for t in d.paths}
    assert formulas == {"y", "cos x"}
    text = to_text(d)
    assert "= 1 · cos x" in text
    # the sum, in path order (x·y first): (−1.3) + cos 0.7 = −0.5352
    expected = f"∂f/∂x = ({MINUS}1.3) + {math.cos(x0):.4g} = {y0 + math.cos(x0):.4g}"
    assert expected.replace("-", MINUS) in text


@pytest.mark.parametrize("k", [5, 6, 9])
def test_ladder_lists_twenty_paths_then_counts_the_rest(k):
    g = ladder(k)
    r = evaluate(g)
    x = g.id_of("x")
    d = derive(g, r, x)
    assert d.path_count == 2 ** k
    assert len(d.paths) == MAX_PATHS == 20
    assert d.more == 2 ** k - 20
    assert len({t.edges for t in d.paths}) == 20  # twenty different paths
    assert all(len(t.factors) == k and t.product == 1.0 for t in d.paths)
    assert f"… and {2 ** k - 20:,} more paths ({2 ** k:,} in all)." in to_text(d)
    assert d.path_sum is None
    assert d.total == 2.0 ** k  # d a_k/dx = 2^k


def test_astronomically_many_paths_are_counted_exactly_and_listed_lazily():
    k = 300
    g = ladder(k, x=1.0)
    r = evaluate(g)
    d = derive(g, r, g.id_of("x"))
    assert d.path_count == 2 ** k          # exact integer, no overflow
    assert d.more == 2 ** k - 20
    assert d.total == 2.0 ** k
    assert f"… and {2 ** k - 20:,} more paths" in to_text(d)


def test_deep_chain_needs_no_recursion():
    n = 3000
    g = Graph()
    prev = g.add_node("input", "x", 0.3)
    first = prev
    for i in range(n):
        nxt = g.add_node("neg", f"n{i}")
        g.connect(prev, nxt, "x")
        prev = nxt
    g.set_output(prev)
    r = evaluate(g)
    d = derive(g, r, first)
    (term,) = d.paths
    assert d.path_count == 1 and len(term.edges) == n
    assert term.product == (-1.0) ** n
    # written out: the first and last five local derivatives and one folded factor,
    # the product of the 2,990 between them (each −1: (−1)^2990 = 1)
    assert len(term.factors) == 11
    (folded,) = [f for f in term.factors if f.folded]
    assert folded.folded == n - 10 and folded.value == 1.0
    assert [f.value for f in term.factors if not f.folded] == [-1.0] * 10
    text = to_text(d)
    assert "⋯ 2,990 more ⋯" in text and "… 2,990 nodes …" in text
    assert r"\cdots" in to_latex(d)


def test_count_and_enumeration_agree_on_small_graphs():
    g = parse("x = 0.4; a = x * x; b = a + x; c = b * a; f = c + sin(b)", layout=False)
    x, f = g.id_of("x"), g.id_of("f")
    paths = list(iter_paths(g, x, f))
    assert len(paths) == len(set(paths)) == count_paths(g, x, f)[x]
    # by hand: x→a (2 ports) ; a→b, a→c ; x→b ; b→c, b→sin→f ; c→f
    # paths to b: 2 (via a) + 1 = 3 ; to c: 3 (via b) + 2 (via a) = 5 ; f: c(5) + sin·b (3) = 8
    assert len(paths) == 8


# ----------------------------------------------------------- random graphs
_UNARY = ("sin", "tanh", "sigmoid", "square", "neg", "cos")
_BINARY = ("add", "sub", "mul")


def random_graph(rng: random.Random) -> tuple[Graph, list[str], str]:
    g = Graph()
    leaves = [g.add_node("input", f"v{i}", rng.uniform(-1.5, 1.5)) for i in range(rng.randint(1, 3))]
    nodes = list(leaves)
    for i in range(rng.randint(2, 9)):
        if rng.random() < 0.55:
            op = rng.choice(_BINARY)
            n = g.add_node(op, f"t{i}")
            g.connect(rng.choice(nodes), n, "a")
            g.connect(rng.choice(nodes), n, "b")  # may repeat the same source: two paths
        else:
            op = rng.choice(_UNARY)
            n = g.add_node(op, f"t{i}")
            g.connect(rng.choice(nodes), n, "x")
        nodes.append(n)
    g.set_output(nodes[-1])
    return g, leaves, nodes[-1]


@pytest.mark.parametrize("seed", range(60))
def test_sum_of_path_products_is_the_gradient(seed):
    rng = random.Random(seed)
    g, leaves, out = random_graph(rng)
    r = evaluate(g)
    for leaf in leaves:
        d = derive(g, r, leaf, max_paths=10 ** 6)
        if d.kind == NO_PATH:
            assert r.grad(leaf) == 0.0
            continue
        assert d.more == 0
        # each path product, recomputed here from the edge locals
        for t in d.paths:
            p = 1.0
            for e in t.edges:
                p *= r.edge(*e).local
            assert close(p, t.product, 1e-14, 0.0)
        scale = max(sum(abs(t.product) for t in d.paths), 1e-300)
        assert abs(d.path_sum - r.grad(leaf)) <= 1e-12 * scale
        # independently: the slope of the function itself
        fd = central_diff(leaf_function(g, leaf, out), [g.node(leaf).value], 0)
        assert abs(d.path_sum - fd) <= 1e-5 * max(1.0, abs(fd))


# ------------------------------------------------------------------- LaTeX bits
def test_latex_names_and_templates():
    assert latex_name("w1") == "w_1"
    assert latex_name("w12") == "w_{12}"
    assert latex_name("yhat") == r"\hat{y}"
    assert latex_name("eta") == r"\eta"
    assert latex_name("y_true") == r"\mathrm{y\_true}"
    assert template_latex(r"\frac{{1}}{{2\sqrt{{{x}}}}}", {"x": "w_1"}) \
        == r"\frac{1}{2\sqrt{w_1}}"
    assert template_latex(r"{exponent} \cdot {base}^({exponent} - 1)",
                          {"exponent": "3", "base": "x"}) == r"3 \cdot x^{(3 - 1)}"
    # a compound operand raised to a power is braced; one after a minus is bracketed
    assert template_latex("{x}^{{2}}", {"x": "-1.5"}) == r"{-1.5}^{2}"
    assert template_latex("-{x}", {"x": "-1.5"}) == r"-(-1.5)"
    # the registry's own LaTeX, filled with names
    g = parse("f = tanh(h) + abs(z) + x**3")
    tex = {g.name_of(s): local_formula_latex(g, s, t, p) for s, t, p in g.edges()
           if g.op_of(t) != "add"}
    assert tex == {"h": r"1 - \tanh^{2} h", "z": r"\operatorname{sign}(z)",
                   "x": r"3 \cdot x^{2}"}


def test_one_factor_chain_is_not_written_twice():
    g, r = two_layer()
    text = to_text(derive(g, r, g.id_of("yhat")))
    assert f"∂L/∂{YHAT} = {MINUS}2(y {MINUS} {YHAT})" in text   # −2(1 − 0.3) = −1.4
    assert f"= {MINUS}1.4" in text
    assert f"∂L/∂{YHAT} = ∂L/∂{YHAT}" not in text


def test_markdown_and_latex_of_several_paths():
    g = parse("x = 3; f = x * x", layout=False)
    d = derive(g, evaluate(g), g.id_of("x"))
    md = to_markdown(d)
    assert "**Path 1:**" in md and "**Path 2:**" in md
    assert md.count("```") == 4
    assert "**∂f/∂x = 3 + 3 = 6**" in md  # 2x at x = 3
    tex = to_latex(d)
    assert r"\frac{\partial f}{\partial x}\Big|_{\text{a}}" in tex
    assert r"\frac{\partial f}{\partial x} &= 3 + 3 = 6" in tex


def test_path_order_rounding_is_explained_and_backprop_total_is_shown():
    # d/dx (x·1 + x·1e16 + x·(−1e16)) = 1. Added path by path, 1 + 1e16 rounds to 1e16
    # in binary64 (a tie, to even), so the path sum is 0; backprop adds in another order.
    g = parse("x = 1; f = x*1 + x*1e16 + x*(-1e16)", layout=False)
    r = evaluate(g)
    x = g.id_of("x")
    d = derive(g, r, x)
    assert [t.product for t in d.paths] == [1.0, 1e16, -1e16]
    assert d.path_sum == 0.0
    assert d.total == r.grad(x)
    text = to_text(d)
    assert f"without enumerating paths: ∂f/∂x = {fmt(r.grad(x))}." in text
    if fmt(r.grad(x)) != "0":
        assert "The products added path by path give 0" in text


def test_too_many_paths_are_summed_per_first_edge():
    """x feeds a₀ = x + x, then 11 more doublings: 2^12 = 4,096 paths, each of product
    1; the two edges out of x each carry ∂L/∂a₀ × 1 = 2^11 = 2,048 — their sum 4,096."""
    g = Graph()
    prev = x = g.add_node("input", "x", 0.5)
    for i in range(12):
        a = g.add_node("add", f"a{i}")
        g.connect(prev, a, "a")
        g.connect(prev, a, "b")
        prev = a
    g.set_output(prev)
    r = evaluate(g)
    d = derive(g, r, x)
    assert d.path_count == 4096 and len(d.paths) == 20
    assert [(grp.edge[2], grp.product, grp.paths) for grp in d.groups] == \
        [("a", 2048.0, 2048), ("b", 2048.0, 2048)]
    text = to_text(d)
    assert "All 4,096 paths, folded into 2 sums" in text
    assert "via a₀ [a]: ∂a₁₁/∂a₀ · ∂a₀/∂x = 2048 × 1 = 2048 (2,048 paths)" in text
    assert "∂a₁₁/∂x = 2048 + 2048 = 4096" in text
