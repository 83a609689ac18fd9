"""Writes docs/ops.md from the registry: ``python -m engine.opsdoc > docs/ops.md``.

A test compares the file with this output, so the docs cannot drift from the code.
"""

from __future__ import annotations

from engine.ops import GROUPS, OPS

_GROUP_TITLES = {"leaf": "Leaves", "arithmetic": "Arithmetic", "function": "Functions",
                 "loss": "Loss"}


def render() -> str:
    out = [
        "# Ops",
        "",
        "Generated from `engine/ops.py` by `python -m engine.opsdoc > docs/ops.md`; a test "
        "checks that this file matches the registry.",
        "",
        "Each op is declared once, with array-ready float64 functions that every evaluator "
        "calls. A fault never raises: it gives NaN or ±inf on that node with a sentence "
        "saying why, and nodes downstream say where it came from. Local derivatives are "
        "what each edge shows as *local*; `∂L/∂target × local` is its *product*. A "
        "constant, and any node computed from constants alone, has no gradient: the "
        "edges leaving it are plain wires.",
        "",
    ]
    for group in GROUPS:
        out += [f"## {_GROUP_TITLES[group]}", ""]
        specs = [s for s in OPS.values() if s.group == group]
        if group == "leaf":
            out += ["| kind | symbol | meaning |", "|---|---|---|"]
            out += [f"| `{s.name}` | {s.symbol} | {s.conventions} |" for s in specs]
            out.append("")
            continue
        out += ["| op | symbol | ports | value | local derivatives | conventions and domain |",
                "|---|---|---|---|---|---|"]
        for s in specs:
            ports = "x1, x2, … (any number)" if s.variadic else ", ".join(s.ports)
            derivs = "<br>".join(s.generic_derivs())
            out.append(f"| `{s.name}` | {s.symbol} | {ports} | {s.generic_formula()} | "
                       f"{derivs} | {s.conventions or '—'} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
