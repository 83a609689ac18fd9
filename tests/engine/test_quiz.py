"""Quiz questions and answers: the tutorial's two-layer network worked by hand.

Expected numbers are the tutorial's (Section 6: x = 2, y = 1, w₁ = 0.5, w₂ = 0.3)
computed here with plain arithmetic; answers are typed the way a learner would.
"""

from __future__ import annotations

import builtins
import unicodedata
from pathlib import Path

import pytest

from engine import evaluate, fileformat
from engine.expr import parse
from engine.quiz import (GRAD, KINDS, LOCAL, PRODUCT, VALUE, Question, is_right,
                         parse_answer, parse_kinds, question_key, questions)

TWO_LAYER = Path(__file__).resolve().parents[2] / "assets" / "examples" / "two_layer.json"

X, Y, W1, W2 = 2.0, 1.0, 0.5, 0.3
H = W1 * X                      # 1.0
YHAT = W2 * H                   # 0.3
LOSS = (Y - YHAT) ** 2          # 0.49
D_YHAT = -2 * (Y - YHAT)        # ∂L/∂ŷ = −1.4
D_H = D_YHAT * W2               # ∂L/∂h = −0.42
D_W1 = D_H * X                  # ∂L/∂w₁ = −0.84


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@pytest.fixture
def two_layer():
    g = fileformat.load(str(TWO_LAYER))
    return g, evaluate(g), {g.name_of(n): n for n in g.ids()}


def by_prompt(qs: list[Question]) -> dict[tuple[str, str], Question]:
    return {(q.kind, nfc(q.prompt)): q for q in qs}


# ------------------------------------------------------------------ parse_answer
@pytest.mark.parametrize("text, expected", [
    ("2", 2.0), (" 2 ", 2.0), ("-1.4", -1.4), ("−1.4", -1.4), ("+0.5", 0.5),
    ("-1.4*0.3", -0.42), ("−1.4 × 0.3", -0.42), ("-1.4·0.3", -0.42), ("0.84/2", 0.42),
    ("1 - 0.3", 0.7), ("-2*(1-0.3)", -1.4), ("2^3", 8.0), ("2**-1", 0.5),
    ("(1-0.3)^2", 0.49), ("1e-3", 0.001), ("-(-2)", 2.0), ("6 ÷ 4", 1.5),
])
def test_parse_answer_reads_numbers_and_arithmetic(text: str, expected: float) -> None:
    assert parse_answer(text) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("text", [
    "", "   ", "__import__('os')", "__import__('os').system('true')", "x", "w1*2",
    "abs(-2)", "'2'", "b'2'", "True", "None", "1j", "[1]", "(1, 2)", "2 if 1 else 3",
    "lambda: 1", "1/0", "10**10**10", "9" * 201, "(" * 150, "2 3", "1 < 2",
    "(-8)^(1/3)", "1e999", "a.b", "{}", "1; 2", "2 % 3", "2 // 3",
])
def test_parse_answer_refuses_anything_else_with_a_sentence(text: str) -> None:
    with pytest.raises(ValueError) as e:
        parse_answer(text)
    assert len(str(e.value)) > 10


def test_parse_answer_never_runs_the_text(monkeypatch) -> None:
    ran = []
    monkeypatch.setattr(builtins, "eval", lambda *a, **k: ran.append(a))
    monkeypatch.setattr(builtins, "exec", lambda *a, **k: ran.append(a))
    with pytest.raises(ValueError):
        parse_answer("__import__('os').getcwd()")
    assert parse_answer("-1.4*0.3") == pytest.approx(-0.42)
    assert ran == []


def test_is_right_uses_a_relative_tolerance_of_one_in_a_thousand() -> None:
    assert is_right(2.0, 2.0)
    assert is_right(2.0019, 2.0) and not is_right(2.0021, 2.0)
    assert is_right(-0.8408, -0.84) and not is_right(-0.85, -0.84)
    assert not is_right(0.84, -0.84)
    # a truth of 0 (or a rounding residue) accepts 0, and nothing visibly different
    assert is_right(0.0, 0.0) and is_right(0.0, 1e-17)
    assert not is_right(0.001, 0.0)
    # a tiny gradient (vanishing) is not 0
    assert not is_right(0.0, 1e-6)
    assert not is_right(float("nan"), 1.0)
    assert is_right(1.05, 1.0, rel=0.1)


def test_parse_kinds() -> None:
    assert parse_kinds("all") == KINDS
    assert parse_kinds("locals,products") == (LOCAL, PRODUCT)
    assert parse_kinds(["grad", "value"]) == (VALUE, GRAD)
    for bad in ("", "locals,weights"):
        with pytest.raises(ValueError):
            parse_kinds(bad)


# --------------------------------------------------------------------- questions
def test_two_layer_questions_hold_the_tutorials_numbers(two_layer) -> None:
    g, r, ids = two_layer
    qs = by_prompt(questions(g, r, "all"))
    assert qs[(VALUE, "h")].truth == pytest.approx(H)
    assert qs[(VALUE, "ŷ")].truth == pytest.approx(YHAT)
    assert qs[(VALUE, "L")].truth == pytest.approx(LOSS)
    assert qs[(LOCAL, "∂h/∂w₁")].truth == pytest.approx(X)        # ∂(w₁x)/∂w₁ = x = 2
    assert qs[(LOCAL, "∂h/∂x")].truth == pytest.approx(W1)
    assert qs[(LOCAL, "∂ŷ/∂h")].truth == pytest.approx(W2)
    assert qs[(LOCAL, "∂L/∂ŷ")].truth == pytest.approx(D_YHAT)     # −2(y − ŷ) = −1.4
    assert qs[(PRODUCT, "∂L/∂ŷ × ∂ŷ/∂h")].truth == pytest.approx(D_H)
    assert qs[(PRODUCT, "∂L/∂h × ∂h/∂w₁")].truth == pytest.approx(D_H * X)  # −0.84
    assert qs[(GRAD, "∂L/∂L")].truth == 1.0
    assert qs[(GRAD, "∂L/∂w₁")].truth == pytest.approx(D_W1)
    assert qs[(GRAD, "∂L/∂w₂")].truth == pytest.approx(D_YHAT * H)
    w1h = qs[(LOCAL, "∂h/∂w₁")]
    assert w1h.edge == (ids["w1"], ids["h"], "a") and w1h.node is None
    assert w1h.where == w1h.edge and w1h.key == question_key(LOCAL, w1h.edge)
    assert nfc(w1h.formula) == "∂h/∂w₁ = x"
    assert nfc(qs[(VALUE, "h")].formula) == "h = w₁·x"
    assert qs[(VALUE, "h")].node == ids["h"]


def test_questions_follow_the_passes_and_needs_come_first(two_layer) -> None:
    g, r, ids = two_layer
    qs = questions(g, r, "all")
    keys = [q.key for q in qs]
    assert len(set(keys)) == len(keys)
    pos = {q.key: i for i, q in enumerate(qs)}
    for q in qs:
        for n in q.needs:
            assert pos[n] < pos[q.key], (q.key, n)
    # forward values first, in the tutorial's order; then the backward relay ŷ → h → w₁
    kinds = [q.kind for q in qs]
    assert kinds[:3] == [VALUE] * 3
    assert VALUE not in kinds[3:]
    grads = [g.name_of(q.node) for q in qs if q.kind == GRAD]
    assert grads[0] == "L"
    assert grads.index("yhat") < grads.index("h") < grads.index("w1")
    # the product on w₁→h is computed from ∂L/∂h and ∂h/∂w₁
    e = (ids["w1"], ids["h"], "a")
    prod = next(q for q in qs if q.key == question_key(PRODUCT, e))
    assert set(prod.needs) == {question_key(GRAD, ids["h"]), question_key(LOCAL, e)}
    # ∂ŷ/∂w₂ = h needs h's value; ∂ŷ/∂h = w₂ needs nothing quizzed (w₂ is shown)
    assert next(q for q in qs if q.key == question_key(LOCAL, (ids["w2"], ids["yhat"], "a"))
                ).needs == (question_key(VALUE, ids["h"]),)
    assert next(q for q in qs if q.key == question_key(LOCAL, (ids["h"], ids["yhat"], "b"))
                ).needs == ()
    # ∂L/∂w₁ needs the one product it sums
    gw1 = next(q for q in qs if q.key == question_key(GRAD, ids["w1"]))
    assert gw1.needs == (question_key(PRODUCT, e),)


def test_kinds_choose_the_questions_and_needs_name_only_quizzed_ones(two_layer) -> None:
    g, r, ids = two_layer
    qs = questions(g, r, (LOCAL, PRODUCT))
    assert {q.kind for q in qs} == {LOCAL, PRODUCT}
    keys = {q.key for q in qs}
    assert all(n in keys for q in qs for n in q.needs)
    # 6 edges, none from a constant, all on the path: one local and one product each
    assert len(qs) == 12
    e = (ids["w1"], ids["h"], "a")
    prod = next(q for q in qs if q.key == question_key(PRODUCT, e))
    # ∂L/∂h is not asked, but it is the product on h → ŷ: that one first, then ∂h/∂w₁
    assert prod.needs == (question_key(PRODUCT, (ids["h"], ids["yhat"], "b")),
                          question_key(LOCAL, e))
    assert [q.kind for q in questions(g, r, "values")] == [VALUE] * 3


def test_numbers_computed_from_open_answers_are_withheld(two_layer) -> None:
    """Quizzing products, ∂L/∂w₁ = −0.84 on w₁'s card would be the product on w₁ → h
    (∂L/∂h × ∂h/∂w₁ = −0.42 × 2): it is withheld until that product is worked out;
    ∂L/∂ŷ = −1.4 waits for the product on ŷ → L; values stay known throughout."""
    g, r, ids = two_layer
    quiz = Quiz(g, r, (LOCAL, PRODUCT))
    grad = {n: question_key(GRAD, ids[n]) for n in ("w1", "h", "yhat", "L")}
    assert quiz.withheld(grad["w1"]) and quiz.withheld(grad["h"]) and quiz.withheld(grad["yhat"])
    assert not quiz.withheld(grad["L"])  # ∂L/∂L = 1 needs nothing
    assert quiz.known(question_key(VALUE, ids["h"]))
    e_w1 = (ids["w1"], ids["h"], "a")
    assert not quiz.withheld(question_key(PRODUCT, e_w1))  # asked: a field, not withheld
    quiz.answer(question_key(LOCAL, (ids["yhat"], ids["L"], "prediction")), "-2*(1-0.3)")
    quiz.answer(question_key(PRODUCT, (ids["yhat"], ids["L"], "prediction")), "-1.4")
    assert quiz.known(grad["yhat"]) and quiz.withheld(grad["h"])
    quiz.answer(question_key(LOCAL, (ids["h"], ids["yhat"], "b")), "0.3")
    quiz.answer(question_key(PRODUCT, (ids["h"], ids["yhat"], "b")), "-1.4*0.3")
    assert quiz.known(grad["h"]) and quiz.withheld(grad["w1"])
    # the hint of the last product names ∂L/∂h = −0.42 only now that it is known
    assert "−0.42" in quiz.hint(question_key(PRODUCT, e_w1))
    quiz.answer(question_key(PRODUCT, e_w1), "-0.84")
    assert quiz.known(grad["w1"])


def test_values_quizzed_withhold_the_backward_pass(two_layer) -> None:
    """∂ŷ/∂w₂ = h = 1 would give h's value away: locals reading an open value wait."""
    g, r, ids = two_layer
    quiz = Quiz(g, r, (VALUE,))
    local = question_key(LOCAL, (ids["w2"], ids["yhat"], "a"))
    assert quiz.withheld(local) and quiz.withheld(question_key(GRAD, ids["w1"]))
    assert not quiz.withheld(question_key(LOCAL, (ids["h"], ids["yhat"], "b")))  # = w₂
    quiz.answer(question_key(VALUE, ids["h"]), "0.5*2")
    assert not quiz.withheld(local)


def test_constants_and_undefined_numbers_are_not_asked() -> None:
    g = parse("x = 2; L = 3*x")
    r = evaluate(g)
    qs = questions(g, r, "all")
    const = next(n for n in g.ids() if g.op_of(n) == "const")
    assert all(q.edge is None or q.edge[0] != const for q in qs)
    assert all(q.node != const for q in qs)
    assert next(q for q in qs if q.kind == LOCAL).truth == 3.0
    # log(−1) is undefined: neither its value nor the local derivative into it is asked
    g = parse("x = -1; w = param(1); a = log(x); L = w*a")
    r = evaluate(g)
    a = next(n for n in g.ids() if g.name_of(n) == "a")
    qs = questions(g, r, "all")
    assert question_key(VALUE, a) not in {q.key for q in qs}
    assert all(q.edge is None or q.edge[1] != a for q in qs)


def test_a_node_used_twice_sums_its_products() -> None:
    g = parse("x = 3; L = x*x")
    r = evaluate(g)
    x = next(n for n in g.ids() if g.name_of(n) == "x")
    qs = questions(g, r, (PRODUCT, GRAD))
    gx = next(q for q in qs if q.key == question_key(GRAD, x))
    assert gx.truth == 6.0                      # d(x²)/dx = 2x
    assert len(gx.needs) == 2
    assert sum(q.truth for q in qs if q.key in gx.needs) == 6.0


# -------------------------------------------------------------------- quiz state
from engine.quiz import HINTED, OPEN, REVEALED, RIGHT, WRONG, Quiz  # noqa: E402


def test_a_learner_answers_wrong_twice_gets_the_formula_then_is_right(two_layer) -> None:
    g, r, ids = two_layer
    quiz = Quiz(g, r, "locals,products")
    key = question_key(LOCAL, (ids["w1"], ids["h"], "a"))
    assert quiz.hidden(key) and quiz.mark(key).status == OPEN
    first = quiz.answer(key, "0.5")
    assert not first.right and first.status == WRONG and first.hint == ""
    second = quiz.answer(key, "1")
    assert not second.right and nfc(second.hint).startswith("∂h/∂w₁ = x")
    assert "x = 2" in second.hint                      # the number the formula uses
    assert second.hint in second.message
    third = quiz.answer(key, "2")
    assert third.right and third.status == HINTED and not quiz.hidden(key)
    assert quiz.mark(key).attempts == 3


def test_text_that_is_no_number_is_not_a_try(two_layer) -> None:
    g, r, ids = two_layer
    quiz = Quiz(g, r, "locals")
    key = question_key(LOCAL, (ids["w1"], ids["h"], "a"))
    out = quiz.answer(key, "__import__('os')")
    assert out.error and not out.right and quiz.mark(key).attempts == 0
    assert quiz.answer(key, "2").status == RIGHT


def test_a_product_says_which_number_is_needed_first(two_layer) -> None:
    g, r, ids = two_layer
    quiz = Quiz(g, r, "locals,products")
    e = (ids["w1"], ids["h"], "a")
    prod = question_key(PRODUCT, e)
    out = quiz.answer(prod, "-1")
    assert not out.right and "∂h/∂w₁" in nfc(out.message) and "first" in out.message
    # ∂L/∂h is not asked but is the product on h → ŷ, still open: that first
    hy = (ids["h"], ids["yhat"], "b")
    assert [q.key for q in quiz.missing(prod)] == [question_key(PRODUCT, hy),
                                                   question_key(LOCAL, e)]
    assert "∂L/∂h" not in nfc(quiz.hint(prod)).partition("with")[2]  # not given away
    assert quiz.answer(question_key(LOCAL, e), "2").right
    for k, text in ((question_key(LOCAL, (ids["yhat"], ids["L"], "prediction")), "-1.4"),
                    (question_key(PRODUCT, (ids["yhat"], ids["L"], "prediction")), "-1.4"),
                    (question_key(LOCAL, hy), "0.3"), (question_key(PRODUCT, hy), "-0.42")):
        assert quiz.answer(k, text).right
    assert quiz.missing(prod) == []
    # ∂L/∂h is known now (the sum of the one product): the hint gives both factors
    hint = nfc(quiz.hint(prod))
    assert "∂L/∂h = −0.42" in hint and "∂h/∂w₁ = 2" in hint
    assert quiz.answer(prod, "-0.42*2").right            # an expression of shown numbers


def test_score_reveal_one_and_reveal_all(two_layer) -> None:
    g, r, ids = two_layer
    quiz = Quiz(g, r, "grads")
    # ∂L/∂L, ∂L/∂ŷ, ∂L/∂h, ∂L/∂w₂, ∂L/∂w₁, ∂L/∂y, ∂L/∂x: every node on the path
    assert len(quiz) == 7
    assert quiz.answer(question_key(GRAD, ids["L"]), "1").status == RIGHT
    nxt = quiz.next_open()
    assert nxt.key == question_key(GRAD, ids["yhat"])
    assert quiz.reveal_one() == nxt and quiz.mark(nxt.key).status == REVEALED
    assert quiz.answer(question_key(GRAD, ids["w1"]), "0.84").status == WRONG
    assert quiz.answer(question_key(GRAD, ids["w1"]), "-0.84").status == HINTED
    s = quiz.score()
    assert (s.right, s.hinted, s.revealed, s.open, s.total) == (1, 1, 1, 4, 7)
    assert not s.all_right and "1 of 7 right" in s.text()
    assert len(quiz.reveal_all()) == 4 and quiz.done
    assert quiz.score().revealed == 5 and quiz.next_open() is None


def test_refresh_keeps_marks_whose_numbers_did_not_change(two_layer) -> None:
    g, r, ids = two_layer
    quiz = Quiz(g, r, "locals")
    w1h = question_key(LOCAL, (ids["w1"], ids["h"], "a"))
    w2y = question_key(LOCAL, (ids["w2"], ids["yhat"], "a"))
    assert quiz.answer(w1h, "2").right and quiz.answer(w2y, "1").right
    g.set_value(ids["w1"], 1.0)     # h = 2: ∂ŷ/∂w₂ = h changes, ∂h/∂w₁ = x does not
    new = quiz.refresh(g, evaluate(g))
    assert new.mark(w1h).status == RIGHT
    assert new.mark(w2y).status == OPEN and new.question(w2y).truth == 2.0


@pytest.mark.parametrize("text", ["1#", "1 # 2", "0x10", "0b101", "1_000", "1j", "nan", "inf"])
def test_python_only_spellings_are_not_numbers_here(text: str) -> None:
    """A calculator's keys only: what Python alone would read (a comment, hex, digit
    groups, complex) is refused with the sentence that says what may be typed."""
    with pytest.raises(ValueError, match="digits"):
        parse_answer(text)
