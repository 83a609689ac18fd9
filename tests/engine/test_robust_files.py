"""What the graph can hold, its file can keep and reopen: non-finite leaf values, any
note, any id, names up to the limit; bad files give one short GraphFileError; reading
refuses FIFOs, devices and oversized files without blocking; saving is atomic through
symlinks and tidies up after killed saves.

Each test is a reproducer from the fault probe (issue "Never lose work, never crash")."""

from __future__ import annotations

import json
import math
import os
import threading
import time
from pathlib import Path

import jsonschema
import pytest

from engine import files, fileformat
from engine.errors import (ConnectError, ExpressionError, GraphFileError, InvalidNameError,
                           InvalidValueError, quote)
from engine.expr import parse
from engine.fast import evaluate_graph
from engine.graph import Graph

from _engine_helpers import good_file

ROOT = Path(__file__).resolve().parents[2]
TWO_LAYER = ROOT / "assets" / "examples" / "two_layer.json"
posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def _schema() -> dict:
    return json.loads(fileformat.SCHEMA_PATH.read_text(encoding="utf-8"))


def _load_error(text: str) -> GraphFileError:
    with pytest.raises(GraphFileError) as ei:
        fileformat.loads(text, "f.json")
    return ei.value


# ------------------------------------------------------------ non-finite values

def test_nan_and_infinite_leaf_values_are_saved_and_reopened(tmp_path: Path) -> None:
    g = Graph()
    a = g.add_node("input", "a", math.nan)
    b = g.add_node("param", "b", math.inf)
    c = g.add_node("const", "c", -math.inf)
    s = g.add_node("sum", "s")
    for i, n in enumerate((a, b, c)):
        g.connect(n, s, f"x{i + 1}")
    p = tmp_path / "g.json"
    fileformat.save(g, p)  # the editor could not save this before
    data = json.loads(p.read_text(encoding="utf-8"))  # strict JSON: no NaN literals
    values = {n["name"]: n.get("value") for n in data["nodes"]}
    assert values == {"a": "nan", "b": "inf", "c": "-inf", "s": None}
    jsonschema.validate(data, _schema())  # the schema documents the strings
    back = fileformat.load(p)
    assert math.isnan(back.node(a).value)
    assert back.node(b).value == math.inf and back.node(c).value == -math.inf


def test_only_the_three_spellings_are_values() -> None:
    d = good_file()
    d["nodes"][0]["value"] = "Infinity"
    e = _load_error(json.dumps(d))
    assert e.path == "$.nodes[0].value"
    assert '"nan", "inf" or "-inf"' in e.problem


def test_an_infinite_exponent_is_refused_with_a_message() -> None:
    g = Graph()
    with pytest.raises(InvalidValueError) as ei:
        g.add_node("power", "p", attrs={"exponent": math.inf})
    assert "exponent" in str(ei.value) and "finite" in str(ei.value)
    p = g.add_node("power", "p", attrs={"exponent": 2.0})
    with pytest.raises(ValueError):  # InvalidValueError is a ValueError for the editor
        g.set_attr(p, "exponent", math.nan)
    assert g.attrs_of(p) == {"exponent": 2.0}
    for spelled in ('"inf"', "1e999", "NaN"):
        text = json.dumps({**good_file(), "nodes": [
            {"id": "n1", "name": "x", "op": "input", "value": 2},
            {"id": "n2", "name": "p", "op": "power", "exponent": 0}], "edges": [],
            "output": None}).replace('"exponent": 0', f'"exponent": {spelled}')
        e = _load_error(text)
        assert e.path == "$.nodes[1].exponent", (spelled, str(e))


# ------------------------------------------------------------------------ notes

def test_a_lone_surrogate_in_a_note_is_repaired_and_saved() -> None:
    d = good_file()
    text = json.dumps(d)[:-1] + ', "note": "before \\ud800 after"}'  # a JSON escape
    g = fileformat.loads(text, "f.json")
    assert g.note == "before \ufffd after"
    saved = fileformat.dumps(g)
    saved.encode("utf-8")  # would raise on a surrogate
    assert fileformat.loads(saved).note == g.note


def test_a_note_set_in_the_editor_is_repaired_too() -> None:
    g = Graph()
    g.note = "a\udfffb\ud83d"
    assert g.note == "a\ufffdb\ufffd"
    assert g.copy().note == g.note
    fileformat.dumps(g).encode("utf-8")


# -------------------------------------------------------------------------- ids

def test_a_31_digit_id_is_renumbered_so_the_next_save_reopens(tmp_path: Path) -> None:
    d = good_file()
    long_id = "n" + "9" * 31
    d["nodes"][0]["id"] = long_id
    d["edges"][0]["source"] = long_id
    g = fileformat.loads(json.dumps(d), "f.json")
    assert g.ids() == ["n1", "n2", "n3"]  # renumbered in file order
    assert g.edges() == [("n1", "n3", "a"), ("n2", "n3", "b")]
    assert g.output == "n3"
    g.add_node("input", "extra", 1.0)  # the probe's edit
    p = tmp_path / "g.json"
    fileformat.save(g, p)
    back = fileformat.load(p)
    assert sorted(back.names()) == ["extra", "m", "w", "x"]


def test_non_canonical_ids_are_renumbered_with_edges_and_output() -> None:
    d = good_file()
    ren = {"n1": "b", "n2": "n02", "n3": "A_1"}
    for n in d["nodes"]:
        n["id"] = ren[n["id"]]
    for e in d["edges"]:
        e["source"], e["target"] = ren[e["source"]], ren[e["target"]]
    d["output"] = "A_1"
    g = fileformat.loads(json.dumps(d), "f.json")
    assert [(n.id, n.name) for n in g.nodes()] == [("n1", "x"), ("n2", "w"), ("n3", "m")]
    assert g.output == "n3" and g.source_of("n3", "b") == "n2"
    assert evaluate_graph(g).value("n3") == 1.0


def test_canonical_ids_are_kept_as_they_are() -> None:
    d = good_file()
    for n, new in zip(d["nodes"], ("n7", "n300000000000000000", "n2")):
        old = n["id"]
        n["id"] = new
        for e in d["edges"]:
            e["source"] = new if e["source"] == old else e["source"]
            e["target"] = new if e["target"] == old else e["target"]
    d["output"] = "n2"
    g = fileformat.loads(json.dumps(d), "f.json")
    assert set(g.ids()) == {"n7", "n300000000000000000", "n2"}


# ------------------------------------------------------------------------ names

def test_names_over_200_characters_are_refused_everywhere_with_the_limit() -> None:
    ok, long = "a" * 200, "a" * 201
    g = Graph()
    x = g.add_node("input", ok, 1.0)  # the limit itself is a name
    with pytest.raises(InvalidNameError) as ei:
        g.add_node("input", long, 1.0)
    assert "200" in str(ei.value) and len(str(ei.value)) < 200
    with pytest.raises(InvalidNameError) as ei:
        g.rename(x, long)
    assert "200" in str(ei.value)
    assert g.name_of(x) == ok

    parse(f"{ok} = 2\ny = 3*{ok}")
    with pytest.raises(ExpressionError) as ei:
        parse(f"x = 2\ny = 3*x + {long}")
    assert "200" in str(ei.value) and (ei.value.line, ei.value.col) == (2, 11)

    d = good_file()
    d["nodes"][1]["name"] = long
    e = _load_error(json.dumps(d))
    assert e.path == "$.nodes[1].name" and "200" in e.problem


def test_ten_thousand_nested_negations_say_why_they_are_refused() -> None:
    with pytest.raises(ExpressionError) as ei:
        parse("y = " + "-" * 10_000 + "x")
    assert "nested too deeply" in ei.value.reason  # the probe saw an empty reason


def test_pasting_a_200_character_name_twice_stays_within_the_limit() -> None:
    g = Graph()
    g.add_node("input", "b" * 200, 1.0)
    fresh = fileformat.prepare_paste(g, fileformat.to_dict(g))
    (node,) = fresh["nodes"]
    assert node["name"] != "b" * 200 and len(node["name"]) <= 200


# ------------------------------------------------------------------ sum ports

@pytest.mark.parametrize("port", ["x²", "x¹", "x" + "7" * 5000, "x" + "9" * 100, "x0",
                                  "x01", "x١", "x1\n", "x" + "1" * 10])
def test_odd_sum_ports_are_refused_by_the_graph_and_the_loader(port: str) -> None:
    g = Graph()
    a, s = g.add_node("input", "a", 1.0), g.add_node("sum", "s")
    with pytest.raises(ConnectError):
        g.connect(a, s, port)
    d = {"format": "chain-rule-studio", "version": 1, "output": None,
         "nodes": [{"id": "n1", "name": "a", "op": "input", "value": 1},
                   {"id": "n2", "name": "s", "op": "sum"}],
         "edges": [{"source": "n1", "target": "n2", "port": port}]}
    e = _load_error(json.dumps(d))
    assert e.path == "$.edges[0].port"
    assert len(str(e)) < 300


def test_the_largest_sum_port_loads_and_evaluates() -> None:
    d = {"format": "chain-rule-studio", "version": 1, "output": "n2",
         "nodes": [{"id": "n1", "name": "a", "op": "input", "value": 1.5},
                   {"id": "n2", "name": "s", "op": "sum"}],
         "edges": [{"source": "n1", "target": "n2", "port": "x999999999"},
                   {"source": "n1", "target": "n2", "port": "x2"}]}
    g = fileformat.loads(json.dumps(d), "f.json")
    r = evaluate_graph(g)
    assert r.value("n2") == 3.0 and r.grad("n1") == 2.0


# ------------------------------------------------------------ messages, keys

MEGA = "q" * 1_000_000


def _with(path: list, value) -> str:
    d = good_file()
    o = d
    for k in path[:-1]:
        o = o[k]
    o[path[-1]] = value
    return json.dumps(d)


@pytest.mark.parametrize("text", [
    _with(["nodes", 2, "op"], MEGA),
    _with(["format"], MEGA),
    _with(["version"], MEGA),
    _with(["nodes", 0, "id"], MEGA),
    _with(["nodes", 0, "name"], MEGA),
    _with(["nodes", 0, "value"], MEGA),
    _with(["nodes", 0, "pos"], [MEGA, 1]),
    _with(["edges", 0, "source"], MEGA),
    _with(["edges", 0, "port"], MEGA),
    _with(["output"], MEGA),
    _with([MEGA], 1),
    _with(["nodes", 0, MEGA], 1),
    _with(["nodes", 1, "name"], "x"),
], ids=["op", "format", "version", "id", "name", "value", "pos", "source", "port", "output",
        "top_key", "node_key", "duplicate_name"])
def test_messages_quote_at_most_80_characters(text: str) -> None:
    e = _load_error(text)
    assert len(str(e)) < 300, str(e)[:400]
    assert "q" * 81 not in str(e)


def test_quote_cuts_with_an_ellipsis() -> None:
    assert quote("abc") == "'abc'"
    q = quote("z" * 1000)
    assert q == "'" + "z" * 80 + "…'"
    assert quote("\ud800") == "'\\ud800'"  # escaped: the message stays printable


@pytest.mark.parametrize("text,path", [
    ('{"format": "chain-rule-studio", "version": 1, "output": null, "output": "n1", '
     '"nodes": [], "edges": []}', "$.output"),
    (json.dumps(good_file()).replace('"value": 0.5', '"value": 0.5, "value": 7'),
     "$.nodes[1].value"),
])
def test_duplicate_keys_are_an_error_with_their_path(text: str, path: str) -> None:
    e = _load_error(text)
    assert e.path == path and "twice" in e.problem


# ------------------------------------------------------------------ reading

def _finishes(fn, seconds: float = 10.0):
    """Run fn in a thread; fail (instead of hanging the suite) if it blocks."""
    box: dict = {}

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # handed back to the test
            box["error"] = e

    t = threading.Thread(target=work, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "blocked"
    return box


@posix_only
def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    box = _finishes(lambda: fileformat.load(fifo))
    assert isinstance(box.get("error"), GraphFileError)
    assert "FIFO" in str(box["error"])


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_refused_at_once(device: str) -> None:
    t0 = time.perf_counter()
    with pytest.raises(GraphFileError) as ei:
        fileformat.load(device)
    assert "device" in ei.value.problem
    assert time.perf_counter() - t0 < 2.0


def test_files_over_the_size_cap_are_refused(tmp_path: Path, monkeypatch) -> None:
    assert files.MAX_FILE_BYTES == 512 * 1024 * 1024  # as documented
    p = tmp_path / "g.json"
    p.write_bytes(TWO_LAYER.read_bytes())
    monkeypatch.setattr(fileformat, "MAX_FILE_BYTES", 100)
    with pytest.raises(GraphFileError) as ei:
        fileformat.load(p)
    assert "too large" in ei.value.problem and ei.value.path == ""
    assert str(ei.value).startswith(f"{p}: is too large")  # the file, not a JSON place
    with pytest.raises(files.UnreadableFileError):
        files.read_file(p, limit=p.stat().st_size - 1)
    assert files.read_file(p, limit=p.stat().st_size) == TWO_LAYER.read_bytes()


# ------------------------------------------------------------------ writing

@posix_only
def test_save_writes_through_a_symlink_to_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_bytes(TWO_LAYER.read_bytes())
    link = tmp_path / "link.json"
    link.symlink_to(target)
    g = fileformat.load(link)
    g.set_value(g.id_of("x"), 5.0)
    fileformat.save(g, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert fileformat.load(target).node(g.id_of("x")).value == 5.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real.json"]


@posix_only
def test_save_refuses_to_replace_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(OSError) as ei:
        fileformat.save(fileformat.load(TWO_LAYER), fifo)
    assert "FIFO" in ei.value.strerror
    assert fifo.is_fifo()
    assert [p.name for p in tmp_path.iterdir()] == ["pipe.json"]


def test_stale_temp_files_of_our_pattern_are_removed_on_the_next_save(tmp_path: Path) -> None:
    target = tmp_path / "g.json"
    old = tmp_path / ".g.json.a1b2c3d4.tmp"        # left by a save killed two days ago
    fresh = tmp_path / ".g.json.e5f6g7h8.tmp"      # perhaps a save running right now
    other = tmp_path / ".h.json.a1b2c3d4.tmp"      # another file's
    mine_not = tmp_path / ".g.json.backup.tmp"     # not the pattern
    for p in (old, fresh, other, mine_not):
        p.write_text("partial", encoding="utf-8")
    two_days_ago = time.time() - 2 * 24 * 3600
    for p in (old, other, mine_not):
        os.utime(p, (two_days_ago, two_days_ago))
    fileformat.save(fileformat.load(TWO_LAYER), target)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["g.json", fresh.name, other.name, mine_not.name])


def test_interrupted_save_leaves_no_temp_file(tmp_path: Path, monkeypatch) -> None:
    def interrupt(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        fileformat.save(fileformat.load(TWO_LAYER), tmp_path / "g.json")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
