"""The numbers of one evaluation, in the shape every surface reads.

Both evaluators produce these: the readable reference (``engine.evaluate``) and the
fast engine (``engine.fast``, through ``CompiledResult.to_result``). A node that does
not depend on any input or param — a constant, or an op fed by constants only — has
no gradient: its ``grad`` is None, and so are ``local`` and ``product`` of the edges
leaving it. PyTorch's ``requires_grad`` draws the same line.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import OutputError

EdgeKey = tuple[str, str, str]
#: the reason given wherever a number is absent because it belongs to a constant
CONSTANT = "constant"


@dataclass(slots=True)
class NodeResult:
    value: float
    #: ∂L/∂node; None for a constant (it depends on no input or param)
    grad: float | None = 0.0
    on_path: bool = False
    #: why ``value`` is not finite (None when it is)
    reason: str | None = None
    #: id of the node where a non-finite value started (itself for the root fault)
    origin: str | None = None
    #: why ``grad`` is not finite or absent (None when it is a finite number)
    grad_reason: str | None = None

    @property
    def constant(self) -> bool:
        return self.grad is None


@dataclass(slots=True)
class EdgeResult:
    source: str
    target: str
    port: str
    #: ∂target/∂source at this port; None when the source is a constant
    local: float | None
    #: ∂L/∂target × local — this edge's share of ∂L/∂source; None likewise
    product: float | None = 0.0
    on_path: bool = False
    reason: str | None = None

    @property
    def constant(self) -> bool:
        return self.local is None


@dataclass(frozen=True)
class BatchInfo:
    """What a Result shows when the graph is evaluated over a dataset: its nodes and
    edges hold one sample's numbers (that sample's own chain rule), while the function
    trained is the mean loss L̄ = (1/N)·Σ Lᵢ over the N training rows."""

    #: training rows the mean is over (N)
    n: int
    #: the dataset row shown (0-based), or None when every number is a batch mean
    sample: int | None
    #: rows evaluated (training and test)
    rows: int
    mean_loss: float
    #: each param's batch gradient ∂L̄/∂w (the mean of its per-sample gradients)
    param_grads: dict[str, float]
    dataset: str = ""
    #: whether the shown sample is a test row (not trained on)
    test: bool = False


@dataclass
class Result:
    output: str | None
    #: forward order (topological); the backward pass walks ``reversed(order)``
    order: list[str]
    nodes: dict[str, NodeResult]
    #: keyed by (source, target, port)
    edges: dict[EdgeKey, EdgeResult]
    #: set when no output could be chosen (then every gradient is 0)
    output_error: OutputError | None = None
    #: set when the numbers are one sample's (or the means) of a dataset
    batch: BatchInfo | None = None

    @property
    def backward_order(self) -> list[str]:
        """The nodes the backward pass visits: on the path to the output and not
        constant, in reverse topological order."""
        return [n for n in reversed(self.order)
                if self.nodes[n].on_path and self.nodes[n].grad is not None]

    def value(self, nid: str) -> float:
        return self.nodes[nid].value

    def grad(self, nid: str) -> float | None:
        return self.nodes[nid].grad

    def edge(self, source: str, target: str, port: str) -> EdgeResult:
        return self.edges[(source, target, port)]
