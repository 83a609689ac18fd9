"""∂L/∂w written out as the tutorial does by hand: one chain of local derivatives per path.

The chain rule for graphs says ∂L/∂w is the sum, over every path from w to L, of
the product of the local derivatives along it. Backpropagation never enumerates
those paths (it sums node by node), but reading them is how a learner checks the
idea. So this module lists the paths (at most ``MAX_PATHS``, lazily: a ladder of
additions has 2^k of them), counts all of them exactly by dynamic programming, and
takes every number from an existing ``Result`` — it computes no derivative itself.

Paths follow edges, and an edge is (source, target, port): a node feeding both ports
of one op (x·x) gives two paths. Factors are ordered from the output end, as in the
tutorial's ``∂L/∂ŷ · ∂ŷ/∂h · ∂h/∂w₁``.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from itertools import islice
from typing import Iterator

from engine.result import Result
from engine.graph import Graph, id_key
from engine.labels import OUTPUT_SYMBOL, display_name, local_formula
from engine.latex import latex_node, latex_number, local_formula_latex, partial_latex
from engine.numfmt import fmt
from engine.ops import OPS
from engine.result import CONSTANT

EdgeKey = tuple[str, str, str]
#: paths written out; the rest are counted ("… and N more")
MAX_PATHS = 20
#: a path with more local derivatives than this shows its first and last ``FOLD_KEEP``
#: and one folded factor, their product, for the rest (a 5,000-node chain stays legible)
MAX_FACTORS = 12
FOLD_KEEP = 5

#: Derivation.kind values
PATHS, IS_OUTPUT, NO_PATH, NO_OUTPUT, IS_CONSTANT = (
    "paths", "output", "no_path", "no_output", "constant")

BACKPROP_NOTE = ("Backpropagation reaches the same total node by node, "
                 "without enumerating paths")


@dataclass(frozen=True)
class Factor:
    """One local derivative ∂target/∂source on one edge."""

    edge: EdgeKey
    #: ``∂ŷ/∂h`` (with ``[a]`` when the source feeds several ports of the target)
    symbol: str
    #: ``w₂``: the registry's derivative formula, operands by name
    formula: str
    #: the Result edge's ``local``
    value: float
    #: why ``value`` is not finite, from the Result
    reason: str | None
    latex_symbol: str
    latex_formula: str
    #: the target's port, named only when the source feeds several of its ports (x·x)
    port_tag: str = ""
    #: how many local derivatives this factor stands for when it folds the middle of a
    #: long path (0 for an ordinary factor); ``edge`` is then the first of ``edges``
    folded: int = 0
    edges: tuple = ()


@dataclass(frozen=True)
class PathTerm:
    """One path from w to the output and the product of its local derivatives."""

    #: node ids from w to the output
    nodes: tuple[str, ...]
    #: from the output end: factors[0] is the edge into the output
    factors: tuple[Factor, ...]
    #: the factors multiplied left to right (from the output end)
    product: float

    #: every edge of the path, from the output end (a folded factor stands for several)
    path_edges: tuple[EdgeKey, ...] = ()

    @property
    def edges(self) -> tuple[EdgeKey, ...]:
        return self.path_edges or tuple(f.edge for f in self.factors)


@dataclass(frozen=True)
class PathGroup:
    """All paths that leave w along one edge: their sum is ∂L/∂(consumer) × local, the
    product backpropagation puts on that edge."""

    edge: EdgeKey
    #: ``∂L/∂h · ∂h/∂w₁`` and the numbers
    symbol: str
    grad: float
    local: float
    product: float
    #: how many paths the group sums
    paths: int


@dataclass(frozen=True)
class Derivation:
    """∂(output)/∂(node), written out. Build it with ``derive``."""

    node: str
    output: str | None
    #: PATHS, IS_OUTPUT, NO_PATH, NO_OUTPUT or IS_CONSTANT
    kind: str
    #: display names: ``w₁`` and ``L`` (``L`` when no output is set)
    wrt: str
    of: str
    wrt_latex: str
    of_latex: str
    #: display name per node id on the listed paths, and the same in LaTeX
    names: dict[str, str]
    latex_names: dict[str, str]
    #: at most MAX_PATHS, in a stable order
    paths: tuple[PathTerm, ...]
    #: exact number of paths from node to output (a Python int: never overflows)
    path_count: int
    #: the engine's backpropagated ∂L/∂w (NaN when no output is set)
    total: float
    total_reason: str | None = None
    #: why there is no derivation (no output, or a constant)
    message: str = ""
    notes: tuple[str, ...] = field(default=())
    #: when there are more paths than are written out: every path summed per first edge
    groups: tuple[PathGroup, ...] = field(default=())

    @property
    def symbol(self) -> str:
        return f"∂{self.of}/∂{self.wrt}"

    @property
    def latex_symbol(self) -> str:
        return partial_latex(self.of_latex, self.wrt_latex)

    @property
    def more(self) -> int:
        """Paths counted but not written out."""
        return self.path_count - len(self.paths)

    @property
    def path_sum(self) -> float | None:
        """Sum of the listed path products, when every path is listed."""
        if self.kind != PATHS or self.more:
            return None
        return sum((p.product for p in self.paths), 0.0)


# ------------------------------------------------------------------ building
def count_paths(graph: Graph, start: str, output: str) -> dict[str, int]:
    """Paths to ``output`` from every node reachable from ``start`` (edges counted with
    their multiplicity). Iterative post-order, so deep chains need no recursion; reads
    networkx's adjacency dicts directly (this runs on every selection of a node)."""
    succ = graph.nx._succ
    counts: dict[str, int] = {}
    stack: list[tuple[str, bool]] = [(start, False)]
    while stack:
        nid, done = stack.pop()
        if nid in counts:
            continue
        if nid == output:
            counts[nid] = 1
            continue
        if done:
            counts[nid] = sum(counts[d] * len(keys) for d, keys in succ[nid].items())
            continue
        stack.append((nid, True))
        for d in succ[nid]:
            if d not in counts:
                stack.append((d, False))
    return counts


def iter_paths(graph: Graph, start: str, output: str,
               counts: dict[str, int] | None = None) -> Iterator[tuple[str, ...]]:
    """Edge paths from ``start`` to ``output``, each a tuple of edge keys, generated lazily
    in a stable order (consumers by id, then port). Only edges that can still reach the
    output are followed, so each path costs its own length, however many there are."""
    if counts is None:
        counts = count_paths(graph, start, output)
    if counts.get(start, 0) == 0:
        return
    succ = graph.nx._succ

    def useful(nid: str) -> list[EdgeKey]:
        out = [(nid, d, k) for d, keys in succ[nid].items() if counts.get(d, 0) > 0
               for k in keys]
        if len(out) > 1:
            out.sort(key=lambda e: (id_key(e[1]), e[2]))
        return out

    if start == output:
        yield ()
        return
    trail: list[EdgeKey] = []
    stack: list[Iterator[EdgeKey]] = [iter(useful(start))]
    while stack:
        edge = next(stack[-1], None)
        if edge is None:
            stack.pop()
            if trail:
                trail.pop()
            continue
        trail.append(edge)
        if edge[1] == output:
            yield tuple(trail)
            trail.pop()
        else:
            stack.append(iter(useful(edge[1])))


def _factor(graph: Graph, result: Result, edge: EdgeKey) -> Factor:
    src, dst, port = edge
    er = result.edges.get(edge)
    symbol, _, formula = local_formula(graph, src, dst, port).partition(" = ")
    tex_sym = partial_latex(latex_node(graph, dst), latex_node(graph, src))
    tag = ""
    if graph.nx.number_of_edges(src, dst) > 1:
        tag = OPS[graph.op_of(dst)].port_label(port)
        tex_sym += r"\Big|_{\text{" + tag + "}}"
    return Factor(edge, symbol, formula, er.local if er is not None else math.nan,
                  er.reason if er is not None else "not evaluated",
                  tex_sym, local_formula_latex(graph, src, dst, port), tag)


def _folded(result: Result, edges: tuple[EdgeKey, ...]) -> Factor:
    """One factor standing for the local derivatives along ``edges`` (from the output
    end): their product, with nothing of each written out."""
    value = 1.0
    for e in edges:
        er = result.edges.get(e)
        value *= er.local if er is not None and er.local is not None else math.nan
    k = len(edges)
    text = f"⋯ {k:,} more ⋯"
    return Factor(edges[0], text, text, value, None, r"\cdots", r"\cdots", "", k, edges)


def derive(graph: Graph, result: Result, nid: str, max_paths: int = MAX_PATHS) -> Derivation:
    """The derivation of ∂(output)/∂nid from ``result`` (an evaluation of ``graph``)."""
    if nid not in graph:
        raise KeyError(nid)
    out = result.output
    wrt = display_name(graph, nid)
    wrt_tex = latex_node(graph, nid)
    if out is None or out not in graph:
        why = str(result.output_error) if result.output_error else "no output is set"
        return Derivation(nid, None, NO_OUTPUT, wrt, OUTPUT_SYMBOL, wrt_tex, OUTPUT_SYMBOL,
                          {nid: wrt}, {nid: wrt_tex}, (), 0, math.nan,
                          message=f"{why}. Mark a node as the output to see ∂{OUTPUT_SYMBOL}/∂{wrt}.")
    of, of_tex = display_name(graph, out), latex_node(graph, out)
    nr = result.nodes.get(nid)
    if nr is not None and nr.grad is None:
        what = "a constant" if graph.op_of(nid) == "const" else "computed from constants alone"
        return Derivation(nid, out, IS_CONSTANT, wrt, of, wrt_tex, of_tex, {nid: wrt},
                          {nid: wrt_tex}, (), 0, math.nan, CONSTANT,
                          message=f"{wrt} is {what}: it cannot change, so it has no "
                                  f"gradient and nothing is differentiated with respect "
                                  f"to it.")
    total = nr.grad if nr is not None else math.nan
    total_reason = nr.grad_reason if nr is not None else None
    base = dict(node=nid, output=out, wrt=wrt, of=of, wrt_latex=wrt_tex, of_latex=of_tex,
                total=total, total_reason=total_reason)
    if nid == out:
        return Derivation(kind=IS_OUTPUT, names={nid: wrt}, latex_names={nid: wrt_tex},
                          paths=(), path_count=1, **base)
    counts = count_paths(graph, nid, out)
    n = counts.get(nid, 0)
    if n == 0:
        return Derivation(kind=NO_PATH, names={nid: wrt}, latex_names={nid: wrt_tex},
                          paths=(), path_count=0, **base)
    terms: list[PathTerm] = []
    names: dict[str, str] = {nid: wrt}
    tex_names: dict[str, str] = {nid: wrt_tex}
    notes: list[str] = []
    cache: dict[EdgeKey, Factor] = {}

    def factor(e: EdgeKey) -> Factor:
        f = cache.get(e)
        if f is None:
            f = cache[e] = _factor(graph, result, e)
            if f.reason and not _finite(f.value):
                notes.append(f.reason)
        return f

    for edges in islice(iter_paths(graph, nid, out, counts), max_paths):
        chain = tuple(reversed(edges))  # from the output end
        product = 1.0
        for e in chain:
            er = result.edges.get(e)
            product *= er.local if er is not None and er.local is not None else math.nan
        if len(chain) > MAX_FACTORS:
            middle = chain[FOLD_KEEP:-FOLD_KEEP]
            factors = ([factor(e) for e in chain[:FOLD_KEEP]]
                       + [_folded(result, middle)]
                       + [factor(e) for e in chain[-FOLD_KEEP:]])
            nodes = (nid,) + tuple(e[1] for e in edges)
            shown = (nid,) + tuple(e[1] for e in edges[:FOLD_KEEP]) + tuple(
                e[1] for e in edges[-FOLD_KEEP:])
        else:
            factors = [factor(e) for e in chain]
            nodes = shown = (nid,) + tuple(e[1] for e in edges)
        for x in shown:
            if x not in names:
                names[x] = display_name(graph, x)
                tex_names[x] = latex_node(graph, x)
        terms.append(PathTerm(nodes, tuple(factors), product, chain))
    if total_reason and not _finite(total) and not notes:
        notes.append(f"∂{of}/∂{wrt} = {fmt(total)}: {total_reason}")
    groups: list[PathGroup] = []
    if n > max_paths:  # too many to read one by one: summed per first edge
        for _, c, port in sorted(graph.nx.out_edges(nid, keys=True),
                                 key=lambda e: (id_key(e[1]), e[2])):
            k = counts.get(c, 0)
            er = result.edges.get((nid, c, port))
            if not k or er is None or er.local is None:
                continue
            gc = result.nodes[c].grad
            sym = f"∂{of}/∂{display_name(graph, c)} · ∂{display_name(graph, c)}/∂{wrt}"
            groups.append(PathGroup((nid, c, port), sym, gc, er.local, er.product, k))
    return Derivation(kind=PATHS, names=names, latex_names=tex_names, paths=tuple(terms),
                      path_count=n, notes=tuple(dict.fromkeys(notes)),
                      groups=tuple(groups), **base)


def _finite(x: float) -> bool:
    return not (math.isnan(x) or math.isinf(x))


# ------------------------------------------------------------------ rendering
#: a piece of a written-out line: its text and the index of the factor it shows (or None)
Token = tuple[str, "int | None"]

_STYLES = {
    "text": dict(dot=" · ", times=" × ", ops=(" + ", " − ", " if ", " else "),
                 left="(", right=")", minus="−"),
    "latex": dict(dot=r" \cdot ", times=r" \times ", ops=(" + ", " - ", r"\text{ if }",
                                                          r"\text{ else }"),
                  left=r"\left(", right=r"\right)", minus="-"),
}


def _top_level(s: str, ops: tuple[str, ...]) -> bool:
    """Whether ``s`` has an operator outside every bracket (so it needs parentheses in a product)."""
    depth = 0
    for i, c in enumerate(s):
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif depth == 0 and any(s.startswith(op, i) for op in ops):
            return True
    return False


def _number(x: float, paren: bool, style: str = "text") -> str:
    t = latex_number(x) if style == "latex" else fmt(x)
    neg = t.startswith("−") or t.startswith("-")
    return f"({t})" if paren and neg else t


def _join(items: list[Token], sep: str) -> list[Token]:
    out: list[Token] = []
    for i, tok in enumerate(items):
        if i:
            out.append((sep, None))
        out.append(tok)
    return out


def tokens_text(row: list[Token]) -> str:
    return "".join(t for t, _ in row)


def chain_rows(term: PathTerm, style: str = "text", lhs: str = "") -> list[list[Token]]:
    """A path's chain: symbols, formulas, numbers, product — each a row of tokens.

    A row equal to the one before (or to ``lhs``, what the chain is written after) is
    dropped: ``∂s/∂x`` = ``1`` = ``1`` reads ``1`` once, ``∂L/∂ŷ = ∂L/∂ŷ`` is not written.
    Negative numbers are parenthesised when multiplied, as the tutorial writes ``(−1.4) × 0.3``.
    """
    st = _STYLES[style]
    many = len(term.factors) > 1
    syms, forms, nums = [], [], []
    for i, f in enumerate(term.factors):
        syms.append((f.latex_symbol if style == "latex" else f.symbol, i))
        form = f.latex_formula if style == "latex" else f.formula
        if many and (_top_level(form, st["ops"]) or (i and form.startswith(st["minus"]))):
            form = f"{st['left']}{form}{st['right']}"
        forms.append((form, i))
        nums.append((_number(f.value, many, style), i))
    rows = [_join(syms, st["dot"]), _join(forms, st["dot"]), _join(nums, st["times"])]
    if many:
        rows.append([(latex_number(term.product) if style == "latex" else fmt(term.product),
                      None)])
    out: list[list[Token]] = []
    for r in rows:
        before = tokens_text(out[-1]) if out else lhs
        if tokens_text(r) != before:
            out.append(r)
    return out


def route(d: Derivation, term: PathTerm, style: str = "text") -> str:
    """``w₁ → h → ŷ → L``: the nodes a path visits, from w to the output (with the port,
    ``x → f [a]``, where a node feeds several ports of the next one)."""
    names = d.latex_names if style == "latex" else d.names
    parts = [names[term.nodes[0]]]
    steps = list(zip(term.nodes[1:], reversed(term.edges)))
    tags = {f.edge: f.port_tag for f in term.factors if not f.folded}
    skip = range(0)
    if len(steps) > MAX_FACTORS:  # as the factors fold: the first and last few nodes
        skip = range(FOLD_KEEP, len(steps) - FOLD_KEEP)
    for i, (n, e) in enumerate(steps):
        if i in skip:
            if i == skip.start:
                parts.append(r"\cdots" if style == "latex" else f"… {len(skip):,} nodes …")
            continue
        tag = tags.get(e, "")
        if style == "latex":
            parts.append(names[n] + (rf"\,[\text{{{tag}}}]" if tag else ""))
        else:
            parts.append(names[n] + (f" [{tag}]" if tag else ""))
    return (r" \to " if style == "latex" else " → ").join(parts)


def headline(d: Derivation) -> str:
    """One sentence saying what the derivation is about (or why there is none)."""
    if d.kind in (NO_OUTPUT, IS_CONSTANT):
        return d.message[:1].upper() + d.message[1:]
    if d.kind == IS_OUTPUT:
        return (f"{d.wrt} is the output: {d.symbol} = 1. "
                "Every chain of local derivatives starts here.")
    if d.kind == NO_PATH:
        return (f"{d.symbol} = 0: no path leads from {d.wrt} to {d.of}, "
                f"so changing {d.wrt} does not change {d.of}.")
    if d.path_count == 1:
        return f"One path leads from {d.wrt} to {d.of}; {d.symbol} is the product along it."
    return (f"{d.path_count:,} paths lead from {d.wrt} to {d.of}; "
            f"{d.symbol} is the sum of their products.")


def sum_line(d: Derivation, style: str = "text") -> str | None:
    """``a + b = total`` over the listed paths, when there are several and all are listed."""
    if d.kind != PATHS or d.path_count < 2 or d.more:
        return None
    plus = " + "
    terms = plus.join(_number(p.product, True, style) for p in d.paths)
    total = latex_number(d.path_sum) if style == "latex" else fmt(d.path_sum)
    return f"{terms} = {total}"


def more_line(d: Derivation) -> str | None:
    if d.kind != PATHS or not d.more:
        return None
    return f"… and {d.more:,} more paths ({d.path_count:,} in all)."


def group_lines(d: Derivation) -> list[str]:
    """Every path summed per first edge out of w, when there are too many to list:
    ``via h: ∂L/∂h · ∂h/∂w₁ = (−1.4) × 0.3 = −0.42 (1,024 paths)``; a heading first
    says how many paths were folded into how many sums."""
    if d.kind != PATHS or not d.groups:
        return []
    lines = [f"All {d.path_count:,} paths, folded into {len(d.groups)} "
             f"sum{'s' if len(d.groups) != 1 else ''} by the edge each leaves {d.wrt} on:"]
    twins = {g.edge[1] for g in d.groups if sum(h.edge[1] == g.edge[1] for h in d.groups) > 1}
    for g in d.groups:
        via = g.symbol.split("/∂", 1)[1].split(" ·", 1)[0]
        if g.edge[1] in twins:
            via += f" [{g.edge[2]}]"
        lines.append(f"via {via}: {g.symbol} = {_number(g.grad, True)} × "
                     f"{_number(g.local, True)} = {fmt(g.product)} "
                     f"({g.paths:,} path{'s' if g.paths != 1 else ''})")
    total = sum((g.product for g in d.groups), 0.0)
    lines.append(f"{d.symbol} = " + " + ".join(_number(g.product, True) for g in d.groups)
                 + f" = {fmt(total)}")
    return lines


def backprop_line(d: Derivation) -> str | None:
    if d.kind != PATHS:
        return None
    return f"{BACKPROP_NOTE}: {d.symbol} = {fmt(d.total)}."


def rounding_note(d: Derivation) -> str | None:
    """When adding the path products in path order shows another number than backprop."""
    s = d.path_sum
    if s is None or d.path_count < 2 or fmt(s) == fmt(d.total):
        return None
    return (f"(The products added path by path give {fmt(s)}; backpropagation adds the "
            "same terms in another order, so floating point rounds them differently.)")


def _width(s: str) -> int:
    return sum(1 for c in s if not unicodedata.combining(c))


def to_text(d: Derivation) -> str:
    """Plain text, aligned on ``=`` like a hand calculation."""
    lines = [headline(d)]
    if d.kind == PATHS:
        if d.path_count == 1:
            t = d.paths[0]
            lines += [f"Path: {route(d, t)}", ""]
            pad = " " * _width(d.symbol)
            for j, row in enumerate(chain_rows(t, lhs=d.symbol)):
                lines.append(f"{d.symbol if j == 0 else pad} = {tokens_text(row)}")
        else:
            for k, t in enumerate(d.paths, 1):
                lines += ["", f"Path {k}: {route(d, t)}"]
                for j, row in enumerate(chain_rows(t)):
                    lines.append(("    " if j == 0 else "  = ") + tokens_text(row))
            if d.more:
                lines += ["", more_line(d)]
                groups = group_lines(d)
                if groups:
                    lines += [""] + groups
            s = sum_line(d)
            if s:
                lines += ["", f"{d.symbol} = {s}"]
        lines += ["", backprop_line(d)]
        note = rounding_note(d)
        if note:
            lines.append(note)
        lines += list(d.notes)
    return "\n".join(lines) + "\n"


def _md_escape(s: str) -> str:
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in s)


def to_markdown(d: Derivation) -> str:
    """Markdown: prose around fenced blocks, so the aligned chains survive any renderer."""
    lines = [f"### {_md_escape(d.symbol)}", "", _md_escape(headline(d))]
    if d.kind == PATHS:
        if d.path_count == 1:
            t = d.paths[0]
            lines += ["", f"**Path:** {_md_escape(route(d, t))}", "", "```"]
            pad = " " * _width(d.symbol)
            for j, row in enumerate(chain_rows(t, lhs=d.symbol)):
                lines.append(f"{d.symbol if j == 0 else pad} = {tokens_text(row)}")
            lines.append("```")
        else:
            for k, t in enumerate(d.paths, 1):
                lines += ["", f"**Path {k}:** {_md_escape(route(d, t))}", "", "```"]
                for j, row in enumerate(chain_rows(t)):
                    lines.append(("  " if j == 0 else "= ") + tokens_text(row))
                lines.append("```")
            if d.more:
                lines += ["", _md_escape(more_line(d))]
            s = sum_line(d)
            if s:
                lines += ["", f"**{_md_escape(d.symbol)} = {_md_escape(s)}**"]
        lines += ["", _md_escape(backprop_line(d))]
        note = rounding_note(d)
        if note:
            lines += ["", _md_escape(note)]
        for n in d.notes:
            lines += ["", "- " + _md_escape(n)]
    return "\n".join(lines) + "\n"


def _tex_text(s: str) -> str:
    """Prose for a LaTeX document: escape its specials, keep Unicode (for XeLaTeX/LuaLaTeX)."""
    out = []
    for c in s:
        if c in "&%$#_{}":
            out.append("\\" + c)
        elif c == "\\":
            out.append(r"\textbackslash{}")
        elif c == "~":
            out.append(r"\textasciitilde{}")
        elif c == "^":
            out.append(r"\textasciicircum{}")
        else:
            out.append(c)
    return "".join(out)


def to_latex(d: Derivation) -> str:
    r"""LaTeX: display math in ``aligned`` (amsmath) with ``\frac{\partial L}{\partial w_1}``,
    prose around it in text mode."""
    sym = d.latex_symbol
    if d.kind in (NO_OUTPUT, IS_CONSTANT):
        return _tex_text(headline(d)) + "\n"
    if d.kind == IS_OUTPUT:
        return f"\\[ {sym} = 1 \\]\n"
    if d.kind == NO_PATH:
        return (f"\\[ {sym} = 0 \\]\n"
                f"No path leads from ${d.wrt_latex}$ to ${d.of_latex}$.\n")
    body: list[str] = []
    if d.path_count == 1:
        rows = chain_rows(d.paths[0], "latex", lhs=sym)
        for j, row in enumerate(rows):
            body.append((sym if j == 0 else "") + " &= " + tokens_text(row))
    else:
        body.append(f"{sym} &= \\sum_{{\\text{{paths}}}} \\prod \\text{{local derivatives}}")
        for k, t in enumerate(d.paths, 1):
            rows = chain_rows(t, "latex")
            body.append(f"\\text{{path {k}: }} {route(d, t, 'latex')} \\colon\\quad "
                        f"&\\phantom{{=}} {tokens_text(rows[0])}")
            for row in rows[1:]:
                body.append("&= " + tokens_text(row))
        if d.more:
            body.append(f"&\\text{{{_tex_text(more_line(d))}}}")
        s = sum_line(d, "latex")
        if s:
            body.append(f"{sym} &= {s}")
    out = ["\\[", "\\begin{aligned}", " \\\\\n".join(body), "\\end{aligned}", "\\]",
           f"{_tex_text(BACKPROP_NOTE)}: ${sym} = {latex_number(d.total)}$."]
    note = rounding_note(d)
    if note:
        out.append(_tex_text(note))
    return "\n".join(out) + "\n"


RENDERERS = {"text": to_text, "markdown": to_markdown, "latex": to_latex}
