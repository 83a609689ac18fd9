"""Gradient descent on the graph's ``param`` leaves, as in the tutorial:
``w₁ ← w₁ − η·∂L/∂w₁`` (``step``), and on a dataset with SGD, momentum or Adam,
minibatches and weight decay (``Trainer``), where L is the mean loss over the rows.

A step is all or nothing: when a gradient is not finite, or an update would leave a
param at ±inf or NaN (training that diverges, or a huge η), the step raises and the
params keep their last finite values."""

from __future__ import annotations

import math
from dataclasses import dataclass

from typing import TYPE_CHECKING

import numpy as np

from engine.errors import EngineError, clip
from engine.fast import evaluate_graph
from engine.graph import Graph
from engine.numfmt import fmt
from engine.ops import OPS

if TYPE_CHECKING:
    from engine.dataset import Dataset


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


# ---------------------------------------------------------------- on a dataset

OPTIMIZERS = ("sgd", "momentum", "adam")


@dataclass
class TrainConfig:
    """How to train: the optimizer and its numbers. ``batch`` 0 is the full batch;
    minibatches are drawn without replacement, reshuffled each epoch with ``seed``.
    ``weight_decay`` λ adds λ·w to each param's gradient (L2, as PyTorch's optimizers
    apply it); the loss shown stays the data loss."""

    optimizer: str = "sgd"
    lr: float = 0.1
    batch: int = 0
    weight_decay: float = 0.0
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    seed: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise TrainingError(f"unknown optimizer {self.optimizer!r} "
                                f"(choose from {', '.join(OPTIMIZERS)})")
        for k in ("lr", "weight_decay", "momentum", "beta1", "beta2", "eps"):
            v = getattr(self, k)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise TrainingError(f"{k} must be a finite number ≥ 0, not {v!r}")
        if self.batch < 0:
            raise TrainingError("the batch size must be 0 (full batch) or more")


@dataclass
class Metrics:
    loss: float
    #: the share of rows whose prediction (≥ ½ → 1) equals the 0/1 target; None when
    #: the target is not 0/1 or the model has no prediction node
    accuracy: float | None
    rows: int


@dataclass
class BatchStep(TrainStep):
    #: rows the gradient was averaged over
    rows: int = 0
    #: the first param's update written out with the optimizer's arithmetic
    text: str = ""
    #: accuracy on the batch before the update (None when not a 0/1 target)
    accuracy: float | None = None


def model_parts(graph: Graph) -> tuple[str | None, str | None]:
    """(prediction node, target column) when the output is a loss op whose prediction
    and target ports are fed (the target by a data leaf), else what is known."""
    try:
        out = graph.resolve_output()
    except EngineError:
        return None, None
    if "prediction" not in OPS[graph.op_of(out)].ports:
        return None, None
    pred = graph.source_of(out, "prediction")
    t = graph.source_of(out, "target")
    col = graph.column_of(t) if t is not None and graph.op_of(t) == "data" else None
    return pred, col


class Trainer:
    """Trains a graph's params on a dataset (or on the graph's own single sample when
    it has none) with SGD, momentum or Adam. Works on its own compiled plan; the
    graph is only read at the start and written by ``write_back``."""

    def __init__(self, graph: Graph, config: TrainConfig | None = None,
                 dataset: "Dataset | None" = None) -> None:
        from engine.fast.batch import compile_batch
        self.config = config or TrainConfig()
        self.dataset = dataset if dataset is not None else graph.dataset
        self.params = params(graph)
        if not self.params:
            raise TrainingError("the graph has no param nodes to train")
        self.names = {p: graph.name_of(p) for p in self.params}
        self.values = {p: float(graph.nx.nodes[p]["value"]) for p in self.params}
        self.plan = compile_batch(graph)
        if self.plan.output_error is not None:
            raise self.plan.output_error
        self.prediction, self.target = model_parts(graph)
        ds = self.dataset
        self.train_rows = ds.rows("train") if ds is not None else None
        self.test_rows = ds.rows("test") if ds is not None else None
        if ds is not None and not len(self.train_rows):
            raise TrainingError("the dataset has no training rows")
        if ds is not None:
            self.plan.set_rows(ds, self.train_rows[:1])  # checks the bindings now
        self._rng = np.random.default_rng(self.config.seed)
        self._queue: list[np.ndarray] = []
        self.t = 0
        self._m = {p: 0.0 for p in self.params}
        self._v = {p: 0.0 for p in self.params}

    # ------------------------------------------------------------------ rows
    def _next_rows(self) -> np.ndarray | None:
        rows = self.train_rows
        if rows is None:
            return None
        b = self.config.batch
        if b == 0 or b >= len(rows):
            return rows
        if not self._queue:
            perm = rows[self._rng.permutation(len(rows))]
            self._queue = [perm[i:i + b] for i in range(0, len(perm) - b + 1, b)]
            self._queue.reverse()
        return self._queue.pop()

    def _load(self, rows: np.ndarray | None) -> None:
        plan = self.plan
        for p, v in self.values.items():
            plan.set_leaf(p, v)
        if rows is not None:
            plan.set_rows(self.dataset, rows)

    # ------------------------------------------------------------------ steps
    def step(self) -> BatchStep:
        """One update of every param from one (mini)batch; all or nothing."""
        c = self.config
        rows = self._next_rows()
        acc = None
        if rows is None:
            self._load(None)
            r = self.plan.evaluate()
            loss, grads, n = r.mean_loss, r.batch_grads(), r.n_samples
        else:
            self._load(rows[:1])
            loss, grads, pred = self.plan.gradients(self.dataset, rows, self.prediction)
            n = len(rows)
            acc = self._accuracy_of(pred, rows)
        t = self.t + 1
        updates, new_m, new_v = [], {}, {}
        text = ""
        for p in self.params:
            g, old = grads[p], self.values[p]
            name = clip(self.names[p], 40)
            if not math.isfinite(g):
                raise TrainingError(f"∂L/∂{name} is not finite on this batch")
            g_eff = g + c.weight_decay * old
            if c.optimizer == "sgd":
                delta = c.lr * g_eff
            elif c.optimizer == "momentum":
                new_m[p] = c.momentum * self._m[p] + g_eff
                delta = c.lr * new_m[p]
            else:
                new_m[p] = c.beta1 * self._m[p] + (1 - c.beta1) * g_eff
                new_v[p] = c.beta2 * self._v[p] + (1 - c.beta2) * g_eff * g_eff
                mh = new_m[p] / (1 - c.beta1 ** t)
                vh = new_v[p] / (1 - c.beta2 ** t)
                delta = c.lr * mh / (math.sqrt(vh) + c.eps)
            new = old - delta
            if not math.isfinite(new):
                raise DivergedError(
                    f"training diverged: {name} would become {fmt(new)}; the params keep "
                    "their last finite values", self.names[p])
            if not text:
                text = self._explain(p, old, g, g_eff, delta, new, t, new_m, new_v)
            updates.append(Update(p, self.names[p], old, g, new))
        for u in updates:
            self.values[u.id] = u.new
        self._m.update(new_m)
        self._v.update(new_v)
        self.t = t
        return BatchStep(loss, updates, n, text, acc)

    def _explain(self, p: str, old: float, g: float, g_eff: float, delta: float,
                 new: float, t: int, m: dict, v: dict) -> str:
        c, w = self.config, self.names[p]
        grad = f"∂L̄/∂{w}"
        if c.weight_decay:
            grad_txt = f"({grad} + λ·{w}) = ({fmt(g)} + {fmt(c.weight_decay)} × {fmt(old)})"
        else:
            grad_txt = f"{grad} = {fmt(g)}"
        if c.optimizer == "sgd":
            return (f"{w} ← {w} − η·{grad_txt.split(' = ')[0]} = {fmt(old)} − {fmt(c.lr)} × "
                    f"{_paren(g_eff)} = {fmt(new)}")
        if c.optimizer == "momentum":
            return (f"v ← μ·v + {grad_txt} → v = {fmt(m[p])};  {w} ← {w} − η·v = "
                    f"{fmt(old)} − {fmt(c.lr)} × {_paren(m[p])} = {fmt(new)}")
        return (f"m ← β₁m + (1−β₁)·g, v ← β₂v + (1−β₂)·g² with g = {fmt(g_eff)} (step {t});  "
                f"{w} ← {w} − η·m̂/(√v̂ + ε) = {fmt(old)} − {_paren(delta)} = {fmt(new)}")

    # ------------------------------------------------------------- measures
    def metrics(self, which: str = "train") -> Metrics | None:
        """Loss and accuracy on the train or test rows with the current params (None
        when there are no such rows)."""
        ds = self.dataset
        if ds is None:
            if which == "test":
                return None
            self._load(None)
            r = self.plan.evaluate()
            return Metrics(r.mean_loss, None, 1)
        rows = self.train_rows if which == "train" else self.test_rows
        if rows is None or not len(rows):
            return None
        self._load(rows)
        self.plan.forward_only()
        losses = self.plan.row_of(self.plan.output) if self.plan.output else None
        loss = float(np.mean(losses)) if losses is not None else math.nan
        return Metrics(loss, self._accuracy(rows), len(rows))

    def _accuracy(self, rows: np.ndarray) -> float | None:
        if self.prediction is None:
            return None
        return self._accuracy_of(self.plan.row_of(self.prediction), rows)

    def _accuracy_of(self, pred: np.ndarray | None, rows: np.ndarray) -> float | None:
        ds = self.dataset
        if pred is None or self.target is None or not ds.is_binary(self.target):
            return None
        y = ds.columns[self.target][rows]
        return float(np.mean((pred >= 0.5) == (y == 1.0)))

    def write_back(self, graph: Graph) -> None:
        for p, v in self.values.items():
            graph.set_value(p, v)


def _paren(x: float) -> str:
    s = fmt(x)
    return f"({s})" if s.startswith("−") else s
