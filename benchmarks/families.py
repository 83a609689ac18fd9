"""The benchmark graph families, built straight through the Graph API (no parser).

Each builder takes a target number of op nodes and returns the graph (output marked)
and the exact number of op nodes it holds. Values are drawn from a fixed seed and kept
in ranges where every number stays finite, so all engines do ordinary arithmetic.
"""

from __future__ import annotations

import math
import random

from engine.graph import Graph


def _leaf(g: Graph, kind: str, value: float, k: int) -> str:
    # explicit short names: unique_name() would search for a free name on every call
    return g.add_node(kind, name=f"{kind[0]}{k}", value=value)


def _op(g: Graph, op: str, k: int) -> str:
    return g.add_node(op, name=f"{op[:2]}{k}")


def chain(n_ops: int, seed: int = 1) -> tuple[Graph, int]:
    """A deep chain: h ← tanh(w_i · h), two op nodes per step (one per generation)."""
    rnd = random.Random(seed)
    g = Graph()
    h = _leaf(g, "input", 0.5, 0)
    steps = max(1, n_ops // 2)
    for i in range(steps):
        w = _leaf(g, "param", rnd.uniform(0.8, 1.6), i)
        m = _op(g, "mul", 2 * i)
        g.connect_trusted(w, m, "a")
        g.connect_trusted(h, m, "b")
        h = _op(g, "tanh", 2 * i + 1)
        g.connect_trusted(m, h, "x")
    g.set_output(h)
    return g, 2 * steps


def _mlp_width(n_ops: int, layers: int) -> int:
    # ops ≈ layers·H² (weights) + H (output weights) + 2·layers·H (sums, tanh) + 2
    a, b, c = layers, 1 + 2 * layers, 2 - n_ops
    return max(1, round((-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)))


def mlp(n_ops: int, layers: int = 3, seed: int = 2) -> tuple[Graph, int]:
    """A scalar-unrolled MLP on one sample: `layers` tanh layers of width H (inputs of
    dimension H too), a linear output neuron and squared_error(target, prediction).
    Each neuron is one variadic sum node: Σ wᵢ·xᵢ + b."""
    rnd = random.Random(seed)
    H = _mlp_width(n_ops, layers)
    g = Graph()
    k = 0
    xs = []
    for j in range(H):
        xs.append(_leaf(g, "input", rnd.uniform(-1, 1), k))
        k += 1
    n = 0
    for layer in range(layers + 1):
        width = H if layer < layers else 1
        scale = 1.0 / math.sqrt(len(xs))
        out = []
        for _ in range(width):
            s = _op(g, "sum", k)
            k += 1
            n += 1
            for j, x in enumerate(xs):
                w = _leaf(g, "param", rnd.uniform(-2, 2) * scale, k)
                m = _op(g, "mul", k)
                k += 1
                n += 1
                g.connect_trusted(w, m, "a")
                g.connect_trusted(x, m, "b")
                g.connect_trusted(m, s, f"x{j + 1}")
            b = _leaf(g, "param", rnd.uniform(-0.1, 0.1), k)
            k += 1
            g.connect_trusted(b, s, f"x{len(xs) + 1}")
            if layer < layers:
                t = _op(g, "tanh", k)
                k += 1
                n += 1
                g.connect_trusted(s, t, "x")
                out.append(t)
            else:
                out.append(s)
        xs = out
    y = _leaf(g, "input", 0.25, k)
    loss = _op(g, "squared_error", k + 1)
    g.connect_trusted(y, loss, "target")
    g.connect_trusted(xs[0], loss, "prediction")
    g.set_output(loss)
    return g, n + 1


#: ops of the random DAG and their ports
_DAG_OPS = [("add", ("a", "b")), ("sub", ("a", "b")), ("mul", ("a", "b")),
            ("tanh", ("x",)), ("sigmoid", ("x",)), ("sin", ("x",))]


def dag(n_ops: int, seed: int = 3) -> tuple[Graph, int]:
    """A random DAG with fan-out: each op draws its operands uniformly from all earlier
    nodes (so early nodes feed many), products are of squashed values so nothing
    overflows, and one final sum collects every node nothing else reads."""
    rnd = random.Random(seed)
    g = Graph()
    n_leaves = max(4, n_ops // 10)
    nodes = [_leaf(g, "param", rnd.uniform(-1, 1), i) for i in range(n_leaves)]
    squashed = list(nodes)  # values known to lie in [-1, 1]
    used: set[str] = set()
    for k in range(n_ops - 1):
        op, ports = _DAG_OPS[rnd.randrange(len(_DAG_OPS))]
        nid = _op(g, op, k)
        pool = squashed if op == "mul" else nodes
        for p in ports:
            src = pool[rnd.randrange(len(pool))] if op != "add" or p == "a" else \
                squashed[rnd.randrange(len(squashed))]
            g.connect_trusted(src, nid, p)
            used.add(src)
        nodes.append(nid)
        if op in ("tanh", "sigmoid", "sin", "mul"):
            squashed.append(nid)
    total = g.add_node("sum", name="total")
    for j, nid in enumerate(n for n in nodes if n not in used):
        g.connect_trusted(nid, total, f"x{j + 1}")
    g.set_output(total)
    return g, n_ops


FAMILIES = {"chain": chain, "mlp": mlp, "dag": dag}
