"""Fuzzing the two ways text becomes a graph: the file loader and the expression parser.

Loader inputs are mutations of the shipped examples (truncation, byte flips, deleted and
duplicated keys, values of the wrong type, huge numbers, long strings); parser inputs are
token soups and deep nesting. For every input exactly one of two things may happen:

* it is accepted, and the graph saves and reopens equal (and, for expressions, is
  written back as an expression that parses to the same shape), and the fast engine
  evaluates it;
* it is refused with the typed error (GraphFileError, ExpressionError) in a message
  under 300 characters.

Any other exception fails the test. The short runs are part of every suite run; the
``slow`` ones (``-m slow``; ``-m "not slow"`` skips them) try many more inputs."""

from __future__ import annotations

import json
import math
import os
import struct
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import fileformat
from engine.errors import ExpressionError, GraphFileError
from engine.expr import parse, to_expression
from engine.fast import evaluate_graph
from engine.graph import Graph

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [p.read_text(encoding="utf-8") for p in
         sorted((ROOT / "assets" / "examples").glob("*.json"))]
MAX_MESSAGE = 300


def _settings(n: int) -> settings:
    return settings(max_examples=n, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


QUICK = _settings(int(os.environ.get("CRS_FUZZ_EXAMPLES", "150")))
LONG = _settings(int(os.environ.get("CRS_FUZZ_SLOW_EXAMPLES", "3000")))


def _same_float(x: float) -> object:
    return "nan" if math.isnan(x) else struct.pack("<d", x)


def _state(g: Graph) -> tuple:
    return ([(n.id, n.name, n.op, _same_float(n.value), n.pos, sorted(n.attrs.items()))
             for n in g.nodes()], g.edges(), g.output, g.note)


def _accepted_graph_round_trips(g: Graph) -> None:
    text = fileformat.dumps(g)
    back = fileformat.loads(text.encode("utf-8"), "saved.json")
    assert _state(back) == _state(g)
    evaluate_graph(back, allow_no_output=True)


# ------------------------------------------------------------------ the loader

def _paths(obj: Any, at: tuple = ()) -> list[tuple]:
    """Every place in a JSON tree, as a path of keys and indices."""
    out = [at]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, at + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, at + (i,))
    return out


def _get(obj: Any, path: tuple) -> Any:
    for k in path:
        obj = obj[k]
    return obj


def _dump(obj: Any, dup: tuple | None) -> str:
    """JSON text; the object at path ``dup[0]`` names its key ``dup[1]`` twice (the
    second time with ``dup[2]`` as its value), which ``json.dumps`` cannot write."""
    def enc(o: Any, at: tuple) -> str:
        if isinstance(o, dict):
            items = [f"{json.dumps(k)}: {enc(v, at + (k,))}" for k, v in o.items()]
            if dup is not None and at == dup[0] and dup[1] in o:
                items.append(f"{json.dumps(dup[1])}: {json.dumps(dup[2])}")
            return "{" + ", ".join(items) + "}"
        if isinstance(o, list):
            return "[" + ", ".join(enc(v, at + (i,)) for i, v in enumerate(o)) + "]"
        if isinstance(o, _Raw):
            return o.text
        # UTF-8 as an editor writes it; a lone surrogate only as a JSON escape
        lone = isinstance(o, str) and any("\ud800" <= c <= "\udfff" for c in o)
        return json.dumps(o, ensure_ascii=lone)
    return enc(obj, ())


class _Raw:
    """A number written as given (1e400, 10^5000), which json cannot produce."""

    def __init__(self, text: str) -> None:
        self.text = text


WRONG_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10), st.floats(allow_nan=False,
                                                              allow_infinity=False),
    # fresh containers every time: a later mutation may change them in place
    st.text(max_size=8), st.builds(list), st.builds(dict), st.builds(lambda: [1, 2, 3]),
    st.builds(lambda: {"id": "n1"}), st.sampled_from(["nan", "inf", "-inf", "n1", "x1", "a", "mul",
                                            "input", "chain-rule-studio"]))
HUGE = st.sampled_from(["1e400", "-1e400", "1" + "0" * 5000, "1e308", "-1.7976931348623157e308",
                        "5e-324", "123456789012345678901234567890", "-0.0", "1E+999"])
LONG_TEXT = st.one_of(st.just("x" * 100_000), st.just("é" * 5_000), st.just("\ud800"),
                      st.just("n" + "9" * 40), st.just("x" + "1" * 2000),
                      st.text(min_size=1, max_size=300))


@st.composite
def mutated_files(draw) -> bytes:
    data = json.loads(draw(st.sampled_from(SEEDS)))
    dup = None
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["delete", "duplicate", "wrong_type", "huge", "long",
                                     "truncate", "flip", "drop_item", "copy_item"]))
        paths = _paths(data)
        if kind in ("truncate", "flip"):
            continue  # on the text, below
        if kind == "delete":
            keyed = [p for p in paths if p and isinstance(p[-1], str)]
            if keyed:
                p = draw(st.sampled_from(keyed))
                del _get(data, p[:-1])[p[-1]]
        elif kind == "duplicate":
            keyed = [p for p in paths if p and isinstance(p[-1], str)]
            if keyed:
                p = draw(st.sampled_from(keyed))
                dup = (p[:-1], p[-1], draw(WRONG_VALUES))
        elif kind in ("wrong_type", "huge", "long"):
            inner = [p for p in paths if p]
            if inner:
                p = draw(st.sampled_from(inner))
                value = {"wrong_type": WRONG_VALUES, "huge": HUGE.map(_Raw),
                         "long": LONG_TEXT}[kind]
                _get(data, p[:-1])[p[-1]] = draw(value)
        elif kind in ("drop_item", "copy_item"):
            lists = [p for p in paths if isinstance(_get(data, p), list) and _get(data, p)]
            if lists:
                lst = _get(data, draw(st.sampled_from(lists)))
                i = draw(st.integers(0, len(lst) - 1))
                if kind == "drop_item":
                    del lst[i]
                else:
                    lst.insert(draw(st.integers(0, len(lst))), json.loads(_dump(lst[i], None))
                               if not isinstance(lst[i], _Raw) else lst[i])
    raw = bytearray(_dump(data, dup).encode("utf-8"))
    for _ in range(draw(st.integers(0, 3))):
        if not raw:
            break
        if draw(st.booleans()):
            raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
    if draw(st.integers(0, 4)) == 0:
        raw = raw[:draw(st.integers(0, len(raw)))]
    return bytes(raw)


def _check_file(raw: bytes) -> str:
    try:
        g = fileformat.loads(raw, "fuzz.json")
    except GraphFileError as e:
        assert len(str(e)) < MAX_MESSAGE, str(e)[:600]
        assert "\n" not in str(e)
        return "refused"
    _accepted_graph_round_trips(g)
    return "accepted"


@_settings(2 * QUICK.max_examples)  # small files: cheap
@given(mutated_files())
def test_loader_fuzz(raw: bytes) -> None:
    _check_file(raw)


@pytest.mark.slow
@LONG
@given(mutated_files())
def test_loader_fuzz_long(raw: bytes) -> None:
    _check_file(raw)


def test_the_mutations_reach_both_outcomes() -> None:
    """The fuzzer is worth running only if some mutants load and some are refused."""
    seen: Counter = Counter()

    @_settings(200)
    @given(mutated_files())
    def tally(raw: bytes) -> None:
        seen[_check_file(raw)] += 1

    tally()
    assert seen["accepted"] >= 5 and seen["refused"] >= 50, seen


def test_the_examples_themselves_load() -> None:
    assert len(SEEDS) >= 5 and all(_check_file(s.encode()) == "accepted" for s in SEEDS)


# ------------------------------------------------------------------ the parser

TOKENS = ["x", "y", "w1", "ŷ", "L", "a" * 201, "_t", "2", "0.5", "1e308", "1e999", "-0.0",
          "3j", "+", "-", "*", "/", "**", "//", "%", "@", "<", "==", "and", "not", "(", ")",
          "[", "]", ",", "=", ";", "\n", "exp", "sum", "sigmoid", "squared_error", "power",
          "param", "const", "input", "lambda", "import", "os", "def", "if", ":", ".",
          "'s'", "__import__", "\\", "#", "    ", "\t", "€", "x²", "nan", "inf"]


@st.composite
def token_soups(draw) -> str:
    words = draw(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=40))
    sep = draw(st.sampled_from([" ", "", " "]))
    return sep.join(words)


@st.composite
def statement_soups(draw) -> str:
    """Mostly well-formed statements, so that some parse and the round trip is tried."""
    lines = []
    for i in range(draw(st.integers(1, 6))):
        atoms = ["x", "y", "w", "1.5", "2", "-3", *(f"v{j}" for j in range(i))]
        expr = draw(st.sampled_from(atoms))
        for _ in range(draw(st.integers(0, 5))):
            form = draw(st.sampled_from(["{a} + {b}", "{a} * {b}", "-{a}", "({a}) ** 2",
                                         "exp({a})", "sum({a}, {b}, {a})", "{a} / ({b})",
                                         "squared_error({a}, {b})", "{a} ** {b}", "tanh({a})"]))
            expr = form.format(a=expr, b=draw(st.sampled_from(atoms)))
        lines.append(f"v{i} = {expr}")
    if draw(st.booleans()):
        lines.insert(0, "w = param(0.5)")
    return "\n".join(lines)


@st.composite
def deep_nestings(draw, most: int = 3000) -> str:
    k = draw(st.integers(1, most))
    form = draw(st.sampled_from(["paren", "neg", "call", "power", "sum_chain"]))
    if form == "paren":
        return "y = " + "(" * k + "x" + ")" * k
    if form == "neg":
        return "y = " + "-" * k + "x"
    if form == "call":
        return "y = " + "exp(" * k + "x" + ")" * k
    if form == "power":
        return "y = x" + " ** x" * k
    return "y = x" + " + x" * k


def _check_expression(text: str) -> str:
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            g = parse(text, layout=False)
        assert not caught, [str(w.message) for w in caught]  # stderr must stay one line
    except ExpressionError as e:
        assert not caught, [str(w.message) for w in caught]
        assert len(str(e)) < MAX_MESSAGE, str(e)[:600]
        assert "\n" not in str(e) and e.reason.strip(), str(e)
        return "refused"
    _accepted_graph_round_trips(g)
    written = to_expression(g)
    back = parse(written, layout=False)
    assert Counter(back.op_of(n) for n in back.ids()) == Counter(g.op_of(n) for n in g.ids())
    assert back.nx.number_of_edges() == g.nx.number_of_edges()
    assert back.name_of(back.resolve_output()) == g.name_of(g.resolve_output()) or \
        g.name_of(g.resolve_output()) not in written
    return "accepted"


@QUICK
@given(st.one_of(token_soups(), statement_soups()))
def test_parser_fuzz(text: str) -> None:
    _check_expression(text)


@_settings(40)  # each is thousands of nodes deep
@given(deep_nestings())
def test_parser_deep_nesting(text: str) -> None:
    _check_expression(text)


@pytest.mark.slow
@LONG
@given(st.one_of(token_soups(), statement_soups(), deep_nestings(most=12_000)))
def test_parser_fuzz_long(text: str) -> None:
    _check_expression(text)
