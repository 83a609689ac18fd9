"""Forward mode (tangents) beside reverse mode: the same derivatives, other passes.

Expected numbers come from hand calculation on the tutorial's two-layer network and from
central finite differences of an evaluator that shares no code with the engine
(``test_evaluate_properties``'s random DAGs)."""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path

from hypothesis import given, settings

from engine.evaluate import evaluate
from engine.fileformat import load
from engine.forward import agree, compare, output_tangents, tangents, variable_leaves
from engine.labels import tangent_symbol
from engine.tangent_pass import TangentPass
from test_evaluate_properties import _SETTINGS, RefDag, _fd_grad, dags

EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"


def _two_layer():
    g = load(EXAMPLES / "two_layer.json")
    return g, evaluate(g), {g.name_of(n): n for n in g.ids()}


def test_two_layer_tangents_by_hand() -> None:
    """Direction w₁: ẇ₁ = 1, ḣ = x = 2, (ŷ)˙ = w₂·ḣ = 0.6, L̇ = −2(y − ŷ)·(ŷ)˙ = −2·0.7·0.6."""
    g, r, ids = _two_layer()
    t = tangents(g, r, ids["w1"])
    by_name = {name: t.nodes[nid] for name, nid in ids.items()}
    expected = {"w1": 1.0, "x": 0.0, "y": 0.0, "w2": 0.0, "h": 2.0, "yhat": 0.6, "L": -0.84}
    for name, want in expected.items():
        assert math.isclose(by_name[name], want, rel_tol=1e-12, abs_tol=0), name
    assert math.isclose(t.output_tangent, -0.84, rel_tol=1e-12)
    # every edge carries local × the source's tangent
    assert t.edges[(ids["w1"], ids["h"], "a")] == 2.0          # ∂h/∂w₁ = x = 2, × 1
    assert t.edges[(ids["x"], ids["h"], "b")] == 0.0           # ∂h/∂x = 0.5, × 0
    assert math.isclose(t.edges[(ids["h"], ids["yhat"], "b")], 0.6)  # 0.3 × 2
    assert math.isclose(t.edges[(ids["yhat"], ids["L"], "prediction")], -0.84)


def test_two_layer_direction_x_and_w2() -> None:
    """Direction x: ḣ = w₁ = 0.5, (ŷ)˙ = 0.15, L̇ = −1.4·0.15 = −0.21.
    Direction w₂: (ŷ)˙ = h = 1, L̇ = −1.4."""
    g, r, ids = _two_layer()
    t = tangents(g, r, ids["x"])
    assert t.nodes[ids["h"]] == 0.5 and math.isclose(t.output_tangent, -0.21)
    assert math.isclose(tangents(g, r, ids["w2"]).output_tangent, -1.4)


def test_two_layer_comparison_counts_passes() -> None:
    g, r, ids = _two_layer()
    c = compare(g, r)
    assert [g.name_of(row.leaf) for row in c.rows] == ["x", "y", "w1", "w2"]
    hand = {"x": -0.21, "y": 1.4, "w1": -0.84, "w2": -1.4}   # ∂L/∂leaf by hand
    for row in c.rows:
        assert math.isclose(row.forward, hand[g.name_of(row.leaf)], rel_tol=1e-12)
        assert row.agree
    assert (c.forward_passes, c.reverse_passes) == (4, 1) and c.all_agree


def test_disagreement_is_reported() -> None:
    assert agree(-0.84, -0.84 * (1 + 1e-13))
    assert not agree(-0.84, -0.85)
    assert not agree(1.0, math.nan) and agree(math.nan, math.nan)


def test_direction_must_be_a_variable_leaf() -> None:
    g, r, ids = _two_layer()
    import pytest
    with pytest.raises(ValueError):
        tangents(g, r, ids["h"])


def test_tangent_symbols_wear_a_dot() -> None:
    g, _r, ids = _two_layer()
    assert [tangent_symbol(g, ids[n]) for n in ("w1", "h", "x", "L")] == \
        ["ẇ₁", "ḣ", "ẋ", "L\u0307"]
    assert unicodedata.normalize("NFC", tangent_symbol(g, ids["yhat"])) == \
        unicodedata.normalize("NFC", "(y\u0302)˙")  # a dot on the hat would hide
    g.rename(ids["h"], "hidden")
    assert tangent_symbol(g, ids["h"]) == "(hidden)˙"


def test_two_layer_tangent_pass_narration() -> None:
    g, r, ids = _two_layer()
    p = TangentPass(g, r, ids["w1"])
    assert [g.name_of(n) for n in p.nodes] == [g.name_of(n) for n in r.order]
    # compared in one Unicode form: ŷ may be written y + U+0302 or precomposed
    texts = {g.name_of(s.node): unicodedata.normalize("NFC", s.text) for s in p.steps()}
    assert texts["h"] == "ḣ = ∂h/∂w₁·ẇ₁ + ∂h/∂x·ẋ = 2·1 + 0.5·0 = 2"
    assert texts["yhat"].startswith(unicodedata.normalize("NFC", "(ŷ)˙ = ∂ŷ/∂w₂·ẇ₂ + ∂ŷ/∂h·ḣ = 1·0 + 0.3·2 = 0.6"))
    assert texts["L"].startswith(unicodedata.normalize("NFC", "L̇ = ∂L/∂y·ẏ + ∂L/∂ŷ·(ŷ)˙ = 1.4·0 + (−1.4)·0.6 = −0.84"))
    assert "∂L/∂w₁ = −0.84" in texts["L"]
    assert texts["w1"].startswith("ẇ₁ = 1: the direction")
    assert texts["x"].startswith("ẋ = 0")
    # the mask shows tangents one step at a time; values and gradients stay known
    i_h = p.nodes.index(ids["h"])
    m = p.mask(i_h)
    assert m.tangent_known(ids["h"]) and not m.tangent_known(ids["yhat"])
    assert m.share_known((ids["w1"], ids["h"], "a"))
    assert not m.share_known((ids["h"], ids["yhat"], "b"))
    assert m.node_state(ids["L"]) == (True, 1.0, False)
    assert not p.mask(-1).tangent_known(ids["w1"])


# ------------------------------------------------------------------ random graphs

def _check(dag: RefDag) -> None:
    g, ids = dag.to_graph()
    r = evaluate(g)
    variables = dag.variables()
    scale = 1.0 + max(abs(v) for v in dag.values())
    leaves = variable_leaves(g, r)
    assert sorted(leaves) == sorted(ids[i] for i in dag.leaves() if i in variables)
    c = compare(g, r)
    out_const = dag.output not in variables
    fwd_all = output_tangents(g, r, leaves)
    assert (fwd_all == {}) == (out_const or not leaves)
    assert c.forward_passes == (0 if out_const else len(leaves))
    for i in dag.leaves():
        if i not in variables:
            continue
        nid = ids[i]
        t = tangents(g, r, nid)
        if out_const:
            assert t.output_tangent is None
            continue
        rev = r.grad(nid)
        # forward mode equals reverse mode up to rounding ...
        assert math.isclose(t.output_tangent, rev, rel_tol=1e-9, abs_tol=1e-12 * scale), \
            (i, t.output_tangent, rev)
        assert math.isclose(fwd_all[nid], t.output_tangent, rel_tol=1e-9, abs_tol=1e-12 * scale)
        # ... and central finite differences of the independent evaluator
        fd = _fd_grad(dag, i)
        assert math.isclose(t.output_tangent, fd, rel_tol=1e-5, abs_tol=1e-6 * scale), \
            (i, t.output_tangent, fd)
        # every node's tangent is ∂node/∂leaf: check the intermediate ones too
        for j in range(len(dag.nodes)):
            if j not in variables or dag.nodes[j].op in ("input", "param", "const"):
                continue
            base = dag.nodes[i].value
            h = 1e-4 * max(1.0, abs(base))
            d = (dag.values({i: base + h})[j] - dag.values({i: base - h})[j]) / (2 * h)
            assert math.isclose(t.nodes[ids[j]], d, rel_tol=1e-4, abs_tol=1e-5 * scale), (i, j)
    if not out_const:
        assert all(row.agree for row in c.rows) or all(
            math.isclose(row.forward, row.reverse, rel_tol=1e-9, abs_tol=1e-12 * scale)
            for row in c.rows)


@settings(max_examples=60, **_SETTINGS)
@given(dags())
def test_random_dags_forward_tangents_equal_reverse_gradients_and_fd(dag: RefDag) -> None:
    _check(dag)


@settings(max_examples=8, **_SETTINGS)
@given(dags(min_ops=50, max_ops=200, deep=True))
def test_deep_random_chains_forward_equals_reverse(dag: RefDag) -> None:
    _check(dag)


def test_wide_graph_all_leaves_at_once_matches_one_sweep_each() -> None:
    """More leaves than one block of columns: every block is swept, every answer kept."""
    from engine.graph import Graph
    g = Graph()
    leaves = [g.add_node("param", name=f"w{i}", value=0.01 * (i + 1)) for i in range(150)]
    prods = []
    for i, w in enumerate(leaves):
        m = g.add_node("square", name=f"s{i}")
        g.connect(w, m, "x")
        prods.append(m)
    s = g.add_node("sum", name="L")
    for i, m in enumerate(prods):
        g.connect(m, s, f"x{i + 1}")
    g.set_output(s)
    r = evaluate(g)
    c = compare(g, r)
    assert c.forward_passes == 150 and c.reverse_passes == 1
    for row, w in zip(c.rows, leaves):
        v = g.node(w).value
        assert math.isclose(row.forward, 2 * v, rel_tol=1e-12) and row.agree  # ∂(w²)/∂w
