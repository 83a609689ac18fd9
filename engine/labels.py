"""Display text built from the registry: node formulas and edge labels.

The editor, the CLI table and (later) the derivation panel all show the chain rule
with these strings, so a formula is written in exactly one place: engine/ops.py.
"""

from __future__ import annotations

import math

from engine.graph import Graph
from engine.result import Result
from engine.names import pretty
from engine.numfmt import fmt
from engine.ops import OPS

OUTPUT_SYMBOL = "L"


def display_name(graph: Graph, nid: str) -> str:
    """``w₁`` for named nodes; a constant shows its number instead of its name."""
    op = graph.op_of(nid)
    if op == "const":
        return fmt(graph.nx.nodes[nid]["value"], 6)
    return pretty(graph.name_of(nid))


def _operand_names(graph: Graph, nid: str) -> dict[str, str]:
    names = {p: "?" for p in OPS[graph.op_of(nid)].ports}
    for port, src in graph.inputs(nid):
        names[port] = display_name(graph, src)
    return names


def node_formula(graph: Graph, nid: str) -> str:
    """``ŷ = w₂·h``; a leaf gives its kind and value (``x = 2``)."""
    spec = OPS[graph.op_of(nid)]
    me = display_name(graph, nid)
    if spec.is_leaf:
        return f"{me} = {fmt(graph.nx.nodes[nid]['value'], 6)}"
    if spec.variadic:
        terms = [display_name(graph, s) for _, s in graph.inputs(nid)]
        return f"{me} = {' + '.join(terms) if terms else '0'}"
    text = spec.formula_text(graph.attrs_of(nid))
    return f"{me} = {text.format(**_operand_names(graph, nid), out=me)}"


def local_formula(graph: Graph, src: str, dst: str, port: str) -> str:
    """``∂ŷ/∂h = w₂``: the local derivative at this port, operands by name."""
    spec = OPS[graph.op_of(dst)]
    template = spec.deriv_text(port, graph.attrs_of(dst))
    names = _operand_names(graph, dst) if not spec.variadic else {}
    body = template.format(**names, out=display_name(graph, dst))
    return f"∂{display_name(graph, dst)}/∂{display_name(graph, src)}{_port_tag(graph, src, dst, port)} = {body}"


def local_formulas(graph: Graph, dst: str) -> dict[tuple[str, str], str]:
    """``local_formula`` of every edge into ``dst``, keyed by (source, port): the names
    and the template are looked up once for the node rather than once per edge (the
    layout measures every label of a 100,000-node graph)."""
    G = graph.nx
    d = G._node[dst]
    spec = OPS[d["op"]]
    attrs = d.get("attrs")
    me = display_name(graph, dst)
    pred = G._pred[dst]
    srcs = {s: display_name(graph, s) for s in pred}
    if spec.variadic:
        names: dict[str, str] = {}
    else:
        names = {p: "?" for p in spec.ports}
        for s, keys in pred.items():
            for k in keys:
                names[k] = srcs[s]
    out = {}
    for s, keys in pred.items():
        tag = len(keys) > 1
        for k in keys:
            body = spec.deriv_text(k, attrs).format(**names, out=me)
            port_tag = f" [{spec.port_label(k)}]" if tag else ""
            out[(s, k)] = f"∂{me}/∂{srcs[s]}{port_tag} = {body}"
    return out


def local_text(graph: Graph, result: Result, src: str, dst: str, port: str) -> str:
    """``∂ŷ/∂h = w₂ = 0.3`` (the number once when the formula is it), or, where the local
    derivative is not finite, the sentence saying why: ``∂a/∂x: log is undefined for −1``."""
    er = result.edges[(src, dst, port)]
    lf = local_formula(graph, src, dst, port)
    lhs, _, rhs = lf.partition(" = ")
    num = fmt(er.local)
    if not math.isfinite(er.local) and er.reason:
        return f"{lhs} = {num}: {er.reason}" if math.isinf(er.local) else f"{lhs}: {er.reason}"
    return f"{lhs} = {num}" if rhs == num else f"{lhs} = {rhs} = {num}"


def _port_tag(graph: Graph, src: str, dst: str, port: str) -> str:
    """When one node feeds several ports of the same op (x·x), name the port."""
    if graph.nx.number_of_edges(src, dst) > 1:
        return f" [{OPS[graph.op_of(dst)].port_label(port)}]"
    return ""


def grad_symbol(graph: Graph, result: Result, nid: str) -> str:
    """``∂L/∂ŷ`` (or ``∂L/∂L``-free ``1`` for the output itself)."""
    out = result.output
    oname = display_name(graph, out) if out is not None else OUTPUT_SYMBOL
    return f"∂{oname}/∂{display_name(graph, nid)}"


def edge_label(graph: Graph, result: Result, src: str, dst: str, port: str,
               mode: str = "both") -> list[str]:
    """Label lines for an edge. ``mode``: none, local, product, both or formulas.

    local:    ``∂ŷ/∂h = 0.3``
    product:  ``∂L/∂ŷ × 0.3 = −0.42``
    both:     ``∂ŷ/∂h = w₂ = 0.3`` and ``∂L/∂ŷ × 0.3 = −0.42``
    formulas: ``∂ŷ/∂h = w₂`` and ``∂L/∂ŷ · w₂`` (symbolic only)

    An edge leaving a constant has no label: nothing is differentiated along it. A
    local derivative that is not finite is said in words (``∂a/∂x: log is undefined
    for −1``), not as a formula that evaluates to NaN.
    """
    if mode == "none":
        return []
    er = result.edges.get((src, dst, port))
    if er is None or er.local is None:
        return []
    lines: list[str] = []
    lf = local_formula(graph, src, dst, port)
    lhs, _, rhs = lf.partition(" = ")
    num = fmt(er.local)
    if mode == "formulas":
        lines.append(lf)
    elif mode == "both" or (not math.isfinite(er.local) and er.reason and mode == "local"):
        lines.append(local_text(graph, result, src, dst, port))
    elif mode == "local":
        lines.append(f"{lhs} = {num}")
    if mode in ("product", "both", "formulas"):
        if not er.on_path:
            lines.append("off the path to the output")
        elif mode == "formulas":
            lines.append(f"{grad_symbol(graph, result, dst)} · {rhs}")
        else:
            lines.append(f"{grad_symbol(graph, result, dst)} × {_paren(num)} = {fmt(er.product)}")
            if not math.isfinite(er.product) and er.reason and math.isfinite(er.local):
                lines.append(er.reason)  # NaN or ∞ on the canvas comes with its sentence
    return lines


def _paren(num: str) -> str:
    return f"({num})" if num.startswith("−") else num


LABEL_MODES = ("none", "local", "product", "both", "formulas")


def derivative_rows(graph: Graph, result: Result, nid: str) -> list[tuple[str, str, str]]:
    """For an op node: (port label, generic formula filled with names, number) per fed port."""
    rows = []
    spec = OPS[graph.op_of(nid)]
    for port, src in graph.inputs(nid):
        er = result.edges.get((src, nid, port))
        if er is not None and er.local is None:
            number = "not needed: a constant"
        elif er is not None and not math.isfinite(er.local) and er.reason:
            number = f"{fmt(er.local)} ({er.reason})"
        else:
            number = fmt(er.local) if er else "?"
        rows.append((spec.port_label(port), local_formula(graph, src, nid, port), number))
    return rows


def sample_caption(result) -> str:
    """Which numbers a Result holds when the graph is evaluated over a dataset:
    ``sample 7 of 200 (train) · moons``, or the batch means; "" for one sample."""
    b = getattr(result, "batch", None)
    if b is None:
        return ""
    name = f" · {b.dataset}" if b.dataset else ""
    if b.sample is None:
        return f"means over {b.n:,} training samples{name}"
    return f"sample {b.sample + 1} of {b.rows:,} ({'test' if b.test else 'train'}){name}"


_DOT = "\u0307"
_SUBSCRIPT_DIGITS = "₀₁₂₃₄₅₆₇₈₉"


def tangent_symbol(graph: Graph, nid: str) -> str:
    """Forward mode's tangent of a node, written with Newton's dot: ``ẇ₁``, ``ḣ``,
    ``L̇``. A name longer than one letter takes the dot after parentheses, ``(loss)˙``,
    so the dot never sits on one letter of a word; so does a letter that wears a mark
    already, ``(ŷ)˙``: a dot on a hat is drawn on top of it and cannot be seen."""
    import unicodedata
    name = display_name(graph, nid)
    base = name.rstrip(_SUBSCRIPT_DIGITS)
    sub = name[len(base):]
    if len(base) == 1 and base.isalpha():
        return unicodedata.normalize("NFC", base + _DOT) + sub
    return f"({name})˙"
