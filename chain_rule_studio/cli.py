"""The headless command line: eval, check, train, convert, render, quiz and export.

A graph may carry a dataset (``--data PATH.csv``, ``--dataset SPEC`` or one stored in its
file): then its ``data`` leaves read one column each and every number is per row; eval,
check and train work on the mean loss L̄ over the training rows.

Bad input of any kind exits with status 2 and one line on stderr, and writes nothing.
Input files (FILE, ``--expr-file``, ``--data``) are read only when they are regular
files of at most 512 MB (a FIFO or a device is refused at once). ``-o`` never writes over its own
input, over a folder, FIFO or device, or over an existing file that is not of its
kind (a graph file for train and convert, a PNG or SVG for render, an exported script,
LaTeX file or PDF for export) unless ``--force``;
it writes through a symlink to its target, atomically. SIGTERM and SIGINT end the
command with one line and leave no temporary file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, NoReturn, Sequence

import numpy as np

from chain_rule_studio import jsonout, quiz_cli
from chain_rule_studio.examples import default_example
from engine import datasets, fileformat
from engine.check import TOLERANCE, batch_gradient_check, check_tolerance, gradient_check
from engine.dataset import Dataset
from engine.errors import EngineError, clip, quote
from engine.fast import CompiledResult, compile_graph, evaluate_graph
from engine.gc_pause import paused_gc
from engine.files import (MAX_FILE_BYTES, UnreadableFileError, kind_of, read_file,
                          write_atomic, write_target)
from engine.result import Result
from engine.expr import parse
from engine.graph import Graph
from engine.layout import apply_layout
from engine.numfmt import fmt, fmt_many
from engine.result import CONSTANT, EdgeResult, NodeResult
from engine.train import OPTIMIZERS, Metrics, TrainConfig, Trainer, TrainingError
from engine import train as training

COMMAND_NAMES = ("eval", "check", "train", "convert", "render", "quiz", "export")


class BadInput(Exception):
    """Reported as one line on stderr with exit status 2."""


class _Interrupted(BaseException):
    """SIGTERM while a command runs: unwinds like KeyboardInterrupt, so every
    ``finally`` and temporary-file clean-up on the way runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_LONG_QUOTED = re.compile(r"'([^']{%d,})'" % 81)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse quotes the offending argument whole: keep 80 characters of it
        raise BadInput(_LONG_QUOTED.sub(lambda m: quote(m.group(1)), message))


def _finite(x: float) -> bool:
    return math.isfinite(x)


# ------------------------------------------------------------------ options

def _add_graph_options(p: argparse.ArgumentParser, file_required: bool = False) -> None:
    if not file_required:
        p.add_argument("file", nargs="?", help="a graph file (.json)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--expr", metavar="TEXT", help="an expression, e.g. 'L = (y - w*x)**2'")
    src.add_argument("--expr-file", metavar="PATH", help="a file holding an expression")
    p.add_argument("--param", metavar="NAMES", action="append", default=[],
                   help="comma-separated names of trainable leaves, e.g. --param w1,w2")
    p.add_argument("--set", metavar="NAME=VALUE", nargs="+", action="extend", default=[],
                   dest="assignments", help="set leaf values, e.g. --set x=2 y=1")
    data = p.add_mutually_exclusive_group()
    data.add_argument("--data", metavar="PATH.csv",
                      help="attach a CSV file as the dataset: a header row of column names, "
                           "then rows of numbers (every row trains); replaces a dataset "
                           "stored in FILE. With --expr, a name that is a column reads it")
    data.add_argument("--dataset", metavar="SPEC",
                      help="attach a generated dataset, e.g. xor or "
                           "moons:n=200,noise=0.1,seed=1,test=0.2 (generators: "
                           f"{', '.join(datasets.GENERATORS)}; keys n, noise, seed, test = "
                           "the fraction held out); replaces a dataset stored in FILE")


def _add_force(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true",
                   help="let -o replace an existing file that is not of its kind")


EVAL_HELP = (
    "Prints the output's value and a table of every node's value and gradient and every "
    "edge's local derivative and product. With a dataset (--data, --dataset or one "
    "stored in FILE) the graph is evaluated on every row: it prints the mean loss L̄ "
    "over the training rows, the accuracy (when the target is 0/1 and the loss has a "
    "prediction: prediction ≥ 0.5 counts as 1) and the same for the test rows if any, "
    "then each param's and input's value and batch gradient ∂L̄/∂w (the mean of the "
    "per-row gradients, what training uses). With --json and a dataset, every node's "
    "value and gradient and every edge's numbers are their means over the training rows "
    "(a param's grad is its batch gradient), beside mean_loss, accuracy, samples and the "
    "per-row outputs of the prediction node (or of the output).")

CHECK_HELP = (
    "Compares each input's and param's backprop gradient with a central finite "
    "difference of the output. With a dataset the function checked is the mean loss L̄ "
    "over the training rows: the batch gradient ∂L̄/∂w against the central difference of "
    "L̄, the leaf nudged on every row at once; data leaves (the data) are not checked. "
    "Exits 1 when a gradient fails or is undefined.")

TRAIN_HELP = (
    "Without a dataset: gradient descent on the param leaves of the one sample, a line "
    "per step (--optimizer and --weight-decay apply too). With a dataset (--data, --dataset or one stored in FILE): trains on the "
    "mean loss over the training rows with --optimizer, --batch, --weight-decay and "
    "--seed, printing a progress line per 10% of the steps (loss over all training "
    "rows, test loss, accuracy when the target is 0/1) and the final train and test "
    "loss and accuracy. -o saves the trained graph, with its dataset.")


EXPORT_HELP = (
    "Writes the graph of FILE (with its dataset, if it holds one) as a PyTorch script "
    "that builds the same function and prints each leaf's gradient after backward(), a "
    "NumPy script whose backward pass is one line per edge (the chain rule as a program), "
    "a LaTeX document of the function and each leaf's gradient, or a vector PDF of the "
    "canvas. -o replaces only a file exported before, unless --force.")
EXPORTS = ("torch", "numpy", "latex", "pdf")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="main.py", description="Chain Rule Studio: see backpropagation.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    e = sub.add_parser("eval", help="evaluate a graph: values, gradients, edge numbers",
                       description=EVAL_HELP)
    _add_graph_options(e)
    e.add_argument("--json", action="store_true", help="print one JSON object")
    c = sub.add_parser("check", help="backprop gradients vs central finite differences",
                       description=CHECK_HELP)
    _add_graph_options(c)
    c.add_argument("--tol", type=float, default=TOLERANCE,
                   help=f"flag errors above this (default {TOLERANCE:g})")
    c.add_argument("--json", action="store_true")
    t = sub.add_parser("train", help="gradient descent on the param leaves",
                       description=TRAIN_HELP)
    _add_graph_options(t)
    t.add_argument("--steps", type=int, required=True, help="how many updates")
    t.add_argument("--lr", type=float, required=True, help="learning rate η")
    t.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd",
                   help="sgd: w ← w − η·g; momentum: v ← 0.9·v + g, w ← w − η·v; adam: "
                        "β₁ 0.9, β₂ 0.999, ε 1e-8 (default sgd)")
    t.add_argument("--batch", type=int, default=0, metavar="N",
                   help="minibatch size: N training rows per step, reshuffled each epoch "
                        "(default 0: every training row, full batch; needs a dataset)")
    t.add_argument("--weight-decay", type=float, default=0.0, metavar="λ",
                   help="L2 weight decay: adds λ·w to each param's gradient (default 0)")
    t.add_argument("--seed", type=int, default=0,
                   help="seed of the minibatch shuffle (default 0)")
    t.add_argument("-o", "--output", metavar="OUT", help="save the trained graph here")
    t.add_argument("--json", action="store_true",
                   help="print one JSON object (with a dataset: dataset, config, initial, "
                        "history at each progress line, final, final_loss, params)")
    _add_force(t)
    v = sub.add_parser("convert", help="build a graph from an expression, lay it out, save it")
    _add_graph_options(v)
    v.add_argument("-o", "--output", metavar="FILE", required=True)
    _add_force(v)
    r = sub.add_parser("render", help="draw a graph to PNG or SVG as the editor shows it")
    r.add_argument("file")
    r.add_argument("-o", "--output", metavar="OUT", required=True)
    r.add_argument("--width", type=int, default=None)
    _add_force(r)
    _add_graph_options(quiz_cli.add_parser(sub))
    x = sub.add_parser("export", help="write a graph as PyTorch or NumPy code, LaTeX or a PDF",
                       description=EXPORT_HELP)
    x.add_argument("file")
    x.add_argument("--to", required=True, choices=EXPORTS,
                   help="torch: a PyTorch script; numpy: a NumPy script with the backward "
                        "pass written out; latex: a LaTeX document; pdf: the canvas")
    x.add_argument("-o", "--output", metavar="OUT", required=True)
    _add_force(x)
    return p


# ------------------------------------------------------------------- graphs

def _number(text: str, what: str) -> float:
    try:
        v = float(text.replace("−", "-"))
    except ValueError:
        raise BadInput(f"{what}: {quote(text)} is not a number") from None
    if not _finite(v):
        raise BadInput(f"{what}: {quote(text)} is not a finite number")
    return v


def read_expression_file(path: str) -> str:
    """The text of an expression file: a regular file of at most MAX_FILE_BYTES, UTF-8."""
    try:
        raw = read_file(path, MAX_FILE_BYTES)
    except UnreadableFileError as e:
        raise BadInput(f"{path}: {e.reason}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadInput(f"{path}: not UTF-8 text (byte {e.start})") from None


def load_dataset(args: argparse.Namespace) -> Dataset | None:
    """The dataset named by --data or --dataset (None when neither is given)."""
    path, spec = getattr(args, "data", None), getattr(args, "dataset", None)
    if spec is not None:
        try:
            return datasets.parse_spec(spec)
        except EngineError as e:
            raise BadInput(f"--dataset: {e}") from None
    if path is None:
        return None
    # read as FILE is: a regular file only (a FIFO is refused, never waited on)
    try:
        raw = read_file(path, datasets.MAX_CSV_BYTES)
    except UnreadableFileError as e:
        raise BadInput(f"--data {path}: {e.reason}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise BadInput(f"--data {path}: line {line}: not UTF-8 text "
                       f"(byte {e.start + 1})") from None
    try:
        return datasets.read_csv(path, text)
    except EngineError as e:
        raise BadInput(f"--data: {e}") from None


def load_graph(args: argparse.Namespace) -> Graph:
    """The graph named by FILE / --expr / --expr-file, with --param and --set applied
    and the dataset of --data / --dataset attached (its column names are the columns an
    expression may read)."""
    params = [n.strip() for chunk in args.param for n in chunk.split(",") if n.strip()]
    sources = [x for x in (args.file, args.expr, args.expr_file) if x is not None]
    if len(sources) > 1:
        raise BadInput("give one graph: a FILE, --expr or --expr-file")
    ds = load_dataset(args)
    try:
        if args.expr is not None or args.expr_file is not None:
            if args.expr_file is not None:
                text = read_expression_file(args.expr_file)
            else:
                text = args.expr
            with _stage("parsing" if args.command != "convert" else "parsing and laying out"):
                g = parse(text, params, layout=args.command == "convert",
                          columns=ds.names if ds is not None else ())
        else:
            with _stage("loading"):
                g = fileformat.load(args.file if args.file is not None else default_example())
            for name in params:
                nid = g.id_of(name)
                if nid is None:
                    raise BadInput(f"--param: no node is named {quote(name)}")
                if g.op_of(nid) not in ("input", "param"):
                    raise BadInput(f"--param: {quote(name)} is a {g.op_of(nid)} node, "
                                   "not an input")
                g.set_kind(nid, "param")
    except EngineError as e:
        where = "expression" if args.expr is not None else (args.expr_file or "")
        raise BadInput(f"{where}: {e}" if where and not str(e).startswith(where) else str(e)) from None
    if ds is not None:
        g.dataset = ds
        if not g.data_leaves():
            what = "expression" if args.expr is not None or args.expr_file is not None \
                else "graph"
            raise BadInput(f"the {what} reads no column of {_the_dataset(ds)} "
                           f"({clip(', '.join(ds.names))}): "
                           + ("use a column's name in it" if what == "expression" else
                              "it has no data leaves"))
    _check_bindings(g)
    for item in args.assignments:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise BadInput(f"--set: expected NAME=VALUE, got {quote(item)}")
        nid = g.id_of(name)
        if nid is None:
            raise BadInput(f"--set: no node is named {quote(name)} "
                           f"(leaves: {clip(', '.join(sorted(_leaf_names(g))))})")
        if g.op_of(nid) == "data":
            raise BadInput(f"--set: {quote(name)} is a data leaf: it reads the column "
                           f"{quote(str(g.column_of(nid)))} of the dataset")
        if g.op_of(nid) not in ("input", "param", "const"):
            raise BadInput(f"--set: {quote(name)} is computed by {g.op_of(nid)}; "
                           "only leaves can be set")
        g.set_value(nid, _number(value, f"--set {clip(name, 40)}"))
    return g


def _check_bindings(g: Graph) -> None:
    """Every data leaf reads a column the attached dataset has."""
    ds = g.dataset
    if ds is None:
        return
    for nid in g.data_leaves():
        col = g.column_of(nid)
        if col not in ds.columns:
            raise BadInput(f"the data leaf {quote(g.name_of(nid))} reads the column "
                           f"{quote(str(col))}, which {_the_dataset(ds)} does not have "
                           f"(columns: {clip(', '.join(ds.names))})")


def _the_dataset(ds: Dataset) -> str:
    return f"the dataset {clip(ds.name, 40)}" if ds.name else "the dataset"


def uses_data(g: Graph) -> bool:
    """Whether the graph is evaluated per row: a dataset is attached and data leaves
    read it (as in the editor)."""
    return g.dataset is not None and bool(g.data_leaves())


def _note_no_dataset(g: Graph) -> None:
    """Say on stderr when data leaves have no dataset to read (they hold one sample)."""
    if g.dataset is None and g.data_leaves():
        names = clip(", ".join(g.name_of(n) for n in g.data_leaves()))
        try:
            print(f"main.py: note: no dataset is attached, so the data leaves ({names}) "
                  "hold one sample, their stored values; attach one with --data or "
                  "--dataset", file=sys.stderr)
        except OSError:
            pass


def _leaf_names(g: Graph) -> list[str]:
    return [g.name_of(n) for n in g.ids() if g.op_of(n) in ("input", "param", "const")]


def _evaluate(g: Graph) -> Result:
    try:
        return evaluate_graph(g)
    except EngineError as e:
        raise BadInput(str(e)) from None


@dataclass
class BatchEval:
    """A graph evaluated on every row of its dataset."""

    dataset: Dataset
    #: every number as its mean over the training rows; a leaf's grad is its batch
    #: gradient ∂L̄/∂leaf
    means: Result
    #: the node whose per-row values are ``outputs``: the prediction, else the output
    shown: str
    outputs: np.ndarray
    #: the rows L̄ is over (the training rows; all rows when none trains)
    train: Metrics
    #: the held-out rows, when there are both training and test rows
    test: Metrics | None
    target: str | None


def evaluate_batch(g: Graph) -> BatchEval:
    """Evaluate ``g`` on every row of ``g.dataset`` (``uses_data(g)`` must hold)."""
    from engine.fast.batch import compile_batch
    ds = g.dataset
    try:
        plan = compile_batch(g, ds)
    except EngineError as e:
        raise BadInput(str(e)) from None
    if plan.output_error is not None:
        raise BadInput(str(plan.output_error))
    r = plan.evaluate()
    means = _means_result(plan, r.mean())
    for nid in plan.leaves:  # exactly the gradients training uses
        grad = r.batch_grad(nid)
        if grad is not None:
            means.nodes[nid].grad = grad
            means.nodes[nid].grad_reason = None if _finite(grad) else "not finite"
    pred, target = training.model_parts(g)
    shown = pred if pred is not None else plan.output
    outputs = r.values_of(shown)
    y = (ds.columns[target] if pred is not None and target is not None
         and ds.is_binary(target) else None)

    def metrics(mask: np.ndarray, loss: float | None = None) -> Metrics:
        if loss is None:
            loss = float(np.mean(r.losses[mask]))
        acc = (float(np.mean((outputs[mask] >= 0.5) == (y[mask] == 1.0)))
               if y is not None else None)
        return Metrics(loss, acc, int(mask.sum()))

    test = metrics(ds.test) if ds.test.any() and not ds.test.all() else None
    return BatchEval(ds, means, shown, outputs, metrics(r.mask, r.mean_loss), test, target)


def _means_result(plan: Any, cres: Any) -> Result:
    """A CompiledResult of means as a Result, non-finite numbers kept as they are (the
    reference's wording of a reason is about one sample, not a mean)."""
    vals, grads = cres.values.tolist(), cres.grads.tolist()
    onp, var, index = plan.on_path.tolist(), plan.variable.tolist(), plan.index
    nodes = {}
    for nid in plan.order:
        i = index[nid]
        v = vals[i]
        reason = None if _finite(v) else "not finite on some rows"
        if var[i]:
            nodes[nid] = NodeResult(v, grads[i], onp[i], reason=reason,
                                    grad_reason=None if _finite(grads[i])
                                    else "not finite on some rows")
        else:
            nodes[nid] = NodeResult(v, None, onp[i], reason=reason, grad_reason=CONSTANT)
    loc, prod = cres.locals.tolist(), cres.products.tolist()
    eon, evar, keys = plan.edge_on_path.tolist(), plan.edge_variable.tolist(), plan.edge_keys
    edges = {}
    for e in plan.reference_edge_order():
        k = keys[e]
        if evar[e]:
            bad = not (_finite(loc[e]) and _finite(prod[e]))
            edges[k] = EdgeResult(k[0], k[1], k[2], loc[e], prod[e], eon[e],
                                  "not finite on some rows" if bad else None)
        else:
            edges[k] = EdgeResult(k[0], k[1], k[2], None, None, eon[e], CONSTANT)
    return Result(plan.output, list(plan.order), nodes, edges, plan.output_error)


# ------------------------------------------------------------------ output

def _num(x: float | None) -> float | None:
    return x if x is not None and _finite(x) else None


def result_json(g: Graph, r: Result) -> dict[str, Any]:
    """Strict JSON (RFC 8259): a non-finite number is null with a reason beside it; a
    constant's gradient, and the numbers of edges leaving it, are null with the reason
    "constant"."""
    nodes = []
    for nid in r.order:
        nr = r.nodes[nid]
        d: dict[str, Any] = {"id": nid, "name": g.name_of(nid), "op": g.op_of(nid),
                             "value": _num(nr.value), "grad": _num(nr.grad),
                             "on_path": nr.on_path}
        if not _finite(nr.value):
            d["reason"] = nr.reason or "not finite"
        if d["grad"] is None:
            d["grad_reason"] = nr.grad_reason or "not finite"
        nodes.append(d)
    edges = []
    for (s, t, p), er in r.edges.items():
        d = {"source": g.name_of(s), "target": g.name_of(t), "port": p,
             "local": _num(er.local), "product": _num(er.product), "on_path": er.on_path}
        if d["local"] is None or d["product"] is None:
            d["reason"] = er.reason or "not finite"
        edges.append(d)
    return {"output": g.name_of(r.output) if r.output else None, "nodes": nodes, "edges": edges}


def _table(rows: list[list[str]], header: list[str]) -> str:
    while header and not header[-1] and all(not r[-1] for r in rows):
        header = header[:-1]
        rows = [r[:-1] for r in rows]
    cols = list(zip(*rows)) if rows else []
    widths = [max(len(h), max(map(len, cols[i]))) if rows else len(h)
              for i, h in enumerate(header)]
    line = "  ".join(f"{{:<{w}}}" for w in widths).format  # each cell ljust-ed
    out = [line(*header).rstrip(), "  ".join("─" * w for w in widths)]
    out += [line(*r).rstrip() for r in rows]
    return "\n".join(out)


def result_table(g: Graph, r: Result) -> str:
    out = g.name_of(r.output)
    lines = [f"output {out} = {fmt(r.value(r.output), 6)}", ""]
    rows = []
    for nid in r.order:
        nr = r.nodes[nid]
        note = "" if nr.on_path else "off the path to the output"
        if nr.grad is None:
            note = "constant: no gradient"
        elif not _finite(nr.grad):
            note = f"gradient: {nr.grad_reason}"
        if nr.reason:
            note = nr.reason
        rows.append([g.name_of(nid), g.op_of(nid), fmt(nr.value, 6), _shown(nr.grad), note])
    lines.append(_table(rows, ["node", "op", "value", f"∂{out}/∂node", ""]))
    lines.append("")
    erows = []
    for nid in r.order:
        for port, src in g.inputs(nid):
            er = r.edges[(src, nid, port)]
            erows.append([f"{g.name_of(src)} → {g.name_of(nid)}", port, _shown(er.local),
                          _shown(er.product),
                          er.reason or ("" if er.on_path else "off path")])
    lines.append(_table(erows, ["edge", "port", "local", "product", ""]))
    return "\n".join(lines)


def compiled_table(g: Graph, cres: CompiledResult) -> str:
    """``result_table`` of an evaluation with every number finite, from the arrays."""
    plan = cres.plan
    node = g.nx._node
    order = plan.order
    at = [plan.index[n] for n in order]
    out = node[plan.output]["name"]
    lines = [f"output {out} = {fmt(cres.value(plan.output), 6)}", ""]
    values, grads = cres.values[at].tolist(), cres.grads[at].tolist()
    on_path, variable = plan.on_path[at].tolist(), plan.variable[at].tolist()
    datas = [node[nid] for nid in order]
    grad_text = fmt_many(grads, 6)
    rows = list(zip(
        [d["name"] for d in datas], [d["op"] for d in datas], fmt_many(values, 6),
        [t if v else "—" for t, v in zip(grad_text, variable)],
        ["constant: no gradient" if not v else "" if o else "off the path to the output"
         for v, o in zip(variable, on_path)]))
    lines.append(_table(rows, ["node", "op", "value", f"∂{out}/∂node", ""]))
    lines.append("")
    ref = plan.reference_edge_order()
    keys = [plan.edge_keys[e] for e in ref]
    variable = plan.edge_variable[ref].tolist()
    local_text = fmt_many(cres.locals[ref].tolist(), 6)
    product_text = fmt_many(cres.products[ref].tolist(), 6)
    erows = list(zip(
        [f"{node[s_]['name']} → {node[t_]['name']}" for s_, t_, _ in keys],
        [p_ for _, _, p_ in keys],
        [t if v else "—" for t, v in zip(local_text, variable)],
        [t if v else "—" for t, v in zip(product_text, variable)],
        [CONSTANT if not v else "" if o else "off path"
         for v, o in zip(variable, plan.edge_on_path[ref].tolist())]))
    lines.append(_table(erows, ["edge", "port", "local", "product", ""]))
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def dataset_json(ds: Dataset) -> dict[str, Any]:
    return {"name": ds.name, "columns": ds.names, "rows": ds.n_rows,
            "train_rows": int((~ds.test).sum()), "test_rows": int(ds.test.sum())}


def _dataset_line(ds: Dataset) -> str:
    n_test = int(ds.test.sum())
    held = f", {n_test} held out for testing" if n_test else ""
    return (f"dataset {ds.name or '(unnamed)'}: {ds.n_rows} rows ({clip(', '.join(ds.names))})"
            f"{held}")


def batch_json(g: Graph, b: BatchEval) -> dict[str, Any]:
    """``result_json`` of the means over the training rows, plus the dataset's numbers."""
    d = result_json(g, b.means)
    d.update({
        "dataset": dataset_json(b.dataset),
        "samples": b.dataset.n_rows,
        "mean_loss": _num(b.train.loss),
        "accuracy": b.train.accuracy,
        "mean_rows": b.train.rows,
        "test_loss": _num(b.test.loss) if b.test else None,
        "test_accuracy": b.test.accuracy if b.test else None,
        "outputs_node": g.name_of(b.shown),
        "outputs": [_num(v) for v in b.outputs.tolist()],
    })
    return d


def batch_table(g: Graph, b: BatchEval) -> str:
    """The mean loss and accuracy, then each param's and input's batch gradient."""
    r, out = b.means, g.name_of(b.means.output)
    lines = [_dataset_line(b.dataset),
             f"L̄ = mean of {out} over the {b.train.rows} training rows = "
             f"{fmt(b.train.loss, 6)}"]
    if b.train.accuracy is not None:
        lines.append(f"accuracy {_pct(b.train.accuracy)} ({g.name_of(b.shown)} ≥ 0.5 "
                     f"counts as 1, against {b.target})")
    if b.test is not None:
        acc = f", accuracy {_pct(b.test.accuracy)}" if b.test.accuracy is not None else ""
        lines.append(f"test: mean {out} over the {b.test.rows} test rows = "
                     f"{fmt(b.test.loss, 6)}{acc}")
    bound = [f"{g.name_of(n)} ← {g.column_of(n)}" for n in g.data_leaves()]
    lines += [f"data leaves: {clip(', '.join(bound))}", ""]
    rows = []
    for nid in r.order:
        if g.op_of(nid) not in ("input", "param"):
            continue
        nr = r.nodes[nid]
        note = "" if nr.on_path else "off the path to the output"
        if nr.grad is not None and not _finite(nr.grad):
            note = f"gradient: {nr.grad_reason}"
        rows.append([g.name_of(nid), g.op_of(nid), fmt(nr.value, 6), _shown(nr.grad), note])
    if rows:
        lines.append(_table(rows, ["leaf", "op", "value", "∂L̄/∂leaf (batch)", ""]))
    else:
        lines.append("no param or input leaves: nothing to take a gradient by")
    return "\n".join(lines)


def _shown(x: float | None) -> str:
    """A number in a table; a constant's absent gradient is a dash."""
    return "—" if x is None else fmt(x, 6)


def _dump(obj: Any) -> str:
    """``json.dumps(obj, ensure_ascii=False, allow_nan=False, indent=1)``, in a fraction
    of the time for large results (see chain_rule_studio.jsonout)."""
    return jsonout.dumps(obj)


def compiled_json(g: Graph, cres: CompiledResult) -> dict[str, Any]:
    """``result_json`` of an evaluation with every number finite, read from the
    compiled result's arrays (the same document, without building a Result)."""
    plan, node = cres.plan, g.nx._node
    cols = _node_columns(g, cres)
    nodes = []
    for nid, name, op, v, gr, o, is_var in zip(*cols):
        if is_var:
            nodes.append({"id": nid, "name": name, "op": op, "value": v, "grad": gr,
                          "on_path": o})
        else:
            nodes.append({"id": nid, "name": name, "op": op, "value": v, "grad": None,
                          "on_path": o, "grad_reason": CONSTANT})
    edges = []
    for s_, t_, p_, lv, pv, o, is_var in zip(*_edge_columns(g, cres)):
        if is_var:
            edges.append({"source": s_, "target": t_, "port": p_, "local": lv,
                          "product": pv, "on_path": o})
        else:
            edges.append({"source": s_, "target": t_, "port": p_, "local": None,
                          "product": None, "on_path": o, "reason": CONSTANT})
    return {"output": node[plan.output]["name"] if plan.output else None, "nodes": nodes,
            "edges": edges}


def _node_columns(g: Graph, cres: CompiledResult) -> tuple[list, ...]:
    """Per node in the reference's order: id, name, op, value, gradient, on path,
    variable (columns, for writers that format a column at a time)."""
    plan, node = cres.plan, g.nx._node
    order = plan.order
    at = [plan.index[n] for n in order]
    data = [node[n] for n in order]
    return (order, [d["name"] for d in data], [d["op"] for d in data],
            cres.values[at].tolist(), cres.grads[at].tolist(), plan.on_path[at].tolist(),
            plan.variable[at].tolist())


def _edge_columns(g: Graph, cres: CompiledResult) -> tuple[list, ...]:
    """Per edge in the reference's order: source and target names, port, local,
    product, on path, variable."""
    plan, node = cres.plan, g.nx._node
    ref = plan.reference_edge_order()
    keys = plan.edge_keys
    ks = [keys[e] for e in ref]
    return ([node[k[0]]["name"] for k in ks], [node[k[1]]["name"] for k in ks],
            [k[2] for k in ks], cres.locals[ref].tolist(), cres.products[ref].tolist(),
            plan.edge_on_path[ref].tolist(), plan.edge_variable[ref].tolist())


def compiled_json_text(g: Graph, cres: CompiledResult) -> str:
    """``_dump(compiled_json(g, cres))``, written a column at a time straight from the
    arrays: the same text without a dict per node and edge."""
    enc, num = jsonout.encode_str, float.__repr__
    plan = cres.plan
    nid, name, op, val, grad, onp, var = _node_columns(g, cres)
    flag = {True: "true", False: "false"}
    node_var = ('  {\n   "id": %s,\n   "name": %s,\n   "op": %s,\n   "value": %s,\n'
                '   "grad": %s,\n   "on_path": %s\n  }')
    node_const = ('  {\n   "id": %s,\n   "name": %s,\n   "op": %s,\n   "value": %s,\n'
                  '   "grad": null,\n   "on_path": %s,\n   "grad_reason": "constant"\n  }')
    ids, names, ops = map(enc, nid), map(enc, name), map(enc, op)
    nodes = [node_var % (i, n, o, num(v), num(gr), flag[p]) if is_var
             else node_const % (i, n, o, num(v), flag[p])
             for i, n, o, v, gr, p, is_var in zip(ids, names, ops, val, grad, onp, var)]
    src, tgt, port, loc, prod, eon, evar = _edge_columns(g, cres)
    edge_var = ('  {\n   "source": %s,\n   "target": %s,\n   "port": %s,\n   "local": %s,\n'
                '   "product": %s,\n   "on_path": %s\n  }')
    edge_const = ('  {\n   "source": %s,\n   "target": %s,\n   "port": %s,\n'
                  '   "local": null,\n   "product": null,\n   "on_path": %s,\n'
                  '   "reason": "constant"\n  }')
    edges = [edge_var % (s_, t_, p_, num(lv), num(pv), flag[o]) if is_var
             else edge_const % (s_, t_, p_, flag[o])
             for s_, t_, p_, lv, pv, o, is_var in zip(map(enc, src), map(enc, tgt),
                                                       map(enc, port), loc, prod, eon, evar)]
    out = "null" if not plan.output else enc(g.nx._node[plan.output]["name"])
    body = ['{\n "output": ', out, ',\n "nodes": ']
    body.append("[\n" + ",\n".join(nodes) + "\n ]" if nodes else "[]")
    body.append(',\n "edges": ')
    body.append("[\n" + ",\n".join(edges) + "\n ]" if edges else "[]")
    body.append("\n}")
    return "".join(body)


#: seconds of work after which a stage says so on a terminal's stderr
PROGRESS_AFTER = 0.5


@contextmanager
def _stage(what: str) -> Iterator[None]:
    """A progress line on stderr for work over half a second, when stderr is a
    terminal: ``main.py: loading… 2.1 s``. Nothing is written otherwise."""
    tty = _stderr_is_tty()
    t0 = time.perf_counter()
    shown = False

    def show() -> None:
        nonlocal shown
        shown = True
        sys.stderr.write(f"\rmain.py: {what}… ")
        sys.stderr.flush()

    timer = threading.Timer(PROGRESS_AFTER, show) if tty else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()
            if shown:
                sys.stderr.write(f"\rmain.py: {what}… {time.perf_counter() - t0:.1f} s\n")
                sys.stderr.flush()


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


# ----------------------------------------------------------------- commands

def cmd_eval(args: argparse.Namespace) -> int:
    g = load_graph(args)
    if uses_data(g):
        with np.errstate(all="ignore"):  # non-finite numbers are shown as such
            b = evaluate_batch(g)
        print(_dump(batch_json(g, b)) if args.json else batch_table(g, b))
        return 0
    _note_no_dataset(g)
    with _stage("compiling"):
        try:
            plan = compile_graph(g)
        except EngineError as e:
            raise BadInput(str(e)) from None
        if plan.output_error is not None:
            raise BadInput(str(plan.output_error))
    with _stage("evaluating"):
        cres = plan.evaluate()
    with _stage("writing"):
        if cres.all_finite():  # straight from the arrays: no Result objects
            text = compiled_json_text(g, cres) if args.json else compiled_table(g, cres)
        else:  # the reference words why a number is NaN or ∞
            r = cres.to_result(g)
            text = _dump(result_json(g, r)) if args.json else result_table(g, r)
        print(text)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    try:
        check_tolerance(args.tol)
    except ValueError:
        raise BadInput(f"--tol must be a number ≥ 0, not {args.tol!r}") from None
    g = load_graph(args)
    batch: dict[str, Any] = {}
    if uses_data(g):
        try:
            with np.errstate(all="ignore"):
                rows, mean, n = batch_gradient_check(g, g.dataset, args.tol)
        except EngineError as e:
            raise BadInput(str(e)) from None
        batch = {"dataset": dataset_json(g.dataset), "mean_rows": n, "mean_loss": _num(mean)}
    else:
        _note_no_dataset(g)
        try:
            with _stage("checking"):
                rows = gradient_check(g, args.tol)
        except EngineError as e:
            raise BadInput(str(e)) from None
    n_fail = sum(row.status == "FAIL" for row in rows)
    n_undefined = sum(row.status == "undefined" for row in rows)
    failed = bool(n_fail or n_undefined)
    if args.json:
        print(_dump({"tolerance": args.tol, "passed": not failed, **batch, "leaves": [
            {"name": row.name, "op": row.op, "analytic": _num(row.analytic),
             "numeric": _num(row.numeric), "error": _num(row.error), "status": row.status,
             **({"note": row.note} if row.note else {})} for row in rows]}))
    else:
        if batch:
            out = g.name_of(g.resolve_output())
            print(f"{_dataset_line(g.dataset)}\nthe function checked is L̄ = mean of {out} "
                  f"over the {n} training rows = {fmt(mean, 6)}: backprop's "
                  "batch gradient ∂L̄/∂leaf vs the central difference of L̄ (the leaf nudged "
                  "on every row); data leaves are not checked\n")
        print(_table([[row.name, row.op, fmt(row.analytic, 8), fmt(row.numeric, 8),
                       f"{row.error:.2e}" if _finite(row.error) else "—", row.status, row.note]
                      for row in rows],
                     ["leaf", "op", "backprop", "finite diff.", "error", "status", ""]))
        counts = ", ".join(c for c in (f"{n_fail} over the tolerance" if n_fail else "",
                                       f"{n_undefined} undefined" if n_undefined else "") if c)
        print(f"\n{f'FAILED ({counts})' if failed else 'passed'}: error = |a − n| / "
              f"max(1, |a|, |n|), tolerance {args.tol:g}; kinks are reported, not failed; "
              "an undefined gradient fails")
    return 1 if failed else 0


def cmd_train(args: argparse.Namespace) -> int:
    if args.steps < 0:
        raise BadInput("--steps must be 0 or more")
    if not _finite(args.lr):
        raise BadInput("--lr must be a finite number")
    if args.batch < 0:
        raise BadInput("--batch must be 0 (every training row) or more")
    if not (_finite(args.weight_decay) and args.weight_decay >= 0):
        raise BadInput("--weight-decay must be a finite number ≥ 0")
    if args.seed < 0:
        raise BadInput("--seed must be 0 or more")
    if args.output:
        _check_output(args.output, _inputs(args), args.force, "graph")
    g = load_graph(args)
    if uses_data(g):
        with np.errstate(all="ignore"):  # a diverging run is reported, not warned about
            train_on_data(g, args)
    else:
        _train_one_sample(g, args)
    if args.output:
        _save(g, args.output)
    return 0


def _config(args: argparse.Namespace) -> TrainConfig:
    if args.lr < 0:
        raise BadInput("--lr must be ≥ 0 with a dataset, --optimizer or --weight-decay")
    try:
        return TrainConfig(args.optimizer, args.lr, args.batch, args.weight_decay,
                           seed=args.seed)
    except TrainingError as e:
        raise BadInput(str(e)) from None


def _train_one_sample(g: Graph, args: argparse.Namespace) -> None:
    """Training without a dataset: a line per step, as always. Plain SGD is
    ``engine.train.step``; momentum, Adam or weight decay go through the Trainer."""
    _note_no_dataset(g)
    if args.batch:
        raise BadInput("--batch needs a dataset (--data or --dataset): this graph has one "
                       "sample")
    _evaluate(g)
    if not training.params(g):
        raise BadInput("the graph has no param nodes to train (mark some with --param)")
    plain = args.optimizer == "sgd" and not args.weight_decay
    trainer = None
    if not plain:
        alone = g.copy()
        alone.dataset = None  # a stored dataset no data leaf reads: one sample
        try:
            trainer = Trainer(alone, _config(args))
        except EngineError as e:
            raise BadInput(str(e)) from None
    history = []
    i = 0
    try:
        for i in range(args.steps):
            s = training.step(g, args.lr) if trainer is None else trainer.step()
            history.append({"step": i, "loss": _num(s.loss),
                            "params": {u.name: _num(u.new) for u in s.updates}})
            if not args.json:
                print(f"step {i:>5}  loss {fmt(s.loss, 8)}  "
                      + "  ".join(f"{u.name} {fmt(u.new, 8)}" for u in s.updates))
    except TrainingError as e:
        # one line, exit 2, nothing written: a diverging run is not a result to keep
        raise BadInput(f"stopped at step {i}: {e}"
                       + ("; nothing was written" if args.output else "")) from None
    if trainer is not None:
        trainer.write_back(g)
    final = training.loss(g)
    if args.json:
        print(_dump({"steps": history, "final_loss": _num(final),
                     "params": {g.name_of(n): _num(g.nx.nodes[n]["value"])
                                for n in training.params(g)}}))
    else:
        print(f"final  loss {fmt(final, 8)}  "
              + "  ".join(f"{g.name_of(n)} {fmt(g.nx.nodes[n]['value'], 8)}"
                          for n in training.params(g)))


def progress_marks(steps: int) -> list[int]:
    """The steps (1-based) after which progress is shown: one per 10% of ``steps``
    (every step when there are fewer than 10)."""
    return sorted({(steps * j + 9) // 10 for j in range(1, 11)} - {0})


def _metrics_json(m: Metrics | None, prefix: str = "") -> dict[str, Any]:
    return {f"{prefix}loss": _num(m.loss) if m else None,
            f"{prefix}accuracy": m.accuracy if m else None}


def _metrics_text(train: Metrics, test: Metrics | None) -> str:
    text = f"loss {fmt(train.loss, 4)}"
    if test is not None:
        text += f"  test {fmt(test.loss, 4)}"
    if train.accuracy is not None:
        text += f"  acc {_pct(train.accuracy)}"
    if test is not None and test.accuracy is not None:
        text += f"  test acc {_pct(test.accuracy)}"
    return text


def train_on_data(g: Graph, args: argparse.Namespace) -> None:
    """Train on the mean loss over the dataset's training rows with engine.train.Trainer;
    the trained values are written back into ``g``."""
    ds = g.dataset
    try:
        trainer = Trainer(g, _config(args), ds)
    except EngineError as e:
        raise BadInput(str(e)) from None
    n_train = len(trainer.train_rows)
    n_test = len(trainer.test_rows)
    batch = (f"minibatches of {args.batch}" if 0 < args.batch < n_train else "full batch")
    out = g.name_of(g.resolve_output())
    if not args.json:
        decay = f", weight decay λ = {fmt(args.weight_decay)}" if args.weight_decay else ""
        print(f"training on {_the_dataset(ds)}: the mean of {out} over {n_train} "
              f"training rows" + (f" ({n_test} test rows held out)" if n_test else "")
              + f"; {args.optimizer}, η = {fmt(args.lr)}, {batch}{decay}, "
              f"{args.steps} steps")
    start = (trainer.metrics("train"), trainer.metrics("test"))
    marks = set(progress_marks(args.steps))
    width = len(str(args.steps))
    history = []
    k = 0
    try:
        for k in range(1, args.steps + 1):
            s = trainer.step()
            if k in marks:
                tm, te = trainer.metrics("train"), trainer.metrics("test")
                history.append({"step": k, "batch_loss": _num(s.loss), **_metrics_json(tm),
                                **_metrics_json(te, "test_")})
                if not args.json:
                    print(f"step {k:>{width}}/{args.steps}  {_metrics_text(tm, te)}")
    except TrainingError as e:
        raise BadInput(f"stopped at step {k} of {args.steps}: {e}"
                       + ("; nothing was written" if args.output else "")) from None
    tm, te = trainer.metrics("train"), trainer.metrics("test")
    trainer.write_back(g)
    ps = training.params(g)
    if args.json:
        print(_dump({
            "dataset": dataset_json(ds),
            "config": {"steps": args.steps, "optimizer": args.optimizer, "lr": args.lr,
                       "batch": args.batch, "weight_decay": args.weight_decay,
                       "seed": args.seed},
            "initial": {**_metrics_json(start[0]), **_metrics_json(start[1], "test_")},
            "history": history,
            "final": {**_metrics_json(tm), **_metrics_json(te, "test_")},
            "final_loss": _num(tm.loss),
            "params": {g.name_of(n): _num(g.nx.nodes[n]["value"]) for n in ps}}))
        return
    acc = f"  acc {_pct(tm.accuracy)}" if tm.accuracy is not None else ""
    print(f"final  train loss {fmt(tm.loss, 6)}{acc}  ({tm.rows} rows)")
    if te is not None:
        acc = f"  acc {_pct(te.accuracy)}" if te.accuracy is not None else ""
        print(f"       test  loss {fmt(te.loss, 6)}{acc}  ({te.rows} rows)")
    if len(ps) <= 10:
        print("params " + "  ".join(f"{g.name_of(n)} {fmt(g.nx.nodes[n]['value'], 8)}"
                                    for n in ps))
    else:
        print(f"{len(ps)} params" + (f", saved to {args.output}" if args.output
                                     else " (-o saves them)"))


def cmd_convert(args: argparse.Namespace) -> int:
    if args.expr is None and args.expr_file is None:
        raise BadInput("convert needs --expr TEXT or --expr-file PATH")
    _check_output(args.output, _inputs(args), args.force, "graph")
    g = load_graph(args)
    if args.assignments:
        apply_layout(g)
    _save(g, args.output)
    print(f"wrote {args.output}: {len(g)} nodes, {g.nx.number_of_edges()} edges")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.suffix.lower() not in (".png", ".svg"):
        raise BadInput(f"{args.output}: the output must end in .png or .svg")
    if args.width is not None and not 16 <= args.width <= 20000:
        raise BadInput("--width must be between 16 and 20000 pixels")
    try:
        fileformat.load(args.file)
    except EngineError as e:
        raise BadInput(str(e)) from None
    _check_output(args.output, [args.file], args.force, out.suffix.lower()[1:])
    from gui.render import render  # Qt only when drawing
    # drawn into a private folder, then written atomically: Qt never opens the target,
    # so an unwritable target is one line here, not a page of Qt warnings
    with _scratch_folder() as folder:
        drawn = folder / f"picture{out.suffix.lower()}"
        render(args.file, str(drawn), args.width)
        _write(args.output, drawn.read_bytes())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from engine.export import export_text
    try:
        g = fileformat.load(args.file)
    except EngineError as e:
        raise BadInput(str(e)) from None
    kind = {"torch": "py", "numpy": "py", "latex": "tex", "pdf": "pdf"}[args.to]
    _check_output(args.output, [args.file], args.force, kind)
    if args.to == "pdf":
        from gui.render import render  # Qt only when drawing
        with _scratch_folder() as folder:
            drawn = folder / "canvas.pdf"
            render(args.file, str(drawn))
            _write(args.output, drawn.read_bytes())
    else:
        try:
            text = export_text(g, args.to, Path(args.file).stem)
        except EngineError as e:
            raise BadInput(str(e)) from None
        _write(args.output, text.encode("utf-8"))
    print(f"wrote {args.output}")
    return 0


@contextmanager
def _scratch_folder() -> Iterator[Path]:
    folder = tempfile.mkdtemp(prefix="chain-rule-studio-")
    try:
        yield Path(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _inputs(args: argparse.Namespace) -> list[str]:
    """The files a command reads, which its -o must not replace."""
    files = [f for f in (getattr(args, "file", None), getattr(args, "expr_file", None),
                         getattr(args, "data", None)) if f]
    if not files and getattr(args, "expr", None) is None:
        files.append(str(default_example()))
    return files


_GRAPH_HEAD = re.compile(rb'"format"\s*:\s*"chain-rule-studio"')


def _is_of_kind(path: Path, kind: str) -> bool:
    """Whether an existing file is one -o may replace without --force: a graph file of
    this program (any JSON object whose format says so, even a damaged one), or a
    picture of the suffix's type."""
    try:
        raw = read_file(path, MAX_FILE_BYTES)
    except UnreadableFileError:
        return False
    if kind == "png":
        return raw.startswith(b"\x89PNG\r\n\x1a\n")
    if kind == "svg":
        return b"<svg" in raw[:4096]
    if kind == "pdf":
        return raw.startswith(b"%PDF-")
    if kind in ("py", "tex"):
        from engine.export import MARK
        return MARK.encode() in raw[:4096]
    if _GRAPH_HEAD.search(raw[:4096]):
        return True
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("format") == fileformat.FORMAT


def _check_output(path: str, inputs: Sequence[str], force: bool, kind: str) -> None:
    """Refuse, before any work, an -o that would replace what it should not: its own
    input, a folder, FIFO or device, or an existing file not of its kind (unless
    ``force``). A symlink is judged by its target, which is what gets written."""
    try:
        target, st = write_target(path)
    except OSError as e:
        raise BadInput(f"{path}: cannot write: {e.strerror or e}") from None
    if st is None:
        folder = target.resolve().parent
        if not folder.is_dir():
            raise BadInput(f"{path}: the folder {folder} does not exist")
        return
    what = kind_of(st.st_mode)
    if what == "a folder":
        raise BadInput(f"{path}: is a folder")
    if what is not None:
        raise BadInput(f"{path}: is {what}, not a regular file; refusing to write to it")
    for src in inputs:
        try:
            same = os.path.samefile(src, target)
        except OSError:
            same = False
        if same:
            raise BadInput(f"{path}: is the input {src}; refusing to overwrite it "
                           "(write to another file)")
    if not force and not _is_of_kind(target, kind):
        what = ("a Chain Rule Studio graph file" if kind == "graph" else
                "a file exported before" if kind in ("py", "tex") else f"a {kind.upper()} file")
        raise BadInput(f"{path}: exists and is not {what}; refusing to overwrite it "
                       "(--force replaces it)")


def _write(path: str, data: bytes) -> None:
    try:
        write_atomic(path, data)
    except OSError as e:
        raise BadInput(f"{path}: cannot write: {e.strerror or e}") from None


def _save(g: Graph, path: str) -> None:
    try:
        fileformat.save(g, path)
    except OSError as e:
        raise BadInput(f"{path}: cannot write: {e.strerror or e}") from None


def cmd_quiz(args: argparse.Namespace) -> int:
    g = load_graph(args)
    try:
        return quiz_cli.cmd_quiz(args, g)
    except (ValueError, EngineError) as e:
        raise BadInput(str(e)) from None


COMMANDS = {"eval": cmd_eval, "check": cmd_check, "train": cmd_train,
            "convert": cmd_convert, "render": cmd_render, "quiz": cmd_quiz,
            "export": cmd_export}


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Interrupted(signum)


def _silence_stdout() -> None:
    """Point stdout at the null device, so the interpreter's final flush of what is
    still buffered cannot fail a second time."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _fail(message: str) -> int:
    msg = " ".join(message.split())
    try:
        print(f"main.py: error: {msg}", file=sys.stderr)
    except OSError:
        pass
    return 2


def run(argv: Sequence[str]) -> int:
    """Run a sub-command; return the exit status (2 for bad input, 128 + the signal
    number when SIGINT or SIGTERM ended it)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")  # type: ignore[attr-defined]
        except (AttributeError, ValueError):
            pass
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGTERM
        previous = None
    try:
        args = build_parser().parse_args(list(argv))
        with paused_gc():  # a run makes millions of small acyclic objects; it is short
            status = COMMANDS[args.command](args)
        sys.stdout.flush()  # a full disk or a closed pipe is reported here, not at exit
        return status
    except BadInput as e:
        return _fail(str(e))
    except RecursionError:
        return _fail("the input is nested too deeply")
    except MemoryError:
        return _fail("out of memory")
    except BrokenPipeError:  # e.g. piped into `head`: not an error worth a traceback
        _silence_stdout()
        return 0
    except OSError as e:  # writing the output failed (stdout on a full disk, …)
        _silence_stdout()
        where = f"{e.filename}: " if e.filename else ""
        return _fail(f"{where}cannot write: {e.strerror or e}")
    except (KeyboardInterrupt, _Interrupted) as e:
        signum = e.signum if isinstance(e, _Interrupted) else signal.SIGINT
        _fail(f"interrupted by {signal.Signals(signum).name}")
        return 128 + int(signum)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
