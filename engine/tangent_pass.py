"""The forward-mode pass, step by step: tangents carried from one leaf to the output.

Beside the forward pass (values) and the backward pass (∂L/∂…, engine.passes), this
pass visits the nodes in the same topological order as the forward pass and, at each,
works out its tangent ẋ = ∂x/∂(direction) from its inputs' tangents, in the words of
dual numbers: ``ḣ = ∂h/∂w₁·ẇ₁ + ∂h/∂x·ẋ = 2·1 + 0.5·0 = 2``. Every number comes from
``engine.forward.tangents`` and the Result's own local derivatives. Values, local
derivatives and gradients stay shown; only the tangents appear one step at a time.
"""

from __future__ import annotations

from engine.forward import Tangents, tangents
from engine.graph import Graph
from engine.labels import display_name, grad_symbol, local_formula, tangent_symbol
from engine.numfmt import fmt
from engine.ops import OPS
from engine.passes import Pass, PassMask, Step
from engine.result import Result

TANGENT = "tangent"


class TangentPass(Pass):
    """Forward mode from leaf ``seed`` over ``graph`` as evaluated in ``result``."""

    def __init__(self, graph: Graph, result: Result, seed: str) -> None:
        self.graph, self.result, self.direction = graph, result, TANGENT
        self.seed = seed
        self.tangents: Tangents = tangents(graph, result, seed)
        #: constants have no tangent: the pass visits every other node
        self.nodes = [n for n in result.order if self.tangents.nodes[n] is not None]
        self._steps: dict[int, Step] = {}
        self._terms = []
        self._mask_at = None

    def _make_step(self, i: int, nid: str) -> Step:
        return Step(TANGENT, i, nid, self.tangents.terms.get(nid, ()), self._text(nid))

    def _empty_mask(self) -> PassMask:
        r = self.result
        grads = {n: nr.grad for n, nr in r.nodes.items() if nr.grad is not None}
        return PassMask(values=None, grads=grads, locals=None, products=None,
                        tangents=set(), shares=set())

    def _advance(self, m: PassMask, k: int) -> None:
        nid = self.nodes[k]
        m.tangents.add(nid)
        m.shares.update(self.tangents.terms.get(nid, ()))

    # --------------------------------------------------------------- narration
    def _text(self, nid: str) -> str:
        g, t = self.graph, self.tangents
        me = tangent_symbol(g, nid)
        value = fmt(t.nodes[nid])
        seed = display_name(g, self.seed)
        if not OPS[g.op_of(nid)].is_leaf:
            keys = t.terms.get(nid, ())
            symbols = " + ".join(
                f"{local_formula(g, s, d, p).partition(' = ')[0]}·{tangent_symbol(g, s)}"
                for s, d, p in keys) or "0"
            numbers = " + ".join(
                f"{_paren(fmt(self.result.edges[k].local))}·{_paren(fmt(t.nodes[k[0]]))}"
                for k in keys) or "0"
            parts = [f"{me} = {symbols} = {numbers} = {value}"]
        elif nid == self.seed:
            parts = [f"{me} = 1: the direction, the leaf {seed} we differentiate with "
                     "respect to (its tangent is seeded with 1)"]
        else:
            parts = [f"{me} = 0: another leaf, it does not move when {seed} moves"]
        if nid == t.output:
            grad = self.result.nodes[self.seed].grad
            out = display_name(g, nid)
            parts.append(f"the output: ∂{out}/∂{seed} = {me} = {value}, the number the "
                         f"backward pass finds as {grad_symbol(g, self.result, self.seed)} = "
                         f"{fmt(grad) if grad is not None else '—'}")
        return ";  ".join(parts)


def _paren(num: str) -> str:
    return f"({num})" if num.startswith("−") else num
