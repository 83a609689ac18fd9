"""Gradient descent on the graph's ``param`` leaves, as in the tutorial:
``w₁ ← w₁ − η·∂L/∂w₁``."""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.errors import EngineError
from engine.fast import evaluate_graph
from engine.graph import Graph


@dataclass
class Update:
    id: str
    name: str
    old: float
    grad: float
    new: float


@dataclass
class TrainStep:
    #: the loss at which the gradients were computed (before the update)
    loss: float
    updates: list[Update]


class TrainingError(EngineError):
    """A step that cannot be taken: no params, or a gradient that is not finite."""


def params(graph: Graph) -> list[str]:
    return [n for n in graph.ids() if graph.op_of(n) == "param"]


def step(graph: Graph, lr: float) -> TrainStep:
    """One update of every param, applied to ``graph`` in place."""
    ps = params(graph)
    if not ps:
        raise TrainingError("the graph has no param nodes to train")
    r = evaluate_graph(graph)
    loss = r.value(r.output)
    updates = []
    for nid in ps:
        grad = r.grad(nid)
        if not math.isfinite(grad):
            raise TrainingError(f"∂L/∂{graph.name_of(nid)} is not finite "
                                f"({r.nodes[nid].grad_reason or r.nodes[nid].reason or 'NaN'})")
        old = graph.nx.nodes[nid]["value"]
        updates.append(Update(nid, graph.name_of(nid), old, grad, old - lr * grad))
    for u in updates:
        graph.set_value(u.id, u.new)
    return TrainStep(loss, updates)


def loss(graph: Graph) -> float:
    r = evaluate_graph(graph)
    return r.value(r.output)
