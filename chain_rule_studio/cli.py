"""The headless command line: eval, check, train, convert and render.

Bad input of any kind exits with status 2 and one line on stderr, and writes nothing.
Input files (FILE, ``--expr-file``) are read only when they are regular files of at
most 512 MB (a FIFO or a device is refused at once). ``-o`` never writes over its own
input, over a folder, FIFO or device, or over an existing file that is not of its
kind (a graph file for train and convert, a PNG or SVG for render) unless ``--force``;
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
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, NoReturn, Sequence

from chain_rule_studio.examples import default_example
from engine import fileformat
from engine.check import TOLERANCE, check_tolerance, gradient_check
from engine.errors import EngineError, clip, quote
from engine.fast import evaluate_graph
from engine.files import (MAX_FILE_BYTES, UnreadableFileError, kind_of, read_file,
                          write_atomic, write_target)
from engine.result import Result
from engine.expr import parse
from engine.graph import Graph
from engine.layout import apply_layout
from engine.numfmt import fmt
from engine.train import TrainingError
from engine import train as training

COMMAND_NAMES = ("eval", "check", "train", "convert", "render")


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


def _add_force(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true",
                   help="let -o replace an existing file that is not of its kind")


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


def load_graph(args: argparse.Namespace) -> Graph:
    """The graph named by FILE / --expr / --expr-file, with --param and --set applied."""
    params = [n.strip() for chunk in args.param for n in chunk.split(",") if n.strip()]
    sources = [x for x in (args.file, args.expr, args.expr_file) if x is not None]
    if len(sources) > 1:
        raise BadInput("give one graph: a FILE, --expr or --expr-file")
    try:
        if args.expr is not None or args.expr_file is not None:
            if args.expr_file is not None:
                text = read_expression_file(args.expr_file)
            else:
                text = args.expr
            g = parse(text, params, layout=args.command == "convert")
        else:
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
    for item in args.assignments:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise BadInput(f"--set: expected NAME=VALUE, got {quote(item)}")
        nid = g.id_of(name)
        if nid is None:
            raise BadInput(f"--set: no node is named {quote(name)} "
                           f"(leaves: {clip(', '.join(sorted(_leaf_names(g))))})")
        if g.op_of(nid) not in ("input", "param", "const"):
            raise BadInput(f"--set: {quote(name)} is computed by {g.op_of(nid)}; "
                           "only leaves can be set")
        g.set_value(nid, _number(value, f"--set {clip(name, 40)}"))
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
    try:
        check_tolerance(args.tol)
    except ValueError:
        raise BadInput(f"--tol must be a number ≥ 0, not {args.tol!r}") from None
    g = load_graph(args)
    _evaluate(g)
    rows = gradient_check(g, args.tol)
    n_fail = sum(row.status == "FAIL" for row in rows)
    n_undefined = sum(row.status == "undefined" for row in rows)
    failed = bool(n_fail or n_undefined)
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
    if args.output:
        _check_output(args.output, _inputs(args), args.force, "graph")
    g = load_graph(args)
    _evaluate(g)
    if not training.params(g):
        raise BadInput("the graph has no param nodes to train (mark some with --param)")
    history = []
    i = 0
    try:
        for i in range(args.steps):
            s = training.step(g, args.lr)
            history.append({"step": i, "loss": _num(s.loss),
                            "params": {u.name: _num(u.new) for u in s.updates}})
            if not args.json:
                print(f"step {i:>5}  loss {fmt(s.loss, 8)}  "
                      + "  ".join(f"{u.name} {fmt(u.new, 8)}" for u in s.updates))
    except TrainingError as e:
        # one line, exit 2, nothing written: a diverging run is not a result to keep
        raise BadInput(f"stopped at step {i}: {e}"
                       + ("; nothing was written" if args.output else "")) from None
    final = training.loss(g)
    if args.json:
        print(_dump({"steps": history, "final_loss": _num(final),
                     "params": {g.name_of(n): _num(g.nx.nodes[n]["value"])
                                for n in training.params(g)}}))
    else:
        print(f"final  loss {fmt(final, 8)}  "
              + "  ".join(f"{g.name_of(n)} {fmt(g.nx.nodes[n]['value'], 8)}"
                          for n in training.params(g)))
    if args.output:
        _save(g, args.output)
    return 0


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


@contextmanager
def _scratch_folder() -> Iterator[Path]:
    folder = tempfile.mkdtemp(prefix="chain-rule-studio-")
    try:
        yield Path(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _inputs(args: argparse.Namespace) -> list[str]:
    """The files a command reads, which its -o must not replace."""
    files = [f for f in (getattr(args, "file", None), getattr(args, "expr_file", None)) if f]
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
        what = "a Chain Rule Studio graph file" if kind == "graph" else f"a {kind.upper()} file"
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


COMMANDS = {"eval": cmd_eval, "check": cmd_check, "train": cmd_train,
            "convert": cmd_convert, "render": cmd_render}


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
