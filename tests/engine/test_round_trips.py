"""Whatever a graph holds can be saved and reopened, and written as an expression and read
back: properties over random edit sequences (the edits the editor makes, refused ones
included) and over random valid files.

"Equal" is everything a file keeps (ids, names, ops, values — NaN equal to NaN, −0.0
apart from 0.0 — attributes, positions, data leaves' columns, edges, output, note, and
the dataset bit for bit); for expressions, the same graph up to the names of inlined
temporaries and the numbering of sum ports."""

from __future__ import annotations

import json
import math
import re
import struct

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import fileformat
from engine.dataset import Dataset
from engine.errors import EngineError, OutputError
from engine.expr import parse, to_expression
from engine.fast import evaluate_graph
from engine.graph import Graph
from engine.ops import OPS

OP_NAMES = sorted(OPS)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _same_float(x: float) -> object:
    """A float as a comparable key: NaN equals NaN, −0.0 differs from 0.0."""
    return "nan" if math.isnan(x) else struct.pack("<d", x)


def _dataset_state(ds: Dataset | None) -> object:
    if ds is None:
        return None
    return (ds.name, [(k, a.tobytes()) for k, a in ds.columns.items()], ds.test.tobytes())


def state(g: Graph) -> dict:
    return {
        "nodes": [(n.id, n.name, n.op, _same_float(n.value), n.pos, sorted(n.attrs.items()),
                   g.column_of(n.id)) for n in g.nodes()],
        "edges": g.edges(),
        "output": g.output,
        "note": g.note,
        "dataset": _dataset_state(g.dataset),
    }


# ------------------------------------------------------------------ edit sequences

names_st = st.one_of(
    st.none(),
    st.sampled_from(["x", "y", "w1", "yhat", "ŷ", "α", "h_2", "mul1", "c1", "loss",
                     "a" * 200, "b" * 201, "1x", "for", "exp", "param", "x y", "", "ﬁ"]),
    st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True),
)
values_st = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324, 1e308, 0.1]),
)
coords_st = st.integers(-40000, 40000).map(lambda i: i / 4)
#: mostly one of the target's own ports (an index into Graph.ports), sometimes a name
ports_st = st.one_of(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3),
                     st.sampled_from(["a", "x", "exponent", "x²", "x0", "x" + "9" * 30]),
                     st.integers(1, 12).map(lambda k: f"x{k}"))
notes_st = st.one_of(st.text(max_size=30), st.just("half \ud800 a pair"),
                     st.just("\udfff"))
#: what a data leaf may be bound to: any text of 1 to 200 characters (it need not name a
#: column of the dataset, nor be a valid name)
columns_st = st.one_of(st.sampled_from(["x1", "x2", "y", "c" * 200, "ŷ", "two words", "é"]),
                       st.text(st.characters(exclude_categories=["Cs"]), min_size=1,
                               max_size=20))
column_names_st = st.lists(st.sampled_from(["x", "x1", "x2", "y", "label", "ŷ", "α_2"]),
                           min_size=1, max_size=4, unique=True)
cells_st = st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                     st.sampled_from([-0.0, 0.0, 1.0, 5e-324, 1e308, 0.1]))


@st.composite
def datasets_st(draw) -> Dataset:
    """A small dataset of any finite numbers (−0.0 and subnormals too), some rows test."""
    names = draw(column_names_st)
    n = draw(st.integers(0, 6))
    cols = {k: draw(st.lists(cells_st, min_size=n, max_size=n)) for k in names}
    test = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    origin = draw(st.sampled_from([{}, {"generator": "moons", "n": n, "noise": 0.1,
                                        "seed": 3, "test_fraction": 0.25}]))
    return Dataset(cols, np.array(test, dtype=bool), name=draw(st.sampled_from(
        ["", "moons", "points.csv", "ŷ data"])), origin=origin)


add_st = st.tuples(st.just("add"), st.sampled_from(OP_NAMES), names_st, values_st, coords_st,
                   coords_st)
connect_st = st.tuples(st.just("connect"), st.integers(0, 40), st.integers(0, 40), ports_st)
edit_st = st.one_of(
    add_st, connect_st,
    st.tuples(st.just("disconnect"), st.integers(0, 40), ports_st),
    st.tuples(st.just("remove"), st.integers(0, 40)),
    st.tuples(st.just("rename"), st.integers(0, 40), names_st),
    st.tuples(st.just("value"), st.integers(0, 40), values_st),
    st.tuples(st.just("kind"), st.integers(0, 40), st.sampled_from(["input", "param",
                                                                    "const", "data"])),
    st.tuples(st.just("bind"), st.integers(0, 40), columns_st),
    st.tuples(st.just("dataset"), st.one_of(st.none(), datasets_st())),
    st.tuples(st.just("exponent"), st.integers(0, 40), values_st),
    st.tuples(st.just("move"), st.integers(0, 40), coords_st, coords_st),
    st.tuples(st.just("note"), notes_st),
    st.tuples(st.just("output"), st.integers(-1, 40)),
)


#: nodes first, then many connections, then any edits, then connections again
edits_st = st.tuples(st.lists(add_st, min_size=1, max_size=10),
                     st.lists(connect_st, max_size=25), st.lists(edit_st, max_size=30),
                     st.lists(connect_st, max_size=10)).map(lambda t: [*t[0], *t[1], *t[2],
                                                                     *t[3]])


def apply_edits(edits: list[tuple]) -> Graph:
    """Each edit as the editor's commands make it; an edit the graph refuses (a typed
    error, or a ValueError/KeyError for an impossible request) changes nothing."""
    g = Graph()
    for e in edits:
        ids = g.ids()
        pick = (lambda i: ids[i % len(ids)]) if ids else None
        kind = e[0]
        try:
            if kind == "add":
                _, op, name, value, x, y = e
                attrs = {"exponent": value} if OPS[op].attr_names else None
                g.add_node(op, name, value, (x, y), attrs=attrs)
            elif not ids and kind not in ("note", "output", "dataset"):
                continue
            elif kind == "connect":
                # mostly into an op node (a leaf has no ports: that refusal is cheap)
                targets = [n for n in ids if not OPS[g.op_of(n)].is_leaf] or ids
                src, dst = pick(e[1]), targets[e[2] % len(targets)]
                ports = g.ports(dst) if OPS[g.op_of(dst)].ports or \
                    OPS[g.op_of(dst)].variadic else ["x"]
                port = ports[e[3] % len(ports)] if isinstance(e[3], int) else e[3]
                g.connect(src, dst, port)
            elif kind == "disconnect":
                g.disconnect(pick(e[1]), e[2])
            elif kind == "remove":
                g.remove_node(pick(e[1]))
            elif kind == "rename":
                if e[2] is not None:
                    g.rename(pick(e[1]), e[2])
            elif kind == "value":
                g.set_value(pick(e[1]), e[2])
            elif kind == "kind":
                g.set_kind(pick(e[1]), e[2])
            elif kind == "exponent":
                g.set_attr(pick(e[1]), "exponent", e[2])
            elif kind == "move":
                g.set_pos(pick(e[1]), (e[2], e[3]))
            elif kind == "bind":
                g.bind(pick(e[1]), e[2])
            elif kind == "dataset":
                g.dataset = e[1]
            elif kind == "note":
                g.note = e[1]
            elif kind == "output":
                g.set_output(None if e[1] < 0 or not ids else pick(e[1]))
        except (EngineError, ValueError, KeyError):
            pass
    return g


@SETTINGS
@given(edits_st)
def test_every_edited_graph_saves_and_reopens_equal(edits: list[tuple]) -> None:
    g = apply_edits(edits)
    text = fileformat.dumps(g)
    text.encode("utf-8")
    back = fileformat.loads(text, "edited.json")
    assert state(back) == state(g)
    assert fileformat.dumps(back) == text
    evaluate_graph(back, allow_no_output=True)  # and the fast engine takes it


def _label_graph(g: Graph, named: set[str]) -> nx.MultiDiGraph:
    """The graph with what an expression keeps as labels: op, value, attributes, the
    name where the text spells it, and ports by position for a sum."""
    h = nx.MultiDiGraph()
    for n in g.nodes():
        h.add_node(n.id, label=(n.op, _same_float(n.value) if n.spec.is_leaf else None,
                                tuple(sorted(n.attrs.items())),
                                n.name if n.name in named else None))
    for nid in g.ids():
        for rank, (port, src) in enumerate(g.inputs(nid)):
            h.add_edge(src, nid, port=rank if OPS[g.op_of(nid)].variadic else port)
    return h


def _assert_same_graph(g: Graph, back: Graph, text: str) -> None:
    named = set(re.findall(r"^(\w+) = ", text, re.M)) | {text.strip().splitlines()[-1]}
    a, b = _label_graph(g, named), _label_graph(back, named)
    assert nx.is_isomorphic(a, b, node_match=lambda p, q: p["label"] == q["label"],
                            edge_match=lambda p, q: sorted(d["port"] for d in p.values())
                            == sorted(d["port"] for d in q.values())), text
    assert back.name_of(back.resolve_output()) == g.name_of(g.resolve_output()) or \
        g.name_of(g.resolve_output()) not in named


def completed(g: Graph) -> Graph:
    """What an expression needs, added to an edited graph: every open port fed by a new
    input, every leaf value finite, an output. (A graph with an open port, a NaN or no
    output has no expression: to_expression says so.)"""
    for nid in g.ids():
        spec = OPS[g.op_of(nid)]
        if spec.is_leaf:
            if not math.isfinite(g.node(nid).value):
                g.set_value(nid, 1.5)
            continue
        if not spec.variadic:
            fed = {p for p, _ in g.inputs(nid)}
            for port in spec.ports:
                if port not in fed:
                    g.connect(g.add_node("input", value=0.25), nid, port)
    if not len(g):
        g.add_node("input", "only", 1.0)
    try:
        g.resolve_output()
    except OutputError:
        g.set_output(g.ids()[-1])
    return g


@SETTINGS
@given(edits_st)
def test_every_edited_graph_reads_back_equal_from_its_expression(edits: list[tuple]) -> None:
    g = completed(apply_edits(edits))
    text = to_expression(g)  # a complete graph always has one
    back = parse(text)
    _assert_same_graph(g, back, text)
    assert to_expression(back) == text or _assert_same_graph(back, parse(to_expression(back)),
                                                             to_expression(back)) is None


def test_a_thousand_negations_read_back() -> None:
    g = parse("y = " + "-" * 1000 + "x")
    text = to_expression(g)
    back = parse(text)
    _assert_same_graph(g, back, text)
    assert len(back) == 1001


def test_a_position_that_is_not_finite_is_written_as_zero() -> None:
    g = Graph()
    g.add_node("input", "x", 1.0, (math.nan, math.inf))
    assert fileformat.loads(fileformat.dumps(g)).node("n1").pos == (0.0, 0.0)


# ------------------------------------------------------------------ valid files

@st.composite
def valid_files(draw) -> dict:
    n = draw(st.integers(0, 12))
    canonical = draw(st.booleans())
    if canonical:
        ids = [f"n{k}" for k in draw(st.lists(st.integers(1, 10 ** 18 - 1), min_size=n,
                                              max_size=n, unique=True))]
    else:
        ids = draw(st.lists(st.from_regex(r"[A-Za-z0-9_]{1,32}", fullmatch=True),
                            min_size=n, max_size=n, unique=True))
    names = draw(st.lists(st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,20}", fullmatch=True)
                          .filter(lambda s: s not in OPS and s not in ("for", "if", "in",
                                                                         "is", "or", "and",
                                                                         "not", "as", "def",
                                                                         "del", "try")),
                          min_size=n, max_size=n, unique=True))
    nodes, ops = [], []
    for i in range(n):
        op = draw(st.sampled_from(OP_NAMES))
        ops.append(op)
        d = {"id": ids[i], "name": names[i], "op": op}
        if OPS[op].is_leaf:
            d["value"] = draw(st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                                        st.integers(-10 ** 6, 10 ** 6),
                                        st.sampled_from(["nan", "inf", "-inf"])))
        if op == "data":
            d["column"] = draw(columns_st)
        for a in OPS[op].attr_names:
            d[a] = draw(st.floats(-4, 4, allow_nan=False))
        if draw(st.booleans()):
            d["pos"] = [draw(st.integers(-5000, 5000)), draw(st.integers(-5000, 5000))]
        nodes.append(d)
    if any("pos" not in d for d in nodes):  # a file gives positions to all or to none
        for d in nodes:
            d.pop("pos", None)
    edges = []
    for t in range(n):
        spec = OPS[ops[t]]
        if spec.is_leaf or t == 0:
            continue
        ports = [f"x{k}" for k in draw(st.lists(st.integers(1, 999_999_999), max_size=3,
                                                unique=True))] if spec.variadic \
            else [p for p in spec.ports if draw(st.integers(0, 9))]
        for p in ports:  # sources before targets: no cycle
            edges.append({"source": ids[draw(st.integers(0, t - 1))], "target": ids[t],
                          "port": p})
    dataset = None
    if draw(st.booleans()):
        ds = draw(datasets_st())
        dataset = {"name": ds.name, "test": np.flatnonzero(ds.test).tolist(),
                   "columns": {k: a.tolist() for k, a in ds.columns.items()}}
    # version 2 only where it is needed, as the writer does (the loader takes either)
    data = {"format": "chain-rule-studio",
            "version": 2 if "data" in ops or dataset is not None else draw(st.sampled_from(
                [1, 2]))}
    if draw(st.booleans()):
        data["note"] = draw(notes_st)
    data["output"] = draw(st.sampled_from([None] + ids)) if ids else None
    data["nodes"], data["edges"] = nodes, edges
    if dataset is not None:
        data["dataset"] = dataset
    return data


@SETTINGS
@given(valid_files())
def test_every_valid_file_reopens_equal_after_a_save(data: dict) -> None:
    g = fileformat.loads(json.dumps(data), "valid.json")
    ids = [d["id"] for d in data["nodes"]]
    if all(re.fullmatch(r"n[1-9][0-9]{0,17}", i) for i in ids):
        assert sorted(g.ids()) == sorted(ids)
    else:  # renumbered in file order
        assert [g.id_of(d["name"]) for d in data["nodes"]] == [f"n{k + 1}"
                                                               for k in range(len(ids))]
    for d in data["nodes"]:
        n = g.node(g.id_of(d["name"]))
        assert n.op == d["op"]
        if "value" in d:
            want = fileformat.NON_FINITE.get(d["value"], d["value"]) \
                if isinstance(d["value"], str) else float(d["value"])
            assert _same_float(n.value) == _same_float(float(want))
        assert g.column_of(n.id) == d.get("column")
    if "dataset" in data:
        assert {k: a.tolist() for k, a in g.dataset.columns.items()} == \
            data["dataset"]["columns"]
    text = fileformat.dumps(g)
    back = fileformat.loads(text, "saved.json")
    assert state(back) == state(g)
    assert fileformat.dumps(back) == text
    evaluate_graph(back, allow_no_output=True)
