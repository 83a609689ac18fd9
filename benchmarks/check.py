"""Gradient check of graphs with many leaves: seconds for the whole ``gradient_check``.

Each finite difference nudges one leaf; what matters is how much is recomputed per nudge.
Three shapes with ``--leaves`` leaves each (default 2,000):

* ``sum`` — L = Σ tanh(wᵢ·xᵢ): every leaf's cone is two nodes and the sum (wide);
* ``mlp`` — one layer of sigmoids, L = (y − Σⱼ σ(Σᵢ wⱼᵢ·xᵢ))²: a weight's cone is
  five nodes, an input's a few hundred;
* ``chain`` — aᵢ = tanh(aᵢ₋₁ + wᵢ): leaf i's cone is the rest of the chain, so finite
  differences are quadratic however they are scheduled;
* ``large`` — the ``sum`` shape beside 50,000 nodes fed by a constant (unchecked, no
  gradient): small cones in a large graph, where recomputing the whole graph per nudge
  (or running its backward pass) would dominate.

``python benchmarks/check.py [--leaves 2000] [--shapes sum,mlp,chain]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.check import gradient_check  # noqa: E402
from engine.graph import Graph  # noqa: E402


def sum_graph(leaves: int) -> Graph:
    g = Graph()
    s = g.add_node("sum", "L")
    for i in range(leaves // 2):
        w = g.add_node("param", f"w{i}", 0.01 * (i % 50) - 0.2)
        x = g.add_node("input", f"x{i}", 1.0 + 0.001 * i)
        m = g.add_node("mul", f"m{i}")
        g.connect(w, m, "a")
        g.connect(x, m, "b")
        t = g.add_node("tanh", f"t{i}")
        g.connect(m, t, "x")
        g.connect(t, s, f"x{i + 1}")
    g.set_output(s)
    return g


def mlp_graph(leaves: int) -> Graph:
    """Inputs x (20), hidden units h (leaves // 21), weights from every input to every unit."""
    n_in = 20
    n_hidden = max(1, leaves // (n_in + 1))
    g = Graph()
    xs = [g.add_node("input", f"x{i}", 0.1 * i - 1.0) for i in range(n_in)]
    out = g.add_node("sum", "out")
    for j in range(n_hidden):
        z = g.add_node("sum", f"z{j}")
        for i, x in enumerate(xs):
            w = g.add_node("param", f"w{j}_{i}", 0.01 * ((i * 7 + j * 3) % 11) - 0.05)
            m = g.add_node("mul", f"m{j}_{i}")
            g.connect(w, m, "a")
            g.connect(x, m, "b")
            g.connect(m, z, f"x{i + 1}")
        h = g.add_node("sigmoid", f"h{j}")
        g.connect(z, h, "x")
        g.connect(h, out, f"x{j + 1}")
    y = g.add_node("input", "y", 1.0)
    loss = g.add_node("squared_error", "L")
    g.connect(y, loss, "target")
    g.connect(out, loss, "prediction")
    g.set_output(loss)
    return g


def chain_graph(leaves: int) -> Graph:
    g = Graph()
    a = g.add_node("input", "a0", 0.3)
    for i in range(1, leaves):
        w = g.add_node("param", f"w{i}", 0.001 * (i % 7))
        s = g.add_node("add", f"s{i}")
        g.connect(a, s, "a")
        g.connect(w, s, "b")
        a = g.add_node("tanh", f"a{i}")
        g.connect(s, a, "x")
    g.set_output(a)
    return g


def large_graph(leaves: int, extra: int = 50_000) -> Graph:
    g = sum_graph(leaves)
    s = g.id_of("L")
    a = g.add_node("const", "c", 0.5)
    for i in range(extra // 2):
        b = g.add_node("sin", f"u{i}")
        g.connect(a, b, "x")
        a = g.add_node("mul", f"v{i}")
        g.connect(b, a, "a")
        g.connect(g.id_of("c"), a, "b")
    g.connect(a, s, f"x{leaves // 2 + 1}")
    return g


SHAPES = {"sum": sum_graph, "mlp": mlp_graph, "chain": chain_graph, "large": large_graph}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leaves", type=int, default=2000)
    ap.add_argument("--shapes", default=",".join(SHAPES))
    args = ap.parse_args()
    print("| shape | leaves | nodes | check (s) | rows ok |")
    print("|---|---:|---:|---:|---:|")
    for shape in args.shapes.split(","):
        g = SHAPES[shape](args.leaves)
        n_leaves = sum(1 for n in g.ids() if g.op_of(n) in ("input", "param"))
        t0 = time.perf_counter()
        rows = gradient_check(g)
        dt = time.perf_counter() - t0
        ok = sum(r.status == "ok" for r in rows)
        print(f"| {shape} | {n_leaves:,} | {len(g):,} | {dt:.2f} | {ok:,} |", flush=True)


if __name__ == "__main__":
    main()
