"""Lesson files whose tasks no learner could finish are refused when they load, with
the task's place in the file: a build task whose function is undefined at every point
it would be compared at, or that asks for a leaf no graph can have."""

from __future__ import annotations

import copy
import json

import pytest

from engine import lesson
from test_lessons import EXAMPLES, GOOD


def _build(**task) -> lesson.LessonError:
    data = copy.deepcopy(GOOD)
    data["steps"][0]["task"] = {"kind": "build", **task}
    with pytest.raises(lesson.LessonError) as info:
        lesson.loads(json.dumps(data), EXAMPLES, "bad.json")
    return info.value


def test_a_build_task_undefined_everywhere_is_refused() -> None:
    # ln(−1 − x²): −1 − x² < 0 for every real x, so no point can be compared
    e = _build(function="y = log(-1 - x*x)")
    assert e.path == "$.steps[0].task.function" and "undefined" in e.problem


def test_a_build_range_that_overflows_is_refused() -> None:
    # uniform(−1e308, 1e308) = −1e308 + (2e308 = inf)·u: every point is infinite
    e = _build(function="y = x*x", range=[-1e308, 1e308])
    assert e.path == "$.steps[0].task.range" and "undefined" in e.problem


def test_a_build_leaf_no_graph_can_have_is_refused() -> None:
    e = _build(function="y = x*x", leaves=["x", "1x"])
    assert e.path == "$.steps[0].task.leaves[1]" and "'1x'" in e.problem
    e = _build(function="y = x*x", leaves=["sin"])
    assert e.path == "$.steps[0].task.leaves[0]"


def test_a_build_task_that_can_be_done_still_loads() -> None:
    data = copy.deepcopy(GOOD)
    # √x on [−2, 2] is undefined at about half the points: enough remain to compare
    data["steps"][0]["task"] = {"kind": "build", "function": "y = sqrt(x)", "points": 12}
    les = lesson.loads(json.dumps(data), EXAMPLES, "ok.json")
    assert les.steps[0].task.function == "y = sqrt(x)"


def _train(**task) -> dict:
    data = copy.deepcopy(GOOD)
    data["steps"][0] = {"text": "train", "example": "two_layer.json",
                        "task": {"kind": "train", **task}}
    return data


def _refused(data: dict) -> lesson.LessonError:
    with pytest.raises(lesson.LessonError) as info:
        lesson.loads(json.dumps(data), EXAMPLES, "bad.json")
    return info.value


def test_a_loss_no_walk_reaches_is_refused() -> None:
    # L = (y − ŷ)² ≥ 0: no number of steps gets it below −1
    e = _refused(_train(below=-1, steps=20, lr=0.1))
    assert e.path == "$.steps[0].task" and "below" in e.problem
    # one step at η = 0.1 moves w₁ to 0.584, w₂ to 0.44 (the tutorial's numbers):
    # ŷ = 0.44·0.584·2 = 0.514, L = 0.236 — not below 0.1 yet
    e = _refused(_train(below=0.1, steps=1, lr=0.1))
    assert e.path == "$.steps[0].task"


def test_a_training_that_blows_up_is_refused_even_as_the_last_step() -> None:
    # η = 1e308: the first step sends the params to ±inf and the gradients are not finite
    e = _refused(_train(below=0.01, steps=50, lr=1e308))
    assert e.path == "$.steps[0].task" and "training fails" in e.problem


def test_a_reachable_loss_loads() -> None:
    # the same single step does get L = 0.236 below 0.3
    les = lesson.loads(json.dumps(_train(below=0.3, steps=1, lr=0.1)), EXAMPLES, "ok.json")
    assert les.steps[0].task.below == 0.3


def test_a_quiz_on_an_edge_off_the_path_says_so_in_words() -> None:
    # z = a + b is the output (the last line); y = a·b feeds nothing on its path, so no
    # gradient flows along a → y and a quiz asks nothing there
    for what in ("local", "product"):
        data = copy.deepcopy(GOOD)
        data["steps"][0] = {"text": "off", "expr": "a = 2; b = 3; y = a*b; z = a + b",
                            "task": {"kind": "quiz", "ask": [{what: ["a", "y"]}]}}
        e = _refused(data)
        assert e.path == "$.steps[0].task.ask[0]"
        assert "a → y" in e.problem and "path to the output" in e.problem, e.problem
        assert ":" not in e.problem.split("a → y")[0], e.problem  # no internal key
