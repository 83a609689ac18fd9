"""The command line on a 100,000-op scalar MLP, whole process, beside PyTorch.

Run from anywhere (takes minutes while the command line is slow)::

    python benchmarks/cli.py                      # 100,000 ops, median of 3 runs per step
    python benchmarks/cli.py --ops 20000 --repeat 1 --keep /tmp/crs-bench
    python benchmarks/cli.py --million            # also 1,000,000 ops in a fresh process
    python benchmarks/cli.py --profile            # also cProfile of `eval big.json --json`

On 2 cores the default run takes about 4 minutes; ``--million`` adds about 7 more and
needs ~10 GB of memory (``convert`` of the 1,000,000-op text peaked at 9.5 GB).

It reproduces the issue's table ("a 100,000-op scalar MLP written as an expression file,
16 tanh neurons per layer, leaf values set in the file") and reports each target
beside PyTorch measured in the same run. Nothing asserts a time; Linux (``os.wait4``
for each child's peak RSS, ``resource`` in the ``--million`` child).

**The function.** Inputs ``x1..x16`` (input leaves with values), ``layers`` layers of
16 tanh neurons, ``h{l}_{j} = tanh(sum(w{l}_{j}_1*h{l-1}_1, …, w{l}_{j}_16*h{l-1}_16,
b{l}_{j}))`` (``h0_i`` is ``x_i``), each weight and bias ``param(value)``, one statement
per neuron; then ``yhat = sum(v1*h{L}_1, …, v16*h{L}_16, c)`` and ``L =
squared_error(y, yhat)`` with ``y`` an input leaf. Op nodes per layer: 16 × (16 mul +
1 sum + 1 tanh) = 288; the output adds 18; ``layers = round((ops − 18) / 288)``, so
``--ops 100000`` gives 347 layers and 99,954 op nodes (plus 94,418 leaves). Values come
from ``random.Random(seed)``: inputs uniform ±1, weights uniform ±sqrt(3/16) (variance
1/fan-in, so |pre-activation| stays below ~2 and tanh does not saturate), biases
uniform ±0.25, ``y = 0.3``, each rounded to ``--digits`` significant digits (default 6;
0 keeps all 17) and written with ``repr``, so the file and PyTorch hold the same floats.
Six digits keep the 1,000,000-op text at 46.6 MB, under the parser's 50,000,000-character
cap (with all 17 digits it is 56.5 MB and ``convert`` refuses it). Through
347 layers the gradients still vanish geometrically (the first layer's weights get
|∂L/∂w| ≤ 2.4e-21 at seed 1), so the absolute-below-1 check says little about the early
layers; the report also gives the worst relative error over nonzero gradients.

**Our steps**, each a fresh ``sys.executable main.py …`` from the repository root, the
working directory a temporary folder, every path absolute, stdout written to a file
(never read through a pipe), the median of ``--repeat`` runs of wall time from spawn
to exit: ``convert --expr-file big.txt -o big.json`` (big.json removed before each run,
so every run writes a new file), ``eval big.json --json`` and ``eval big.json`` (the
table). The output's size and each child's peak RSS are recorded too.

**PyTorch**, the same function from the same values: a script written to a temporary
file and run the same way with ``sys.executable``. It imports torch (and numpy), reads
the values from ``values.npz`` (written by this benchmark: ``x`` (16,), ``W`` (L,16,16)
with ``W[l-1][j-1][i-1] = w{l}_{j}_{i}``, ``b`` (L,16), ``v`` (16,), ``c``, ``y``),
builds float64 leaf tensors with ``requires_grad`` (``x``, ``y``, ``c``, ``v``, and per
layer one 16×16 weight matrix and one bias vector, as a PyTorch user writes an MLP),
runs ``z = W @ h + b; h = tanh(z)`` per layer, the loss ``(y − yhat)²``, ``backward()``,
and ``json.dump``s to a file the values of every neuron (``z`` and ``h`` per layer,
``yhat``, ``loss``) and the gradient of every leaf (each weight, bias, input, ``v``,
``c``, ``y``). That is the issue's "import, build, backward, dump values and grads as
JSON". It dumps far fewer numbers than ``eval --json`` (2.5 MB against 72 MB: ours
also gives every mul and sum node and every edge's local derivative and product); the
reference is what a PyTorch user would run for values and gradients, not an equal
amount of output.

**Gradients** of every leaf in our ``eval --json`` output are compared with PyTorch's
dump: ``|ours − torch| ≤ 1e-9 · max(1, |torch|)``; the neuron values too.

**Loading into the engine**: in this process, ``engine.fileformat.load(big.json)``
then ``engine.fast.compile_graph``, median of ``--repeat`` (target ≤ 1 s).

**--million**: the same network at 1,000,000 ops (3,472 layers), converted with
``main.py convert`` (timed once, reported, no target), then a fresh child process
runs ``load`` + ``compile_graph`` + ``Plan.evaluate()`` (forward, backward, every
edge's numbers) and reports that time and its peak RSS from
``resource.getrusage(RUSAGE_SELF)`` (targets ≤ 10 s, ≤ 2 GB).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FAN = 16
OPS_PER_LAYER = FAN * (FAN + 2)   # per neuron: 16 mul, one sum, one tanh
OPS_OUTPUT = FAN + 2              # 16 mul, one sum, squared_error
TOL = 1e-9

TORCH_SCRIPT = r'''
import json, sys
import numpy as np
import torch

vals = np.load(sys.argv[1])
f64 = torch.float64


def leaf(a):
    return torch.tensor(a, dtype=f64, requires_grad=True)


x, y, c, v = leaf(vals["x"]), leaf(vals["y"]), leaf(vals["c"]), leaf(vals["v"])
Ws = [leaf(w) for w in vals["W"]]
bs = [leaf(b) for b in vals["b"]]
h = x
zs, hs = [], []
for W, b in zip(Ws, bs):
    z = W @ h + b
    h = torch.tanh(z)
    zs.append(z)
    hs.append(h)
yhat = v @ h + c
loss = (y - yhat) * (y - yhat)
loss.backward()
with torch.no_grad():
    out = {
        "loss": loss.item(), "yhat": yhat.item(),
        "z": [z.tolist() for z in zs], "h": [t.tolist() for t in hs],
        "grad": {"x": x.grad.tolist(), "y": y.grad.item(), "c": c.grad.item(),
                 "v": v.grad.tolist(), "W": [W.grad.tolist() for W in Ws],
                 "b": [b.grad.tolist() for b in bs]},
    }
with open(sys.argv[2], "w") as f:
    json.dump(out, f)
'''

MILLION_SCRIPT = r'''
import json, resource, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[2])
from engine import fileformat
from engine.fast import compile_graph
t1 = time.perf_counter()
g = fileformat.load(sys.argv[1])
t2 = time.perf_counter()
plan = compile_graph(g)
t3 = time.perf_counter()
res = plan.evaluate()
t4 = time.perf_counter()
grads = res.grads
nonzero = abs(grads[(grads == grads) & (grads != 0)])
print(json.dumps({
    "import": t1 - t0, "load": t2 - t1, "compile": t3 - t2, "evaluate": t4 - t3,
    "total": t4 - t1, "mode": plan.mode, "ops": plan.n_ops, "nodes": plan.n_nodes,
    "edges": plan.n_edges, "output": float(res.values[plan.index[plan.output]]),
    "min_nonzero_grad": float(nonzero.min()) if nonzero.size else None,
    "subnormal_grads": int((nonzero < 2.2250738585072014e-308).sum()),
    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
'''


# ------------------------------------------------------------------ the network

@dataclass
class Net:
    """A 16-wide tanh MLP's leaf values; ``W[l][j][i]`` weighs input i of neuron j."""

    x: list[float]
    W: list[list[list[float]]]
    b: list[list[float]]
    v: list[float]
    c: float
    y: float

    @property
    def layers(self) -> int:
        return len(self.W)

    @property
    def n_ops(self) -> int:
        return op_count(self.layers)


def op_count(layers: int) -> int:
    return layers * OPS_PER_LAYER + OPS_OUTPUT


def layers_for(ops: int) -> int:
    return max(1, round((ops - OPS_OUTPUT) / OPS_PER_LAYER))


def make_net(layers: int, seed: int, digits: int = 6) -> Net:
    rnd = random.Random(seed)
    a = math.sqrt(3.0 / FAN)

    def u(r: float) -> float:
        x = rnd.uniform(-r, r)
        return float(f"{x:.{digits}g}") if digits > 0 else x

    x = [u(1.0) for _ in range(FAN)]
    W = [[[u(a) for _ in range(FAN)] for _ in range(FAN)] for _ in range(layers)]
    b = [[u(0.25) for _ in range(FAN)] for _ in range(layers)]
    v = [u(a) for _ in range(FAN)]
    return Net(x, W, b, v, u(0.25), 0.3)


def expression(net: Net) -> str:
    """The expression file: leaves with values first, then one statement per neuron."""
    lines = [f"x{i} = {net.x[i - 1]!r}" for i in range(1, FAN + 1)]
    lines.append(f"y = {net.y!r}")
    for l in range(1, net.layers + 1):
        for j in range(1, FAN + 1):
            row = net.W[l - 1][j - 1]
            lines.extend(f"w{l}_{j}_{i} = param({row[i - 1]!r})" for i in range(1, FAN + 1))
            lines.append(f"b{l}_{j} = param({net.b[l - 1][j - 1]!r})")
    lines.extend(f"v{i} = param({net.v[i - 1]!r})" for i in range(1, FAN + 1))
    lines.append(f"c = param({net.c!r})")
    prev = [f"x{i}" for i in range(1, FAN + 1)]
    for l in range(1, net.layers + 1):
        cur = []
        for j in range(1, FAN + 1):
            terms = ", ".join(f"w{l}_{j}_{i}*{prev[i - 1]}" for i in range(1, FAN + 1))
            lines.append(f"h{l}_{j} = tanh(sum({terms}, b{l}_{j}))")
            cur.append(f"h{l}_{j}")
        prev = cur
    terms = ", ".join(f"v{i}*{prev[i - 1]}" for i in range(1, FAN + 1))
    lines.append(f"yhat = sum({terms}, c)")
    lines.append("L = squared_error(y, yhat)")
    return "\n".join(lines) + "\n"


def write_values(net: Net, path: Path) -> None:
    np.savez(path, x=np.array(net.x), W=np.array(net.W).reshape(net.layers, FAN, FAN),
             b=np.array(net.b).reshape(net.layers, FAN), v=np.array(net.v),
             c=np.array(net.c), y=np.array(net.y))


# ------------------------------------------------------------------ running

@dataclass
class Run:
    seconds: float
    returncode: int
    out_bytes: int
    maxrss_mb: float | None
    stderr: str


@dataclass
class Timing:
    label: str
    runs: list[Run] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(r.returncode == 0 for r in self.runs)

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    def error(self) -> str:
        bad = next((r for r in self.runs if r.returncode != 0), None)
        if bad is None:
            return ""
        tail = bad.stderr.strip().splitlines()[-3:]
        return f"exit {bad.returncode}: " + " | ".join(tail)


def run_process(cmd: Sequence[str], cwd: Path, stdout: Path, timeout: float) -> Run:
    """One child, wall time from spawn to exit, stdout to ``stdout`` (a file)."""
    err = stdout.with_suffix(stdout.suffix + ".err")
    with open(stdout, "wb") as out, open(err, "wb") as errf:
        t0 = time.perf_counter()
        p = subprocess.Popen(list(cmd), cwd=cwd, stdout=out, stderr=errf,
                             stdin=subprocess.DEVNULL)
        maxrss = None
        if hasattr(os, "wait4"):
            deadline = t0 + timeout
            while True:
                pid, status, ru = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    p.kill()
                    pid, status, ru = os.wait4(p.pid, 0)
                    break
                time.sleep(0.002)
            seconds = time.perf_counter() - t0
            p.returncode = os.waitstatus_to_exitcode(status)
            maxrss = ru.ru_maxrss / 1024
        else:  # pragma: no cover - not Linux
            p.wait(timeout)
            seconds = time.perf_counter() - t0
    return Run(seconds, p.returncode, stdout.stat().st_size, maxrss,
               err.read_text(encoding="utf-8", errors="replace"))


def timed(label: str, cmd: Sequence[str], cwd: Path, stdout: Path, repeat: int,
          timeout: float, before: Callable[[], None] | None = None) -> Timing:
    t = Timing(label)
    for k in range(repeat):
        if before is not None:
            before()
        r = run_process(cmd, cwd, stdout, timeout)
        t.runs.append(r)
        rss = f", peak RSS {r.maxrss_mb:,.0f} MB" if r.maxrss_mb is not None else ""
        print(f"  {label}: run {k + 1}/{repeat} {r.seconds:.2f} s, exit {r.returncode}, "
              f"stdout {r.out_bytes:,} B{rss}", file=sys.stderr, flush=True)
        if r.returncode != 0:
            break
    return t


def load_in_process(path: Path, repeat: int) -> tuple[list[float], list[float], str]:
    from engine import fileformat
    from engine.fast import compile_graph
    loads, compiles, mode = [], [], ""
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        g = fileformat.load(path)
        t1 = time.perf_counter()
        plan = compile_graph(g)
        t2 = time.perf_counter()
        loads.append(t1 - t0)
        compiles.append(t2 - t1)
        mode = f"{plan.mode}, {plan.n_ops:,} ops, {plan.n_nodes:,} nodes, {plan.n_edges:,} edges"
        del g, plan
    gc.collect()
    return loads, compiles, mode


# ------------------------------------------------------------------ agreement

_PATTERNS: list[tuple[re.Pattern[str], Callable[[dict, re.Match[str]], float]]] = [
    (re.compile(r"w(\d+)_(\d+)_(\d+)"),
     lambda g, m: g["W"][int(m[1]) - 1][int(m[2]) - 1][int(m[3]) - 1]),
    (re.compile(r"b(\d+)_(\d+)"), lambda g, m: g["b"][int(m[1]) - 1][int(m[2]) - 1]),
    (re.compile(r"x(\d+)"), lambda g, m: g["x"][int(m[1]) - 1]),
    (re.compile(r"v(\d+)"), lambda g, m: g["v"][int(m[1]) - 1]),
    (re.compile(r"c"), lambda g, m: g["c"]),
    (re.compile(r"y"), lambda g, m: g["y"]),
]
_NEURON = re.compile(r"h(\d+)_(\d+)")


@dataclass
class Agreement:
    grads: int = 0
    grad_fail: int = 0
    grad_worst: float = 0.0          # max |ours − torch| / max(1, |torch|)
    grad_worst_rel: float = 0.0      # max |ours − torch| / |torch| over torch ≠ 0
    grad_worst_name: str = ""
    values: int = 0
    value_fail: int = 0
    value_worst: float = 0.0
    missing: list[str] = field(default_factory=list)
    first_layer_max: float = 0.0
    last_layer_max: float = 0.0


def compare(ours_path: Path, torch_path: Path, layers: int) -> Agreement:
    ours = json.loads(ours_path.read_text(encoding="utf-8"))
    theirs = json.loads(torch_path.read_text(encoding="utf-8"))
    tg = theirs["grad"]
    a = Agreement()
    seen: set[str] = set()
    for nd in ours["nodes"]:
        name = nd["name"]
        if nd["op"] in ("input", "param"):
            for pat, get in _PATTERNS:
                m = pat.fullmatch(name)
                if m:
                    break
            else:
                a.missing.append(f"{name} (no PyTorch counterpart)")
                continue
            seen.add(name)
            want = float(get(tg, m))
            got = nd["grad"]
            a.grads += 1
            if got is None:
                a.grad_fail += 1
                a.missing.append(f"{name}: grad null ({nd.get('grad_reason')})")
                continue
            err = abs(got - want) / max(1.0, abs(want))
            if err > a.grad_worst:
                a.grad_worst, a.grad_worst_name = err, name
            if want != 0:
                a.grad_worst_rel = max(a.grad_worst_rel, abs(got - want) / abs(want))
            a.grad_fail += err > TOL
            if name.startswith("w1_"):
                a.first_layer_max = max(a.first_layer_max, abs(want))
            elif name.startswith(f"w{layers}_"):
                a.last_layer_max = max(a.last_layer_max, abs(want))
            continue
        m = _NEURON.fullmatch(name)
        want_v: float | None = None
        if m:
            want_v = theirs["h"][int(m[1]) - 1][int(m[2]) - 1]
        elif name == "yhat":
            want_v = theirs["yhat"]
        elif name == "L":
            want_v = theirs["loss"]
        if want_v is not None:
            a.values += 1
            got_v = nd["value"]
            err = abs(got_v - want_v) / max(1.0, abs(want_v)) if got_v is not None else math.inf
            a.value_worst = max(a.value_worst, err)
            a.value_fail += err > TOL
    expected = FAN * layers * (FAN + 1) + FAN + 1 + FAN + 1  # w, b; v, c; x, y
    if len(seen) != expected:
        a.missing.append(f"{expected - len(seen)} leaves of the network not in our output")
    return a


# ------------------------------------------------------------------ report

def fmt_ratio(ours: float | None, ref: float | None) -> str:
    return f"{ours / ref:.2f}×" if ours is not None and ref else "—"


def row(step: str, ours: float | None, ref: float | None, target: str, met: bool | None,
        note: str = "") -> str:
    o = f"{ours:.2f}" if ours is not None else "failed"
    r = f"{ref:.2f}" if ref is not None else "—"
    verdict = "—" if met is None else ("met" if met else "**missed**")
    return f"| {step} | {o} | {r} | {fmt_ratio(ours, ref) if ref is not None else '—'} | " \
           f"{target} | {verdict}{note} |"


def profile_eval(big_json: Path, cwd: Path, top: int, timeout: float) -> str:
    prof = cwd / "eval.prof"
    out = cwd / "profile.stdout"
    r = run_process([sys.executable, "-m", "cProfile", "-o", str(prof),
                     str(ROOT / "main.py"), "eval", str(big_json), "--json"],
                    cwd, out, timeout)
    if r.returncode != 0:
        return f"profile failed: exit {r.returncode}: {r.stderr.strip()[-300:]}"
    import io
    import pstats
    buf = io.StringIO()
    stats = pstats.Stats(str(prof), stream=buf)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(10)
    text = "\n".join(ln for ln in buf.getvalue().splitlines() if ln.strip())
    return (f"cProfile of `eval big.json --json` ({r.seconds:.1f} s under the profiler), "
            f"top {top} by cumulative time, then top 10 by own time:\n\n```\n{text}\n```")


def million(tmp: Path, seed: int, digits: int, timeout: float) -> list[str]:
    layers = layers_for(1_000_000)
    net = make_net(layers, seed, digits)
    src, big = tmp / "big1m.txt", tmp / "big1m.json"
    src.write_text(expression(net), encoding="utf-8")
    del net
    lines = [f"1,000,000 ops: {layers:,} layers, {op_count(layers):,} op nodes, "
             f"expression {src.stat().st_size / 1e6:.1f} MB"]
    conv = timed("convert 1M", [sys.executable, str(ROOT / "main.py"), "convert",
                                "--expr-file", str(src), "-o", str(big)],
                 tmp, tmp / "convert1m.out", 1, timeout)
    r = conv.runs[0]
    rss = f", peak RSS {r.maxrss_mb:,.0f} MB" if r.maxrss_mb is not None else ""
    if not conv.ok:
        lines.append(f"`convert` of the 1M-op expression failed after {r.seconds:.1f} s"
                     f"{rss}: {conv.error()}")
        return lines
    lines.append(f"`convert` (whole process, not a target): {r.seconds:.1f} s{rss}, "
                 f"file {big.stat().st_size / 1e6:.1f} MB")
    script = tmp / "million.py"
    script.write_text(MILLION_SCRIPT, encoding="utf-8")
    child = run_process([sys.executable, str(script), str(big), str(ROOT)], tmp,
                        tmp / "million.out", timeout)
    if child.returncode != 0:
        lines.append(f"load+compile+evaluate child failed after {child.seconds:.1f} s: "
                     f"exit {child.returncode}: {child.stderr.strip()[-300:]}")
        return lines
    d = json.loads((tmp / "million.out").read_text(encoding="utf-8"))
    peak_mb = d["maxrss_kb"] / 1024
    lines += [
        "",
        "| step (fresh child process) | ours | target | met/missed |",
        "|---|---:|---|---|",
        f"| load + compile + evaluate, 1M ops | {d['total']:.2f} s (load {d['load']:.2f}, "
        f"compile {d['compile']:.2f}, evaluate {d['evaluate']:.2f}) | ≤ 10 s | "
        f"{'met' if d['total'] <= 10 else '**missed**'} |",
        f"| peak RSS of that process | {peak_mb:,.0f} MB | ≤ 2 GB | "
        f"{'met' if peak_mb <= 2048 else '**missed**'} |",
        "",
        f"Child process whole: {child.seconds:.2f} s (imports {d['import']:.2f} s); plan "
        f"{d['mode']}, {d['ops']:,} ops, {d['nodes']:,} nodes, {d['edges']:,} edges; "
        f"output L = {d['output']!r}; smallest nonzero |grad| {d['min_nonzero_grad']!r}, "
        f"{d['subnormal_grads']} subnormal.",
    ]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=int, default=100_000, help="op nodes (default 100000)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per step; the median counts")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--digits", type=int, default=6,
                    help="significant digits of the leaf values (default 6; 0: all 17)")
    ap.add_argument("--keep", metavar="DIR", help="generate into DIR and keep the files")
    ap.add_argument("--million", action="store_true",
                    help="also load+compile+evaluate 1,000,000 ops in a fresh process")
    ap.add_argument("--profile", action="store_true",
                    help="also cProfile `eval big.json --json`: the top --profile-top "
                         "functions by cumulative time, and the top 10 by own time")
    ap.add_argument("--profile-top", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=3600, help="per child process (s)")
    args = ap.parse_args()

    started = time.perf_counter()
    if args.keep:
        tmp = Path(args.keep).resolve()
        tmp.mkdir(parents=True, exist_ok=True)
        holder = None
    else:
        holder = tempfile.TemporaryDirectory(prefix="crs-cli-bench-")
        tmp = Path(holder.name)

    layers = layers_for(args.ops)
    net = make_net(layers, args.seed, args.digits)
    src, big, vals = tmp / "big.txt", tmp / "big.json", tmp / "values.npz"
    src.write_text(expression(net), encoding="utf-8")
    write_values(net, vals)
    script = tmp / "torch_mlp.py"
    script.write_text(TORCH_SCRIPT, encoding="utf-8")
    n_leaves = FAN * layers * (FAN + 1) + 2 * (FAN + 1)
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    cpus = os.cpu_count()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    print(f"Machine: {cpus} CPUs ({affinity} usable by this process); Python "
          f"{sys.version.split()[0]}, numpy {np.__version__}, torch {torch_version}", flush=True)
    print(f"Network: {layers} layers × {FAN} tanh neurons, {net.n_ops:,} op nodes, "
          f"{n_leaves:,} leaves; big.txt {src.stat().st_size / 1e6:.1f} MB "
          f"({src.read_text(encoding='utf-8').count(chr(10)):,} statements); "
          f"median of {args.repeat} runs; files in {tmp}", flush=True)

    main_py = str(ROOT / "main.py")
    py = sys.executable

    def remove_big() -> None:
        big.unlink(missing_ok=True)

    conv = timed("convert", [py, main_py, "convert", "--expr-file", str(src), "-o", str(big)],
                 tmp, tmp / "convert.out", args.repeat, args.timeout, remove_big)
    ours_json = tmp / "eval.json"
    ev_json = ev_tab = None
    if conv.ok:
        ev_json = timed("eval --json", [py, main_py, "eval", str(big), "--json"], tmp,
                        ours_json, args.repeat, args.timeout)
        ev_tab = timed("eval (table)", [py, main_py, "eval", str(big)], tmp,
                       tmp / "eval_table.txt", args.repeat, args.timeout)
    torch_out = tmp / "torch.json"
    pt = timed("PyTorch", [py, str(script), str(vals), str(torch_out)], tmp,
               tmp / "torch.stdout", args.repeat, args.timeout)
    ref = pt.median if pt.ok else None

    loads: list[float] = []
    compiles: list[float] = []
    plan_desc = ""
    load_error = ""
    if conv.ok:
        try:
            loads, compiles, plan_desc = load_in_process(big, args.repeat)
        except Exception as e:  # report, do not hide
            load_error = f"{type(e).__name__}: {e}"

    def med(t: Timing | None) -> float | None:
        return t.median if t is not None and t.ok else None

    lines = ["", "| step | ours (s) | PyTorch (s) | ratio | target | met/missed |",
             "|---|---:|---:|---:|---|---|"]
    for t, cmd, factor in ((conv, "`python main.py convert --expr-file big.txt -o big.json`", 1.0),
                           (ev_json, "`python main.py eval big.json --json`", 0.5),
                           (ev_tab, "`python main.py eval big.json`", 0.25)):
        ours = med(t)
        met = None if ours is None or ref is None else ours <= factor * ref
        note = "" if t is None or t.ok else f" ({t.error() if t else 'not run: convert failed'})"
        lines.append(row(cmd, ours, ref, f"≤ {factor:g}× PyTorch", met, note))
    if loads:
        total = statistics.median(l + c for l, c in zip(loads, compiles))
        lines.append(row("load into the engine: `fileformat.load` + `compile_graph` "
                         "(in-process)", total, None, "≤ 1 s", total <= 1.0))
    else:
        lines.append(row("load into the engine (in-process)", None, None, "≤ 1 s", None,
                         f" ({load_error or 'not run'})"))
    lines.append("")
    if not pt.ok:
        lines.append(f"PyTorch failed: {pt.error()}")

    lines += ["| step | runs (s) | stdout | peak RSS (MB) |", "|---|---|---:|---:|"]
    for t in (conv, ev_json, ev_tab, pt):
        if t is None:
            continue
        runs = ", ".join(f"{r.seconds:.2f}" for r in t.runs)
        size = t.runs[-1].out_bytes if t.runs else 0
        rss = max((r.maxrss_mb or 0) for r in t.runs) if t.runs else 0
        lines.append(f"| {t.label} | {runs} | {size:,} B | {rss:,.0f} |")
    lines.append("")
    sizes = [f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in (src, big, ours_json,
                                                                     torch_out) if p.exists()]
    lines.append("Files: " + ", ".join(sizes) + " (eval.json is `eval --json`'s stdout, "
                 "torch.json PyTorch's dump).")
    if loads:
        lines.append(f"Load into the engine, median of {len(loads)}: fileformat.load "
                     f"{statistics.median(loads):.2f} s, compile_graph "
                     f"{statistics.median(compiles):.2f} s ({plan_desc}).")

    if ev_json is not None and ev_json.ok and pt.ok:
        a = compare(ours_json, torch_out, layers)
        verdict = "agree" if a.grad_fail == 0 and a.value_fail == 0 and not a.missing \
            else "DISAGREE"
        lines += ["", f"Gradients vs PyTorch: {verdict} — {a.grads:,} leaf gradients, "
                      f"{a.grad_fail} beyond {TOL:g}·max(1,|g|), worst {a.grad_worst:.2e} "
                      f"({a.grad_worst_name}), worst relative {a.grad_worst_rel:.2e} "
                      f"(over nonzero PyTorch gradients); {a.values:,} neuron values, "
                      f"{a.value_fail} beyond, worst {a.value_worst:.2e}. Largest |∂L/∂w| "
                      f"in layer 1: {a.first_layer_max:.2e}, in layer {layers}: "
                      f"{a.last_layer_max:.2e}."]
        if a.missing:
            lines.append("Problems: " + "; ".join(a.missing[:10]))
    print("\n".join(lines), flush=True)

    if args.profile and conv.ok:
        print("\n" + profile_eval(big, tmp, args.profile_top, args.timeout), flush=True)
    if args.million:
        print("\n" + "\n".join(million(tmp, args.seed, args.digits, args.timeout)), flush=True)
    print(f"\nWhole benchmark: {time.perf_counter() - started:.0f} s", flush=True)
    if holder is not None:
        holder.cleanup()


if __name__ == "__main__":
    main()
