"""The editor's evaluation: a compiled plan kept in step with a graph being edited.

The editor shows ``engine.Result`` objects (the reference's shape). Re-running the
reference after every slider tick costs tens of microseconds per node; here the graph
is compiled once per topology (``engine.fast``), a value edit updates the plan
incrementally, and the new Result shares every unchanged NodeResult/EdgeResult with the
previous one — only the numbers that differ bit for bit get new objects, and their ids
are reported so the canvas repaints just those items. Old Results are never mutated.

Non-finite numbers need the reference's wording of the reason, so while any number is
NaN/±inf the reference evaluation itself produces the Result (slower, exact messages).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dataclasses import replace

from engine.dataset import DataError
from engine.evaluate import evaluate
from engine.fast import CompiledResult, Plan, compile_graph, paused_gc
from engine.fast.batch import (BIG_BATCH_CELLS, BatchPlan, BatchResult, ChunkedBatch,
                               compile_batch)
from engine.result import CONSTANT, BatchInfo, EdgeResult, NodeResult, Result
from engine.graph import Graph

EdgeKey = tuple[str, str, str]


@dataclass(frozen=True)
class Changes:
    """What differs from the previous Result: node ids and edge keys whose numbers
    changed. ``None`` from ``LiveEvaluation`` instead means "assume everything"."""

    nodes: frozenset[str]
    edges: frozenset[EdgeKey]


NOTHING = Changes(frozenset(), frozenset())


def _differs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bit-level inequality: −0.0 ≠ +0.0 and a NaN equals the same NaN."""
    return a.view(np.int64) != b.view(np.int64)


class LiveEvaluation:
    """Results for one graph across edits. Tell it what kind of edit happened:
    ``structure`` (nodes, edges, ops, output), ``values`` (leaf ids) or ``names``."""

    def __init__(self) -> None:
        self.plan: Plan | None = None
        #: the fast engine's numbers behind ``result`` (the latest evaluation)
        self.compiled: CompiledResult | None = None
        self.result: Result | None = None
        #: True while ``result`` came from the reference (it has non-finite numbers)
        self.from_reference = False
        self._onp: list[bool] = []
        self._eonp: list[bool] = []
        self._var: list[bool] = []
        #: with a dataset: the batch plan and its latest numbers, the row shown, and
        #: whether every number is shown as its mean over the training rows instead
        self.batch_plan: BatchPlan | None = None
        self.batch: BatchResult | ChunkedBatch | None = None
        self.sample = 0
        self.show_means = False
        #: why the dataset could not be used (a data leaf bound to a missing column)
        self.data_error: str | None = None

    # ---------------------------------------------------------------- samples
    def uses_data(self, graph: Graph) -> bool:
        return graph.dataset is not None and any(
            d["op"] == "data" for d in graph.nx._node.values())

    def _batch(self, graph: Graph, recompile: bool) -> tuple[Result, None] | None:
        """Evaluate over every row of the dataset; None when the dataset cannot be used
        (then ``data_error`` says why and the graph is evaluated as one sample)."""
        ds = graph.dataset
        try:
            if recompile or self.batch_plan is None:
                self.batch_plan = compile_batch(graph)
            plan = self.batch_plan
            plan.read_values(graph)
            # every row at once while the per-edge buffers stay small; chunks beyond
            big = ds.n_rows * max(1, len(plan.edge_src)) > BIG_BATCH_CELLS
            plan.set_rows(ds, np.arange(1) if big else None)
            if big:
                batch: BatchResult | ChunkedBatch = ChunkedBatch(plan, ds)
        except DataError as e:
            self.batch_plan, self.batch, self.data_error = None, None, str(e)
            return None
        self.data_error = None
        self.batch = batch if big else plan.evaluate()
        self.sample = min(max(self.sample, 0), ds.n_rows - 1)
        return self._batch_result(graph), None

    def _batch_result(self, graph: Graph) -> Result:
        b, ds = self.batch, graph.dataset
        info = BatchInfo(b.n_mean, None if self.show_means else self.sample, b.n_samples,
                         b.mean_loss, b.batch_grads(), ds.name,
                         bool(ds.test[self.sample]) and not self.show_means)
        if self.show_means:
            cres = b.mean()
            res = cres.to_result(graph) if cres.all_finite() else b.sample_result(0, graph)
        else:
            res = b.sample_result(self.sample, graph)
        self.compiled = None
        self.from_reference = True  # never patched incrementally
        self.result = replace(res, batch=info)
        return self.result

    def pick(self, graph: Graph, sample: int | None = None,
             means: bool | None = None) -> tuple[Result, None]:
        """Show another sample's numbers (or the means): no evaluation, no edit."""
        if sample is not None:
            self.sample = int(sample)
        if means is not None:
            self.show_means = bool(means)
        if self.batch is None:
            return self.result, None
        self.sample = min(max(self.sample, 0), self.batch.n_samples - 1)
        return self._batch_result(graph), None

    # ------------------------------------------------------------------ edits
    def structure(self, graph: Graph) -> tuple[Result, Changes | None]:
        """Recompile and evaluate everything (after a structural edit or a new graph)."""
        self.batch_plan = self.batch = None
        self.data_error = None
        if self.uses_data(graph):
            done = self._batch(graph, True)
            if done is not None:
                self.plan = None
                return done
        self.plan = compile_graph(graph)
        self._onp = self.plan.on_path.tolist()
        self._eonp = self.plan.edge_on_path.tolist()
        self._var = self.plan.variable.tolist()
        return self._full(graph, self.plan.evaluate())

    def values(self, graph: Graph, leaves) -> tuple[Result, Changes | None]:
        """Leaf values changed in ``graph`` (same topology): update only what moved."""
        if self.batch_plan is not None:
            done = self._batch(graph, False)
            if done is not None:
                return done
            return self.structure(graph)
        plan = self.plan
        if plan is None:
            return self.structure(graph)
        leaves = [nid for nid in dict.fromkeys(leaves)]
        node = graph.nx._node
        if len(leaves) == 1:
            cres = plan.update_leaf(leaves[0], float(node[leaves[0]]["value"]))
        else:
            for nid in leaves:
                plan.set_leaf(nid, float(node[nid]["value"]))
            cres = plan.evaluate()
        if self.from_reference or self.compiled is None or not cres.all_finite():
            return self._full(graph, cres)
        with paused_gc():  # many small acyclic objects: the collector's scans cost more
            return self._patch(cres)

    def names(self, graph: Graph) -> tuple[Result, Changes | None]:
        """Names or leaf kinds changed: numbers stay, but fault reasons quote names."""
        if self.batch_plan is not None:
            return self._batch_result(graph), None
        if self.plan is None or self.plan.output_error is not None:
            return self.structure(graph)  # the output error lists names
        if self.from_reference:
            self.result = evaluate(graph, allow_no_output=True)
        return self.result, None

    # --------------------------------------------------------------- results
    def _full(self, graph: Graph, cres: CompiledResult) -> tuple[Result, None]:
        self.compiled = cres
        if cres.all_finite():
            with paused_gc():
                self.result = cres.to_result(graph)
            self.from_reference = False
        else:
            self.result = evaluate(graph, allow_no_output=True)
            self.from_reference = True
        return self.result, None

    def _patch(self, cres: CompiledResult) -> tuple[Result, Changes]:
        """A new Result sharing the unchanged entries of the previous one."""
        plan, old, prev = self.plan, self.result, self.compiled
        self.compiled = cres
        nv, ng = cres.values, cres.grads
        dn = np.flatnonzero(_differs(prev.values, nv) | _differs(prev.grads, ng))
        nl, npr = cres.locals, cres.products
        de = np.flatnonzero(_differs(prev.locals, nl) | _differs(prev.products, npr))
        if not len(dn) and not len(de):
            return old, NOTHING
        nodes = dict(old.nodes)
        ids, onp, var = plan.ids, self._onp, self._var
        changed_nodes = []
        for i, v, g in zip(dn.tolist(), nv[dn].tolist(), ng[dn].tolist()):
            nid = ids[i]
            nodes[nid] = (NodeResult(v, g, onp[i]) if var[i] else
                          NodeResult(v, None, onp[i], grad_reason=CONSTANT))
            changed_nodes.append(nid)
        edges = dict(old.edges)
        keys, eonp = plan.edge_keys, self._eonp
        changed_edges = []
        for e, lv, pv in zip(de.tolist(), nl[de].tolist(), npr[de].tolist()):
            k = keys[e]
            edges[k] = EdgeResult(k[0], k[1], k[2], lv, pv, eonp[e])  # never a constant's:
            changed_edges.append(k)  # their numbers stay NaN in both results
        self.result = Result(old.output, old.order, nodes, edges, old.output_error)
        return self.result, Changes(frozenset(changed_nodes), frozenset(changed_edges))
