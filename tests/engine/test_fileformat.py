"""Graph files v1: exact round trips, stable bytes, one error type naming file/path/problem,
and atomic saves."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import fileformat
from engine.errors import GraphFileError
from engine.evaluate import evaluate
from engine.graph import Graph
from engine.ops import OPS

from _engine_helpers import good_file, set_at

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "assets" / "examples").glob("*.json"))


def state(g: Graph) -> dict:
    """Everything a file must keep."""
    return {
        "nodes": [(n.id, n.name, n.op, n.value, n.pos) for n in g.nodes()],
        "edges": g.edges(),
        "output": g.output,
        "note": g.note,
    }


def test_there_are_examples_for_the_tutorial() -> None:
    assert len(EXAMPLES) >= 5, EXAMPLES


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_round_trip_exactly(path: Path, tmp_path: Path) -> None:
    g = fileformat.load(path)
    out = tmp_path / path.name
    fileformat.save(g, out)
    back = fileformat.load(out)
    assert state(back) == state(g)
    # saving a loaded file reproduces its bytes (the examples are written by save)
    assert out.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_evaluate_with_a_marked_output(path: Path) -> None:
    g = fileformat.load(path)
    assert g.output is not None
    r = evaluate(g)
    assert all(n.reason is None for n in r.nodes.values())


def _example(name: str) -> Graph:
    return fileformat.load(ROOT / "assets" / "examples" / name)


def _by_name(g: Graph):
    r = evaluate(g)
    return (lambda n: r.value(g.id_of(n))), (lambda n: r.grad(g.id_of(n))), r


def iso(a: float, b: float) -> bool:
    import math
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-14)


def test_example_files_hold_the_tutorials_numbers() -> None:
    v, d, r = _by_name(_example("two_layer.json"))
    assert iso(v("L"), 0.49) and iso(d("yhat"), -1.4) and iso(d("h"), -0.42)
    assert iso(d("w1"), -0.84) and iso(d("w2"), -1.4)
    g = _example("two_layer.json")
    r = evaluate(g)
    e = r.edge(g.id_of("w1"), g.id_of("h"), g.inputs(g.id_of("h"))[0][0]
               if g.inputs(g.id_of("h"))[0][1] == g.id_of("w1") else g.inputs(g.id_of("h"))[1][0])
    assert iso(e.local, 2.0) and iso(e.product, -0.84)

    g = _example("chain_2x.json")
    r = evaluate(g)
    xs = [n for n in g.ids() if g.op_of(n) == "input"]
    assert len(xs) == 1 and g.node(xs[0]).value == 3.0 and iso(r.grad(xs[0]), 24.0)

    g = _example("exercise1.json")
    r = evaluate(g)
    xs = [n for n in g.ids() if g.op_of(n) == "input" and g.name_of(n) == "x"]
    assert g.node(xs[0]).value == 2.0 and iso(r.grad(xs[0]), 42.0)

    g = _example("exercise2.json")
    r = evaluate(g)
    ws = [n for n in g.ids() if g.op_of(n) == "param"]
    assert len(ws) == 1 and iso(r.grad(ws[0]), -18.0)

    g = _example("exercise3.json")
    v, d, _ = _by_name(g)
    assert iso(d("w2"), -1.4)


UNARY = ["neg", "square", "exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu"]
BINARY = ["add", "sub", "mul", "div", "pow", "squared_error"]
finite = st.floats(allow_nan=False, allow_infinity=False)
coords = st.integers(-40000, 40000).map(lambda i: i / 4)


@st.composite
def graphs(draw) -> Graph:
    g = Graph()
    nodes: list[str] = []
    for i in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["input", "param", "const"]))
        nodes.append(g.add_node(kind, f"leaf{i}", draw(finite), (draw(coords), draw(coords))))
    for i in range(draw(st.integers(0, 8))):
        group = draw(st.sampled_from(["u", "b", "s"]))
        if group == "u":
            op, srcs, ports = draw(st.sampled_from(UNARY)), [draw(st.sampled_from(nodes))], ["x"]
        elif group == "b":
            op = draw(st.sampled_from(BINARY))
            srcs = [draw(st.sampled_from(nodes)) for _ in range(2)]
            ports = list(OPS[op].ports)
            if draw(st.booleans()):  # leave a port unconnected sometimes
                srcs, ports = srcs[:1], ports[1:]
        else:
            op = "sum"
            k = draw(st.integers(1, 4))
            srcs = [draw(st.sampled_from(nodes)) for _ in range(k)]
            ports = draw(st.permutations([f"x{j}" for j in range(1, 12)]))[:k]
        n = g.add_node(op, draw(st.sampled_from([None, f"node_{i}", f"ŷ{i}"])),
                       pos=(draw(coords), draw(coords)))
        for s, p in zip(srcs, ports):
            g.connect(s, n, p)
        nodes.append(n)
    # deletions leave gaps in the ids, which files must keep
    if len(nodes) > 2 and draw(st.booleans()):
        g.remove_node(nodes[draw(st.integers(0, len(nodes) - 2))])
    g.set_output(draw(st.sampled_from([None] + g.ids())))
    g.note = draw(st.text(max_size=40))
    return g


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_random_graphs_round_trip(g: Graph) -> None:
    text = fileformat.dumps(g)
    back = fileformat.loads(text, "mem.json")
    assert state(back) == state(g)
    assert fileformat.dumps(back) == text
    # new ids after a load do not collide with old ones
    fresh = back.add_node("input")
    assert fresh not in g.ids()


def test_save_is_byte_stable(tmp_path: Path) -> None:
    g = _example("two_layer.json")
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    fileformat.save(g, a)
    fileformat.save(g, b)
    fileformat.save(fileformat.load(a), a)
    assert a.read_bytes() == b.read_bytes()
    text = a.read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["format"] == "chain-rule-studio" and data["version"] == 1
    assert list(data)[:2] == ["format", "version"]


def test_file_is_utf8_with_names_unescaped(tmp_path: Path) -> None:
    g = Graph()
    g.add_node("input", "ŷ", 1.0)
    p = tmp_path / "u.json"
    fileformat.save(g, p)
    assert "ŷ" in p.read_bytes().decode("utf-8")


# ------------------------------------------------------------------ bad files

def test_the_good_file_loads(tmp_path: Path) -> None:
    p = tmp_path / "good.json"
    p.write_text(json.dumps(good_file()), encoding="utf-8")
    g = fileformat.load(p)
    assert evaluate(g).value("n3") == 1.0


def _mut(f) -> str:
    d = good_file()
    f(d)
    return json.dumps(d)


BAD = [
    # id, file text, JSON path the message must name, words the problem must contain
    ("not_json", "hello", "$", ["json"]),
    ("empty", "", "$", ["empty"]),
    ("truncated", json.dumps(good_file())[:-40], "$", ["json"]),
    ("truncated_at_a_boundary", json.dumps(good_file())[:-2], "$", ["truncated"]),
    ("top_level_list", "[]", "$", ["object"]),
    ("wrong_format", _mut(set_at(["format"], "something-else")), "$.format", ["something-else"]),
    ("newer_version", _mut(set_at(["version"], 3)), "$.version", ["newer"]),
    ("string_version", _mut(set_at(["version"], "1")), "$.version", ["version"]),
    ("unknown_op", _mut(set_at(["nodes", 2, "op"], "softmax")), "$.nodes[2].op", ["softmax"]),
    ("wrong_port", _mut(set_at(["edges", 1, "port"], "c")), "$.edges[1].port", ["'c'"]),
    ("dangling_source", _mut(set_at(["edges", 0, "source"], "n9")), "$.edges[0].source", ["n9"]),
    ("dangling_target", _mut(set_at(["edges", 1, "target"], "n7")), "$.edges[1].target", ["n7"]),
    ("duplicate_id", _mut(set_at(["nodes", 1, "id"], "n1")), "$.nodes[1].id", ["n1", "duplicate"]),
    ("duplicate_name", _mut(set_at(["nodes", 1, "name"], "x")), "$.nodes[1].name", ["'x'"]),
    ("invalid_name", _mut(set_at(["nodes", 1, "name"], "1 w")), "$.nodes[1].name", ["1 w"]),
    ("non_numeric_value", _mut(set_at(["nodes", 0, "value"], "two")), "$.nodes[0].value",
     ["two"]),
    ("bool_value", _mut(set_at(["nodes", 0, "value"], True)), "$.nodes[0].value", ["true"]),
    ("nan_value", json.dumps(good_file()).replace('"value": 2.0', '"value": NaN'),
     "$.nodes[0].value", ["finite"]),
    ("infinity_value", json.dumps(good_file()).replace('"value": 0.5', '"value": -Infinity'),
     "$.nodes[1].value", ["finite"]),
    ("huge_value", json.dumps(good_file()).replace('"value": 2.0', '"value": 1e999'),
     "$.nodes[0].value", ["finite"]),
    ("infinite_pos", json.dumps(good_file()).replace('"pos": [200, 50]', '"pos": [200, Infinity]'),
     "$.nodes[2].pos[1]", ["finite"]),
    ("missing_value", _mut(lambda d: d["nodes"][0].pop("value")), "$.nodes[0].value",
     ["missing"]),
    ("op_with_value", _mut(set_at(["nodes", 2, "value"], 1.0)), "$.nodes[2]", ["value"]),
    ("missing_output_key", _mut(lambda d: d.pop("output")), "$.output", ["missing"]),
    ("output_missing_node", _mut(set_at(["output"], "n42")), "$.output", ["n42"]),
    ("port_fed_twice", _mut(set_at(["edges", 1, "port"], "a")), "$.edges[1].port", ["already"]),
    ("self_loop", _mut(lambda d: d["edges"].append({"source": "n3", "target": "n3",
                                                    "port": "a"})),
     "$.edges[2].target", ["m"]),
    ("missing_nodes", _mut(lambda d: d.pop("nodes")), "$.nodes", ["missing"]),
    ("unknown_key", _mut(set_at(["colour"], "red")), "$", ["colour"]),
    ("edge_missing_port", _mut(lambda d: d["edges"][0].pop("port")), "$.edges[0].port",
     ["missing"]),
]


def _cycle_file() -> str:
    d = good_file()
    d["nodes"] += [{"id": "n4", "name": "p", "op": "neg", "pos": [0, 0]},
                   {"id": "n5", "name": "q", "op": "neg", "pos": [0, 0]}]
    d["edges"] += [{"source": "n4", "target": "n5", "port": "x"},
                   {"source": "n5", "target": "n4", "port": "x"}]
    return json.dumps(d)


BAD.append(("cycle", _cycle_file(), "$.edges[", ["cycle"]))


@pytest.mark.parametrize("text,path,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_file_names_file_path_and_problem(tmp_path: Path, text: str, path: str,
                                              words: list[str]) -> None:
    f = tmp_path / "bad graph.json"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(GraphFileError) as ei:
        fileformat.load(f)
    e = ei.value
    msg = str(e)
    assert e.file == str(f)
    assert msg.startswith(f"{f}: ")
    assert e.path.startswith(path), (e.path, path)
    if not path.endswith("["):
        assert e.path == path, msg
    assert f": {e.path}: " in msg
    for w in words:
        assert w.lower() in e.problem.lower(), msg
    assert "\n" not in msg


def test_json_syntax_problem_reads_as_a_sentence(tmp_path: Path) -> None:
    # a file cut inside a string: json's own message plus the position, said once
    f = tmp_path / "cut.json"
    f.write_text(json.dumps(good_file())[:-40], encoding="utf-8")
    with pytest.raises(GraphFileError) as ei:
        fileformat.load(f)
    assert " at at " not in ei.value.problem, ei.value.problem
    assert "line 1" in ei.value.problem


def test_missing_file_is_a_graph_file_error(tmp_path: Path) -> None:
    with pytest.raises(GraphFileError) as ei:
        fileformat.load(tmp_path / "nope.json")
    assert "nope.json" in str(ei.value)


def test_folder_is_a_graph_file_error(tmp_path: Path) -> None:
    with pytest.raises(GraphFileError):
        fileformat.load(tmp_path)


def test_not_utf8_is_a_graph_file_error(tmp_path: Path) -> None:
    f = tmp_path / "latin.json"
    f.write_bytes(json.dumps(good_file()).replace("x", "\u00e9").encode("latin-1"))
    with pytest.raises(GraphFileError):
        fileformat.load(f)


def test_deeply_nested_json_is_a_graph_file_error(tmp_path: Path) -> None:
    f = tmp_path / "deep.json"
    f.write_text("[" * 100000 + "]" * 100000, encoding="utf-8")
    with pytest.raises(GraphFileError):
        fileformat.load(f)


# ------------------------------------------------------------------ atomic save

def _boom(*a, **k):
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("target", ["replace", "fsync"])
def test_failed_save_leaves_old_file_byte_identical(tmp_path: Path, monkeypatch,
                                                    target: str) -> None:
    p = tmp_path / "g.json"
    old = _example("two_layer.json")
    fileformat.save(old, p)
    before = p.read_bytes()
    g = old.copy()
    g.set_value(g.id_of("x"), 99.0)
    monkeypatch.setattr(os, target, _boom)
    with pytest.raises(OSError):
        fileformat.save(g, p)
    monkeypatch.undo()
    assert p.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["g.json"]


def test_failed_first_save_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(os, "replace", _boom)
    with pytest.raises(OSError):
        fileformat.save(_example("two_layer.json"), tmp_path / "new.json")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_save_replaces_and_keeps_no_temp(tmp_path: Path) -> None:
    p = tmp_path / "g.json"
    p.write_text("old", encoding="utf-8")
    fileformat.save(_example("two_layer.json"), p)
    assert fileformat.load(p).name_of("n1") == "x"
    assert [x.name for x in tmp_path.iterdir()] == ["g.json"]


def test_failed_serialisation_fails_before_touching_the_file(tmp_path: Path,
                                                            monkeypatch) -> None:
    p = tmp_path / "g.json"
    g = _example("two_layer.json")
    fileformat.save(g, p)
    before = p.read_bytes()

    def broken(graph):
        raise ValueError("cannot serialise")

    monkeypatch.setattr(fileformat, "dumps", broken)
    with pytest.raises(ValueError):
        fileformat.save(g, p)
    assert p.read_bytes() == before
    assert [x.name for x in tmp_path.iterdir()] == ["g.json"]


def test_negative_zero_survives_a_file(tmp_path: Path) -> None:
    import math
    g = Graph()
    g.add_node("input", "x", -0.0)
    back = fileformat.loads(fileformat.dumps(g))
    assert math.copysign(1.0, back.node("n1").value) == -1.0


def test_paste_gets_fresh_ids_and_unique_names() -> None:
    g = _example("two_layer.json")
    before_ids, before_names = set(g.ids()), g.names()
    data = fileformat.to_dict(g, [g.id_of("w1"), g.id_of("x"), g.id_of("h")])
    assert data["output"] is None and len(data["edges"]) == 2
    for _ in range(2):
        p = fileformat.prepare_paste(g, data)
        ids = [n["id"] for n in p["nodes"]]
        names = [n["name"] for n in p["nodes"]]
        assert not set(ids) & set(g.ids())
        assert not set(names) & g.names()
        for n in p["nodes"]:
            g.add_node(n["op"], n["name"], n.get("value", 0.0), tuple(n["pos"]), id=n["id"])
        for e in p["edges"]:
            g.connect(e["source"], e["target"], e["port"])
    assert before_ids < set(g.ids()) and before_names < g.names()
    assert len(g) == 7 + 6 and g.nx.number_of_edges() == 6 + 4
