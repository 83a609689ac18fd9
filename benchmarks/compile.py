"""Compile time of each graph family: the median of several ``compile_graph`` calls.

``run.py`` times one compile per graph inside its larger run; this isolates it:
each family is built once, compiled ``--repeat`` times (the cyclic collector runs
between compiles, as it would between edits), and the median and all runs are printed.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.families import FAMILIES  # noqa: E402
from engine.fast import compile_graph  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--families", default=",".join(FAMILIES))
    args = ap.parse_args()
    print("| family | op nodes | nodes | edges | path | compile, median (s) | runs (s) |")
    print("|---|---:|---:|---:|---|---:|---|")
    for fam in args.families.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            graph, n_ops = FAMILIES[fam](size)
            times = []
            for _ in range(args.repeat):
                gc.collect()
                t0 = time.perf_counter()
                plan = compile_graph(graph)
                times.append(time.perf_counter() - t0)
                mode, nodes, edges = plan.mode, plan.n_nodes, plan.n_edges
                del plan
            runs = ", ".join(f"{t:.2f}" for t in times)
            print(f"| {fam} | {n_ops:,} | {nodes:,} | {edges:,} | {mode} | "
                  f"{statistics.median(times):.3f} | {runs} |", flush=True)
            del graph
            gc.collect()


if __name__ == "__main__":
    main()
