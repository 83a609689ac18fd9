"""Quiz: the numbers of one evaluation turned into questions a learner answers.

Each question is one number the engine computed — a node's value, an edge's local
derivative, an edge's product ∂L/∂target × local, or a node's gradient — in the order
the passes compute them: values forward, then backward node by node (its gradient,
then each edge it sends the gradient down: local derivative, product). ``needs``
says which other quizzed numbers a question is computed from, so a quiz can tell the
learner what to work out first. Answers are read by ``parse_answer``, an ast walk of
numbers and + − × ÷ ^ ( ): typed text is never run as code.

The GUI, the command line (``main.py quiz``) and lessons all ask the same questions.
"""

from __future__ import annotations

import ast
import math
import re
import string
from dataclasses import dataclass
from typing import Iterable

from engine.graph import Graph
from engine.labels import display_name, grad_symbol, local_formula, node_formula
from engine.numfmt import fmt
from engine.ops import OPS
from engine.result import EdgeKey, Result

VALUE, LOCAL, PRODUCT, GRAD = "value", "local", "product", "grad"
#: question kinds in pass order within one step
KINDS = (VALUE, LOCAL, PRODUCT, GRAD)
#: what the learner calls each kind (menus, ``--kinds``)
KIND_TITLES = {VALUE: "values", LOCAL: "local derivatives", PRODUCT: "products",
               GRAD: "gradients"}
_KIND_WORDS = {"value": VALUE, "values": VALUE, "forward": VALUE,
               "local": LOCAL, "locals": LOCAL, "local derivatives": LOCAL,
               "product": PRODUCT, "products": PRODUCT,
               "grad": GRAD, "grads": GRAD, "gradient": GRAD, "gradients": GRAD}

#: the longest answer read: a number or a short expression of visible numbers
MAX_ANSWER = 200
#: below this a truth counts as zero: relative tolerance means nothing there
ABS_FLOOR = 1e-9


# ---------------------------------------------------------------------- answers
_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
           ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
           ast.Pow: lambda a, b: a ** b}
_SPELLINGS = str.maketrans({"−": "-", "–": "-", "×": "*", "·": "*", "⋅": "*", "∙": "*",
                            "÷": "/"})


#: what an answer may hold once its spellings are read (− · × ÷ ^): a calculator's keys
_ANSWER_CHARS = re.compile(r"[0-9.eE+\-*/() \t]+")


def parse_answer(text: str) -> float:
    """The number ``text`` means: a number, or arithmetic of numbers with + - * /,
    parentheses, unary minus and ^ or ** for powers (``−1.4·0.3`` and ``-1.4*0.3``
    both work). Raises ValueError with a sentence a learner can act on."""
    if not isinstance(text, str):
        raise ValueError("an answer must be text")
    if len(text) > MAX_ANSWER:
        raise ValueError(f"that answer is too long (at most {MAX_ANSWER} characters)")
    # "^" is a power here, as on a calculator (Python would read it as xor)
    src = text.replace("^", "**").translate(_SPELLINGS).strip()
    if not src:
        raise ValueError("type a number, such as 2 or -1.4*0.3")
    if _ANSWER_CHARS.fullmatch(src) is None:  # not Python's 0x10, 1_000 or "1 # …"
        raise ValueError(f"cannot read {text.strip()!r} as a number: use digits, "
                         "+ - * / ^ and parentheses")
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError:
        raise ValueError(f"cannot read {text.strip()!r} as a number: use digits, "
                         "+ - * / ^ and parentheses") from None
    except (ValueError, MemoryError, RecursionError):
        raise ValueError(f"cannot read {text.strip()!r} as a number") from None
    try:
        value = _walk(tree.body)
    except ZeroDivisionError:
        raise ValueError("that divides by zero") from None
    except OverflowError:
        raise ValueError("that number is too large") from None
    except RecursionError:
        raise ValueError("that answer is nested too deeply") from None
    if isinstance(value, complex) or not math.isfinite(value):
        raise ValueError("that is not a finite number")
    return float(value)


def _walk(node: ast.AST) -> float:
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError("only numbers can be used in an answer")
        # floats throughout, so 10**10**10 overflows at once instead of computing
        return float(v)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        x = _walk(node.operand)
        return -x if isinstance(node.op, ast.USub) else x
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        a, b = _walk(node.left), _walk(node.right)
        if isinstance(node.op, ast.Pow) and a < 0 and not float(b).is_integer():
            raise ValueError("a negative number to a fractional power is not real")
        return _BINOPS[type(node.op)](a, b)
    if isinstance(node, ast.Name):
        raise ValueError(f"type the number, not the name {node.id!r}")
    raise ValueError("only numbers, + - * / ^ and parentheses can be used in an answer")


def is_right(answer: float, truth: float, rel: float = 1e-3) -> bool:
    """Whether ``answer`` matches ``truth`` to a relative tolerance (1e-3: a learner
    working from numbers shown to four digits is right), with a small absolute
    floor so a truth of 0 (or a rounding residue like 1e-17) accepts 0."""
    answer, truth = float(answer), float(truth)
    if not (math.isfinite(answer) and math.isfinite(truth)):
        return False
    return abs(answer - truth) <= max(rel * abs(truth), ABS_FLOOR)


# -------------------------------------------------------------------- questions
@dataclass(frozen=True)
class Question:
    """One number to work out. ``key`` is stable for a graph (``local:n3>n5:a``), so a
    lesson or a saved quiz can name a question."""

    key: str
    kind: str
    #: the node (value, grad) or edge (local, product) the number belongs to
    node: str | None
    edge: EdgeKey | None
    #: how the number is called: ``h``, ``∂h/∂w₁``, ``∂L/∂h × ∂h/∂w₁``, ``∂L/∂w₁``
    prompt: str
    truth: float
    #: keys of quizzed questions this number is computed from (answer those first)
    needs: tuple[str, ...] = ()
    #: the formula it comes from: ``h = w₁·x``, ``∂h/∂w₁ = x``, ``∂L/∂ŷ × ∂ŷ/∂h``
    formula: str = ""

    @property
    def where(self) -> str | EdgeKey:
        """The node id or edge key the number is drawn on."""
        return self.node if self.node is not None else self.edge  # type: ignore[return-value]


def question_key(kind: str, where: str | EdgeKey) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown question kind {kind!r}")
    if isinstance(where, tuple):
        s, t, p = where
        return f"{kind}:{s}>{t}:{p}"
    return f"{kind}:{where}"


def parse_kinds(text: str | Iterable[str]) -> tuple[str, ...]:
    """``values,locals`` / ``all`` / ["local", "product"] → kinds in ``KINDS`` order."""
    words = text.split(",") if isinstance(text, str) else list(text)
    chosen: set[str] = set()
    for w in words:
        w = w.strip().lower()
        if not w:
            continue
        if w == "all":
            chosen.update(KINDS)
        elif w in _KIND_WORDS:
            chosen.add(_KIND_WORDS[w])
        else:
            raise ValueError(f"unknown kind {w!r}: choose from values, locals, products, "
                             "grads or all")
    if not chosen:
        raise ValueError("choose at least one kind: values, locals, products, grads or all")
    return tuple(k for k in KINDS if k in chosen)


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _placeholders(template: str) -> set[str]:
    try:
        return {f for _, f, _, _ in string.Formatter().parse(template) if f}
    except ValueError:
        return set()


def _local_lhs(graph: Graph, edge: EdgeKey) -> str:
    return local_formula(graph, *edge).partition(" = ")[0]


def _product_text(graph: Graph, result: Result, edge: EdgeKey) -> str:
    return f"{grad_symbol(graph, result, edge[1])} × {_local_lhs(graph, edge)}"


def _used_values(graph: Graph, edge: EdgeKey) -> list[str]:
    """The nodes whose values a local derivative's formula reads (``∂h/∂w₁ = x``: x)."""
    src, dst, port = edge
    spec = OPS[graph.op_of(dst)]
    used = _placeholders(spec.deriv_text(port, graph.attrs_of(dst)))
    out = [s for p, s in graph.inputs(dst) if spec.variadic or p in used]
    if "out" in used:
        out.append(dst)
    return list(dict.fromkeys(out))


def _on_path_outs(graph: Graph, result: Result, nid: str) -> list[EdgeKey]:
    return [(nid, d, k) for _, d, k in graph.nx.out_edges(nid, keys=True)
            if (nid, d, k) in result.edges and result.edges[(nid, d, k)].on_path]


def questions(graph: Graph, result: Result, kinds: str | Iterable[str] = KINDS) -> list[Question]:
    """The questions of ``kinds`` for ``graph`` as evaluated in ``result``, in pass
    order. Numbers that are not finite (log of −1) are not asked; the backward pass
    covers only what it computes: nodes and edges on the path to the output, not
    those from constants.

    A question's ``needs`` are the nearest asked numbers it is computed from, through
    numbers that are not asked: with products asked and gradients not, ∂L/∂h × ∂h/∂w₁
    needs the products on h's outgoing edges (∂L/∂h is their sum)."""
    chosen = set(parse_kinds(kinds))
    G = graph.nx
    qs: list[Question] = []
    asked: set[str] = set()
    # the nearest asked numbers each number comes from (see the docstring)
    near_v: dict[str, tuple[str, ...]] = {}
    near_l: dict[EdgeKey, tuple[str, ...]] = {}
    near_g: dict[str, tuple[str, ...]] = {}

    def in_edges(nid: str) -> list[EdgeKey]:
        return [(s, nid, k) for s, _, k in G.in_edges(nid, keys=True)]

    def values_of(nids) -> tuple[str, ...]:
        return _dedupe(tuple(k for n in nids for k in near_v.get(n, ())))

    # forward: every op node's value, fed by its operands' values
    for nid in result.order:
        spec = OPS[graph.op_of(nid)]
        operands = [s for s, _, _ in in_edges(nid)]
        if spec.is_leaf or VALUE not in chosen or not _finite(result.nodes[nid].value):
            near_v[nid] = values_of(operands) if not spec.is_leaf else ()
            continue
        key = question_key(VALUE, nid)
        qs.append(Question(key, VALUE, nid, None, display_name(graph, nid),
                           float(result.nodes[nid].value), values_of(operands),
                           node_formula(graph, nid)))
        asked.add(key)
        near_v[nid] = (key,)

    if result.output is None:
        return qs

    def near_local(e: EdgeKey) -> tuple[str, ...]:
        k = question_key(LOCAL, e)
        return (k,) if k in asked else near_l.get(e, ())

    def near_product(e: EdgeKey) -> tuple[str, ...]:
        k = question_key(PRODUCT, e)
        return (k,) if k in asked else _dedupe(near_g.get(e[1], ()) + near_local(e))

    for nid in result.backward_order:
        nr = result.nodes[nid]
        outs = _on_path_outs(graph, result, nid)
        from_outs = () if nid == result.output else _dedupe(
            tuple(k for e in outs for k in near_product(e)))
        if GRAD in chosen and _finite(nr.grad):
            gsym = grad_symbol(graph, result, nid)
            if nid == result.output:
                formula = f"{gsym}: the output's gradient with respect to itself"
            else:
                formula = f"{gsym} = " + " + ".join(
                    _product_text(graph, result, e) for e in outs)
            key = question_key(GRAD, nid)
            qs.append(Question(key, GRAD, nid, None, gsym, float(nr.grad), from_outs,
                               formula))
            asked.add(key)
            near_g[nid] = (key,)
        else:
            near_g[nid] = from_outs
        for e in in_edges(nid):
            er = result.edges.get(e)
            if er is None or er.local is None:
                continue
            near_l[e] = values_of(_used_values(graph, e))
            if LOCAL in chosen and _finite(er.local):
                key = question_key(LOCAL, e)
                qs.append(Question(key, LOCAL, None, e, _local_lhs(graph, e), float(er.local),
                                   near_l[e], local_formula(graph, *e)))
                asked.add(key)
            if PRODUCT in chosen and _finite(er.product):
                text = _product_text(graph, result, e)
                key = question_key(PRODUCT, e)
                qs.append(Question(key, PRODUCT, None, e, text, float(er.product),
                                   _dedupe(near_g[nid] + near_local(e)), text))
                asked.add(key)
    return qs


def _dedupe(keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(keys))


# ------------------------------------------------------------------ quiz state
OPEN, WRONG, RIGHT, HINTED, REVEALED = "open", "wrong", "right", "hinted", "revealed"
#: how each mark is said in a score line and a tooltip
MARK_TITLES = {OPEN: "not answered yet", WRONG: "wrong so far", RIGHT: "right at the first try",
               HINTED: "right after a wrong try", REVEALED: "revealed"}
#: the wrong tries after which the hint is shown with every answer
HINT_AFTER = 2


@dataclass
class Mark:
    """Where the learner is with one question."""

    status: str = OPEN
    #: checked answers (a typo that is not a number is not a try)
    attempts: int = 0
    #: the last text typed, shown again in the field
    text: str = ""

    @property
    def done(self) -> bool:
        return self.status in (RIGHT, HINTED, REVEALED)


@dataclass(frozen=True)
class Outcome:
    """What checking one answer gave: the mark, and the sentence to show."""

    key: str
    status: str
    right: bool
    message: str
    #: the hint, from the second wrong try on ("" otherwise)
    hint: str = ""
    #: set when the text was not a number (no try counted)
    error: str = ""


@dataclass(frozen=True)
class Score:
    right: int
    hinted: int
    revealed: int
    total: int

    @property
    def open(self) -> int:
        return self.total - self.right - self.hinted - self.revealed

    @property
    def all_right(self) -> bool:
        return self.right + self.hinted == self.total

    def text(self) -> str:
        """``5 of 12 right at the first try, 1 after a wrong try, 2 revealed, 4 to go``."""
        parts = [f"{self.right} of {self.total} right at the first try"]
        if self.hinted:
            parts.append(f"{self.hinted} after a wrong try")
        if self.revealed:
            parts.append(f"{self.revealed} revealed")
        if self.open:
            parts.append(f"{self.open} to go")
        return ", ".join(parts)


@dataclass(frozen=True)
class Given:
    """One number a question is computed from: shown, or itself a quizzed question."""

    key: str
    label: str
    number: float


class Quiz:
    """The learner's answers to the questions of one evaluation. Not part of the
    document: a view over a Graph and its Result, restartable at any time."""

    def __init__(self, graph: Graph, result: Result, kinds: str | Iterable[str] = KINDS,
                 rel: float = 1e-3) -> None:
        self.kinds = parse_kinds(kinds)
        self.rel = rel
        self.graph, self.result = graph, result
        self.questions = questions(graph, result, self.kinds)
        self._by_key = {q.key: q for q in self.questions}
        self.marks: dict[str, Mark] = {q.key: Mark() for q in self.questions}
        self._unknown: set[str] = set()
        self._unknown_for: tuple[bool, ...] | None = None

    # ------------------------------------------------------------------ lookup
    def __contains__(self, key: str) -> bool:
        return key in self._by_key

    def __len__(self) -> int:
        return len(self.questions)

    def question(self, key: str) -> Question:
        return self._by_key[key]

    def mark(self, key: str) -> Mark:
        return self.marks[key]

    def hidden(self, key: str) -> bool:
        """Whether the number of ``key`` is still to be worked out (not drawn)."""
        m = self.marks.get(key)
        return m is not None and not m.done

    def known(self, key: str) -> bool:
        """A number the learner can see: answered or revealed, or not quizzed and not
        computed from a number still to be worked out."""
        return not self.unknown(key)

    def withheld(self, key: str) -> bool:
        """A number not asked but computed from one still to be worked out: drawn as
        "?" (with products asked, ∂L/∂w₁ on w₁'s card would give ∂L/∂h × ∂h/∂w₁)."""
        return key not in self._by_key and self.unknown(key)

    def unknown(self, key: str) -> bool:
        """Hidden (asked, not yet worked out) or withheld."""
        state = tuple(m.done for m in self.marks.values())
        if self._unknown_for != state:
            self._unknown = _unknown_numbers(self)
            self._unknown_for = state
        return key in self._unknown

    def next_open(self, after: str | None = None) -> Question | None:
        """The next question not yet done, in pass order after ``after`` (wrapping)."""
        qs = self.questions
        start = 0
        if after is not None and after in self._by_key:
            start = qs.index(self._by_key[after]) + 1
        for q in qs[start:] + qs[:start]:
            if not self.marks[q.key].done:
                return q
        return None

    @property
    def done(self) -> bool:
        return all(m.done for m in self.marks.values())

    def score(self) -> Score:
        count = {s: 0 for s in (RIGHT, HINTED, REVEALED)}
        for m in self.marks.values():
            if m.status in count:
                count[m.status] += 1
        return Score(count[RIGHT], count[HINTED], count[REVEALED], len(self.questions))

    # ----------------------------------------------------------------- answers
    def answer(self, key: str, text: str) -> Outcome:
        """Check ``text`` against the engine's number for ``key`` and mark it."""
        q, m = self._by_key[key], self.marks[key]
        if m.done:
            return Outcome(key, m.status, m.status != REVEALED,
                           f"{q.prompt} is already {MARK_TITLES[m.status]}")
        m.text = text
        try:
            number = parse_answer(text)
        except ValueError as e:
            return Outcome(key, m.status, False, str(e), error=str(e))
        m.attempts += 1
        if is_right(number, q.truth, self.rel):
            m.status = RIGHT if m.attempts == 1 else HINTED
            return Outcome(key, m.status, True, f"{q.prompt} = {fmt(q.truth)}: right")
        m.status = WRONG
        hint = self.hint(key) if m.attempts >= HINT_AFTER else ""
        first = self.missing(key)
        if hint:
            message = f"{q.prompt} is not {fmt(number, 6)}. Hint: {hint}"
        elif first:
            message = (f"{q.prompt} is not {fmt(number, 6)}: work out "
                       f"{' and '.join(x.prompt for x in first)} first")
        else:
            message = f"{q.prompt} is not {fmt(number, 6)}: try again"
        return Outcome(key, WRONG, False, message, hint=hint)

    def reveal(self, key: str) -> Question:
        q, m = self._by_key[key], self.marks[key]
        if not m.done:
            m.status = REVEALED
            m.text = fmt(q.truth)
        return q

    def reveal_one(self) -> Question | None:
        """Reveal the next open question in pass order (the one to learn from next)."""
        q = self.next_open()
        return None if q is None else self.reveal(q.key)

    def reveal_all(self) -> list[Question]:
        return [self.reveal(q.key) for q in self.questions if not self.marks[q.key].done]

    # ------------------------------------------------------------------- hints
    def givens(self, key: str) -> list[Given]:
        """The numbers ``key`` is computed from, known or not."""
        return _givens(self.graph, self.result, self._by_key[key])

    def missing(self, key: str) -> list[Question]:
        """The quizzed numbers ``key`` needs that the learner has not got yet."""
        return [self._by_key[n] for n in self._by_key[key].needs if self.hidden(n)]

    def hint(self, key: str) -> str:
        """The formula the number comes from, with the numbers it uses that the learner
        can see: ``∂L/∂h × ∂h/∂w₁ with ∂L/∂h = −0.42``; and what to work out first."""
        q = self._by_key[key]
        known = [g for g in self.givens(key) if self.known(g.key)]
        text = q.formula
        if known:
            text += ", with " + ", ".join(f"{g.label} = {fmt(g.number)}" for g in known)
        first = self.missing(key)
        if first:
            text += f"; work out {' and '.join(x.prompt for x in first)} first"
        return text

    # ----------------------------------------------------------------- refresh
    def refresh(self, graph: Graph, result: Result) -> "Quiz":
        """The same quiz on a changed graph or another sample: marks are kept for
        questions whose number did not change, the rest start again."""
        new = Quiz(graph, result, self.kinds, self.rel)
        for q in new.questions:
            old = self._by_key.get(q.key)
            if old is not None and old.prompt == q.prompt and is_right(old.truth, q.truth,
                                                                        1e-12):
                new.marks[q.key] = Mark(**vars(self.marks[q.key]))
        return new


def _unknown_numbers(quiz: "Quiz") -> set[str]:
    """The keys of every number the learner cannot know yet: the open questions and
    everything computed from them, in one forward and one backward sweep."""
    graph, result = quiz.graph, quiz.result
    G = graph.nx
    unknown: set[str] = set()

    def settle(key: str, derived: bool) -> bool:
        gone = quiz.hidden(key) if key in quiz._by_key else derived
        if gone:
            unknown.add(key)
        return gone

    vu: dict[str, bool] = {}
    for nid in result.order:
        vu[nid] = settle(question_key(VALUE, nid),
                         any(vu.get(s, False) for s in G.predecessors(nid)))
    if result.output is None:
        return unknown
    lu: dict[EdgeKey, bool] = {}
    for e, er in result.edges.items():
        if er.local is not None:
            lu[e] = settle(question_key(LOCAL, e),
                           any(vu.get(n, False) for n in _used_values(graph, e)))
    gu: dict[str, bool] = {}
    pu: dict[EdgeKey, bool] = {}
    for nid in result.backward_order:
        outs = _on_path_outs(graph, result, nid)
        gu[nid] = settle(question_key(GRAD, nid), nid != result.output
                         and any(pu.get(e, False) for e in outs))
        for s, _, k in G.in_edges(nid, keys=True):
            e = (s, nid, k)
            if e in lu:
                pu[e] = settle(question_key(PRODUCT, e), gu[nid] or lu[e])
    return unknown


def _givens(graph: Graph, result: Result, q: Question) -> list[Given]:
    G = graph.nx

    def value(nid: str) -> Given:
        return Given(question_key(VALUE, nid), display_name(graph, nid),
                     float(result.nodes[nid].value))

    if q.kind == VALUE:
        return [value(s) for s, _, _ in G.in_edges(q.node, keys=True)]
    src, dst, port = q.edge if q.edge is not None else (None, q.node, None)
    if q.kind == LOCAL:
        spec = OPS[graph.op_of(dst)]
        used = _placeholders(spec.deriv_text(port, graph.attrs_of(dst)))
        out = [value(s) for p, s in graph.inputs(dst) if spec.variadic or p in used]
        if "out" in used:
            out.append(value(dst))
        return list({g.key: g for g in out}.values())
    if q.kind == PRODUCT:
        return [Given(question_key(GRAD, dst), grad_symbol(graph, result, dst),
                      float(result.nodes[dst].grad)),
                Given(question_key(LOCAL, q.edge), _local_lhs(graph, q.edge),
                      float(result.edges[q.edge].local))]
    return [Given(question_key(PRODUCT, e), _product_text(graph, result, e),
                  float(result.edges[e].product))
            for e in ((dst, d, k) for _, d, k in G.out_edges(dst, keys=True))
            if e in result.edges and result.edges[e].on_path]
