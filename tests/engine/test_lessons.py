"""The shipped lessons: each loads, each task accepts the answers worked out here by
hand (math only, as the tutorial does) and rejects wrong ones, and a scripted walk
through each lesson — typing the answers, training with engine.train, building the
functions from expressions — completes it. Malformed lesson files give LessonError
with the place of the problem, never another exception."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from chain_rule_studio.examples import examples_dir
from engine import expr, lesson, tasks, train
from engine.graph import Graph

ROOT = Path(__file__).resolve().parent.parent.parent
LESSONS = ROOT / "assets" / "lessons"
FILES = sorted(LESSONS.glob("*.json"))
EXAMPLES = examples_dir()


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def _vanishing() -> dict[str, float]:
    """vanishing.json by hand: ten sigmoids from a = 1, ten tanh from b = 1, L = s₁₀ + t₁₀."""
    s, ds, locs = 1.0, 1.0, []
    for _ in range(10):
        nxt = sigmoid(s)
        locs.append(nxt * (1 - nxt))  # σ′ at the link's input is σ(1 − σ) of its output
        ds *= nxt * (1 - nxt)
        s = nxt
    t, dt = 1.0, 1.0
    for _ in range(10):
        t = math.tanh(t)
        dt *= 1 - t * t
    return {"first": locs[0], "last": locs[-1], "grad_a": ds, "grad_b": dt}


V = _vanishing()

#: the answers by hand, per lesson, per step with a quiz (in the order the quiz asks)
HAND: dict[str, dict[int, list[float]]] = {
    "01_chain_rule": {
        0: [2 * 3, (2 * 3) ** 2],                  # u = 2x, y = u² at x = 3
        1: [2, 2 * 6],                             # ∂u/∂x = 2, ∂y/∂u = 2u
        2: [8 * 3],                                # dy/dx = 8x = 24
        3: [2 * -1.5, 8 * -1.5],                   # at x = −1.5: u = −3, dy/dx = −12
    },
    "02_two_paths": {
        0: [3, math.cos(2), 3 + math.cos(2)],      # f = x·y + sin x at x = 2, y = 3
        1: [3, 3, 2 * 3],                          # f = x·x at x = 3: x + x
    },
    "03_two_layer": {
        0: [0.5 * 2, 0.3 * 1.0, (1 - 0.3) ** 2],   # h, ŷ, L
        1: [-2 * (1 - 0.3), 0.3, 2],               # ∂L/∂ŷ, ∂ŷ/∂h = w₂, ∂h/∂w₁ = x
        2: [-2 * 0.7 * 0.3 * 2, -2 * 0.7 * 1.0],   # ∂L/∂w₁ = −0.84, ∂L/∂w₂ = −1.4
        3: [-1.4 * 0.3],                           # ∂L/∂h = −0.42
        5: [0.5 - 0.1 * (-0.84), 0.3 - 0.1 * (-1.4)],  # after one step: 0.584, 0.44
    },
    "04_training": {
        1: [V["first"], V["last"]],
        2: [V["grad_a"], V["grad_b"]],
        # ∂L/∂a ≤ (1/4)¹⁰ < 1e-6 anywhere, so ≤ 50 steps at η = 1 move a by < 5e-5:
        # a is 1 to well within the quiz's 1e-3
        4: [1.0],
    },
}

#: graphs a learner might build for each build task: (right ones, wrong ones)
BUILDS: dict[str, dict[int, tuple[list[str], list[str]]]] = {
    "01_chain_rule": {4: (
        ["x = 2; u = 3*x + 1; y = u**2", "x = 2; y = 9*x*x + 6*x + 1",
         "x = 2; u = 1 + x*3; y = u*u"],
        ["x = 2; y = (3*x)**2 + 1", "x = 2; y = (3*x + 1)**3",
         "z = 2; y = (3*z + 1)**2"])},                 # the leaf must be called x
    "02_two_paths": {2: (
        ["x = 2; m = x*x; g = m*x", "x = 2; g = x*(x*x)"],
        ["x = 2; g = x**3",                            # a power node: avoided
         "x = 2; m = x*x; g = m + x",                  # x² + x
         "x = 2; g = square(x)*x"])},                  # square: avoided
}


def load(path: Path) -> lesson.Lesson:
    return lesson.load(path, EXAMPLES)


def _texts(numbers: list[float]) -> list[str]:
    return [repr(float(n)) for n in numbers]


# ----------------------------------------------------------------- loading
def test_four_lessons_ship_in_the_tutorials_order() -> None:
    ids = [p.stem for p in FILES]
    assert ids[:4] == ["01_chain_rule", "02_two_paths", "03_two_layer", "04_training"]
    assert set(HAND) <= set(ids)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_lesson_loads_and_has_text_and_tasks(path: Path) -> None:
    les = load(path)
    assert les.id == path.stem and les.title and les.summary
    assert len(les) >= 4 and all(s.text for s in les.steps)
    assert les.tasks(), "a lesson with nothing to do"
    for i in range(len(les)):
        assert len(les.graph(i)) > 0
        assert les.graph(i).note == ""  # the lesson's text takes the note's place
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == lesson.FORMAT and data["version"] == lesson.VERSION


def test_the_lessons_open_the_tutorials_examples() -> None:
    first = {p.stem: json.loads(p.read_text(encoding="utf-8"))["steps"] for p in FILES}
    examples = {k: [s.get("example") for s in v if "example" in s] for k, v in first.items()}
    assert examples["01_chain_rule"][0] == "chain_2x.json"
    assert examples["02_two_paths"][:2] == ["two_paths.json", "square_by_mul.json"]
    assert examples["03_two_layer"][0] == "two_layer.json"
    assert "vanishing.json" in examples["04_training"]


# ------------------------------------------------------------------- tasks
def _quiz_steps():
    for lid, steps in HAND.items():
        for i, numbers in steps.items():
            yield pytest.param(lid, i, numbers, id=f"{lid}-{i}")


def _graph_at(les: lesson.Lesson, i: int) -> Graph:
    return les.graph(i)


@pytest.mark.parametrize("lid,i,numbers", list(_quiz_steps()))
def test_quiz_accepts_the_hand_answers_and_rejects_wrong_ones(lid, i, numbers) -> None:
    les = load(LESSONS / f"{lid}.json")
    task = les.steps[i].task
    assert isinstance(task, tasks.QuizTask) and len(task.asks) == len(numbers)
    g = _graph_at(les, i)
    assert tasks.check_quiz(task, g, _texts(numbers)).done
    nothing = tasks.check_quiz(task, g, [""] * len(numbers))
    assert not nothing.done and nothing.marks == (None,) * len(numbers)
    for k, n in enumerate(numbers):
        wrong = list(numbers)
        wrong[k] = n * 1.01 + 0.01  # off by 1 %: outside the tolerance of 1e-3
        v = tasks.check_quiz(task, g, _texts(wrong))
        assert not v.done
        assert v.marks[k] is False and all(m is True for j, m in enumerate(v.marks) if j != k)


def test_answers_may_be_arithmetic_but_are_never_run() -> None:
    les = load(LESSONS / "03_two_layer.json")
    task, g = les.steps[2].task, les.graph(2)
    assert tasks.check_quiz(task, g, ["−1.4·0.3·2", "-2*(1 - 0.3)"]).done
    v = tasks.check_quiz(task, g, ["__import__('os').getcwd()", "-1.4"])
    assert v.marks == (False, True) and "number" in v.notes[0]


@pytest.mark.parametrize("lid,i", [("03_two_layer", 4), ("04_training", 0), ("04_training", 3)])
def test_train_tasks_are_reached_by_gradient_descent(lid: str, i: int) -> None:
    les = load(LESSONS / f"{lid}.json")
    task = les.steps[i].task
    assert isinstance(task, tasks.TrainTask)
    g = les.graph(i)
    assert not tasks.check_train(task, g).done  # not already there
    for n in range(task.steps):
        if tasks.check_train(task, g).done:
            break
        train.step(g, task.lr)
    assert tasks.check_train(task, g).done, f"not below {task.below} in {task.steps} steps"


def test_one_step_of_the_two_layer_network_lands_on_the_tutorials_numbers() -> None:
    task = load(LESSONS / "03_two_layer.json").steps[4].task
    g = load(LESSONS / "03_two_layer.json").graph(4)
    train.step(g, task.lr)
    w1, w2 = 0.5 - 0.1 * -0.84, 0.3 - 0.1 * -1.4
    loss = (1 - w2 * w1 * 2) ** 2  # 0.2363, below the task's 0.3
    assert tasks.current_loss(g) == pytest.approx(loss)
    assert tasks.check_train(task, g).done and loss < task.below < 0.49


def _builds():
    for lid, steps in BUILDS.items():
        for i, (right, wrong) in steps.items():
            yield pytest.param(lid, i, right, wrong, id=f"{lid}-{i}")


@pytest.mark.parametrize("lid,i,right,wrong", list(_builds()))
def test_build_tasks_accept_any_wiring_of_the_function_only(lid, i, right, wrong) -> None:
    task = load(LESSONS / f"{lid}.json").steps[i].task
    assert isinstance(task, tasks.BuildTask)
    assert not tasks.check_build(task, load(LESSONS / f"{lid}.json").graph(i)).done
    for text in right:
        v = tasks.check_build(task, expr.parse(text))
        assert v.done, (text, v.message)
    for text in wrong:
        assert not tasks.check_build(task, expr.parse(text)).done, text


def test_a_build_check_leaves_the_learners_graph_alone() -> None:
    task = load(LESSONS / "01_chain_rule.json").steps[4].task
    g = expr.parse("x = 2; u = 3*x + 1; y = u**2")
    before = {n.name: n.value for n in g.nodes()}
    assert tasks.check_build(task, g).done
    assert {n.name: n.value for n in g.nodes()} == before


# -------------------------------------------------------------------- walk
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_a_scripted_walk_completes_each_lesson(path: Path) -> None:
    """As a learner: open each step's graph (or go on with one's own), do its task,
    and only then move on."""
    les = load(path)
    graph: Graph | None = None
    done: set[int] = set()
    for i, step in enumerate(les.steps):
        if step.new_graph or graph is None:
            graph = les.graph(i)
        task = step.task
        if isinstance(task, tasks.QuizTask):
            v = tasks.check(task, graph, _texts(HAND[les.id][i]))
        elif isinstance(task, tasks.TrainTask):
            for _ in range(task.steps):
                if tasks.check(task, graph).done:
                    break
                train.step(graph, task.lr)
            v = tasks.check(task, graph)
        elif isinstance(task, tasks.BuildTask):
            graph = expr.parse(BUILDS[les.id][i][0][0])
            v = tasks.check(task, graph)
        else:
            continue
        assert v.done, (i, v.message)
        done.add(i)
    assert done == set(les.tasks())


def test_a_step_after_training_opens_where_the_lessons_walk_stands() -> None:
    les = load(LESSONS / "03_two_layer.json")
    g = les.graph(5)  # after the one training step of step 4
    assert g.node(g.id_of("w1")).value == pytest.approx(0.584)
    assert g.node(g.id_of("w2")).value == pytest.approx(0.44)
    assert not les.steps[5].new_graph


# ---------------------------------------------------------------- bad files
GOOD = {
    "format": "chain-rule-studio-lesson", "version": 1, "title": "T", "summary": "S",
    "steps": [{"text": "one", "expr": "x = 3; y = x**2",
               "task": {"kind": "quiz", "ask": [{"grad": "x"}]}}],
}


def _bad(mutate) -> lesson.LessonError:
    data = copy.deepcopy(GOOD)
    mutate(data)
    with pytest.raises(lesson.LessonError) as info:
        lesson.loads(json.dumps(data), EXAMPLES, "bad.json")
    return info.value


def test_the_minimal_lesson_loads() -> None:
    les = lesson.loads(json.dumps(GOOD), EXAMPLES, "good.json")
    assert les.id == "good" and tasks.check(les.steps[0].task, les.graph(0), ["6"]).done


@pytest.mark.parametrize("text,where,words", [
    ("{", "$", "not valid JSON"),
    ("", "$", "empty"),
    (b"\xff\xfe", "$", "UTF-8"),
    ('{"format": "chain-rule-studio", "version": 1}', "$.format", "not a Chain Rule Studio lesson"),
    ('[1, 2]', "$", "JSON object"),
])
def test_text_that_is_not_a_lesson(text, where, words) -> None:
    with pytest.raises(lesson.LessonError) as info:
        lesson.loads(text, EXAMPLES, "bad.json")
    assert info.value.path == where and words in info.value.problem
    assert str(info.value).startswith("bad.json: ")


def test_wrong_types_name_their_place() -> None:
    e = _bad(lambda d: d.update(title=5))
    assert e.path == "$.title" and "text" in e.problem
    e = _bad(lambda d: d["steps"][0].update(text=["a"]))
    assert e.path == "$.steps[0].text"
    e = _bad(lambda d: d["steps"][0]["task"].update(ask=[{"grad": 3}]))
    assert e.path == "$.steps[0].task.ask[0].grad"
    e = _bad(lambda d: d.update(steps=[]))
    assert e.path == "$.steps"
    e = _bad(lambda d: d["steps"][0].update(colour="red"))
    assert e.path == "$.steps[0].colour" and "unknown key" in e.problem


def test_an_unknown_task_kind() -> None:
    e = _bad(lambda d: d["steps"][0].update(task={"kind": "essay"}))
    assert e.path == "$.steps[0].task.kind" and "unknown task kind" in e.problem
    assert "quiz, train, build" in e.problem


def test_a_task_with_keys_of_another_kind() -> None:
    e = _bad(lambda d: d["steps"][0]["task"].update(below=0.1))
    assert e.path == "$.steps[0].task.below" and "unknown key" in e.problem
    e = _bad(lambda d: d["steps"][0].update(task={"kind": "train", "below": 0.1}))
    assert e.path == "$.steps[0].task.steps" and e.problem == "missing"


def test_a_missing_graph() -> None:
    e = _bad(lambda d: d["steps"][0].pop("expr"))
    assert e.path == "$.steps[0]" and "missing graph" in e.problem
    e = _bad(lambda d: d["steps"][0].update(example="nowhere.json"))  # two sources
    assert e.path == "$.steps[0].expr" and "not both" in e.problem
    e = _bad(lambda d: (d["steps"][0].pop("expr"), d["steps"][0].update(example="nowhere.json")))
    assert e.path == "$.steps[0].example" and "no example named" in e.problem
    e = _bad(lambda d: (d["steps"][0].pop("expr"),
                        d["steps"][0].update(example="../examples/two_layer.json")))
    assert e.path == "$.steps[0].example" and "no folder" in e.problem


def test_a_bad_expression_or_inline_graph_says_where() -> None:
    e = _bad(lambda d: d["steps"][0].update(expr="y = __import__('os').system('true')"))
    assert e.path == "$.steps[0].expr" and "line 1, column" in e.problem
    inline = json.loads((EXAMPLES / "two_layer.json").read_text(encoding="utf-8"))
    k = next(i for i, n in enumerate(inline["nodes"]) if n["name"] == "h")
    inline["nodes"][k]["op"] = "teleport"
    e = _bad(lambda d: (d["steps"][0].pop("expr"), d["steps"][0].update(graph=inline),
                        d["steps"][0].update(task={"kind": "quiz", "ask": [{"grad": "w1"}]})))
    assert e.path.startswith(f"$.steps[0].graph.nodes[{k}]") and "teleport" in e.problem


def test_an_inline_graph_document_works() -> None:
    inline = json.loads((EXAMPLES / "two_layer.json").read_text(encoding="utf-8"))
    data = copy.deepcopy(GOOD)
    data["steps"][0] = {"text": "t", "graph": inline,
                        "task": {"kind": "quiz", "ask": [{"grad": "w1"}]}}
    les = lesson.loads(json.dumps(data), EXAMPLES)
    assert tasks.check(les.steps[0].task, les.graph(0), ["-0.84"]).done


def test_tasks_must_fit_their_graph() -> None:
    e = _bad(lambda d: d["steps"][0]["task"].update(ask=[{"grad": "w9"}]))
    assert e.path == "$.steps[0].task.ask[0]" and "no node named 'w9'" in e.problem
    e = _bad(lambda d: d["steps"][0]["task"].update(ask=[{"local": ["y", "x"]}]))
    assert "does not feed" in e.problem
    e = _bad(lambda d: d["steps"][0].update(expr="x = 3; f = x*x",
                                            task={"kind": "quiz", "ask": [{"local": ["x", "f"]}]}))
    assert "name the port" in e.problem
    e = _bad(lambda d: d["steps"][0].update(task={"kind": "train", "below": 0.1, "steps": 5,
                                                  "lr": 0.1}))
    assert e.path == "$.steps[0].task" and "no param" in e.problem
    e = _bad(lambda d: d["steps"][0].update(task={"kind": "build", "function": "y = 2 +"}))
    assert e.path == "$.steps[0].task.function"
    e = _bad(lambda d: d["steps"][0].update(task={"kind": "build", "function": "y = x",
                                                  "avoid": ["teleport"]}))
    assert e.path == "$.steps[0].task.avoid[0]"
    e = _bad(lambda d: d["steps"][0].update(edit={"set": {"y": 2}}))
    assert e.path == "$.steps[0].edit.set.y" and "not an input" in e.problem
    e = _bad(lambda d: d["steps"][0].update(edit={"set": {"q": 2}}))
    assert e.path == "$.steps[0].edit.set.q" and "no node named" in e.problem


def test_numbers_json_cannot_hold() -> None:
    text = json.dumps(GOOD).replace('"kind": "quiz"', '"kind": "train", "below": NaN, '
                                                      '"steps": 1, "lr": 1')
    with pytest.raises(lesson.LessonError) as info:
        lesson.loads(text, EXAMPLES, "bad.json")
    assert info.value.path == "$.steps[0].task.below" and "finite" in info.value.problem


def _paths(obj, path=()):
    yield path
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, path + (i,))


def test_any_value_replaced_by_junk_gives_a_lesson_error_or_a_lesson() -> None:
    """Every place in a shipped lesson, replaced by each kind of JSON value: the loader
    either accepts it or says where the problem is — nothing else escapes."""
    base = json.loads((LESSONS / "01_chain_rule.json").read_text(encoding="utf-8"))
    tried = 0
    for path in _paths(base):
        if not path:
            continue
        for junk in (None, 7, -1.5, "zz", [], {}, True):
            data = copy.deepcopy(base)
            parent = data
            for p in path[:-1]:
                parent = parent[p]
            parent[path[-1]] = junk
            try:
                lesson.loads(json.dumps(data), EXAMPLES, "junk.json")
            except lesson.LessonError as e:
                assert e.path.startswith("$") and e.problem
            tried += 1
    assert tried > 200


# --------------------------------------------------------------- hidden numbers
@pytest.mark.parametrize("lid,i,numbers", list(_quiz_steps()))
def test_an_open_quiz_hides_its_numbers_and_their_give_aways(lid, i, numbers) -> None:
    from engine.fast import evaluate_graph
    les = load(LESSONS / f"{lid}.json")
    task, g = les.steps[i].task, les.graph(i)
    r = evaluate_graph(g)
    mask = tasks.quiz_mask(task, g, r)
    for ask in task.asks:
        at = tasks.where(ask, g)
        if ask.kind == "value":
            assert not mask.node_state(at)[0]
            assert r.output not in mask.grads  # the backward pass reads the values
        elif ask.kind == "grad":
            assert at not in mask.grads
            for _, t, k in g.nx.out_edges(at, keys=True):  # the terms it is the sum of
                local, product = mask.edge_state((at, t, k))
                assert not product
                if t == r.output:  # into L the product is the local itself
                    assert not local
                elif not any(a.kind == "value" for a in task.asks):
                    assert local  # a factor the learner multiplies by
        else:
            local, product = mask.edge_state(at)
            assert not product and (ask.kind == "product" or not local)
            assert at[0] not in mask.grads  # the source's gradient is computed from it


def test_the_mask_leaves_what_the_learner_works_from() -> None:
    """∂L/∂w₁ = ∂L/∂h · ∂h/∂w₁: with ∂L/∂w₁ asked, ∂L/∂h = −0.42 and x = 2 stay shown."""
    from engine.fast import evaluate_graph
    les = load(LESSONS / "03_two_layer.json")
    g = les.graph(2)
    mask = tasks.quiz_mask(les.steps[2].task, g, evaluate_graph(g))
    assert mask.grads[g.id_of("h")] == pytest.approx(-1.4 * 0.3)
    assert mask.node_state(g.id_of("x"))[0] and mask.values is not None
    # ∂h/∂w₁ = x = 2, worked out in the step before, is a factor: shown; its product not
    w1h = (g.id_of("w1"), g.id_of("h"), "a")
    assert mask.edge_state(w1h) == (True, False)
