"""A lesson step's task and how the app checks it: a quiz on named numbers, a loss to
reach by training, or a function to build.

Every check reads the learner's graph as it is and never changes it: a quiz compares
typed answers with the engine's numbers (through the shared quiz core,
``engine.quiz``), a training task reads the loss, a build task evaluates copies of
the learner's graph and of the target function at random points and compares the
outputs — so any wiring that computes the function passes. Typed answers and target
functions are read by the quiz's answer reader and the expression parser: nothing is
ever run as code.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Sequence

import networkx as nx

from engine import quiz
from engine.errors import EngineError, ExpressionError, OutputError, clip, quote
from engine.evaluate import evaluate
from engine.fast import evaluate_graph
from engine.graph import Graph
from engine.labels import display_name
from engine.numfmt import fmt
from engine.ops import OPS
from engine.passes import PassMask
from engine.result import EdgeKey, Result

QUIZ, TRAIN, BUILD = "quiz", "train", "build"
KINDS = (QUIZ, TRAIN, BUILD)
#: the leaf kinds a build task's variables may be (what a learner can set)
_VARIABLE_LEAVES = ("input", "param")
#: a build task's outputs must agree this closely (they compute the same function)
BUILD_REL, BUILD_ABS = 1e-6, 1e-9
#: the seed of a build task's random points: the same points on every check
BUILD_SEED = 1729


class TaskError(EngineError):
    """A task that does not fit the graph it is checked against (a name that is not
    there); the lesson loader turns it into a LessonError with the task's location."""


@dataclass(frozen=True)
class Ask:
    """One number a quiz asks for, by node names: a node's ``value`` or ``grad``, or an
    edge's ``local`` derivative or ``product``; ``port`` picks one of several edges
    between the same two nodes (x·x)."""

    kind: str
    node: str | None = None
    edge: tuple[str, str] | None = None
    port: str | None = None


@dataclass(frozen=True)
class QuizTask:
    asks: tuple[Ask, ...]
    hint: str = ""
    kind: str = QUIZ


@dataclass(frozen=True)
class TrainTask:
    """Get the loss below ``below``; the lesson's own walk needs at most ``steps`` steps
    of gradient descent at learning rate ``lr`` (what the Training dock is set to)."""

    below: float
    steps: int
    lr: float
    hint: str = ""
    kind: str = TRAIN


@dataclass(frozen=True)
class BuildTask:
    """Build a graph computing ``function`` (an expression), with leaves of the names in
    ``leaves``, using every op in ``ops`` and none in ``avoid``."""

    function: str
    leaves: tuple[str, ...] = ()
    ops: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()
    range: tuple[float, float] = (-2.0, 2.0)
    points: int = 6
    hint: str = ""
    kind: str = BUILD


Task = QuizTask | TrainTask | BuildTask


@dataclass(frozen=True)
class Verdict:
    """What a check found: ``done`` when the task is complete, a sentence to show, and
    for a quiz one mark per question (True right, False wrong, None not answered)."""

    done: bool
    message: str
    marks: tuple[bool | None, ...] = ()
    #: for a quiz, one sentence per question ("" when right or unanswered)
    notes: tuple[str, ...] = ()


# ----------------------------------------------------------------------- quiz
def _node(graph: Graph, name: str) -> str:
    nid = graph.id_of(name)
    if nid is None:
        raise TaskError(f"there is no node named {quote(name)} in this graph")
    return nid


def _edge(graph: Graph, ask: Ask) -> EdgeKey:
    src_name, dst_name = ask.edge  # type: ignore[misc]
    src, dst = _node(graph, src_name), _node(graph, dst_name)
    ports = sorted(k for _, d, k in graph.nx.out_edges(src, keys=True) if d == dst)
    if not ports:
        raise TaskError(f"{quote(src_name)} does not feed {quote(dst_name)}")
    if ask.port is not None:
        if ask.port not in ports:
            raise TaskError(f"{quote(src_name)} feeds {quote(dst_name)} at "
                            f"{', '.join(ports)}, not at {quote(ask.port)}")
        return (src, dst, ask.port)
    if len(ports) > 1:
        raise TaskError(f"{quote(src_name)} feeds {quote(dst_name)} at {', '.join(ports)}: "
                        "name the port as a third item")
    return (src, dst, ports[0])


def where(ask: Ask, graph: Graph) -> str | EdgeKey:
    """The node id or edge key ``ask`` names in ``graph``; TaskError when it is not there."""
    if ask.kind in (quiz.VALUE, quiz.GRAD):
        return _node(graph, ask.node or "")
    return _edge(graph, ask)


def _truth(ask: Ask, at: str | EdgeKey, graph: Graph, result: Result) -> float | None:
    if ask.kind == quiz.VALUE:
        return result.nodes[at].value  # type: ignore[index]
    if ask.kind == quiz.GRAD:
        return result.nodes[at].grad if result.output is not None else None  # type: ignore[index]
    er = result.edges[at]  # type: ignore[index]
    return er.local if ask.kind == quiz.LOCAL else (
        er.product if result.output is not None else None)


def question(ask: Ask, graph: Graph, result: Result) -> quiz.Question:
    """The quiz core's question for ``ask`` (its prompt, truth and formula); a leaf's
    value, which a full quiz never asks, gets a question of the same shape."""
    at = where(ask, graph)
    key = quiz.question_key(ask.kind, at)
    for q in quiz.questions(graph, result, [ask.kind]):
        if q.key == key:
            return q
    truth = _truth(ask, at, graph, result)
    what = {quiz.VALUE: "value", quiz.GRAD: "gradient", quiz.LOCAL: "local derivative",
            quiz.PRODUCT: "product"}[ask.kind]
    thing = (display_name(graph, at) if isinstance(at, str)
             else f"{display_name(graph, at[0])} → {display_name(graph, at[1])}")
    if truth is None or not math.isfinite(truth):
        raise TaskError(f"the {what} of {thing} is not a number here (a constant, off the "
                        "path to the output, or not finite)")
    if ask.kind != quiz.VALUE or not isinstance(at, str):
        # a finite number the core does not ask: an edge off the path to the output
        raise TaskError(f"a quiz does not ask the {what} of {thing}: no gradient flows "
                        "along it (it is off the path to the output)")
    return quiz.Question(key=key, kind=quiz.VALUE, node=at, edge=None,
                         prompt=display_name(graph, at), truth=float(truth))


def quiz_questions(task: QuizTask, graph: Graph, result: Result | None = None
                   ) -> list[quiz.Question]:
    """One question per ask, in the task's order, for ``graph`` as it is now."""
    if result is None:
        result = evaluate_graph(graph, allow_no_output=True)
    return [question(a, graph, result) for a in task.asks]


def check_quiz(task: QuizTask, graph: Graph, answers: Sequence[str],
               result: Result | None = None) -> Verdict:
    """Compare typed answers (one per ask; "" for none yet) with the engine's numbers."""
    try:
        qs = quiz_questions(task, graph, result)
    except (TaskError, OutputError) as e:
        return Verdict(False, f"This graph cannot be quizzed: {e}",
                       tuple(None for _ in task.asks), tuple("" for _ in task.asks))
    marks: list[bool | None] = []
    notes: list[str] = []
    for i, q in enumerate(qs):
        text = answers[i] if i < len(answers) else ""
        if not text.strip():
            marks.append(None)
            notes.append("")
            continue
        try:
            value = quiz.parse_answer(text)
        except ValueError as e:
            marks.append(False)
            notes.append(str(e))
            continue
        right = quiz.is_right(value, q.truth)
        marks.append(right)
        notes.append("" if right else f"{q.prompt} is not {fmt(value)}")
    n_right = sum(m is True for m in marks)
    done = n_right == len(qs)
    if done:
        message = "All right ✓" if len(qs) > 1 else "Right ✓"
    else:
        message = f"{n_right} of {len(qs)} right"
    return Verdict(done, message, tuple(marks), tuple(notes))


def quiz_mask(task: QuizTask, graph: Graph, result: Result) -> PassMask:
    """What the canvas may show while ``task`` is open: everything but the asked numbers
    and those that would give them away — what the passes compute from them. An asked
    value hides the values downstream of it, the local derivatives that read them and
    the whole backward pass; an asked local derivative, product or gradient hides the
    gradients the backward pass computes after it (of the nodes upstream) and the
    products into those nodes (a product divided by its local derivative is the
    gradient); an asked gradient hides the numbers on the edges it is summed from.
    Asks that do not fit the graph hide nothing."""
    G = graph.nx
    values: set[str] = set()
    grads: set[str] = set()
    locals_: set[EdgeKey] = set()
    products: set[EdgeKey] = set()
    all_backward = False

    def upstream_of(nid: str) -> None:
        for n in {nid} | nx.ancestors(G, nid):
            grads.add(n)
            products.update((s, n, k) for s, _, k in G.in_edges(n, keys=True))

    for ask in task.asks:
        try:
            at = where(ask, graph)
        except TaskError:
            continue
        if ask.kind == quiz.VALUE:
            down = {at} | nx.descendants(G, at)  # type: ignore[operator]
            values.update(down)
            locals_.update((s, t, k) for t in down for s, _, k in G.in_edges(t, keys=True))
            all_backward = True
        elif ask.kind == quiz.GRAD:
            upstream_of(at)  # type: ignore[arg-type]
            out = [(at, t, k) for _, t, k in G.out_edges(at, keys=True)]
            products.update(out)
            # into the output the product is the local derivative itself (∂L/∂L = 1);
            # elsewhere it is what the learner multiplies by: shown
            locals_.update(e for e in out if e[1] == result.output)
        else:
            src = at[0]  # type: ignore[index]
            if ask.kind == quiz.LOCAL:
                locals_.add(at)  # type: ignore[arg-type]
            products.add(at)  # type: ignore[arg-type]
            upstream_of(src)
    edges = set(result.edges)
    if all_backward:
        grads, products = set(result.nodes), edges
    return PassMask(values=set(result.nodes) - values,
                    grads={n: r.grad for n, r in result.nodes.items()
                           if n not in grads and r.grad is not None},
                    locals=edges - locals_, products=edges - products)


# ---------------------------------------------------------------------- train
def current_loss(graph: Graph) -> float:
    """The number training lowers: the output's value (the mean loss over a dataset)."""
    r = evaluate_graph(graph)
    if r.batch is not None:
        return r.batch.mean_loss
    return r.value(r.output)


def check_train(task: TrainTask, graph: Graph) -> Verdict:
    try:
        loss = current_loss(graph)
    except OutputError as e:
        return Verdict(False, str(e))
    if not math.isfinite(loss):
        return Verdict(False, "The loss is not a finite number: Reset the training and "
                              "try a smaller η.")
    if loss < task.below:
        return Verdict(True, f"Loss {fmt(loss)} < {fmt(task.below)} ✓")
    return Verdict(False, f"Loss {fmt(loss)}: not below {fmt(task.below)} yet")


def train_until(task: TrainTask, graph: Graph) -> int:
    """Gradient descent on ``graph`` in place (``engine.train.step`` at the task's η)
    until the loss is below the target or the task's steps are used up; the steps
    taken. What the lesson's own walk does, and what a step after this one starts from."""
    from engine import train
    for n in range(task.steps):
        if current_loss(graph) < task.below:
            return n
        train.step(graph, task.lr)
    return task.steps


# ---------------------------------------------------------------------- build
def target_graph(task: BuildTask) -> Graph:
    """The task's function as a graph; ExpressionError when the text is not one."""
    from engine import expr
    return expr.parse(task.function, layout=False)


def variables(g: Graph) -> list[str]:
    """Names of the leaves a function of ``g`` varies with (not its constants)."""
    return [g.name_of(n) for n in g.ids() if g.op_of(n) in _VARIABLE_LEAVES]


def required_leaves(task: BuildTask) -> tuple[str, ...]:
    return task.leaves or tuple(variables(target_graph(task)))


def _output(g: Graph, r: Result) -> float:
    return r.value(r.output) if r.output is not None else math.nan


def check_build(task: BuildTask, graph: Graph) -> Verdict:
    """Whether ``graph`` computes the task's function: every required leaf present
    (an input or param), the ops asked for used and those forbidden absent, and the
    output equal to the target's at ``points`` random points of ``range``."""
    try:
        target = target_graph(task)
    except ExpressionError as e:  # the loader has parsed it already
        return Verdict(False, f"The lesson's function cannot be read: {e}")
    leaves: dict[str, str] = {}
    for name in required_leaves(task):
        nid = graph.id_of(name)
        if nid is None or graph.op_of(nid) not in _VARIABLE_LEAVES:
            return Verdict(False, f"Your graph needs an input (or param) leaf named "
                                  f"{name}.")
        leaves[name] = nid
    used = {graph.op_of(n) for n in graph.ids()}
    missing = [op for op in task.ops if op not in used]
    if missing:
        return Verdict(False, f"Use {_op_words(missing)} in your graph.")
    banned = [op for op in task.avoid if op in used]
    if banned:
        return Verdict(False, f"Build it without {_op_words(banned)}.")
    if graph.data_leaves():
        return Verdict(False, "Build it from input leaves, not data leaves.")
    try:
        graph.resolve_output()
    except OutputError as e:
        return Verdict(False, str(e))
    mine, theirs = graph.copy(), target
    mine.dataset = None
    rng = random.Random(BUILD_SEED)
    lo, hi = task.range
    names = [n for n in variables(target)]
    compared = 0
    for _ in range(task.points):
        point = {n: rng.uniform(lo, hi) for n in names}
        for n, v in point.items():
            theirs.set_value(theirs.id_of(n), v)
            if n in leaves:
                mine.set_value(leaves[n], v)
            elif mine.id_of(n) is not None and mine.op_of(mine.id_of(n)) in _VARIABLE_LEAVES:
                mine.set_value(mine.id_of(n), v)
        want = _output(theirs, evaluate(theirs))
        if not math.isfinite(want):
            continue  # outside the function's domain: nothing to compare
        got = _output(mine, evaluate(mine))
        compared += 1
        if not (math.isfinite(got) and math.isclose(got, want, rel_tol=BUILD_REL,
                                                    abs_tol=BUILD_ABS)):
            at = ", ".join(f"{n} = {fmt(v)}" for n, v in point.items())
            return Verdict(False, f"Not yet: at {at} your graph gives {fmt(got)}, the "
                                  f"function gives {fmt(want)}.")
    if compared < 3:
        return Verdict(False, "The function is undefined at most points tried; the lesson "
                              "should choose another range.")
    return Verdict(True, f"Your graph computes it ✓ (same output at {compared} random points)")


def _op_words(ops: Sequence[str]) -> str:
    titles = [OPS[o].title.lower() if o in OPS else clip(o, 40) for o in ops]
    return " or ".join(titles) if len(titles) > 1 else titles[0]


# ---------------------------------------------------------------------- any
def check(task: Task, graph: Graph, answers: Sequence[str] = ()) -> Verdict:
    """Check any task against ``graph`` (``answers`` only matter to a quiz)."""
    if isinstance(task, QuizTask):
        return check_quiz(task, graph, answers)
    if isinstance(task, TrainTask):
        return check_train(task, graph)
    return check_build(task, graph)
