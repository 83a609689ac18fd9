"""Benchmark the compiled engine against the reference, a micrograd-style autograd and
PyTorch's 0-dim float64 autograd (when ``import torch`` works), on three graph families.

    python benchmarks/run.py                       # sizes 1000,10000,100000,1000000
    python benchmarks/run.py --sizes 1000,10000 --repeat 5

Prints a Markdown table: µs per op node for one full evaluation (forward values,
backward gradients, and — for the two engines — every edge's local derivative and
product), the median of --repeat runs after one warm-up, and the ratios to the compiled
engine. micrograd and PyTorch produce values and leaf gradients only. Then compile time,
single-leaf update time and peak memory. The reference, micrograd and PyTorch are
skipped above --max-slow op nodes (default 100000): they would take minutes.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

from engine.fast import compile_graph, topological_order  # noqa: E402
from engine.evaluate import evaluate  # noqa: E402
from engine.graph import Graph  # noqa: E402
from engine.ops import OPS, variadic_port_key  # noqa: E402
from families import FAMILIES  # noqa: E402
import micrograd_style  # noqa: E402

try:
    import torch
except ImportError:  # the benchmark runs without it; the table says so
    torch = None


def median_time(fn, repeat: int, setup=None) -> float:
    """Median wall time of ``fn`` over ``repeat`` runs after one warm-up (setup untimed)."""
    if setup:
        setup()
    fn()
    times = []
    for _ in range(repeat):
        if setup:
            setup()
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def flat_program(graph: Graph) -> tuple[list[float], list[tuple[str, list[int]]], int]:
    """Leaf values and (op, input slots) in topological order: leaves first, output last."""
    G = graph.nx
    order = topological_order(graph)
    leaves = [n for n in order if OPS[G.nodes[n]["op"]].is_leaf]
    ops = [n for n in order if not OPS[G.nodes[n]["op"]].is_leaf]
    slot = {n: i for i, n in enumerate(leaves + ops)}
    program = []
    for n in ops:
        op = G.nodes[n]["op"]
        spec = OPS[op]
        ins = [(port, src) for src, keys in G._pred[n].items() for port in keys]
        ins.sort(key=(lambda e: variadic_port_key(e[0])) if spec.variadic
                 else (lambda e: spec.ports.index(e[0])))
        program.append((op, [slot[s] for _, s in ins]))
    assert ops[-1] == graph.resolve_output()
    return [G.nodes[n]["value"] for n in leaves], program, len(order)


def torch_runner(values, program, n_nodes):
    leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]

    def reset() -> None:
        for p in leaves:
            p.grad = None

    def run() -> None:
        slots = leaves + [None] * (n_nodes - len(leaves))
        k = len(leaves)
        for op, ins in program:
            if op == "mul":
                r = slots[ins[0]] * slots[ins[1]]
            elif op == "add":
                r = slots[ins[0]] + slots[ins[1]]
            elif op == "sub":
                r = slots[ins[0]] - slots[ins[1]]
            elif op == "tanh":
                r = torch.tanh(slots[ins[0]])
            elif op == "sigmoid":
                r = torch.sigmoid(slots[ins[0]])
            elif op == "sin":
                r = torch.sin(slots[ins[0]])
            elif op == "sum":
                r = torch.stack([slots[j] for j in ins]).sum()
            elif op == "squared_error":
                d = slots[ins[0]] - slots[ins[1]]
                r = d * d
            else:
                raise ValueError(op)
            slots[k] = r
            k += 1
        slots[k - 1].backward()
    return run, reset


def micrograd_runner(values, program, n_nodes):
    leaves = [micrograd_style.Value(v) for v in values]

    def reset() -> None:
        for p in leaves:
            p.grad = 0.0
    return (lambda: micrograd_style.run(program, leaves, n_nodes)), reset


def fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None else f"{a / b:.0f}×" if a / b >= 10 else f"{a / b:.1f}×"


def machine() -> str:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    tv = torch.__version__ if torch else "not installed"
    return (f"{os.cpu_count()} cores, {cpu}; Python {platform.python_version()}, "
            f"numpy {np.__version__}, torch {tv}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--max-slow", type=int, default=100_000,
                    help="largest size for the reference, micrograd and PyTorch")
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    use_torch = torch is not None and not args.no_torch
    print(f"Machine: {machine()}\n")
    rows, extra = [], []
    for fam in args.families.split(","):
        for size in sizes:
            t0 = time.perf_counter()
            graph, n_ops = FAMILIES[fam](size)
            build = time.perf_counter() - t0
            t0 = time.perf_counter()
            plan = compile_graph(graph)
            compile_s = time.perf_counter() - t0
            eng = median_time(plan.evaluate, args.repeat) / n_ops * 1e6
            slow = size <= args.max_slow
            ref = mg = th = None
            if slow:
                ref = median_time(lambda: evaluate(graph), args.repeat) / n_ops * 1e6
                values, program, n_nodes = flat_program(graph)
                run, reset = micrograd_runner(values, program, n_nodes)
                mg = median_time(run, args.repeat, reset) / n_ops * 1e6
                if use_torch:
                    run, reset = torch_runner(values, program, n_nodes)
                    th = median_time(run, args.repeat, reset) / n_ops * 1e6
            upd = None
            if size == 100_000 or size == max(sizes):
                rnd = random.Random(5)
                picks = rnd.sample(plan.leaves, min(5, len(plan.leaves)))

                def one_update(leaf=[0]) -> None:
                    leaf[0] += 1
                    nid = picks[leaf[0] % len(picks)]
                    plan.update_leaf(nid, 0.5 + 0.001 * leaf[0])
                upd = median_time(one_update, max(args.repeat, len(picks))) * 1e3
                first = median_time(lambda: plan.update_leaf(plan.leaves[0], 0.25), 3) * 1e3
                extra.append((fam, n_ops, compile_s, upd, first))
            rows.append((fam, n_ops, plan.mode, ref, eng, mg, th))
            print(f"  {fam} {n_ops}: built in {build:.1f}s, compiled in {compile_s:.2f}s "
                  f"({plan.mode}), {eng:.3f} µs/op", file=sys.stderr)
            del graph, plan
            gc.collect()
    print("µs per op node, full forward + backward (median of "
          f"{args.repeat} after a warm-up); ratios are other ÷ compiled.\n")
    print("| family | op nodes | compiled path | reference | **compiled** | micrograd-style "
          "| PyTorch 0-dim | ref ÷ comp | micrograd ÷ comp | torch ÷ comp |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for fam, n, mode, ref, eng, mg, th in rows:
        skip = "skipped" if ref is None else None
        tcell = fmt(th) if th is not None else (skip or "not installed")
        print(f"| {fam} | {n:,} | {mode} | {fmt(ref) if ref else skip} | **{eng:.3f}** | "
              f"{fmt(mg) if mg else skip} | {tcell} | {ratio(ref, eng)} | {ratio(mg, eng)} | "
              f"{ratio(th, eng)} |")
    print("\n| family | op nodes | compile (s) | single-leaf update, random leaves (ms) "
          "| update of the first leaf (ms) |")
    print("|---|---:|---:|---:|---:|")
    for fam, n, c, u, f in extra:
        print(f"| {fam} | {n:,} | {c:.2f} | {u:.1f} | {f:.1f} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nPeak resident memory of the whole run: {peak:,.0f} MB.")


if __name__ == "__main__":
    main()
