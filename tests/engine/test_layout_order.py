"""The layout's barycenter ordering, done a column at a time with arrays, against the
plain loop it replaced (kept here as the readable reference)."""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from engine import layout as lay
from engine.graph import Graph

ROOT = Path(__file__).resolve().parents[2]


def reference_order(graph: Graph, cols: list[list[str]], sweeps: int = 4) -> list[list[str]]:
    """Each node's key: the mean rank of its distinct inputs going right, of its
    consumers' ports going left; no such neighbours: its own rank. Sorted by
    (key, rank), column after column."""
    G = graph.nx
    cols = [list(c) for c in cols]
    rank = {n: i / max(1, len(c)) for c in cols for i, n in enumerate(c)}
    size = {n: max(1, len(c)) for c in cols for n in c}
    frac = {}
    for t in G.nodes:
        if G.in_degree(t):
            ports = graph.ports(t)
            for i, p in enumerate(ports):
                frac[(t, p)] = i / len(ports)
    preds = {n: list(G.predecessors(n)) for n in G.nodes}
    outs = {n: [(t, k) for _, t, k in G.out_edges(n, keys=True)] for n in G.nodes}
    for sweep in range(sweeps):
        forward = sweep % 2 == 0
        for c in (cols if forward else reversed(cols)):
            def key(n: str) -> tuple[float, float]:
                use_in = preds[n] if forward else not outs[n]
                vals = [rank[m] for m in preds[n]] if use_in else [
                    rank[t] + frac.get((t, k), 0.0) / size[t] for t, k in outs[n]]
                total = 0.0
                for v in vals:  # one after another, as written
                    total += v
                return (total / len(vals) if vals else rank[n], rank[n])
            c.sort(key=key)
            for i, n in enumerate(c):
                rank[n] = i / max(1, len(c))
    return cols


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 80), st.integers(0, 10**6))
def test_the_array_ordering_is_the_plain_loops(n: int, seed: int) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from families import dag
    g, _ = dag(n, seed=seed)
    cols = lay.columns(g)
    assert lay._order(g, [list(c) for c in cols]) == reference_order(g, cols)


def test_the_examples_order_as_the_plain_loop_does() -> None:
    from engine import fileformat
    for path in sorted((ROOT / "assets" / "examples").glob("*.json")):
        g = fileformat.load(path)
        cols = lay.columns(g)
        assert lay._order(g, [list(c) for c in cols]) == reference_order(g, cols), path.stem


def test_a_node_fed_twice_by_one_source_counts_it_once_going_right() -> None:
    from engine.expr import parse
    g = parse("a = 1\nb = 2\nc = a*a\nd = a*b\nL = c + d")
    cols = lay.columns(g)
    assert lay._order(g, [list(c) for c in cols]) == reference_order(g, cols)
