"""Shared helpers for the engine tests: independent reference maths and small graph builders.

The reference functions below use only the ``math`` module, so a test that compares the
engine with them compares against mathematics, not against the engine's own code.
"""

from __future__ import annotations

import math
import random
from typing import Any, Callable, Sequence

from engine.graph import Graph


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


#: op name -> (reference forward using math only, ports)
REFERENCE: dict[str, tuple[Callable[..., float], tuple[str, ...]]] = {
    "add": (lambda a, b: a + b, ("a", "b")),
    "sub": (lambda a, b: a - b, ("a", "b")),
    "mul": (lambda a, b: a * b, ("a", "b")),
    "div": (lambda a, b: a / b, ("a", "b")),
    "neg": (lambda x: -x, ("x",)),
    "pow": (lambda a, b: math.pow(a, b), ("base", "exponent")),
    "square": (lambda x: x * x, ("x",)),
    "exp": (math.exp, ("x",)),
    "log": (math.log, ("x",)),
    "sqrt": (math.sqrt, ("x",)),
    "abs": (abs, ("x",)),
    "sin": (math.sin, ("x",)),
    "cos": (math.cos, ("x",)),
    "tanh": (math.tanh, ("x",)),
    "sigmoid": (_sigmoid, ("x",)),
    "relu": (lambda x: max(x, 0.0), ("x",)),
    "squared_error": (lambda t, p: (t - p) ** 2, ("target", "prediction")),
    "binary_cross_entropy": (lambda t, p: -(t * math.log(p) + (1 - t) * math.log(1 - p)),
                             ("target", "prediction")),
    # a fixed exponent (2.5 in these tests, see ATTRS): x ** 2.5
    "power": (lambda x: math.pow(x, 2.5), ("x",)),
}
#: the attributes the op tests give an op that has some
ATTRS: dict[str, dict[str, float]] = {"power": {"exponent": 2.5}}


def central_diff(f: Callable[..., float], args: Sequence[float], i: int,
                 rel_step: float = 1e-6) -> float:
    """Central finite difference of f with respect to argument i."""
    x = float(args[i])
    h = rel_step * max(1.0, abs(x))
    up = list(args)
    dn = list(args)
    up[i] = x + h
    dn[i] = x - h
    return (f(*up) - f(*dn)) / ((x + h) - (x - h))


def close(a: float, b: float, rel: float = 1e-6, abs_: float = 1e-7) -> bool:
    return abs(a - b) <= abs_ + rel * max(abs(a), abs(b))


def op_graph(op: str, args: Sequence[float], ports: Sequence[str] | None = None
             ) -> tuple[Graph, list[str], str]:
    """A graph with one input leaf per port feeding one ``op`` node, marked as output.

    Returns the graph, the leaf ids (port order) and the op node's id.
    """
    g = Graph()
    if ports is None:
        ports = REFERENCE[op][1] if op in REFERENCE else [f"x{i + 1}" for i in range(len(args))]
    leaves = [g.add_node("input", name=f"v{i}", value=v) for i, v in enumerate(args)]
    node = g.add_node(op, name="out", attrs=ATTRS.get(op))
    for leaf, port in zip(leaves, ports):
        g.connect(leaf, node, port)
    g.set_output(node)
    return g, leaves, node


def leaf_function(graph: Graph, leaf: str, output: str) -> Callable[[float], float]:
    """``x ↦ value of output`` with every other leaf held fixed (for finite differences)."""
    from engine.evaluate import evaluate

    def f(x: float) -> float:
        g = graph.copy()
        g.set_value(leaf, float(x))
        return evaluate(g).value(output)

    return f


def good_file() -> dict:
    """A small valid graph file (x·w), as a dict: tests break one thing in it."""
    return {
        "format": "chain-rule-studio", "version": 1, "output": "n3",
        "nodes": [
            {"id": "n1", "name": "x", "op": "input", "value": 2.0, "pos": [0, 0]},
            {"id": "n2", "name": "w", "op": "param", "value": 0.5, "pos": [0, 100]},
            {"id": "n3", "name": "m", "op": "mul", "pos": [200, 50]},
        ],
        "edges": [
            {"source": "n1", "target": "n3", "port": "a"},
            {"source": "n2", "target": "n3", "port": "b"},
        ],
    }


def set_at(path: list, value: Any) -> Callable[[Any], None]:
    """An edit of a parsed file: put ``value`` at ``path`` (keys and list indices)."""
    def f(d: Any) -> None:
        o = d
        for k in path[:-1]:
            o = o[k]
        o[path[-1]] = value
    return f


def mutate_object(rnd: random.Random, obj: dict, odd: list, new_keys: list[str]) -> None:
    """One random edit of a file's JSON object: delete a key, set one to an odd value,
    or add one of ``new_keys`` with an odd value (for loader fuzz tests)."""
    action = rnd.choice(["delete", "set", "add"])
    keys = list(obj)
    if action == "delete" and keys:
        del obj[rnd.choice(keys)]
    elif action == "set" and keys:
        obj[rnd.choice(keys)] = rnd.choice(odd)
    else:
        obj[rnd.choice(new_keys)] = rnd.choice(odd)
