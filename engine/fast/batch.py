"""Many samples at once: every node holds one value per sample.

The wide strategy's groups (nodes of one generation and op) become 2-D: a group's
values are one array of nodes × samples, so one registry call evaluates the group for
every sample — no Python loop over samples. Data leaves read their bound column;
params, inputs and constants hold one number, repeated across the samples.

The per-sample numbers are each sample's own chain rule: the gradient of the sample's
loss Lᵢ (the output node) with respect to every node, and every edge's local and
product for that sample. The function trained is the mean over the samples,
L̄ = (1/N)·Σ Lᵢ, so ∂L̄/∂Lᵢ = 1/N and a param's batch gradient is the mean of its
per-sample gradients (``BatchResult.batch_grad``).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from engine.dataset import DataError, Dataset
from engine.fast.flat import FlatGraph
from engine.fast.plan import CompiledResult, Plan, paused_gc
from engine.fast.wide import WideStrategy
from engine.graph import Graph
from engine.result import Result


#: rows per chunk when only the batch gradient is wanted (see ``BatchPlan.gradients``)
CHUNK = 512


class BatchStrategy(WideStrategy):
    """The wide strategy's numbering and groups, with a sample axis on every buffer."""

    def __init__(self, f: FlatGraph, on_path: np.ndarray, variable: np.ndarray,
                 gen: np.ndarray, out: int | None, samples: int = 1) -> None:
        super().__init__(f, on_path, variable, gen, out)
        self._leafvals = self.vals[:self._n_leaves].copy()
        for g in self.groups:  # an attribute per node, broadcast over the samples
            g.attrs = {a: v[:, None] for a, v in g.attrs.items()}
        # backward: each generation's out-edges sorted by source (stable, so each
        # source's products stay in the reference's accumulation order); a source with
        # one out-edge takes that product as it is, the others are summed with reduceat
        self.spulls = []
        for es, local_src in self.pulls:
            order = np.argsort(local_src, kind="stable")
            srt, es = local_src[order], es[order]
            if len(srt):
                first = np.r_[True, srt[1:] != srt[:-1]]
                starts = np.flatnonzero(first)
                count = np.diff(np.r_[starts, len(srt)])
                one = count == 1
                multi = np.flatnonzero(~one)
                lens = count[multi]
                take = np.concatenate([np.arange(a, a + n) for a, n in
                                       zip(starts[multi].tolist(), lens.tolist())]) \
                    if len(multi) else np.zeros(0, dtype=np.int64)
                m_starts = np.r_[0, np.cumsum(lens)[:-1]].astype(np.int64) if len(multi) \
                    else np.zeros(0, dtype=np.int64)
                self.spulls.append((es[starts[one]], srt[starts[one]], es[take], m_starts,
                                    srt[starts[multi]]))
            else:
                z = np.zeros(0, dtype=np.int64)
                self.spulls.append((z, z, z, z, z))
        self.S = -1
        self._leaf_sums = False
        self.resize(samples)

    def resize(self, samples: int) -> None:
        """Buffers for ``samples`` samples (leaf rows keep their values)."""
        if samples == self.S:
            return
        n, m, L = len(self.ids), len(self.edge_src), self._n_leaves
        leaf = self.vals[:L, :1] if self.S > 0 else self._leafvals[:, None]
        self.S = samples
        self._tail = (samples,)
        self.vals = np.full((n, samples), np.nan)
        self.vals[:L] = leaf
        # the backward pass's buffers are made when first needed: predictions on a
        # grid of 40,000 points need values only
        self.loc = self.prod = self.grad = None

    def _backward_buffers(self) -> None:
        if self.loc is None or self.loc.shape[1] != self.S:
            n, m, S = len(self.ids), len(self.edge_src), self.S
            self.loc = np.full((m, S), np.nan)
            for g in self.groups:
                if g.spec is not None and g.spec.unit_locals:
                    self.loc[g.e0:g.e0 + g.arity * g.n] = 1.0
            self._unit_dirty: set[int] = set()
            self.prod = np.zeros((m, S))
            self.grad = np.zeros((n, S))

    def set_value(self, i: int, v: float) -> None:
        self.vals[i] = v

    def set_row(self, i: int, values: np.ndarray) -> None:
        self.vals[i] = values

    def _eval_group(self, g, sel=None) -> None:  # type: ignore[override]
        X = self.vals[g.idx]  # (ports, nodes, samples)
        out = g.spec.value(X, g.attrs)
        s, n, e, k = g.start, g.n, g.e0, g.arity
        self.vals[s:s + n] = out
        if g.spec.unit_locals:
            # ones, written when the buffers were made; the backward pass passes the
            # gradient through. Where the sum is NaN from finite inputs (∞ − ∞) the
            # locals are undefined: those samples get NaN, as the registry says
            bad = np.isnan(out)
            if bad.any():
                locs = g.spec.locals(out, X, g.attrs)
                self.loc[e:e + k * n].reshape(k, n, self.S)[:] = locs
                self._unit_dirty.add(id(g))
            elif id(g) in self._unit_dirty:
                self.loc[e:e + k * n] = 1.0
                self._unit_dirty.discard(id(g))
            return
        locs = g.spec.locals(out, X, g.attrs)
        if k:
            self.loc[e:e + k * n].reshape(k, n, self.S)[:] = locs

    def forward(self) -> None:
        self._backward_buffers()
        for g in self.groups:
            if g.spec is not None:
                self._eval_group(g)

    def backward(self, leaf_sums: bool = False) -> None:
        """Gradients of every sample's loss. With ``leaf_sums`` the leaves' gradients
        are only summed over the samples (into ``leaf_sum``): what a training step needs,
        without per-sample rows for the hundreds of params."""
        self._leaf_sums = leaf_sums
        super().backward()

    def _pull(self, gi: int, s0: int, s1: int) -> bool:
        grad, prod = self.grad, self.prod
        e1, src1, em, starts, srcm = self.spulls[gi]
        if gi == 0 and self._leaf_sums:
            acc = np.zeros(s1 - s0)
            if len(e1):
                acc[src1] = prod[e1].sum(axis=1)
            if len(em):
                acc[srcm] += np.add.reduceat(prod[em].sum(axis=1), starts)
            if self.out is not None and s0 <= self.out < s1:
                acc[self.out - s0] = self.S  # a leaf output: ∂Lᵢ/∂Lᵢ = 1 per sample
            self.leaf_sum = acc
            return True
        grad[s0:s1] = 0.0
        if len(e1):
            grad[s0 + src1] = prod[e1]
        if len(em):
            grad[s0 + srcm] = np.add.reduceat(prod[em], starts, axis=0)
        return False

    def _passes_through(self, g) -> bool:
        return g.spec is not None and g.spec.unit_locals and id(g) not in self._unit_dirty

    def column(self, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Sample j's numbers, as the scalar strategies' snapshot."""
        return (self.vals[:, j].copy(), self.grad[:, j].copy(), self.loc[:, j].copy(),
                self.prod[:, j].copy())

    def means(self, mask: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each number's mean over the samples (those in ``mask``)."""
        if mask is None or mask.all():
            return (self.vals.mean(axis=1), self.grad.mean(axis=1), self.loc.mean(axis=1),
                    self.prod.mean(axis=1))
        return (self.vals[:, mask].mean(axis=1), self.grad[:, mask].mean(axis=1),
                self.loc[:, mask].mean(axis=1), self.prod[:, mask].mean(axis=1))


class BatchPlan(Plan):
    """A graph compiled for evaluation over the rows of a dataset. Build with
    ``compile_batch``; give it rows with ``set_rows`` and evaluate."""

    def __init__(self, graph: Graph, samples: int = 1) -> None:
        self._samples = samples
        super().__init__(graph, "wide")
        self._columns = {nid: graph.column_of(nid) for nid in self.leaves
                         if graph.op_of(nid) == "data"}
        #: the trainable leaves, in id order
        self.params = [nid for nid in graph.ids() if graph.op_of(nid) == "param"]
        #: counts evaluations, so a BatchResult knows when its buffers moved on
        self.generation = 0
        self.rows: np.ndarray | None = None
        self.train_mask = np.ones(samples, dtype=bool)

    def _make_strategy(self, mode, f, on_path, variable, gen, out) -> BatchStrategy:
        return BatchStrategy(f, on_path, variable, gen, out, self._samples)

    @property
    def strategy(self) -> BatchStrategy:
        return self._engine  # type: ignore[return-value]

    @property
    def data_leaves(self) -> dict[str, str]:
        """Data leaf id → the column it is bound to."""
        return dict(self._columns)

    def set_rows(self, dataset: Dataset, rows: np.ndarray | None = None) -> None:
        """Load the bound columns for ``rows`` (indices; all rows when None)."""
        missing = sorted({c for c in self._columns.values() if c not in dataset.columns})
        if missing:
            have = ", ".join(dataset.names)
            raise DataError(f"a data leaf is bound to {', '.join(map(repr, missing))}, "
                            f"which the dataset {dataset.name or ''} does not have "
                            f"(columns: {have})".replace("  ", " "))
        rows = np.arange(dataset.n_rows) if rows is None else np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            raise DataError("no rows to evaluate on")
        eng = self.strategy
        eng.resize(len(rows))
        index = self.index
        for nid, col in self._columns.items():
            eng.set_row(index[nid], dataset.columns[col][rows])
        self.rows = rows
        t = ~dataset.test[rows]
        #: the samples the mean loss and batch gradients are over: the training rows
        #: among those loaded (all of them when every one is a test row)
        self.train_mask = t if t.any() else np.ones(len(rows), dtype=bool)
        self._evaluated = False

    def set_columns(self, values: Mapping[str, np.ndarray]) -> None:
        """Load data leaves from arrays by column name (all the same length); a bound
        column not given reads 0 (a target, when only the inputs matter)."""
        lengths = {len(np.asarray(v)) for v in values.values()}
        if len(lengths) != 1:
            raise DataError("give one or more columns, all of the same length")
        n = lengths.pop()
        cols = {c: np.asarray(values[c], dtype=np.float64) if c in values else np.zeros(n)
                for c in set(self._columns.values()) | set(values)}
        self.set_rows(Dataset(cols, None))
        self.rows = None

    def predict(self, values: Mapping[str, np.ndarray], nid: str) -> np.ndarray:
        """Node ``nid``'s value for each row of the given columns (forward only): the
        model's output on a grid, for a decision boundary or a fitted curve."""
        self.set_columns(values)
        self.forward_only()
        return self.row_of(nid).copy()

    def evaluate(self, values: Mapping[str, float] | None = None) -> "BatchResult":  # type: ignore[override]
        self._run(values)
        self.generation += 1
        return BatchResult(self, self.generation)

    def gradients(self, dataset: Dataset, rows: np.ndarray, keep: str | None = None,
                  chunk: int = CHUNK) -> tuple[float, dict[str, float], np.ndarray | None]:
        """Mean loss over ``rows``, each param's batch gradient, and node ``keep``'s
        value per row: what a training step needs, without per-edge numbers for every
        sample. Rows are evaluated ``chunk`` at a time, so a chunk's arrays stay in the
        CPU's cache (about twice as fast as one pass over 10,000 rows)."""
        rows = np.asarray(rows, dtype=np.int64)
        n = len(rows)
        loss_sum = 0.0
        grad_sum = np.zeros(len(self.params))
        pidx = np.array([self.index[p] for p in self.params], dtype=np.int64)
        kept = np.empty(n) if keep is not None else None
        ki = self.index[keep] if keep is not None else None
        eng = self.strategy
        for a in range(0, n, chunk):
            part = rows[a:a + chunk]
            self.set_rows(dataset, part)
            with np.errstate(all="ignore"), paused_gc():
                eng.forward()
                eng.backward(leaf_sums=True)
            if eng.out is not None:
                loss_sum += float(eng.vals[eng.out].sum())
                grad_sum += eng.leaf_sum[pidx]
            if kept is not None:
                kept[a:a + len(part)] = eng.vals[ki]
        self._evaluated = False
        self.generation += 1
        return (loss_sum / n, {p: float(v / n) for p, v in zip(self.params, grad_sum)}, kept)

    def forward_only(self) -> np.ndarray:
        """Forward values only (for predictions on a grid or a test set): the
        (nodes, samples) array, valid until the next evaluation."""
        with np.errstate(all="ignore"), paused_gc():
            eng = self.strategy
            for g in eng.groups:
                if g.spec is not None:
                    eng.vals[g.start:g.start + g.n] = g.spec.value(eng.vals[g.idx], g.attrs)
        self._evaluated = False
        self.generation += 1
        return self.strategy.vals

    def row_of(self, nid: str) -> np.ndarray:
        """A node's current values over the samples (a view)."""
        return self.strategy.vals[self.index[nid]]


class BatchResult:
    """The numbers of one batch evaluation. Reads the plan's buffers, so it is valid
    until the plan evaluates again (then it raises rather than show newer numbers)."""

    def __init__(self, plan: BatchPlan, generation: int) -> None:
        self.plan = plan
        self._generation = generation
        eng = plan.strategy
        self.n_samples = eng.S
        out = eng.out
        #: each sample's loss (the output node), and their mean: the function trained
        self.losses = eng.vals[out].copy() if out is not None else np.zeros(0)
        mask = plan.train_mask if len(plan.train_mask) == eng.S else np.ones(eng.S, bool)
        self.mask = mask
        #: how many samples the mean is over (the training rows loaded)
        self.n_mean = int(mask.sum())
        whole = bool(mask.all())
        self.mean_loss = (float((self.losses if whole else self.losses[mask]).mean())
                          if out is not None else float("nan"))
        leaf = eng.grad[:eng._n_leaves]
        self._leaf_grads = (leaf if whole else leaf[:, mask]).mean(axis=1)

    def _check(self) -> None:
        if self.plan.generation != self._generation:
            raise RuntimeError("the plan has evaluated again since this result")

    def batch_grad(self, nid: str) -> float | None:
        """∂L̄/∂leaf, L̄ the mean loss: the mean of the per-sample gradients (the
        gradient a param is trained with); None for a constant."""
        i = self.plan.index[nid]
        if not self.plan.variable[i]:
            return None
        if i < len(self._leaf_grads):
            return float(self._leaf_grads[i])
        self._check()
        return float(self.plan.strategy.grad[i][self.mask].mean())

    def batch_grads(self) -> dict[str, float]:
        """Every param's batch gradient, by id."""
        index = self.plan.index
        return {nid: float(self._leaf_grads[index[nid]]) for nid in self.plan.params}

    def values_of(self, nid: str) -> np.ndarray:
        """A node's value for every sample (a copy)."""
        self._check()
        return self.plan.strategy.vals[self.plan.index[nid]].copy()

    def grads_of(self, nid: str) -> np.ndarray:
        """∂Lᵢ/∂node for every sample i (a copy; NaN for constants)."""
        self._check()
        i = self.plan.index[nid]
        g = self.plan.strategy.grad[i].copy()
        return g if self.plan.variable[i] else np.full_like(g, np.nan)

    def sample(self, j: int) -> CompiledResult:
        """Sample j's own chain rule: its values, ∂Lⱼ/∂node, and each edge's local and
        product — the scalar engine's result shape."""
        self._check()
        if not 0 <= j < self.n_samples:
            raise IndexError(f"sample {j} of {self.n_samples}")
        return CompiledResult(self.plan, *self.plan.strategy.column(j))

    def mean(self) -> CompiledResult:
        """Every number averaged over the training samples."""
        self._check()
        return CompiledResult(self.plan, *self.plan.strategy.means(self.mask))

    def sample_result(self, j: int, graph: Graph) -> Result:
        """Sample j as the reference's Result. Non-finite numbers are worded by the
        reference evaluation, on a copy of the graph holding sample j's data."""
        cres = self.sample(j)
        if cres.all_finite():
            return cres.to_result(graph)
        g = graph.copy()
        vals = cres.values
        for nid in self.plan.data_leaves:
            g.nx.nodes[nid]["value"] = float(vals[self.plan.index[nid]])
        return cres.to_result(g)


def compile_batch(graph: Graph, dataset: Dataset | None = None,
                  rows: np.ndarray | None = None) -> BatchPlan:
    """Compile ``graph`` for many samples; with a dataset, load its ``rows`` (all
    when None)."""
    plan = BatchPlan(graph, 1 if dataset is None else
                     (dataset.n_rows if rows is None else len(rows)))
    if dataset is not None:
        plan.set_rows(dataset, rows)
    return plan


def one_sample(graph: Graph, row: int, dataset: Dataset | None = None) -> Graph:
    """A copy of ``graph`` holding dataset row ``row`` in its data leaves and no dataset:
    one sample's function, for tools that work on one sample (the gradient check,
    the step-through narration's numbers)."""
    g = graph.copy()
    ds = dataset if dataset is not None else graph.dataset
    g.dataset = None
    if ds is None:
        return g
    for nid in g.data_leaves():
        col = g.column_of(nid)
        if col in ds.columns:
            g.nx.nodes[nid]["value"] = float(ds.columns[col][row])
    return g


#: the editor evaluates every row at once up to this many (rows × edges) numbers per
#: buffer (about 16 MB each); beyond it, in chunks (``ChunkedBatch``)
BIG_BATCH_CELLS = 2_000_000


class ChunkedBatch:
    """``BatchResult``'s answers for a dataset too large to hold every edge's numbers
    for every row (100,000 rows of a 1,000-edge network would be 1.6 GB): the mean loss
    and the batch gradients come from a chunked pass, a sample's numbers from
    evaluating that one row, and the means of every number (Batch mean) from a second
    chunked pass, made when first asked for."""

    def __init__(self, plan: BatchPlan, dataset: Dataset) -> None:
        self.plan, self.dataset = plan, dataset
        self.n_samples = dataset.n_rows
        train = dataset.rows("train")
        self.train_rows = train if len(train) else dataset.rows("all")
        self.n_mean = len(self.train_rows)
        self.mean_loss, self._grads, _ = plan.gradients(dataset, self.train_rows)
        self._means: CompiledResult | None = None

    def batch_grads(self) -> dict[str, float]:
        return dict(self._grads)

    def sample_result(self, j: int, graph: Graph) -> Result:
        if not 0 <= j < self.n_samples:
            raise IndexError(f"sample {j} of {self.n_samples}")
        self.plan.set_rows(self.dataset, np.array([j]))
        return self.plan.evaluate().sample_result(0, graph)

    def mean(self) -> CompiledResult:
        if self._means is None:
            sums = None
            rows = self.train_rows
            for a in range(0, len(rows), CHUNK):
                self.plan.set_rows(self.dataset, rows[a:a + CHUNK])
                self.plan.evaluate()
                eng = self.plan.strategy
                part = (eng.vals.sum(axis=1), eng.grad.sum(axis=1), eng.loc.sum(axis=1),
                        eng.prod.sum(axis=1))
                sums = part if sums is None else tuple(s + p for s, p in zip(sums, part))
            n = len(rows)
            self._means = CompiledResult(self.plan, *(s / n for s in sums))
        return self._means
