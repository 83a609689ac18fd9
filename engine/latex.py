"""LaTeX spellings of names, numbers and the registry's derivative formulas.

The registry (engine/ops.py) writes each formula once as display text and once as
LaTeX, both with ``{port}`` placeholders; this module fills the LaTeX ones with
operand names, so a derivation can be copied into a paper or notes.
"""

from __future__ import annotations

import math
import re
import string

from engine.graph import Graph
from engine.names import pretty, split_digits
from engine.numfmt import fmt
from engine.ops import OPS

_GREEK_TEX = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon",
    "η": r"\eta", "θ": r"\theta", "λ": r"\lambda", "μ": r"\mu", "σ": r"\sigma",
    "τ": r"\tau", "φ": r"\varphi", "ω": r"\omega", "π": r"\pi", "ρ": r"\rho", "ξ": r"\xi",
    "ζ": r"\zeta", "κ": r"\kappa",
}


def _subscript(digits: str) -> str:
    return f"_{digits}" if len(digits) == 1 else f"_{{{digits}}}"


def latex_name(name: str) -> str:
    """``w1`` → ``w_1``, ``yhat`` → ``\\hat{y}``, ``eta`` → ``\\eta``, ``loss`` → ``\\mathrm{loss}``.

    Follows engine.names.pretty, so the LaTeX reads like the canvas."""
    base, digits = split_digits(name)
    shown = pretty(base)
    if len(shown) == 2 and shown[1] == "\u0302":
        tex = rf"\hat{{{shown[0]}}}"
    elif len(shown) == 2 and shown[1] == "\u0304":
        tex = rf"\bar{{{shown[0]}}}"
    elif shown in _GREEK_TEX:
        tex = _GREEK_TEX[shown]
    elif len(base) == 1:
        tex = base
    else:
        tex = r"\mathrm{" + base.replace("_", r"\_") + "}"
    return tex + (_subscript(digits) if digits else "")


def latex_number(x: float, digits: int = 4) -> str:
    """A number as engine.numfmt.fmt shows it, in LaTeX (``−1e−20`` → ``-1 \\times 10^{-20}``)."""
    x = float(x)
    if math.isnan(x):
        return r"\mathrm{NaN}"
    if math.isinf(x):
        return r"\infty" if x > 0 else r"-\infty"
    s = fmt(x, digits).replace("−", "-")
    if "e" in s:
        mant, exp = s.split("e")
        return f"{mant} \\times 10^{{{int(exp)}}}"
    return s


def latex_node(graph: Graph, nid: str) -> str:
    """A node as it appears in formulas: its name, or a constant's number."""
    if graph.op_of(nid) == "const":
        return latex_number(graph.nx.nodes[nid]["value"], 6)
    return latex_name(graph.name_of(nid))


def template_latex(template: str, names: dict[str, str]) -> str:
    """Fill a registry LaTeX template (``-2({target} - {prediction})``) with operands.

    An operand is braced or bracketed only where LaTeX needs it (as an exponent, a
    compound raised to a power or after a minus sign)."""
    pieces = [(lit, field)
              for lit, field, _spec, _conv in string.Formatter().parse(template)]
    parts: list[str] = []
    for i, (lit, field) in enumerate(pieces):
        parts.append(lit)
        if field is None:
            continue
        name = names.get(field, field)
        before = "".join(parts)
        after = pieces[i + 1][0] if i + 1 < len(pieces) else ""
        compound = " " in name or name.startswith("-")
        if compound and before.endswith("-"):
            name = "(" + name + ")"
        elif before.endswith((r"\sqrt", "^")) or (after.startswith("^") and compound):
            name = "{" + name + "}"
        elif re.search(r"\\[A-Za-z]+$", before):
            name = " " + name
        parts.append(name)
    return _brace_parenthesised_exponents("".join(parts))


def _brace_parenthesised_exponents(tex: str) -> str:
    """``a^(b - 1)`` → ``a^{(b - 1)}``: LaTeX would raise only the parenthesis."""
    out, i = [], 0
    while i < len(tex):
        if tex.startswith("^(", i):
            depth, j = 0, i + 1
            while j < len(tex):
                depth += {"(": 1, ")": -1}.get(tex[j], 0)
                if depth == 0:
                    break
                j += 1
            out.append("^{" + tex[i + 1:j + 1] + "}")
            i = j + 1
        else:
            out.append(tex[i])
            i += 1
    return "".join(out)


def local_formula_latex(graph: Graph, src: str, dst: str, port: str) -> str:
    """The local derivative at this port, as LaTeX (the registry's formula, operands by name)."""
    spec = OPS[graph.op_of(dst)]
    template = spec.tex_deriv_text(port, graph.attrs_of(dst))
    names: dict[str, str] = {}
    if not spec.variadic:
        names = {p: "?" for p in spec.ports}
        for p, s in graph.inputs(dst):
            names[p] = latex_node(graph, s)
    names["out"] = latex_node(graph, dst)
    return template_latex(template, names)


def partial_latex(of: str, wrt: str) -> str:
    r"""``\frac{\partial L}{\partial w_1}`` from two LaTeX names."""
    return rf"\frac{{\partial {of}}}{{\partial {wrt}}}"
