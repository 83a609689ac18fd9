"""Step-through passes: the engine's two loops cut into steps a learner can follow.

A forward pass visits ``Result.order`` (the engine's topological order); a backward
pass visits ``Result.backward_order`` (reverse order, nodes on the path to the
output only) and, at each node, sends ∂L/∂node × local down every input edge in
the order the engine does. Each step carries a narration in the tutorial's words
and numbers, and ``Pass.mask`` says which numbers are known after it, so a canvas
can hide what has not been computed yet. Every number comes from the Result, and
running sums are added in the engine's order, so the last one equals its grad.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.graph import Graph
from engine.result import Result
from engine.labels import display_name, grad_symbol, local_text, node_formula
from engine.numfmt import fmt
from engine.ops import OPS

EdgeKey = tuple[str, str, str]
FORWARD, BACKWARD = "forward", "backward"


@dataclass(frozen=True)
class Term:
    """One contribution ∂L/∂target × local sent down ``edge`` to its source."""

    edge: EdgeKey
    product: float
    #: the source's running sum after adding this term
    total: float
    #: every term the source has received so far, this one last
    terms: tuple[float, ...]
    #: how many terms the source receives in the whole pass
    expected: int


@dataclass(frozen=True)
class Step:
    direction: str
    index: int
    node: str
    #: the edges this step uses: into ``node`` (values flow in / gradients flow back)
    edges: tuple[EdgeKey, ...]
    text: str
    terms: tuple[Term, ...] = ()


@dataclass
class PassMask:
    """What is known after a step; ``None`` in a field means "all of it"."""

    values: set[str] | None = None
    #: gradients known so far (running sums included); None: the engine's, all of them
    grads: dict[str, float] | None = None
    #: nodes whose gradient is still a partial sum
    partial: set[str] = field(default_factory=set)
    locals: set[EdgeKey] | None = None
    products: set[EdgeKey] | None = None
    #: forward mode (engine.tangent_pass): tangents and edge shares known so far;
    #: None: all of them (or no forward mode)
    tangents: set[str] | None = None
    shares: set[EdgeKey] | None = None

    def node_state(self, nid: str) -> tuple[bool, float | None, bool]:
        """(value shown?, gradient to show or None, is it a partial sum?)."""
        grad = None if self.grads is None else self.grads.get(nid)
        return (self.values is None or nid in self.values, grad, nid in self.partial)

    def edge_state(self, key: EdgeKey) -> tuple[bool, bool]:
        """(local derivative known?, product known?)."""
        return (self.locals is None or key in self.locals,
                self.products is None or key in self.products)

    def tangent_known(self, nid: str) -> bool:
        return self.tangents is None or nid in self.tangents

    def share_known(self, key: EdgeKey) -> bool:
        return self.shares is None or key in self.shares


class Pass:
    """One pass over ``graph`` as evaluated in ``result``; steps are narrated on demand."""

    def __init__(self, graph: Graph, result: Result, direction: str) -> None:
        if direction not in (FORWARD, BACKWARD):
            raise ValueError(f"direction must be {FORWARD!r} or {BACKWARD!r}")
        self.graph, self.result, self.direction = graph, result, direction
        self.nodes: list[str] = (list(result.order) if direction == FORWARD
                                 else (result.backward_order if result.output is not None else []))
        self._steps: dict[int, Step] = {}
        self._terms: list[tuple[Term, ...]] = []
        if direction == BACKWARD:
            self._accumulate()
        self._mask_at: tuple[int, PassMask] | None = None

    def __len__(self) -> int:
        return len(self.nodes)

    # ------------------------------------------------------------------ numbers
    def _in_edges(self, nid: str) -> list[EdgeKey]:
        """In the engine's backward order: networkx's in_edges order."""
        return [(s, nid, k) for s, _, k in self.graph.nx.in_edges(nid, keys=True)]

    def _gradient_edges(self, nid: str) -> list[EdgeKey]:
        """The in-edges a gradient flows back along: not those from constants."""
        edges = self.result.edges
        return [e for e in self._in_edges(nid) if edges[e].local is not None]

    def _accumulate(self) -> None:
        """Replay the engine's backward loop: the same terms, added in the same order."""
        r, G = self.result, self.graph.nx
        expected = {n: sum(1 for _, d, k in G.out_edges(n, keys=True)
                           if r.edges[(n, d, k)].on_path) for n in self.nodes}
        received: dict[str, list[float]] = {}
        totals: dict[str, float] = {}
        for nid in self.nodes:
            terms = []
            for key in self._gradient_edges(nid):
                src = key[0]
                p = r.edges[key].product
                got = received.setdefault(src, [])
                got.append(p)
                total = totals.get(src, 0.0) + p
                if len(got) == expected[src] and total != r.nodes[src].grad:
                    # an engine that sums in another order: its total is the one shown
                    total = r.nodes[src].grad
                totals[src] = total
                terms.append(Term(key, p, total, tuple(got), expected[src]))
            self._terms.append(tuple(terms))
        self._received = {n: tuple(v) for n, v in received.items()}

    def grad_terms(self, nid: str) -> tuple[float, ...]:
        """The products summed into ∂L/∂nid, in the order they arrive (backward only)."""
        return self._received.get(nid, ()) if self.direction == BACKWARD else ()

    # ------------------------------------------------------------------ steps
    def step(self, i: int) -> Step:
        """Step ``i``, worded once when first asked for (a pass is stepped back and forth)."""
        if not 0 <= i < len(self.nodes):
            raise IndexError(i)
        s = self._steps.get(i)
        if s is None:
            s = self._steps[i] = self._make_step(i, self.nodes[i])
        return s

    def _make_step(self, i: int, nid: str) -> Step:
        if self.direction == FORWARD:
            return Step(FORWARD, i, nid, tuple(self._in_edges(nid)), self._forward_text(nid))
        terms = self._terms[i]
        return Step(BACKWARD, i, nid, tuple(self._gradient_edges(nid)),
                    self._backward_text(nid, terms), terms)

    def steps(self) -> list[Step]:
        return [self.step(i) for i in range(len(self.nodes))]

    def mask(self, i: int) -> PassMask:
        """What is known after step ``i`` (``-1``: before the first step)."""
        i = max(-1, min(i, len(self.nodes) - 1))
        start, m = -1, self._empty_mask()
        if self._mask_at is not None and self._mask_at[0] <= i:
            start, m = self._mask_at[0], _copy(self._mask_at[1])
        for k in range(start + 1, i + 1):
            self._advance(m, k)
        self._mask_at = (i, _copy(m))
        return m

    def _empty_mask(self) -> PassMask:
        if self.direction == FORWARD:
            return PassMask(values=set(), grads={}, locals=set(), products=set())
        return PassMask(values=None, grads={}, locals=None, products=set())

    def _advance(self, m: PassMask, k: int) -> None:
        nid = self.nodes[k]
        if self.direction == FORWARD:
            m.values.add(nid)
            m.locals.update(self._in_edges(nid))
            return
        r = self.result
        m.grads[nid] = r.nodes[nid].grad
        m.partial.discard(nid)
        for t in self._terms[k]:
            src = t.edge[0]
            m.products.add(t.edge)
            m.grads[src] = t.total
            if len(t.terms) < t.expected:
                m.partial.add(src)
            else:
                m.partial.discard(src)

    # --------------------------------------------------------------- narration
    def _forward_text(self, nid: str) -> str:
        g, r = self.graph, self.result
        spec = OPS[g.op_of(nid)]
        me = display_name(g, nid)
        value = fmt(r.nodes[nid].value)
        if spec.is_leaf:
            kind = {"input": "an input, set by you", "param": "a parameter, trainable",
                    "const": "a constant"}[spec.name]
            head = f"{value}: {kind}" if spec.name == "const" else f"{me} = {value}: {kind}"
            return head + _tail(self, nid)
        ins = g.inputs(nid)
        nums = {p: _paren(fmt(r.nodes[s].value)) for p, s in ins}
        if spec.variadic:
            filled = " + ".join(nums[p] for p, _ in ins) or "0"
        else:
            try:
                filled = spec.formula_text(g.attrs_of(nid)).replace("·", " × ").format(
                    **nums, out=me)
            except (KeyError, IndexError):  # a port is not fed: the value is NaN
                filled = "?"
        parts = [f"{node_formula(g, nid)} = {filled} = {value}"]
        if r.nodes[nid].reason:
            parts[0] += f" ({r.nodes[nid].reason})"
        locals_ = [local_text(g, r, s, nid, p) for p, s in ins if (s, nid, p) in r.edges
                   and r.edges[(s, nid, p)].local is not None]
        if locals_:
            parts.append("local derivatives " + ",  ".join(locals_))
        return ";  ".join(parts) + _tail(self, nid)

    def _backward_text(self, nid: str, terms: tuple[Term, ...]) -> str:
        g, r = self.graph, self.result
        spec = OPS[g.op_of(nid)]
        gsym = grad_symbol(g, r, nid)
        grad = r.nodes[nid].grad
        head = (f"{fmt(g.nx.nodes[nid]['value'], 6)} (a constant)" if spec.name == "const"
                else node_formula(g, nid))
        if nid == r.output:
            parts = [f"{head}:  {gsym} = {fmt(grad)}, the output: the backward pass starts here"]
        else:
            got = self.grad_terms(nid)
            total = f"{gsym} = {fmt(grad)}"
            if len(got) > 1:
                total = f"{gsym} = {_sum_text(got)} = {fmt(grad)}, the sum over its {len(got)} uses"
            parts = [f"{head}:  {total}"]
        gnum = fmt(grad)
        for t in terms:
            src, _, port = t.edge
            er = r.edges[t.edge]
            part = (f"{local_text(g, r, src, nid, port)}, so "
                    f"{grad_symbol(g, r, src)} += {gnum} × {_paren(fmt(er.local))} = "
                    f"{fmt(t.product)}")
            if len(t.terms) > 1:
                part += f", making {grad_symbol(g, r, src)} = {_sum_text(t.terms)} = {fmt(t.total)}"
            parts.append(part)
        if not terms:
            parts.append("a parameter: this is the gradient training uses" if spec.name == "param"
                         else "a leaf: nothing more to pass back")
        return ";  ".join(parts)


def _tail(p: Pass, nid: str) -> str:
    return ";  the output" if nid == p.result.output else ""


def _paren(num: str) -> str:
    return f"({num})" if num.startswith("−") else num


def _sum_text(terms: tuple[float, ...]) -> str:
    return " + ".join([fmt(terms[0])] + [_paren(fmt(t)) for t in terms[1:]])


def _copy(m: PassMask) -> PassMask:
    return PassMask(
        values=None if m.values is None else set(m.values),
        grads=None if m.grads is None else dict(m.grads),
        partial=set(m.partial),
        locals=None if m.locals is None else set(m.locals),
        products=None if m.products is None else set(m.products),
        tangents=None if m.tangents is None else set(m.tangents),
        shares=None if m.shares is None else set(m.shares))
