"""The headless command line: eval, check, train, convert and render.

Bad input of any kind exits with status 2 and one line on stderr, and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, NoReturn, Sequence

from chain_rule_studio.examples import default_example
from engine import fileformat
from engine.check import TOLERANCE, gradient_check
from engine.errors import EngineError
from engine.fast import evaluate_graph
from engine.result import CONSTANT, Result
from engine.expr import parse
from engine.graph import Graph
from engine.layout import apply_layout
from engine.numfmt import fmt
from engine.train import TrainingError
from engine import train as training



class BadInput(Exception):
    """Reported as one line on stderr with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise BadInput(message)


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


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="main.py", description="Chain Rule Studio: see backpropagation.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    e = sub.add_parser("eval", help="evaluate a graph: values, gradients, edge numbers")
    _add_graph_options(e)
    e.add_argument("--json", action="store_true", help="print one JSON object")
    c = sub.add_parser("check", help="backprop gradients vs central finite differences")
    _add_graph_options(c)
    c.add_argument("--tol", type=float, default=TOLERANCE,
                   help=f"flag errors above this (default {TOLERANCE:g})")
    c.add_argument("--json", action="store_true")
    t = sub.add_parser("train", help="gradient descent on the param leaves")
    _add_graph_options(t)
    t.add_argument("--steps", type=int, required=True)
    t.add_argument("--lr", type=float, required=True, help="learning rate η")
    t.add_argument("-o", "--output", metavar="OUT", help="save the trained graph here")
    t.add_argument("--json", action="store_true")
    v = sub.add_parser("convert", help="build a graph from an expression, lay it out, save it")
    _add_graph_options(v)
    v.add_argument("-o", "--output", metavar="FILE", required=True)
    r = sub.add_parser("render", help="draw a graph to PNG or SVG as the editor shows it")
    r.add_argument("file")
    r.add_argument("-o", "--output", metavar="OUT", required=True)
    r.add_argument("--width", type=int, default=None)
    return p


# ------------------------------------------------------------------- graphs

def _number(text: str, what: str) -> float:
    try:
        v = float(text.replace("−", "-"))
    except ValueError:
        raise BadInput(f"{what}: {text!r} is not a number") from None
    if not _finite(v):
        raise BadInput(f"{what}: {text!r} is not a finite number")
    return v


def load_graph(args: argparse.Namespace) -> Graph:
    """The graph named by FILE / --expr / --expr-file, with --param and --set applied."""
    params = [n.strip() for chunk in args.param for n in chunk.split(",") if n.strip()]
    sources = [x for x in (args.file, args.expr, args.expr_file) if x is not None]
    if len(sources) > 1:
        raise BadInput("give one graph: a FILE, --expr or --expr-file")
    try:
        if args.expr is not None or args.expr_file is not None:
            if args.expr_file is not None:
                try:
                    text = Path(args.expr_file).read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as e:
                    raise BadInput(f"{args.expr_file}: cannot read: "
                                   f"{getattr(e, 'strerror', None) or e}") from None
            else:
                text = args.expr
            g = parse(text, params, layout=args.command == "convert")
        else:
            g = fileformat.load(args.file if args.file is not None else default_example())
            for name in params:
                nid = g.id_of(name)
                if nid is None:
                    raise BadInput(f"--param: no node is named {name!r}")
                if g.op_of(nid) not in ("input", "param"):
                    raise BadInput(f"--param: {name} is a {g.op_of(nid)} node, not an input")
                g.set_kind(nid, "param")
    except EngineError as e:
        where = "expression" if args.expr is not None else (args.expr_file or "")
        raise BadInput(f"{where}: {e}" if where and not str(e).startswith(where) else str(e)) from None
    for item in args.assignments:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise BadInput(f"--set: expected NAME=VALUE, got {item!r}")
        nid = g.id_of(name)
        if nid is None:
            raise BadInput(f"--set: no node is named {name!r} "
                           f"(leaves: {', '.join(sorted(_leaf_names(g)))})")
        if g.op_of(nid) not in ("input", "param", "const"):
            raise BadInput(f"--set: {name} is computed by {g.op_of(nid)}; only leaves can be set")
        g.set_value(nid, _number(value, f"--set {name}"))
    return g


def _leaf_names(g: Graph) -> list[str]:
    return [g.name_of(n) for n in g.ids() if g.op_of(n) in ("input", "param", "const")]


def _evaluate(g: Graph) -> Result:
    try:
        return evaluate_graph(g)
    except EngineError as e:
        raise BadInput(str(e)) from None


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
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
           "  ".join("─" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
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


def _shown(x: float | None) -> str:
    """A number in a table; a constant's absent gradient is a dash."""
    return "—" if x is None else fmt(x, 6)


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, indent=1)


# ----------------------------------------------------------------- commands

def cmd_eval(args: argparse.Namespace) -> int:
    g = load_graph(args)
    r = _evaluate(g)
    print(_dump(result_json(g, r)) if args.json else result_table(g, r))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    g = load_graph(args)
    _evaluate(g)
    rows = gradient_check(g, args.tol)
    failed = any(row.status == "FAIL" for row in rows)
    if args.json:
        print(_dump({"tolerance": args.tol, "passed": not failed, "leaves": [
            {"name": row.name, "op": row.op, "analytic": _num(row.analytic),
             "numeric": _num(row.numeric), "error": _num(row.error), "status": row.status,
             **({"note": row.note} if row.note else {})} for row in rows]}))
    else:
        print(_table([[row.name, row.op, fmt(row.analytic, 8), fmt(row.numeric, 8),
                       f"{row.error:.2e}" if _finite(row.error) else "—", row.status, row.note]
                      for row in rows],
                     ["leaf", "op", "backprop", "finite diff.", "error", "status", ""]))
        print(f"\n{'FAILED' if failed else 'passed'}: error = |a − n| / max(1, |a|, |n|), "
              f"tolerance {args.tol:g}; kinks are reported, not failed")
    return 1 if failed else 0


def cmd_train(args: argparse.Namespace) -> int:
    if args.steps < 0:
        raise BadInput("--steps must be 0 or more")
    if not _finite(args.lr):
        raise BadInput("--lr must be a finite number")
    g = load_graph(args)
    _evaluate(g)
    if not training.params(g):
        raise BadInput("the graph has no param nodes to train (mark some with --param)")
    if args.output:
        _check_writable(args.output)
    history = []
    status = 0
    try:
        for i in range(args.steps):
            s = training.step(g, args.lr)
            history.append({"step": i, "loss": _num(s.loss),
                            "params": {u.name: u.new for u in s.updates}})
            if not args.json:
                print(f"step {i:>5}  loss {fmt(s.loss, 8)}  "
                      + "  ".join(f"{u.name} {fmt(u.new, 8)}" for u in s.updates))
    except TrainingError as e:
        print(f"main.py: stopped: {e}", file=sys.stderr)
        status = 1
    final = training.loss(g)
    if args.json:
        print(_dump({"steps": history, "final_loss": _num(final),
                     "params": {g.name_of(n): g.nx.nodes[n]["value"] for n in training.params(g)}}))
    else:
        print(f"final  loss {fmt(final, 8)}  "
              + "  ".join(f"{g.name_of(n)} {fmt(g.nx.nodes[n]['value'], 8)}"
                          for n in training.params(g)))
    if args.output and status == 0:
        _save(g, args.output)
    return status


def cmd_convert(args: argparse.Namespace) -> int:
    if args.expr is None and args.expr_file is None:
        raise BadInput("convert needs --expr TEXT or --expr-file PATH")
    _check_writable(args.output)
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
    _check_writable(args.output)
    from gui.render import render  # Qt only when drawing
    render(args.file, args.output, args.width)
    return 0


def _check_writable(path: str) -> None:
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise BadInput(f"{path}: the folder {folder} does not exist")
    if Path(path).is_dir():
        raise BadInput(f"{path}: is a folder")


def _save(g: Graph, path: str) -> None:
    try:
        fileformat.save(g, path)
    except OSError as e:
        raise BadInput(f"{path}: cannot write: {e.strerror or e}") from None


COMMANDS = {"eval": cmd_eval, "check": cmd_check, "train": cmd_train,
            "convert": cmd_convert, "render": cmd_render}


def run(argv: Sequence[str]) -> int:
    """Run a sub-command; return the exit status (2 for bad input)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")  # type: ignore[attr-defined]
        except (AttributeError, ValueError):
            pass
    try:
        args = build_parser().parse_args(list(argv))
        return COMMANDS[args.command](args)
    except BadInput as e:
        msg = " ".join(str(e).split())
        print(f"main.py: error: {msg}", file=sys.stderr)
        return 2
    except RecursionError:
        print("main.py: error: the input is nested too deeply", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into `head`: not an error worth a traceback
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
