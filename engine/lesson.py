"""Lesson files: a title, a summary and steps, each a short text, a graph and maybe a
task (see ``engine.tasks``), checked whole before anything is shown.

A step's graph is a shipped example (by file name), an inline graph document, an
expression, or the previous step's graph — unchanged, or edited (leaf values set,
leaves made trainable). The loader builds every step's graph and checks every task
against it, so a lesson that loads can be walked through to its end. A malformed file
raises one error type, LessonError, naming the file, the JSON path and the problem;
the file is JSON read as data, expressions go through the expression parser, and
nothing in it is ever run as code. See docs/lessons.md.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine import tasks
from engine.errors import EngineError, ExpressionError, GraphFileError, InvalidNameError, clip, quote
from engine.files import UnreadableFileError, read_file
from engine.graph import RESERVED, Graph
from engine.names import is_valid_name
from engine.numfmt import fmt
from engine.ops import OPS

FORMAT = "chain-rule-studio-lesson"
VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("lesson-v1.schema.json")
#: a lesson is a page of text and a few small graphs
MAX_LESSON_BYTES = 4 * 1024 * 1024
_SOURCES = ("example", "graph", "expr")


class LessonError(EngineError):
    """Any problem reading a lesson; the message names file, JSON path and problem."""

    def __init__(self, file: str, path: str, problem: str) -> None:
        super().__init__(f"{file}: {path}: {problem}" if path else f"{file}: {problem}")
        self.file = file
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class Step:
    text: str
    task: tasks.Task | None = None
    #: True when the step brings its own graph (a source or an edit); False when it goes
    #: on with the graph the learner has (a graph trained in the step before, say)
    new_graph: bool = True


@dataclass(frozen=True)
class Lesson:
    """A loaded lesson. ``graph(i)`` is step i's graph as the lesson defines it: what
    the step opens with (for a step that goes on with the learner's graph, the graph
    the lesson's own walk would have reached)."""

    id: str
    title: str
    summary: str
    steps: tuple[Step, ...]
    path: str = ""
    _graphs: tuple[Graph, ...] = field(default=(), repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.steps)

    def graph(self, i: int) -> Graph:
        """A fresh copy of step ``i``'s graph (the caller may change it)."""
        return self._graphs[i].copy()

    def tasks(self) -> list[int]:
        """Indexes of the steps that have a task."""
        return [i for i, s in enumerate(self.steps) if s.task is not None]


@lru_cache(maxsize=1)
def _validator():
    import jsonschema
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def load(path: str | os.PathLike, examples: str | os.PathLike) -> Lesson:
    """Read and check a lesson file; ``examples`` is the folder its steps' ``example``
    names are looked up in."""
    name = str(path)
    try:
        raw = read_file(path, MAX_LESSON_BYTES)
    except UnreadableFileError as e:
        raise LessonError(name, "", e.reason) from None
    return loads(raw, examples, name, Path(name).stem)


def loads(text: str | bytes, examples: str | os.PathLike, filename: str = "<lesson>",
          lesson_id: str = "") -> Lesson:
    """Read and check lesson text (see ``load``)."""
    def fail(path: str, problem: str) -> LessonError:
        return LessonError(filename, path, problem)

    data = _parse_json(text, fail)
    _check_schema(data, fail)
    graphs: list[Graph] = []
    steps: list[Step] = []
    for i, raw in enumerate(data["steps"]):
        where = f"$.steps[{i}]"
        graph, new = _step_graph(raw, i, graphs, steps, Path(examples), where, fail)
        task = _task(raw.get("task"), graph, f"{where}.task", fail)
        graph.note = ""  # the lesson's text says what the step shows
        graphs.append(graph)
        steps.append(Step(raw["text"].strip(), task, new))
    return Lesson(lesson_id or Path(filename).stem, data["title"].strip(),
                  data["summary"].strip(), tuple(steps), filename, tuple(graphs))


# ------------------------------------------------------------------- reading
def _parse_json(text: str | bytes, fail) -> Any:
    from engine.fileformat import _NonFinite, _find_problem, _object
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise fail("$", f"not UTF-8 text (byte {e.start})") from None
    if not text.strip():
        raise fail("$", "the file is empty")
    try:
        data = json.loads(text, parse_constant=_NonFinite, object_pairs_hook=_object)
    except json.JSONDecodeError as e:
        msg = e.msg[:-3] if e.msg.endswith(" at") else e.msg
        raise fail("$", f"not valid JSON: {msg} at line {e.lineno}, column {e.colno}") from None
    except (ValueError, RecursionError):
        raise fail("$", "not valid JSON") from None
    bad = _find_problem(data)
    if bad is not None:
        raise fail(*bad)
    if not isinstance(data, dict):
        raise fail("$", "expected a JSON object at the top level")
    if data.get("format") != FORMAT:
        raise fail("$.format", f"not a Chain Rule Studio lesson (format should be "
                               f"{quote(FORMAT)})")
    if data.get("version") != VERSION:
        raise fail("$.version", f"{clip(json.dumps(data.get('version')), 40)} is not a lesson "
                                f"version this program reads (it reads {VERSION})")
    return data


def _json_path(parts) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{clip(str(p), 40)}"
    return out


def _show(x: Any) -> str:
    return clip(json.dumps(x, ensure_ascii=False), 60)


_TYPE_WORDS = {"string": "text", "number": "a number", "integer": "a whole number",
               "object": "a JSON object", "array": "a list", "boolean": "true or false"}


def _check_schema(data: Any, fail) -> None:
    errors = sorted(_validator().iter_errors(data),
                    key=lambda e: (list(map(str, e.absolute_path)), e.validator != "type"))
    if not errors:
        return
    e = _deepest(errors)
    where = list(e.absolute_path)
    v = e.validator
    if v == "additionalProperties":
        allowed = list(e.schema.get("properties", {}))
        extra = [k for k in e.instance if k not in allowed] if isinstance(e.instance, dict) else []
        key = extra[0] if extra else "?"
        raise fail(_json_path(where + [key]) if extra else _json_path(where),
                   f"unknown key {quote(key)} (allowed: {', '.join(allowed)})")
    if v == "required":
        missing = next((k for k in e.validator_value if k not in e.instance), "?")
        raise fail(_json_path(where + [missing]), "missing")
    if v == "type":
        want = e.validator_value
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in (want if isinstance(want, list)
                                                             else [want]))
        raise fail(_json_path(where), f"{_show(e.instance)} is not {words}")
    if v == "enum" and isinstance(e.instance, str) and list(e.relative_schema_path)[-2:-1] \
            == ["propertyNames"]:
        raise fail(_json_path(where + [e.instance]),
                   f"unknown key {quote(e.instance)} (allowed: "
                   f"{', '.join(e.validator_value)})")
    if v == "enum":
        if where and where[-1] == "kind" and "quiz" in e.validator_value:
            raise fail(_json_path(where), f"unknown task kind {_show(e.instance)} (choose "
                                          f"from {', '.join(e.validator_value)})")
        raise fail(_json_path(where), f"{_show(e.instance)} should be one of "
                                      f"{', '.join(map(str, e.validator_value))}")
    if v in ("minProperties", "maxProperties") and len(where) >= 2 and where[-2] == "ask":
        raise fail(_json_path(where), "a question names exactly one of value, grad, local "
                                      "or product")
    if v == "minLength":
        raise fail(_json_path(where), "must not be empty")
    if v == "maxLength":
        raise fail(_json_path(where), f"too long (at most {e.validator_value} characters)")
    if v in ("minItems", "maxItems"):
        raise fail(_json_path(where), f"{_show(e.instance)} should have "
                                      f"{'at least' if v == 'minItems' else 'at most'} "
                                      f"{e.validator_value} items")
    if v == "pattern" and where and where[-1] == "example":
        raise fail(_json_path(where), f"{_show(e.instance)} is not an example's file name "
                                      "(a name ending in .json, no folder)")
    if v in ("minimum", "maximum", "exclusiveMinimum"):
        word = {"minimum": "at least", "maximum": "at most",
                "exclusiveMinimum": "more than"}[v]
        raise fail(_json_path(where), f"{_show(e.instance)} should be {word} "
                                      f"{e.validator_value}")
    if v == "const":
        raise fail(_json_path(where), f"{_show(e.instance)} should be "
                                      f"{_show(e.validator_value)}")
    raise fail(_json_path(where), f"{_show(e.instance)} is not valid here ({v})")


def _deepest(errors):
    """The most specific error: descend into if/then and anyOf branches to the leaf."""
    def depth(e):
        return len(list(e.absolute_path))
    best = max(errors, key=depth)
    while best.context:
        best = max(best.context, key=depth)
    return best


# ------------------------------------------------------------------- graphs
def _step_graph(raw: dict, i: int, graphs: list[Graph], steps: list[Step], examples: Path,
                where: str, fail) -> tuple[Graph, bool]:
    given = [k for k in _SOURCES if k in raw]
    if len(given) > 1:
        raise fail(f"{where}.{given[1]}", f"a step has one graph: {given[0]} or {given[1]}, "
                                         "not both")
    if "params" in raw and given != ["expr"]:
        raise fail(f"{where}.params", "params go with an expr")
    if not given:
        if i == 0:
            raise fail(where, "missing graph: the first step needs an example, a graph "
                              "or an expr")
        graph = graphs[-1].copy()
        before = steps[-1].task
        if isinstance(before, tasks.TrainTask):
            try:  # where the lesson's own walk stands after training
                tasks.train_until(before, graph)
            except EngineError as e:
                raise fail(f"$.steps[{i - 1}].task", f"training fails: {e}") from None
    elif given[0] == "example":
        graph = _example(raw["example"], examples, f"{where}.example", fail)
    elif given[0] == "graph":
        from engine.fileformat import from_dict
        try:
            graph = from_dict(raw["graph"], "graph")
        except GraphFileError as e:
            inner = e.path[1:] if e.path.startswith("$") else ""
            raise fail(f"{where}.graph{inner}", e.problem) from None
    else:
        from engine import expr
        try:
            graph = expr.parse(raw["expr"], raw.get("params", ()))
        except ExpressionError as e:
            raise fail(f"{where}.expr", str(e)) from None
    if "edit" in raw:
        _edit(graph, raw["edit"], f"{where}.edit", fail)
    return graph, bool(given) or "edit" in raw


def _example(name: str, examples: Path, where: str, fail) -> Graph:
    from engine.fileformat import load
    path = examples / name
    if not path.is_file():
        raise fail(where, f"no example named {quote(name)} in {examples.name}")
    try:
        return load(path)
    except GraphFileError as e:
        raise fail(where, f"the example cannot be read: {e.problem}") from None


def _leaf(graph: Graph, name: str, where: str, fail) -> str:
    nid = graph.id_of(name)
    if nid is None:
        raise fail(where, f"no node named {quote(name)} in this step's graph")
    if graph.op_of(nid) not in ("input", "param", "const"):
        raise fail(where, f"{quote(name)} is a {graph.op_of(nid)} node, not an input, "
                          "param or const leaf")
    return nid


def _edit(graph: Graph, edit: dict, where: str, fail) -> None:
    for name, kind in edit.get("kind", {}).items():
        graph.set_kind(_leaf(graph, name, f"{where}.kind.{clip(name, 40)}", fail), kind)
    for name, value in edit.get("set", {}).items():
        graph.set_value(_leaf(graph, name, f"{where}.set.{clip(name, 40)}", fail), value)


# -------------------------------------------------------------------- tasks
def _task(raw: dict | None, graph: Graph, where: str, fail) -> tasks.Task | None:
    if raw is None:
        return None
    hint = raw.get("hint", "").strip()
    kind = raw["kind"]
    if kind == tasks.QUIZ:
        asks = []
        for j, a in enumerate(raw["ask"]):
            (what, target), = a.items()
            if isinstance(target, list):
                ask = tasks.Ask(what, edge=(target[0], target[1]),
                                port=target[2] if len(target) > 2 else None)
                if what not in ("local", "product"):
                    raise fail(f"{where}.ask[{j}].{what}", "a node's value or grad names one "
                                                          "node")
            else:
                ask = tasks.Ask(what, node=target)
            asks.append(ask)
        task: tasks.Task = tasks.QuizTask(tuple(asks), hint)
        from engine.fast import evaluate_graph
        result = evaluate_graph(graph, allow_no_output=True)
        for j, ask in enumerate(asks):
            try:
                tasks.question(ask, graph, result)
            except tasks.TaskError as e:
                raise fail(f"{where}.ask[{j}]", str(e)) from None
        return task
    if kind == tasks.TRAIN:
        from engine import train
        if not train.params(graph):
            raise fail(where, "this step's graph has no param leaves to train")
        task = tasks.TrainTask(float(raw["below"]), int(raw["steps"]), float(raw["lr"]), hint)
        walk = graph.copy()  # the lesson's own walk must reach the loss it asks for
        try:
            tasks.train_until(task, walk)
            loss = tasks.current_loss(walk)
        except EngineError as e:
            raise fail(where, f"training fails: {e}") from None
        if not loss < task.below:
            raise fail(where, f"{task.steps} steps at η = {fmt(task.lr)} end at a loss of "
                              f"{fmt(loss)}, not below {fmt(task.below)}")
        return task
    lo, hi = raw.get("range", (-2.0, 2.0))
    if not lo < hi:
        raise fail(f"{where}.range", "the range's low end must be below its high end")
    for key in ("ops", "avoid"):
        for j, op in enumerate(raw.get(key, ())):
            if op not in OPS:
                raise fail(f"{where}.{key}[{j}]", f"{quote(op)} is not an op")
    task = tasks.BuildTask(raw["function"], tuple(raw.get("leaves", ())),
                           tuple(raw.get("ops", ())), tuple(raw.get("avoid", ())),
                           (float(lo), float(hi)), int(raw.get("points", 6)), hint)
    try:
        variables = tasks.variables(tasks.target_graph(task))
    except (ExpressionError, InvalidNameError) as e:
        raise fail(f"{where}.function", str(e)) from None
    if not variables:
        raise fail(f"{where}.function", "the function has no variables to build it from")
    for j, name in enumerate(task.leaves):
        if not is_valid_name(name) or name in RESERVED:
            raise fail(f"{where}.leaves[{j}]", f"{quote(name)} cannot be a leaf's name, so "
                                               "no graph could have it")
    # the function checked against itself: a task no graph can pass is the lesson's fault
    own = tasks.check_build(replace(task, ops=(), avoid=(), leaves=()),
                            tasks.target_graph(task))
    if not own.done:
        raise fail(f"{where}.range" if "range" in raw else f"{where}.function", own.message)
    return task
