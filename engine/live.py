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

from engine.evaluate import evaluate
from engine.fast import CompiledResult, Plan, compile_graph, paused_gc
from engine.result import CONSTANT, EdgeResult, NodeResult, Result
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

    # ------------------------------------------------------------------ edits
    def structure(self, graph: Graph) -> tuple[Result, Changes | None]:
        """Recompile and evaluate everything (after a structural edit or a new graph)."""
        self.plan = compile_graph(graph)
        self._onp = self.plan.on_path.tolist()
        self._eonp = self.plan.edge_on_path.tolist()
        self._var = self.plan.variable.tolist()
        return self._full(graph, self.plan.evaluate())

    def values(self, graph: Graph, leaves) -> tuple[Result, Changes | None]:
        """Leaf values changed in ``graph`` (same topology): update only what moved."""
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
