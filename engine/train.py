"""Gradient descent on the graph's ``param`` leaves, as in the tutorial:
``w₁ ← w₁ − η·∂L/∂w₁``.

A step is all or nothing: when a gradient is not finite, or an update would leave a
param at ±inf or NaN (training that diverges, or a huge η), the step raises and the
params keep their last finite values."""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.errors import EngineError, clip
from engine.fast import evaluate_graph
from engine.graph import Graph
from engine.numfmt import fmt


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


class DivergedError(TrainingError):
    """An update would make a param non-finite; ``name`` is the first such param."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


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
        name = clip(graph.name_of(nid), 40)
        if not math.isfinite(grad):
            raise TrainingError(f"∂L/∂{name} is not finite "
                                f"({r.nodes[nid].grad_reason or r.nodes[nid].reason or 'NaN'})")
        old = graph.nx.nodes[nid]["value"]
        new = old - lr * grad
        if not math.isfinite(new):
            raise DivergedError(
                f"training diverged: {name} would become {fmt(new)} "
                f"({fmt(old)} − {fmt(lr)} × {fmt(grad)}); the params keep their last "
                "finite values", graph.name_of(nid))
        updates.append(Update(nid, graph.name_of(nid), old, grad, new))
    for u in updates:
        graph.set_value(u.id, u.new)
    return TrainStep(loss, updates)


def loss(graph: Graph) -> float:
    r = evaluate_graph(graph)
    return r.value(r.output)
