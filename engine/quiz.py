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
import string
from dataclasses import dataclass
from typing import Iterable

from engine.graph import Graph
from engine.labels import display_name, grad_symbol, local_formula, node_formula
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


def questions(graph: Graph, result: Result, kinds: str | Iterable[str] = KINDS) -> list[Question]:
    """The questions of ``kinds`` for ``graph`` as evaluated in ``result``, in pass
    order. Numbers that are not finite (log of −1) are not asked; the backward pass
    covers only what it computes: nodes and edges on the path to the output, not
    those from constants."""
    chosen = set(parse_kinds(kinds))
    G = graph.nx
    qs: list[Question] = []
    value_qs: set[str] = set()

    def in_edges(nid: str) -> list[EdgeKey]:
        return [(s, nid, k) for s, _, k in G.in_edges(nid, keys=True)]

    # forward: every op node's value, fed by its operands' values
    for nid in result.order:
        spec = OPS[graph.op_of(nid)]
        if spec.is_leaf or VALUE not in chosen or not _finite(result.nodes[nid].value):
            continue
        key = question_key(VALUE, nid)
        needs = tuple(question_key(VALUE, s) for s, _, _ in in_edges(nid)
                      if question_key(VALUE, s) in value_qs)
        qs.append(Question(key, VALUE, nid, None, display_name(graph, nid),
                           float(result.nodes[nid].value), _dedupe(needs),
                           node_formula(graph, nid)))
        value_qs.add(key)

    if result.output is None:
        return qs
    asked: set[str] = set(value_qs)

    def maybe(kind: str, where: str | EdgeKey) -> tuple[str, ...]:
        k = question_key(kind, where)
        return (k,) if k in asked else ()

    for nid in result.backward_order:
        nr = result.nodes[nid]
        if GRAD in chosen and _finite(nr.grad):
            outs = [(nid, d, k) for _, d, k in G.out_edges(nid, keys=True)
                    if (nid, d, k) in result.edges and result.edges[(nid, d, k)].on_path]
            needs: tuple[str, ...] = ()
            for e in outs:
                needs += maybe(PRODUCT, e)
            gsym = grad_symbol(graph, result, nid)
            if nid == result.output:
                formula = f"{gsym}: the output's gradient with respect to itself"
            else:
                formula = f"{gsym} = " + " + ".join(
                    _product_text(graph, result, e) for e in outs)
            key = question_key(GRAD, nid)
            qs.append(Question(key, GRAD, nid, None, gsym, float(nr.grad), needs, formula))
            asked.add(key)
        spec = OPS[graph.op_of(nid)]
        for e in in_edges(nid):
            er = result.edges.get(e)
            if er is None or er.local is None:
                continue
            src, _, port = e
            if LOCAL in chosen and _finite(er.local):
                template = spec.deriv_text(port, graph.attrs_of(nid))
                used = _placeholders(template)
                needs = maybe(VALUE, nid) if "out" in used else ()
                for p, s in graph.inputs(nid):
                    if spec.variadic or p in used:
                        needs += maybe(VALUE, s)
                key = question_key(LOCAL, e)
                qs.append(Question(key, LOCAL, None, e, _local_lhs(graph, e), float(er.local),
                                   _dedupe(needs), local_formula(graph, *e)))
                asked.add(key)
            if PRODUCT in chosen and _finite(er.product):
                needs = maybe(GRAD, nid) + maybe(LOCAL, e)
                text = _product_text(graph, result, e)
                key = question_key(PRODUCT, e)
                qs.append(Question(key, PRODUCT, None, e, text, float(er.product), needs, text))
                asked.add(key)
    return qs


def _dedupe(keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(keys))
