"""A graph as a program or a paper: a PyTorch script, a NumPy script with the backward
pass written out by hand, and a LaTeX document.

Every piece of code comes from the op registry (each op's ``np_code``, ``torch_code``
and ``np_derivs``, and ``CODE_HELPERS``); this module only chooses the order and the
names. The NumPy script computes what the engine computes, the same functions in the
same order, so its printed numbers agree with the editor's to the last few bits; at a
point where an op is undefined (log −1) the engine marks its local derivatives
undefined, while the script writes the plain formula.

Node names come from files, so they are never trusted as code: each becomes an
identifier of letters, digits and _ that is no keyword, builtin or name the script
uses itself, and free text (names as shown, notes, column names) appears only in
comments, on one line with control and bidirectional characters removed, or in string
literals written by ``ascii()``. Nothing a file holds can become code.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
import textwrap
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from engine.dataset import DataError, Dataset
from engine.derivation import MAX_PATHS, derive
from engine.derivation import to_latex as derivation_latex
from engine.errors import EngineError, clip, quote
from engine.graph import Graph
from engine.labels import display_name, node_formula
from engine.latex import latex_name, latex_node, latex_number, partial_latex, template_latex
from engine.names import MAX_NAME
from engine.ops import CODE_HELPERS, OPS, TORCH_HELPERS, VARIABLE_KINDS

#: the words every exported file carries near its top (``-o`` replaces only such files)
MARK = "exported from Chain Rule Studio"
FORMATS = ("torch", "numpy", "latex")
#: the longest forward function written out as one formula (LaTeX characters)
MAX_FORMULA = 1500
#: names the scripts use themselves: a node never takes one
_TAKEN = frozenset(dir(builtins)) | {"np", "torch", "N", "mean_over_rows", "grad_of",
                                     *CODE_HELPERS, *TORCH_HELPERS}
_GRAD = "dL_d"


class ExportError(EngineError):
    """A graph that cannot be exported (an op the registry gives no code for)."""


# ------------------------------------------------------------------ the plan

@dataclass
class _Plan:
    """What every format needs: the order, the names and which nodes carry a gradient."""

    graph: Graph
    output: str
    order: list[str]
    #: node id → its variable in a script
    var: dict[str, str]
    #: node id → the variable of ∂L/∂node
    grad: dict[str, str]
    #: nodes that depend on a leaf the gradient is taken with respect to
    variable: set[str]
    on_path: set[str]
    #: the leaves whose gradients are printed, in id order
    leaves: list[str]
    #: with a dataset: its training rows (what the mean is over)
    dataset: Dataset | None = None
    rows: np.ndarray | None = None
    helpers: set[str] = field(default_factory=set)

    @property
    def on_data(self) -> bool:
        return self.dataset is not None


def _plan(graph: Graph) -> _Plan:
    output = graph.resolve_output()  # OutputError names the candidates
    for nid in graph.ids():
        spec = OPS[graph.op_of(nid)]
        if not spec.has_code:
            raise ExportError(f"the op {quote(spec.name)} has no code to export "
                              f"(node {quote(graph.name_of(nid))})")
    ds = graph.dataset if graph.dataset is not None and graph.data_leaves() else None
    rows = None
    if ds is not None:
        missing = sorted({str(graph.column_of(n)) for n in graph.data_leaves()
                          if graph.column_of(n) not in ds.columns})
        if missing:
            raise DataError(f"a data leaf reads the column {quote(missing[0])}, which the "
                            f"dataset does not have (columns: {clip(', '.join(ds.names))})")
        rows = ds.rows("train")
        if len(rows) == 0:  # as the engine: every row when none is a training row
            rows = ds.rows("all")
        if len(rows) == 0:  # a mean over no rows: the engine refuses it too
            raise DataError("no rows to evaluate on")
    kinds = ("input", "param") if ds is not None else VARIABLE_KINDS
    order = graph.topological_order()
    variable: set[str] = set()
    for nid in order:
        if graph.op_of(nid) in kinds or any(s in variable for _, s in graph.inputs(nid)):
            variable.add(nid)
    on_path = _ancestors(graph, output)
    var = _identifiers(graph, order)
    taken = set(var.values()) | _TAKEN
    grad = {}
    for nid in order:
        g = _unique(_GRAD + var[nid], taken)
        taken.add(g)
        grad[nid] = g
    leaves = [n for n in graph.ids() if graph.op_of(n) in kinds]
    return _Plan(graph, output, order, var, grad, variable, on_path, leaves, ds, rows)


def _ancestors(graph: Graph, nid: str) -> set[str]:
    seen, stack = {nid}, [nid]
    pred = graph.nx._pred
    while stack:
        for s in pred[stack.pop()]:
            if s not in seen:
                seen.add(s)
                stack.append(s)
    return seen


def identifier(name: str) -> str:
    """A node name as a Python identifier a script may assign: letters, digits and _
    (NFKC-normal, as Python reads names), not starting with a digit or ``__``, and no
    keyword, soft keyword, builtin or name the scripts use themselves."""
    s = unicodedata.normalize("NFKC", str(name))
    s = "".join(c if ("_" + c).isidentifier() else "_" for c in s)
    s = unicodedata.normalize("NFKC", s)
    if not ("_" + s).isidentifier():
        s = re.sub(r"[^0-9A-Za-z_]", "_", s)
    s = s[:60]
    if not s.strip("_"):
        s = "v"
    if s[0].isdigit() or s.startswith("__"):
        s = "v" + s
    if keyword.iskeyword(s) or keyword.issoftkeyword(s) or s in _TAKEN:
        s += "_"
    return s


def _unique(s: str, taken: set[str]) -> str:
    if s not in taken and not keyword.iskeyword(s):
        return s
    i = 2
    while f"{s}_{i}" in taken:
        i += 1
    return f"{s}_{i}"


def _identifiers(graph: Graph, order: list[str]) -> dict[str, str]:
    """Every node's variable, unique: the first node in id order keeps a contested name."""
    taken = set(_TAKEN)
    out = {}
    for nid in graph.ids():
        v = _unique(identifier(graph.name_of(nid)), taken)
        taken.add(v)
        out[nid] = v
    return out


_UNSAFE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def one_line(text: str, limit: int = 160) -> str:
    """Free text made safe for a comment: one line, no control, format (bidirectional)
    or unassigned characters, at most ``limit`` characters."""
    s = "".join(" " if unicodedata.category(c) in _UNSAFE else c for c in str(text))
    s = " ".join(s.split())
    return s if len(s) <= limit else s[:limit - 1] + "…"


def _label(text: str) -> str:
    """A string literal (ASCII source) that prints ``text`` on one line, whole: a label
    holds two names of up to MAX_NAME characters, and a clipped one could end two
    leaves' labels alike (and lose its " =")."""
    return ascii(one_line(text, 2 * MAX_NAME + 8))


# ------------------------------------------------------------------ code text

class _Operands:
    """A variadic op's operands inside a template: ``{xs: + }`` joins them with ``" + "``."""

    def __init__(self, names: list[str], empty: str) -> None:
        self.names, self.empty = names, empty

    def __format__(self, sep: str) -> str:
        return sep.join(self.names) if self.names else self.empty


def _num(x: float, lang: str) -> str:
    """A number as code that reads back exactly (repr), NaN and infinities included."""
    x = float(x)
    if math.isfinite(x):
        return repr(x)
    if lang == "numpy":
        return "np.nan" if math.isnan(x) else ("np.inf" if x > 0 else "-np.inf")
    return 'float("nan")' if math.isnan(x) else ('float("inf")' if x > 0 else 'float("-inf")')


_SIMPLE = re.compile(r"-?(?:[A-Za-z_]\w*|\d+(?:\.\d*)?(?:e-?\d+)?)")


def _paren(code: str) -> str:
    return code if _SIMPLE.fullmatch(code) else f"({code})"


def _open_port(p: _Plan, nid: str) -> str | None:
    spec = OPS[p.graph.op_of(nid)]
    if spec.variadic or spec.is_leaf:
        return None
    fed = {port for port, _ in p.graph.inputs(nid)}
    return next((port for port in spec.ports if port not in fed), None)


def _forward_code(p: _Plan, nid: str, lang: str) -> str:
    g = p.graph
    spec = OPS[g.op_of(nid)]
    ins = g.inputs(nid)
    if spec.variadic:
        # a numpy float, not Python's 0.0: Python raises on 1.0 / 0.0 where numpy gives inf
        empty = "np.float64(0.0)" if lang == "numpy" else "torch.tensor(0.0, dtype=torch.float64)"
        return spec.code_text(lang).format(xs=_Operands([p.var[s] for _, s in ins], empty))
    names = {port: p.var[s] for port, s in ins}
    return spec.code_text(lang, g.attrs_of(nid)).format(**names, out=p.var[nid])


def _local_code(p: _Plan, src: str, nid: str, port: str) -> str:
    g = p.graph
    spec = OPS[g.op_of(nid)]
    if _open_port(p, nid) is not None:
        return "np.nan"  # the node has no value, so no slope either
    names = {} if spec.variadic else {pt: p.var[s] for pt, s in g.inputs(nid)}
    return spec.code_deriv_text(port, g.attrs_of(nid)).format(**names, out=p.var[nid])


def _aligned(rows: list[tuple[str, str]], cap: int = 44) -> list[str]:
    """Code lines with their comments lined up (a comment may be empty)."""
    width = min(cap, max((len(c) for c, _ in rows), default=0))
    return [f"{c:<{width}}  # {m}".rstrip() if m else c for c, m in rows]


def _array(values: np.ndarray, lead: str, close: str) -> list[str]:
    """``lead[v, v, …]close`` wrapped at 88 columns, each number exact (repr)."""
    body = ", ".join(repr(float(v)) for v in values)
    lines = textwrap.wrap(body, 84, break_on_hyphens=False) or [""]
    return [lead + "["] + ["    " + ln for ln in lines] + ["]" + close]


def _header(p: _Plan, what: str, title: str) -> list[str]:
    g = p.graph
    lines = [f"# {one_line(title) or 'A graph'}: {MARK} as {what}."]
    if g.note:
        lines.append("#")
        lines += ["# " + ln for ln in textwrap.wrap(one_line(g.note, 2000), 86)]
    return lines


def _data_intro(p: _Plan) -> list[str]:
    ds, n = p.dataset, len(p.rows)
    left = ds.n_rows - n
    name = f" {one_line(ds.name, 60)}" if ds.name else ""
    lines = [f"# The dataset{name}: {n} training rows; each data leaf holds one number per row"]
    if left:
        lines.append(f"# ({left} test rows are left out: the loss is the mean over the "
                     "training rows).")
    return lines + [f"N = {n}"]


def _leaf_rows(p: _Plan, lang: str) -> list[str]:
    g = p.graph
    rows: list[tuple[str, str]] = []
    arrays: list[str] = []
    for nid in p.order:
        op = g.op_of(nid)
        if not OPS[op].is_leaf:
            continue
        v = p.var[nid]
        if op == "data" and p.on_data:
            col = g.column_of(nid)
            values = p.dataset.columns[col][p.rows]
            lead = f"{v} = np.array(" if lang == "numpy" else f"{v} = torch.tensor("
            close = ")" if lang == "numpy" else ", dtype=torch.float64)"
            arrays.append(f"# {one_line(display_name(g, nid))}: the column "
                          f"{one_line(quote(str(col), 60))}")
            arrays += _array(values, lead, close)
            continue
        value = _num(g.nx.nodes[nid]["value"], lang)
        kind = "a constant" if op == "const" else op
        if lang == "numpy":
            code = f"{v} = np.float64({value})"
        elif nid in p.variable:
            code = f"{v} = torch.tensor({value}, dtype=torch.float64, requires_grad=True)"
        else:
            code = f"{v} = torch.tensor({value}, dtype=torch.float64)"
        rows.append((code, f"{one_line(display_name(g, nid), 60)}: {kind}"))
    return _aligned(rows, 72 if lang == "torch" else 44) + arrays


def _forward_rows(p: _Plan, lang: str) -> list[str]:
    g = p.graph
    rows = []
    for nid in p.order:
        if OPS[g.op_of(nid)].is_leaf:
            continue
        missing = _open_port(p, nid)
        if missing is not None:
            nan = "np.nan" if lang == "numpy" else 'torch.tensor(float("nan"), dtype=torch.float64)'
            fed = [p.var[s] for _, s in g.inputs(nid) if s in p.variable]
            if lang == "torch" and fed:  # NaN, with NaN slopes to what it is fed, as the
                # numpy script's backward has them: backward() needs a graph to walk
                nan = " + ".join(f'{v} * float("nan")' for v in fed)
            rows.append((f"{p.var[nid]} = {nan}",
                         f"{one_line(display_name(g, nid), 60)}: its port "
                         f"{one_line(quote(missing, 40))} is not connected"))
            continue
        rows.append((f"{p.var[nid]} = {_forward_code(p, nid, lang)}",
                     one_line(node_formula(g, nid), 120)))
    return _aligned(rows)


def _helpers(code: list[str], helpers: dict[str, str] = CODE_HELPERS) -> list[str]:
    """The definitions of the registry's helpers (functions, or classes for PyTorch)
    the code uses."""
    text = "\n".join(code)
    out = []
    for name, source in helpers.items():
        if re.search(rf"(?<![\w.]){name}[(.]", text):
            out += source.rstrip("\n").split("\n") + ["", ""]
    return out


# ------------------------------------------------------------------ NumPy

def to_numpy(graph: Graph, title: str = "") -> str:
    """A NumPy script: the forward pass one node per line in topological order, then the
    backward pass one line per edge in reverse topological order — the chain rule as a
    program — and the loss and each leaf's gradient printed exactly (repr)."""
    p = _plan(graph)
    g = p.graph
    out_id = p.output
    of = one_line(display_name(g, out_id), 40)
    leaves = _leaf_rows(p, "numpy")
    forward = _forward_rows(p, "numpy")
    backward: list[tuple[str, str]] = []
    started: set[str] = set()
    if out_id in p.variable:
        one = "np.ones(N)" if p.on_data else "1.0"
        backward.append((f"{p.grad[out_id]} = {one}",
                         f"∂{of}/∂{of} = 1" + (" on every row" if p.on_data else "")))
        started.add(out_id)
        G = g.nx
        for nid in reversed(p.order):
            if nid not in p.on_path or nid not in p.variable:
                continue
            dn = one_line(display_name(g, nid), 40)
            for src, _, port in G.in_edges(nid, keys=True):
                if src not in p.variable:
                    continue  # a constant (or the data alone): nothing to send back
                local = _local_code(p, src, nid, port)
                op = "+=" if src in started else "="
                started.add(src)
                tag = ""
                if G.number_of_edges(src, nid) > 1:
                    tag = f" [{one_line(OPS[g.op_of(nid)].port_label(port), 20)}]"
                sn = one_line(display_name(g, src), 40)
                backward.append((f"{p.grad[src]} {op} {p.grad[nid]} * {_paren(local)}",
                                 f"∂{of}/∂{dn} · ∂{dn}/∂{sn}{tag}"))
    for nid in p.leaves:
        if nid not in started:
            backward.append((f"{p.grad[nid]} = 0.0",
                             f"{one_line(display_name(g, nid), 40)} does not reach {of}"))
    code = leaves + forward + [c for c, _ in backward]
    mean = "mean_over_rows" if p.on_data else "float"
    lines = ["#!/usr/bin/env python3"] + _header(p, "NumPy code", title)
    lines += [
        "#",
        "# The forward pass computes one node per line, in topological order. The backward",
        "# pass is the chain rule written out: one line per edge, in reverse topological",
        f"# order, each adding ∂{of}/∂(target) × ∂(target)/∂(source) to ∂{of}/∂(source).",
        "# The last lines print the loss and each leaf's gradient exactly (repr).",
        "",
        "import numpy as np",
        "",
        "np.seterr(all=\"ignore\")  # a fault gives NaN or ±inf on its node, as in the editor",
        "", "",
    ]
    lines += _helpers(code)
    if p.on_data:
        lines += [
            "def mean_over_rows(v):",
            "    \"\"\"The mean over the N training rows (of a number the same on every row, "
            "too).\"\"\"",
            "    return float(np.mean(np.broadcast_to(v, (N,))))",
            "", "",
        ] + _data_intro(p) + [""]
    lines += ["# Leaves"] + leaves + [""]
    lines += ["# Forward pass, in topological order"] + forward + [""]
    lines += ["# Backward pass, in reverse topological order: one line per edge"]
    lines += _aligned(backward) + [""]
    what = "the mean over the training rows" if p.on_data else "the output"
    lines += [f"# {what[0].upper() + what[1:]} and each leaf's gradient"
              + (" (the mean of the rows' gradients)" if p.on_data else "")]
    lines.append(f"print({_label(g.name_of(out_id) + ' =')}, repr({mean}({p.var[out_id]})))")
    for nid in p.leaves:
        lines.append(f"print({_label(f'd{g.name_of(out_id)}/d{g.name_of(nid)} =')}, "
                     f"repr({mean}({p.grad[nid]})))")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ PyTorch

def to_torch(graph: Graph, title: str = "") -> str:
    """A PyTorch script: the same function on float64 tensors, the leaves with
    ``requires_grad=True``, ``backward()``, and each leaf's gradient printed (repr)."""
    p = _plan(graph)
    g = p.graph
    out_id = p.output
    leaves = _leaf_rows(p, "torch")
    forward = _forward_rows(p, "torch")
    lines = ["#!/usr/bin/env python3"] + _header(p, "PyTorch code", title)
    lines += [
        "#",
        "# The same function on float64 tensors (so the numbers match the editor's); the",
        "# leaves created with requires_grad=True are what backward() differentiates for.",
        "",
        "import torch",
        "", "",
        "def grad_of(t):",
        "    \"\"\"A leaf's gradient: 0.0 where the output does not depend on it.\"\"\"",
        "    return 0.0 if t.grad is None else t.grad.item()",
        "", "",
    ]
    lines += _helpers(forward, TORCH_HELPERS)
    if p.on_data:
        lines += _data_intro(p) + [""]
    lines += ["# Leaves"] + leaves + [""]
    lines += ["# Forward pass"] + forward + [""]
    y = p.var[out_id]
    loss = y
    if p.on_data:
        loss = _unique("loss", set(p.var.values()) | set(p.grad.values()) | _TAKEN)
        lines += [f"{loss} = {y}.mean()  # the mean over the N training rows"]
    if out_id in p.variable:
        lines += [f"{loss}.backward()", ""]
    else:
        lines += [f"# {one_line(display_name(g, out_id), 40)} depends on no input or param: "
                  "nothing to differentiate", ""]
    lines.append(f"print({_label(g.name_of(out_id) + ' =')}, repr({loss}.item()))")
    for nid in p.leaves:
        lines.append(f"print({_label(f'd{g.name_of(out_id)}/d{g.name_of(nid)} =')}, "
                     f"repr(grad_of({p.var[nid]})))")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ LaTeX

def _tex_prose(text: str) -> str:
    """Free text for a LaTeX document: its specials escaped, on one line, ASCII only."""
    out = []
    for c in one_line(text, 200):
        if c in "&%$#_{}":
            out.append("\\" + c)
        elif c == "\\":
            out.append(r"\textbackslash{}")
        elif c in "~^":
            out.append(r"\string" + c)
        elif c == "−":
            out.append("-")
        elif c == "…":
            out.append(r"\ldots{}")
        elif c.isascii():
            out.append(c)
        else:
            out.append("?")
    return "".join(out)


def _tex_safe(graph: Graph) -> Graph:
    """A copy whose names LaTeX can typeset with no package beyond amsmath: a name whose
    LaTeX is not plain ASCII (or that is no identifier at all) becomes its identifier."""
    g = graph.copy()
    taken = set(g.names())
    for nid in g.ids():
        name = g.name_of(nid)
        ok = (name.isascii() and name.isidentifier()) or (
            name.isidentifier() and latex_name(name).isascii())
        if not ok:
            new = _unique(re.sub(r"[^0-9A-Za-z_]", "_", identifier(name)) or "v", taken)
            taken.add(new)
            g.nx.nodes[nid]["name"] = new
    return g


def _top_level(tex: str) -> str:
    """``tex`` without whatever is inside brackets."""
    out, depth = [], 0
    for c in tex:
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif depth == 0:
            out.append(c)
    return "".join(out)


def _kind(tex: str) -> str:
    """How an operand binds: "atom", "product", "apply" (``\\sin x``) or "sum"."""
    top = _top_level(tex)
    if " " not in top and not tex.startswith("-"):
        return "atom"  # a name, a number, or a call: σ(…), \frac{…}{…}, \left(…\right)
    if tex.startswith("-") or " + " in top or " - " in top:
        return "sum"
    if re.search(r"\\(sin|cos|tanh|ln)\b", top):
        return "apply"
    return "product"


def _operand_tex(template: str, field_name: str, operand: str) -> str:
    """``operand`` in parentheses where its place in the template needs them: a sum
    after a minus or in a product, anything compound under a power or after ``\\sin``;
    never inside braces or parentheses of the template itself."""
    kind = _kind(operand)
    i = template.index("{" + field_name + "}")
    before = template[:i].rstrip()
    after = template[i + len(field_name) + 2:].lstrip()
    if kind == "atom":
        # raised, a power (a^{2}^{3} is no formula) or a fraction needs its brackets
        raised = after.startswith("^") and ("^" in _top_level(operand)
                                            or operand.startswith(r"\frac"))
        return r"\left(" + operand + r"\right)" if raised else operand
    if before.endswith(("{", "^")) or (before.endswith("(") and after.startswith(")")) \
            or (before.endswith(r"\left|") and after.startswith(r"\right|")):
        return operand
    if after.startswith("^"):
        return r"\left(" + operand + r"\right)"
    additive = (before in ("", "(") or before.endswith("+")) and \
        (after == "" or after.startswith(("+", "-", ")")))
    if kind == "product":
        keep = not re.search(r"\\[A-Za-z]+$", before) or before.endswith(r"\cdot")
    elif kind == "apply":  # a − sin x is fine; sin x · y is not
        keep = additive or (before.endswith("-")
                            and (after == "" or after.startswith(("+", "-", ")"))))
    else:  # a sum: only where it is added
        keep = additive
    return operand if keep else r"\left(" + operand + r"\right)"


def _whole_formula(g: Graph, order: list[str]) -> dict[str, str | None]:
    """Each node as one formula of the leaves (None once longer than MAX_FORMULA)."""
    tex: dict[str, str | None] = {}
    for nid in order:
        spec = OPS[g.op_of(nid)]
        if spec.is_leaf:
            tex[nid] = latex_node(g, nid)
            continue
        ins = g.inputs(nid)
        if any(tex[s] is None for _, s in ins):
            tex[nid] = None
            continue
        if spec.variadic:
            terms = [tex[s] if not tex[s].startswith("-") else r"\left(" + tex[s] + r"\right)"
                     for _, s in ins]
            t = " + ".join(terms) if terms else "0"
        else:
            template = spec.tex_text(g.attrs_of(nid))
            names = {port: "?" for port in spec.ports}
            for port, s in ins:
                names[port] = _operand_tex(template, port, tex[s])
            t = template_latex(template, names)
        tex[nid] = t if len(t) <= MAX_FORMULA else None
    return tex


def _node_tex(g: Graph, nid: str) -> str:
    spec = OPS[g.op_of(nid)]
    if spec.variadic:
        terms = [latex_node(g, s) for _, s in g.inputs(nid)]
        return " + ".join(terms) if terms else "0"
    names = {port: "?" for port in spec.ports}
    for port, s in g.inputs(nid):
        names[port] = latex_node(g, s)
    names["out"] = latex_node(g, nid)
    return template_latex(spec.tex_text(g.attrs_of(nid)), names)


def to_latex(graph: Graph, title: str = "") -> str:
    """A standalone LaTeX document (amsmath): the forward function node by node and as
    one formula of the leaves, and each leaf's gradient as the chain rule's sum over
    paths of products of local-derivative formulas, with its value."""
    p = _plan(graph)
    g = _tex_safe(p.graph)
    out_id = p.output
    L = latex_node(g, out_id)
    heading = _tex_prose(title) if title else "A computational graph"
    lines = [
        f"% {one_line(title) or 'A graph'}: {MARK} as LaTeX (needs only amsmath).",
        r"\documentclass{article}",
        r"\usepackage[T1]{fontenc}",
        r"\usepackage{amsmath}",
        r"\allowdisplaybreaks",
        r"\begin{document}",
        rf"\section*{{{heading}}}",
        "",
        r"\subsection*{The function}",
    ]
    ops = [n for n in p.order if not OPS[g.op_of(n)].is_leaf]
    if ops:
        lines += ["Node by node, in topological order:", r"\begin{align*}"]
        lines.append(" \\\\\n".join(f"{latex_node(g, n)} &= {_node_tex(g, n)}" for n in ops))
        lines += [r"\end{align*}"]
    whole = _whole_formula(g, p.order)[out_id]
    if ops and whole is not None:
        lines += ["As one formula of the leaves:", rf"\[ {L} = {whole} \]"]
    elif ops:
        lines += [f"(Too long to write out as one formula of the leaves: the {len(ops)} "
                  "lines above are the same function.)"]
    values = []
    for n in p.order:
        op = g.op_of(n)
        if op in ("input", "param") or (op == "data" and not p.on_data):
            values.append(f"${latex_node(g, n)} = {latex_number(g.nx.nodes[n]['value'], 6)}$")
    if values:
        lines += ["", "At " + ", ".join(values) + "."]
    if p.on_data:
        data = ", ".join(f"${latex_node(g, n)}$" for n in g.data_leaves())
        lines += ["", f"The data leaves {data} hold one row of the dataset each time; the "
                  f"function trained is the mean of ${L}$ over the $N = {len(p.rows)}$ "
                  r"training rows: $\bar{L} = \frac{1}{N} \sum_{i=1}^{N} L_i$, and each "
                  "gradient is the mean of the rows' gradients."]
    lines += ["", r"\subsection*{The gradients}"]
    if p.on_data:
        lines += _gradients_on_data(p, g, L)
    else:
        from engine.evaluate import evaluate
        r = evaluate(g)
        lines.append(rf"With these values ${L} = {latex_number(r.value(out_id), 6)}$.")
        for nid in p.leaves:
            d = derive(g, r, nid)
            lines += ["", rf"\paragraph{{${d.latex_symbol}$}}",
                      _ascii_tex(derivation_latex(d)).rstrip("\n")]
    lines += ["", r"\end{document}"]
    return "\n".join(lines) + "\n"


def _ascii_tex(tex: str) -> str:
    """The derivation's prose, made plain ASCII for any LaTeX engine."""
    return tex.replace("−", "-").replace("…", r"\ldots{}").replace("→", r"$\to$")


def _gradients_on_data(p: _Plan, g: Graph, L: str) -> list[str]:
    """Each param's gradient as the sum over paths of local-derivative formulas, and its
    value: the mean over the training rows (the engine's batch gradient)."""
    from engine.fast.batch import compile_batch, one_sample
    plan = compile_batch(g, p.dataset, p.rows)
    with np.errstate(all="ignore"):
        batch = plan.evaluate()
    row = one_sample(g, int(p.rows[0]), p.dataset)
    from engine.evaluate import evaluate
    r = evaluate(row)
    lines = [rf"With these values $\bar{{L}} = {latex_number(batch.mean_loss, 6)}$."]
    for nid in p.leaves:
        d = derive(row, r, nid)
        sym = d.latex_symbol
        mean = partial_latex(r"\bar{L}", d.wrt_latex)
        value = batch.batch_grad(nid)
        lines += ["", rf"\paragraph{{${mean}$}}"]
        terms = []
        for t in d.paths:
            fs = [f.latex_formula for f in t.factors]
            fs = [rf"\left({f}\right)" if len(fs) > 1 and (" " in f) else f for f in fs]
            terms.append(r" \cdot ".join(fs) or "1")
        if d.more:
            terms.append(rf"\ldots\ \text{{({d.more} more paths)}}")
        body = " + ".join(terms) if terms else "0"
        lines += [r"\[", r"\begin{aligned}",
                  rf"{sym} &= {body} \\",
                  rf"{mean} &= \frac{{1}}{{N}} \sum_{{i=1}}^{{N}} {sym}\Big|_{{\text{{row }} i}}"
                  rf" = {latex_number(value if value is not None else math.nan)}",
                  r"\end{aligned}", r"\]"]
    return lines


def export_text(graph: Graph, to: str, title: str = "") -> str:
    """The graph as ``to`` ("torch", "numpy" or "latex")."""
    if to == "torch":
        return to_torch(graph, title)
    if to == "numpy":
        return to_numpy(graph, title)
    if to == "latex":
        return to_latex(graph, title)
    raise ValueError(f"unknown export format {to!r} (choose from {', '.join(FORMATS)})")
