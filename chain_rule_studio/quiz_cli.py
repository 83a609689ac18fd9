"""``main.py quiz FILE``: the quiz in a terminal, for homework without a display.

Asks the engine's questions (engine.quiz) in the order of the passes on stdout, reads
one answer a line from stdin and marks it; the second wrong try shows the hint. The
exit status says whether every answer was right (0) or not (1), so a script can grade.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from engine.graph import Graph
from engine.labels import (display_name, grad_symbol, local_formula, node_formula,
                           sample_caption)
from engine.numfmt import fmt
from engine.ops import OPS
from engine.quiz import (GRAD, KIND_TITLES, LOCAL, PRODUCT, VALUE, Question, Quiz,
                         parse_kinds, question_key)
from engine.result import Result

QUIZ_HELP = (
    "Hides the numbers of the chosen kinds (--kinds values,locals,products,grads or all; "
    "default all) and asks for each in the order the forward and backward passes compute "
    "them. Answer with a number or arithmetic of numbers (-1.4*0.3; ^ or ** for powers); "
    "the second wrong try shows a hint. Words: hint, show (the numbers known so far), "
    "reveal (this one), skip (come back later), quit. With a dataset the quiz is on one "
    "sample (--sample, default 1). Exits 0 when every answer is right, 1 otherwise "
    "(a revealed or unanswered number is not right).")

WORDS = ("hint", "show", "reveal", "skip", "quit")
_KIND_WORD = {VALUE: "value", LOCAL: "local derivative", PRODUCT: "product", GRAD: "gradient"}


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    q = sub.add_parser("quiz", help="work out the numbers yourself; the engine checks them",
                       description=QUIZ_HELP)
    q.add_argument("--kinds", default="all", metavar="KINDS",
                   help="which numbers to hide: comma-separated values, locals, products, "
                        "grads, or all (default all)")
    q.add_argument("--sample", type=int, default=1, metavar="N",
                   help="with a dataset: the row whose numbers are quizzed (default 1)")
    return q


def quiz_result(g: Graph, sample: int) -> Result:
    """The numbers the editor would show: one sample's when the graph reads a dataset."""
    from engine.live import LiveEvaluation
    live = LiveEvaluation()
    r, _ = live.structure(g)
    if live.batch is not None:
        n = live.batch.n_samples
        if not 1 <= sample <= n:
            raise ValueError(f"--sample must be between 1 and {n}")
        r, _ = live.pick(g, sample - 1, means=False)
    if r.output is None:
        raise ValueError(str(r.output_error) if r.output_error else "the graph has no output")
    return r


def overview(quiz: Quiz) -> list[str]:
    """The graph as a canvas would show it now: formulas, and every number not hidden."""
    g, r = quiz.graph, quiz.result
    lines = []
    for nid in r.order:
        spec = OPS[g.op_of(nid)]
        if spec.name == "const":
            continue
        # a leaf's number from the Result: a data leaf shows the quizzed sample's
        text = (f"{display_name(g, nid)} = {fmt(r.nodes[nid].value, 6)}" if spec.is_leaf
                else node_formula(g, nid))
        vkey = question_key(VALUE, nid)
        if not spec.is_leaf:
            text += f" = {'?' if quiz.unknown(vkey) else fmt(r.nodes[nid].value)}"
        grad = r.nodes[nid].grad
        if r.output is not None and r.nodes[nid].on_path and grad is not None:
            gkey = question_key(GRAD, nid)
            text += (f"    {grad_symbol(g, r, nid)} = "
                     f"{'?' if quiz.unknown(gkey) else fmt(grad)}")
        lines.append("  " + text)
    if r.output is None:
        return lines
    for nid in r.backward_order:  # the edges a gradient flows back along
        for s, _, k in g.nx.in_edges(nid, keys=True):
            e = (s, nid, k)
            er = r.edges.get(e)
            if er is None or er.local is None:
                continue
            local = "?" if quiz.unknown(question_key(LOCAL, e)) else fmt(er.local)
            prod = "?" if quiz.unknown(question_key(PRODUCT, e)) else fmt(er.product)
            lhs = local_formula(g, *e).partition(" = ")[0]
            lines.append(f"  {display_name(g, s)} → {display_name(g, nid)}:  {lhs} = {local}"
                         f",  {grad_symbol(g, r, nid)} × {lhs} = {prod}")
    return lines


def _ask(q: Question, quiz: Quiz) -> str:
    where = ""
    if q.edge is not None:
        s, t, _ = q.edge
        where = f" on the edge {display_name(quiz.graph, s)} → {display_name(quiz.graph, t)}"
    i = quiz.questions.index(q) + 1
    return f"[{i}/{len(quiz)}] {_KIND_WORD[q.kind]}{where}:  {q.prompt} = ? "


def run_quiz(quiz: Quiz, stdin: TextIO, stdout: TextIO, title: str = "") -> int:
    """Ask until every question is done, ``quit`` or the end of the input; 0 when all
    answers are right."""
    def say(text: str = "") -> None:
        print(text, file=stdout)

    echo = not _is_tty(stdin)
    kinds = ", ".join(KIND_TITLES[k] for k in quiz.kinds)
    say(f"Quiz{' on ' + title if title else ''}: {kinds} — {len(quiz)} numbers, "
        "in the order the passes compute them.")
    caption = sample_caption(quiz.result)
    if caption:
        say(f"The numbers are those of {caption}.")
    say("The graph (? is yours to work out):")
    for line in overview(quiz):
        say(line)
    say("Answer with a number or arithmetic of numbers (-1.4*0.3). "
        f"Words: {', '.join(WORDS)}.")
    last: str | None = None
    while True:
        q = quiz.next_open(after=last)
        if q is None:
            break
        print(_ask(q, quiz), end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:  # end of input: stop, the score says what is left
            say()
            break
        text = line.strip()
        if echo:
            say(text)
        word = text.lower()
        if word == "quit":
            break
        if word == "skip":
            last = q.key
        elif word == "hint":
            say(f"  hint: {quiz.hint(q.key)}")
        elif word == "show":
            for row in overview(quiz):
                say(row)
        elif word == "reveal":
            quiz.reveal(q.key)
            say(f"  {q.prompt} = {fmt(q.truth)} (revealed)")
            last = q.key
        else:
            out = quiz.answer(q.key, text)
            say(f"  {'✓ ' if out.right else ''}{out.message}")
            if out.right:
                last = q.key
    score = quiz.score()
    say(f"Score: {score.text()}.")
    return 0 if score.all_right else 1


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def cmd_quiz(args: argparse.Namespace, g: Graph) -> int:
    """Run the quiz on ``g`` (already loaded by the command line)."""
    kinds = parse_kinds(args.kinds)
    r = quiz_result(g, args.sample)
    quiz = Quiz(g, r, kinds)
    if not len(quiz):
        print("Nothing to work out: no finite number of these kinds.", file=sys.stdout)
        return 0
    title = args.file or ("the expression" if getattr(args, "expr", None) else "")
    return run_quiz(quiz, sys.stdin, sys.stdout, title)
