"""``main.py quiz``: the terminal quiz driven through stdin, answered by hand.

Answers are the tutorial's numbers (Section 6: x = 2, y = 1, w₁ = 0.5, w₂ = 0.3)
worked out here, typed the way a learner types them.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from chain_rule_studio import cli

ROOT = Path(__file__).resolve().parents[2]
TWO_LAYER = str(ROOT / "assets" / "examples" / "two_layer.json")

X, Y, W1, W2 = 2.0, 1.0, 0.5, 0.3
H, YHAT = W1 * X, W2 * W1 * X
D_YHAT = -2 * (Y - YHAT)   # −1.4
D_H = D_YHAT * W2          # −0.42

#: every number of the two-layer network by its prompt, worked out by hand
BY_HAND = {
    "h": "0.5*2", "ŷ": "0.3*1", "L": "(1-0.3)^2",
    "∂L/∂L": "1", "∂L/∂ŷ": "-2*(1-0.3)", "∂L/∂y": "2*(1-0.3)",
    "∂ŷ/∂w₂": "1", "∂ŷ/∂h": "0.3", "∂h/∂w₁": "2", "∂h/∂x": "0.5",
    "∂L/∂L × ∂L/∂ŷ": "-1.4", "∂L/∂L × ∂L/∂y": "1.4",
    "∂L/∂ŷ × ∂ŷ/∂w₂": "-1.4*1", "∂L/∂ŷ × ∂ŷ/∂h": "-1.4*0.3",
    "∂L/∂h × ∂h/∂w₁": "-0.42*2", "∂L/∂h × ∂h/∂x": "-0.42*0.5",
    "∂L/∂h": "-0.42", "∂L/∂w₂": "-1.4", "∂L/∂w₁": "−0.84", "∂L/∂x": "-0.21",
}


def quiz(*args: str, stdin: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "quiz", *args],
                          input=stdin, capture_output=True, text=True, encoding="utf-8",
                          cwd=ROOT, timeout=120)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


class Learner(io.StringIO):
    """stdin that answers the prompt last written to ``out`` from BY_HAND, so the test
    does not depend on which of two equal-rank edges the pass visits first."""

    def __init__(self, out: io.StringIO, wrong_first: set[str] = frozenset()) -> None:
        super().__init__()
        self.out, self.wrong_first, self.asked = out, set(wrong_first), []

    def readline(self, *args) -> str:  # type: ignore[override]
        last = nfc(self.out.getvalue().rsplit("\n", 1)[-1])
        m = re.search(r":  (.+) = \? $", last)
        assert m, last
        prompt = m.group(1)
        self.asked.append(prompt)
        if prompt in self.wrong_first:
            self.wrong_first.discard(prompt)
            return "12345\n"
        return BY_HAND[prompt] + "\n"


def test_the_whole_quiz_answered_by_hand_exits_0(monkeypatch) -> None:
    out = io.StringIO()
    learner = Learner(out, wrong_first={"∂h/∂w₁"})
    monkeypatch.setattr(sys, "stdin", learner)
    monkeypatch.setattr(sys, "stdout", out)
    assert cli.run(["quiz", TWO_LAYER, "--kinds", "all"]) == 0
    text = nfc(out.getvalue())
    # 3 values, 7 gradients, 6 local derivatives, 6 products; one asked twice
    assert len(learner.asked) == 23
    # pass order: forward values first, then ∂L/∂ŷ before ∂L/∂h before ∂L/∂w₁
    asked = learner.asked
    assert asked[:3] == ["h", "ŷ", "L"]
    assert asked.index("∂L/∂ŷ × ∂ŷ/∂h") < asked.index("∂L/∂h") < asked.index("∂L/∂w₁")
    assert "∂h/∂w₁ is not 12345: try again" in text
    assert "Score: 21 of 22 right at the first try, 1 after a wrong try." in text


def test_wrong_twice_shows_the_formula_and_the_end_of_input_exits_1() -> None:
    # local derivatives only: ∂L/∂ŷ is the first number the backward pass computes
    p = quiz(TWO_LAYER, "--kinds", "locals", stdin="1\n0.5\n")
    assert p.returncode == 1, p.stderr
    out = nfc(p.stdout)
    assert "local derivative on the edge ŷ → L:  ∂L/∂ŷ = ?" in out
    assert "∂L/∂ŷ is not 1: try again" in out
    assert "Hint: ∂L/∂ŷ = −2(y − ŷ), with y = 1, ŷ = 0.3" in out
    assert "Score: 0 of 6 right at the first try, 6 to go." in out
    assert p.stderr == ""


def test_answers_in_pass_order_through_a_pipe_exit_0() -> None:
    # the two-layer file lists ŷ → L before y → L, w₂ → ŷ before h → ŷ, w₁ → h before x → h
    answers = ["-2*(1-0.3)", "2*(1 - 0.3)", "1", "0.3", "2", "0.5"]
    p = quiz(TWO_LAYER, "--kinds", "locals", stdin="\n".join(answers) + "\n")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Score: 6 of 6 right at the first try." in p.stdout


def test_reveal_and_skip_and_quit() -> None:
    # products only: the first is ∂L/∂L × ∂L/∂ŷ, revealed; the next skipped, then quit
    p = quiz(TWO_LAYER, "--kinds", "products", stdin="reveal\nskip\nhint\nquit\n")
    assert p.returncode == 1
    out = nfc(p.stdout)
    assert "∂L/∂L × ∂L/∂ŷ = −1.4 (revealed)" in out
    assert "hint: ∂L/∂L × ∂L/∂y, with ∂L/∂L = 1, ∂L/∂y = 1.4" not in out  # skipped that one
    assert "Score: 0 of 6 right at the first try, 1 revealed, 5 to go." in out


def test_a_hostile_answer_is_not_run_and_not_a_try() -> None:
    p = quiz(TWO_LAYER, "--kinds", "locals",
             stdin="__import__('os').system('echo PWNED')\n-1.4\n")
    assert "PWNED" not in p.stdout.splitlines()      # echo never ran (the line is echoed)
    assert "use digits" in p.stdout  # refused for what it holds, before any parse
    assert "✓ ∂L/∂ŷ = −1.4: right" in nfc(p.stdout)
    assert "1 of 6 right at the first try" in p.stdout   # first try despite the junk line


@pytest.mark.parametrize("args", [["--kinds", "weights"], ["--kinds", ""]])
def test_bad_kinds_exit_2_with_one_line(args: list[str]) -> None:
    p = quiz(TWO_LAYER, *args, stdin="")
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "kind" in p.stderr
