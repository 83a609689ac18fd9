"""The graph model: a networkx MultiDiGraph with one edge per fed input port.

Edges are keyed by the target's port name, so ``x·x`` is two edges x→m (ports
``a`` and ``b``) each keeping its own numbers. Node ids (``n1``, ``n2``, …) are
short, stable across save/load and never reused within a graph's life, so undo,
files and the editor can all refer to a node by id.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Iterator

import networkx as nx

from engine.errors import (
    CycleError,
    InvalidNameError,
    InvalidValueError,
    OutputError,
    PortError,
    PortTakenError,
    SelfLoopError,
    clip,
    quote,
)
from engine.names import MAX_NAME, is_valid_name, repair_text, unique_name
from engine.ops import ALIASES, MAX_PORT_DIGITS, OPS, OpSpec, variadic_port_key

_ID = re.compile(r"^n(\d+)$")
#: the form ids are written in: ``n`` and at most 18 digits, no leading zero (what the
#: fast engine parses in bulk); files holding other ids are renumbered on load
CANONICAL_ID = re.compile(r"n[1-9][0-9]{0,17}")


def is_canonical_id(nid: object) -> bool:
    return isinstance(nid, str) and CANONICAL_ID.fullmatch(nid) is not None
class _Reserved:
    """Names the expression parser reserves: op names and their short spellings
    (``bce``), used as calls; a live view of the registry, so an op registered later
    is reserved too."""

    def __contains__(self, name: object) -> bool:
        return name in OPS or name in ALIASES

    def __iter__(self) -> Iterator[str]:
        return iter([*OPS, *ALIASES])


RESERVED = _Reserved()


@dataclass(frozen=True)
class Node:
    """A read-only snapshot of one node."""

    id: str
    name: str
    op: str
    value: float
    pos: tuple[float, float]
    #: the op's fixed numbers (``{"exponent": 2.0}`` for a power node); empty for most
    attrs: dict[str, float] = field(default_factory=dict)
    #: the dataset column a data leaf is bound to (None for every other node)
    column: str | None = None

    @property
    def spec(self) -> OpSpec:
        return OPS[self.op]


def id_key(node_id: str) -> tuple[int, str]:
    """Sort key: ``n2`` before ``n10``."""
    m = _ID.match(node_id)
    return (int(m.group(1)), "") if m else (1 << 62, node_id)


def default_stem(op: str) -> str:
    return {"input": "x", "param": "w", "const": "c", "data": "x", "squared_error": "loss",
            "binary_cross_entropy": "loss"}.get(op, op)


class Graph:
    """A function built from nodes. Mutations validate and raise typed errors."""

    def __init__(self) -> None:
        self.nx = nx.MultiDiGraph()
        self.output: str | None = None
        self._note = ""
        self._names: dict[str, str] = {}
        self._next = 1
        self._name_hint: dict[str, int] = {}
        #: the samples ``data`` leaves read (engine.dataset.Dataset), or None: one sample
        self.dataset = None

    @property
    def note(self) -> str:
        """Free text shown with the graph (an example explains itself here)."""
        return self._note

    @note.setter
    def note(self, text: str) -> None:
        # repaired here, the one place every note passes through (loader, editor,
        # paste), so saving can never fail on it: a lone surrogate becomes U+FFFD
        self._note = repair_text(text)

    # ------------------------------------------------------------------ nodes
    def new_id(self) -> str:
        nid = f"n{self._next}"
        while nid in self.nx:
            self._next += 1
            nid = f"n{self._next}"
        self._next += 1
        return nid

    def add_node(self, op: str, name: str | None = None, value: float = 0.0,
                 pos: tuple[float, float] = (0.0, 0.0), id: str | None = None,
                 attrs: dict[str, float] | None = None, column: str | None = None) -> str:
        if op not in OPS:
            raise KeyError(f"unknown op {op!r}")
        spec = OPS[op]
        full_attrs = None
        if spec.attrs or attrs:
            full_attrs = spec.default_attrs()
            for k, v in (attrs or {}).items():
                if k not in full_attrs:
                    raise ValueError(f"{op} has no attribute {k!r}")
                full_attrs[k] = _finite_attr(k, v)
        if id is None:
            id = self.new_id()
        elif id in self.nx:
            raise ValueError(f"duplicate node id {id!r}")
        else:
            m = _ID.match(id)
            if m:
                self._next = max(self._next, int(m.group(1)) + 1)
        if name is None:
            name = unique_name(default_stem(op), self._names, self._name_hint)
        self._check_name(name)
        self.nx.add_node(id, name=name, op=op, value=float(value) if spec.is_leaf else 0.0,
                         pos=(float(pos[0]), float(pos[1])))
        if full_attrs is not None:
            self.nx.nodes[id]["attrs"] = full_attrs
        if op == "data":
            self.nx.nodes[id]["column"] = name if column is None else _column_name(column)
        self._names[name] = id
        return id

    def remove_node(self, nid: str) -> None:
        name = self.nx.nodes[nid]["name"]
        self.nx.remove_node(nid)
        del self._names[name]
        if self.output == nid:
            self.output = None

    def node(self, nid: str) -> Node:
        d = self.nx.nodes[nid]
        return Node(nid, d["name"], d["op"], d["value"], d["pos"], dict(d.get("attrs", ())),
                    d.get("column"))

    def __contains__(self, nid: object) -> bool:
        return nid in self.nx

    def __len__(self) -> int:
        return self.nx.number_of_nodes()

    def ids(self) -> list[str]:
        return sorted(self.nx.nodes, key=id_key)

    def nodes(self) -> Iterator[Node]:
        for nid in self.ids():
            yield self.node(nid)

    def id_of(self, name: str) -> str | None:
        return self._names.get(name)

    def name_of(self, nid: str) -> str:
        return self.nx.nodes[nid]["name"]

    def op_of(self, nid: str) -> str:
        return self.nx.nodes[nid]["op"]

    def attrs_of(self, nid: str) -> dict[str, float]:
        """The node's fixed numbers (a copy; empty for ops without any)."""
        return dict(self.nx.nodes[nid].get("attrs", ()))

    def set_attr(self, nid: str, name: str, value: float) -> None:
        """Change one of an op node's fixed numbers (the exponent of ``power``)."""
        d = self.nx.nodes[nid]
        if name not in OPS[d["op"]].attr_names:
            raise ValueError(f"{d['op']} has no attribute {name!r}")
        d["attrs"] = {**d["attrs"], name: _finite_attr(name, value)}  # copies share no dict

    def names(self) -> set[str]:
        return set(self._names)

    def _check_name(self, name: str, nid: str | None = None) -> None:
        """Every way a name enters a graph (add, rename, parser, loader, paste) passes
        here, so a graph never holds a name its file or its expression could not keep."""
        if isinstance(name, str) and len(name) > MAX_NAME:
            raise InvalidNameError(
                f"the name {quote(name)} is too long ({len(name):,} characters; "
                f"at most {MAX_NAME})")
        if not is_valid_name(name):
            raise InvalidNameError(
                f"{quote(name)} is not a valid name: use letters, digits and _, not starting "
                "with a digit")
        if name in RESERVED:
            raise InvalidNameError(f"{quote(name)} is the name of an op")
        other = self._names.get(name)
        if other is not None and other != nid:
            raise InvalidNameError(f"the name {quote(name)} is already used")

    def rename(self, nid: str, name: str) -> None:
        self._check_name(name, nid)
        old = self.nx.nodes[nid]["name"]
        del self._names[old]
        self._names[name] = nid
        self.nx.nodes[nid]["name"] = name

    def set_value(self, nid: str, value: float) -> None:
        if not OPS[self.op_of(nid)].is_leaf:
            raise ValueError("only input, param and const nodes hold a value")
        self.nx.nodes[nid]["value"] = float(value)

    def set_kind(self, nid: str, op: str) -> None:
        """Switch a leaf between input, param, const and data (keeping its value; a new
        data leaf is bound to the column of its own name until bound otherwise)."""
        if not (OPS[op].is_leaf and OPS[self.op_of(nid)].is_leaf):
            raise ValueError("only leaves can switch kind, and only to another leaf kind")
        d = self.nx.nodes[nid]
        d["op"] = op
        if op == "data":
            d.setdefault("column", d["name"])
        else:
            d.pop("column", None)

    def column_of(self, nid: str) -> str | None:
        """The dataset column a data leaf reads (None for every other node)."""
        return self.nx.nodes[nid].get("column")

    def bind(self, nid: str, column: str) -> None:
        """Bind a data leaf to a column (by name: the column need not exist yet; a
        missing column is reported when the graph is evaluated on a dataset)."""
        if self.op_of(nid) != "data":
            raise ValueError("only data leaves are bound to a column")
        self.nx.nodes[nid]["column"] = _column_name(column)

    def data_leaves(self) -> list[str]:
        return sorted((n for n, d in self.nx._node.items() if d["op"] == "data"), key=id_key)

    def set_pos(self, nid: str, pos: tuple[float, float]) -> None:
        self.nx.nodes[nid]["pos"] = (float(pos[0]), float(pos[1]))

    # ------------------------------------------------------------------ edges
    def connect_error(self, src: str, dst: str, port: str,
                      check_cycle: bool = True) -> Exception | None:
        """Why src → dst.port would be refused, or None when it is allowed."""
        if src not in self.nx or dst not in self.nx:
            return KeyError("no such node")
        spec = OPS[self.op_of(dst)]
        # names are a person's text: at most 40 characters each in a message
        dname, sname = clip(self.name_of(dst), 40), clip(self.name_of(src), 40)
        if spec.is_leaf or not spec.valid_port(port):
            if spec.variadic:
                ports = f"x1, x2, … with at most {MAX_PORT_DIGITS} digits"
            else:
                ports = ", ".join(spec.ports) if spec.ports else "none"
            return PortError(f"{dname} ({spec.name}) has no input port {quote(port)} "
                             f"(ports: {ports})")
        if src == dst:
            return SelfLoopError(f"{sname} cannot feed itself")
        fed = self.source_of(dst, port)
        if fed is not None:
            return PortTakenError(
                f"port {quote(port)} of {dname} is already fed by "
                f"{clip(self.name_of(fed), 40)}")
        if check_cycle and nx.has_path(self.nx, dst, src):
            return CycleError(f"{sname} → {dname} would make a cycle: {dname} already "
                              f"feeds {sname}")
        return None

    def connect(self, src: str, dst: str, port: str) -> None:
        err = self.connect_error(src, dst, port)
        if err is not None:
            raise err
        self.nx.add_edge(src, dst, key=port)

    def connect_trusted(self, src: str, dst: str, port: str) -> None:
        """Connect without the checks, for builders that have made them already (the
        parser adds nodes in topological order; the loader checks the whole file)."""
        self.nx.add_edge(src, dst, key=port)

    def disconnect(self, dst: str, port: str) -> str:
        src = self.source_of(dst, port)
        if src is None:
            raise PortError(f"port {quote(port)} of {clip(self.name_of(dst), 40)} is not "
                            "connected")
        self.nx.remove_edge(src, dst, key=port)
        return src

    def source_of(self, dst: str, port: str) -> str | None:
        for src, _, key in self.nx.in_edges(dst, keys=True):
            if key == port:
                return src
        return None

    def inputs(self, nid: str) -> list[tuple[str, str]]:
        """(port, source id) pairs in port order."""
        spec = OPS[self.op_of(nid)]
        edges = [(k, s) for s, _, k in self.nx.in_edges(nid, keys=True)]
        if spec.variadic:
            edges.sort(key=lambda e: variadic_port_key(e[0]))
        else:
            edges.sort(key=lambda e: spec.ports.index(e[0]))
        return edges

    def consumers(self, nid: str) -> list[tuple[str, str]]:
        """(target id, port) pairs fed by this node."""
        return sorted(((d, k) for _, d, k in self.nx.out_edges(nid, keys=True)),
                      key=lambda e: (id_key(e[0]), e[1]))

    def edges(self) -> list[tuple[str, str, str]]:
        """(source, target, port) for every edge, in a stable order."""
        # key tuples built once per node rather than per comparison
        keys = {n: id_key(n) for n in self.nx._node}
        edges = [(s, t, k) for t, ps in self.nx._pred.items() for s, ks in ps.items()
                 for k in ks]
        edges.sort(key=lambda e: (keys[e[1]], e[2], keys[e[0]]))
        return edges

    def ports(self, nid: str) -> list[str]:
        """The input ports a node shows: for ``sum``, the fed ones plus one free port."""
        spec = OPS[self.op_of(nid)]
        if not spec.variadic:
            return list(spec.ports)
        fed = sorted((k for _, _, k in self.nx.in_edges(nid, keys=True)), key=variadic_port_key)
        nxt = max((variadic_port_key(p) for p in fed), default=0) + 1
        return fed + [f"x{nxt}"]

    # ----------------------------------------------------------------- output
    def set_output(self, nid: str | None) -> None:
        if nid is not None and nid not in self.nx:
            raise KeyError(nid)
        self.output = nid

    def sinks(self) -> list[str]:
        return [n for n in self.ids() if self.nx.out_degree(n) == 0]

    def resolve_output(self) -> str:
        """The marked output, else the sole sink; OutputError names the candidates."""
        if self.output is not None:
            return self.output
        sinks = self.sinks()
        if len(sinks) == 1:
            return sinks[0]
        if not sinks:
            raise OutputError("the graph is empty: add a node to evaluate")
        names = [self.name_of(s) for s in sinks]
        raise OutputError(
            f"no output is marked and {len(sinks)} nodes feed nothing "
            f"({clip(', '.join(names[:8]))}{', …' if len(names) > 8 else ''}): "
            "mark one as the output", names)

    # ------------------------------------------------------------------ order
    def topological_order(self) -> list[str]:
        """The order forward passes use (ties broken by id, so it is reproducible);
        backward passes use it reversed. Iterative: no recursion limit."""
        return list(nx.lexicographical_topological_sort(self.nx, key=id_key))

    def copy(self) -> "Graph":
        g = Graph()
        g.nx = self.nx.copy()
        g.output = self.output
        g._note = self._note
        g._names = dict(self._names)
        g._next = self._next
        g._name_hint = dict(self._name_hint)
        g.dataset = self.dataset  # immutable: shared
        return g


def _column_name(column: object) -> str:
    """A column a data leaf may be bound to: text of 1 to MAX_NAME characters (what a
    file can hold; lone surrogates become U+FFFD)."""
    c = repair_text(str(column))
    if not 1 <= len(c) <= MAX_NAME:
        raise InvalidNameError(f"a column name has 1 to {MAX_NAME} characters, not {len(c):,}")
    return c


def _finite_attr(name: str, value: float) -> float:
    """An op's fixed number (a power's exponent) must be finite: nothing could be
    computed with an infinite exponent, and people type them, so say so."""
    v = float(value)
    if not math.isfinite(v):
        raise InvalidValueError(f"the {name} must be a finite number, not {v!r}")
    return v
