"""Graph files v2: data leaves bound to a column and a dataset, inline or in a CSV file
beside the graph; every version-1 file opens as before; the fast structural check and
the full schema give the same answer and the same message for every bad dataset."""

from __future__ import annotations

import copy
import json
import math
import os
import random
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from engine import datasets, fileformat
from engine.dataset import DataError, Dataset
from engine.errors import GraphFileError, InvalidNameError
from engine.fast import evaluate_graph
from engine.graph import Graph

from _engine_helpers import mutate_object, set_at

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "assets" / "examples").glob("*.json"))


# ------------------------------------------------------------------ CSV reading

def _plain_read_csv(path, text=None) -> Dataset:
    """A stand-in for ``datasets.read_csv`` while it is only an interface: a header of
    names, then finite numbers; a DataError names the file, line and column."""
    name = Path(path).name
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except OSError as e:
            raise DataError(f"cannot read {name}: {e.strerror}") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise DataError(f"{name}: the file is empty")
    header = [h.strip() for h in lines[0].split(",")]
    rows = []
    for i, ln in enumerate(lines[1:], 2):
        cells = ln.split(",")
        if len(cells) != len(header):
            raise DataError(f"{name}: line {i}: expected {len(header)} cells")
        row = []
        for j, c in enumerate(cells, 1):
            try:
                v = float(c)
            except ValueError:
                raise DataError(f"{name}: line {i}, column {j} ({header[j - 1]}): "
                                f"{c.strip()!r} is not a number") from None
            if not math.isfinite(v):
                raise DataError(f"{name}: line {i}, column {j}: not a finite number")
            row.append(v)
        rows.append(row)
    cols = {h: [r[j] for r in rows] for j, h in enumerate(header)}
    return Dataset(cols, np.zeros(len(rows), dtype=bool), name=name,
                   origin={"csv": str(path)})


def _read_csv_is_implemented() -> bool:
    try:
        datasets.read_csv("probe.csv", text="a\n1\n")
    except NotImplementedError:
        return False
    return True


@pytest.fixture(autouse=True)
def _csv_reader(monkeypatch):
    """The real CSV import once it exists; a minimal one until then."""
    if not _read_csv_is_implemented():
        monkeypatch.setattr(datasets, "read_csv", _plain_read_csv)


# ------------------------------------------------------------------ helpers

def state(g: Graph) -> dict:
    """Everything a v2 file keeps, floats bit for bit."""
    ds = g.dataset
    return {
        "nodes": [(n.id, n.name, n.op, np.float64(n.value).tobytes(), n.pos,
                   sorted(n.attrs.items()), g.column_of(n.id)) for n in g.nodes()],
        "edges": g.edges(), "output": g.output, "note": g.note,
        "dataset": None if ds is None else (
            ds.name, [(k, a.tobytes()) for k, a in ds.columns.items()], ds.test.tobytes()),
    }


def data_graph(rows: int = 6, seed: int = 0) -> Graph:
    """ŷ = σ(w1·x1 + w2·x2), BCE against y, on a dataset with awkward numbers in it."""
    g = Graph()
    x1 = g.add_node("data", "x1", 0.5, (0, 0))
    x2 = g.add_node("data", "x2", -1.0, (0, 100), column="x2")
    y = g.add_node("data", "t", 1.0, (0, 200), column="y")
    w1 = g.add_node("param", "w1", 0.1, (0, 300))
    w2 = g.add_node("param", "w2", -0.2, (0, 400))
    m1, m2 = g.add_node("mul", "m1", pos=(200, 0)), g.add_node("mul", "m2", pos=(200, 100))
    s = g.add_node("add", "s", pos=(400, 50))
    p = g.add_node("sigmoid", "yhat", pos=(600, 50))
    loss = g.add_node("binary_cross_entropy", "L", pos=(800, 100))
    for a, b, port in [(w1, m1, "a"), (x1, m1, "b"), (w2, m2, "a"), (x2, m2, "b"),
                       (m1, s, "a"), (m2, s, "b"), (s, p, "x"), (y, loss, "target"),
                       (p, loss, "prediction")]:
        g.connect(a, b, port)
    g.set_output(loss)
    rng = np.random.default_rng(seed)
    x1s = rng.normal(size=rows)
    x1s[:4] = [-0.0, 5e-324, 1e308, 0.1][:rows]
    test = np.zeros(rows, dtype=bool)
    test[::3] = True
    g.dataset = Dataset({"x1": x1s, "x2": rng.normal(size=rows),
                         "y": (rng.random(rows) < 0.5).astype(float)}, test, name="moons",
                        origin={"generator": "moons", "n": rows, "noise": 0.1, "seed": seed,
                                "test_fraction": 0.34})
    return g


def v2_file() -> dict:
    """A small valid v2 file: two data leaves (one bound to a column the dataset lacks)
    and an inline dataset; tests break one thing in it."""
    return {
        "format": "chain-rule-studio", "version": 2, "output": "n3",
        "nodes": [
            {"id": "n1", "name": "x", "op": "data", "value": 0, "column": "x1",
             "pos": [0, 0]},
            {"id": "n2", "name": "w", "op": "param", "value": 0.5, "pos": [0, 100]},
            {"id": "n3", "name": "m", "op": "mul", "pos": [200, 50]},
            {"id": "n4", "name": "z", "op": "data", "value": 1.5, "column": "later",
             "pos": [0, 200]},
        ],
        "edges": [{"source": "n1", "target": "n3", "port": "a"},
                  {"source": "n2", "target": "n3", "port": "b"}],
        "dataset": {"name": "four", "origin": {"generator": "xor", "n": 4},
                    "test": [3, 0],
                    "columns": {"x1": [0, 1, 0.5, -0.0], "y": [0, 1, 1, 0]}},
    }


def csv_file(ref: str = "points.csv", **extra) -> dict:
    d = v2_file()
    d["dataset"] = {"name": "points", "csv": ref, "test": [1], **extra}
    return d


POINTS = "x1,y\n1.5,0\n-2,1\n0.25,1\n"


def _error(text: str, folder: Path | None = None) -> GraphFileError:
    with pytest.raises(GraphFileError) as ei:
        fileformat.loads(text, "g.json", folder)
    return ei.value


# ------------------------------------------------------------------ version 1

@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_is_a_v1_file_that_loads_as_it_says(path: Path) -> None:
    """Examples without data are version-1 files; those with a dataset (xor, moons,
    sine) are version 2. Each loads as written and is written back byte for byte."""
    data = json.loads(path.read_text(encoding="utf-8"))
    g = fileformat.load(path)
    assert data["version"] == (2 if "dataset" in data else 1)
    if data["version"] == 2:
        ds = data["dataset"]
        assert g.dataset is not None and g.dataset.names == list(ds["columns"])
        for c, vals in ds["columns"].items():
            assert g.dataset.columns[c].tolist() == [float(v) for v in vals]
        assert {g.column_of(n) for n in g.data_leaves()} <= set(ds["columns"])
    else:
        assert g.dataset is None and g.data_leaves() == []
    assert g.note == data.get("note", "") and g.output == data["output"]
    assert [(n.id, n.name, n.op, n.value, list(n.pos)) for n in g.nodes()] == [
        (d["id"], d["name"], d["op"], float(d.get("value", 0.0)), d["pos"])
        for d in sorted(data["nodes"], key=lambda d: int(d["id"][1:]))]
    assert sorted(g.edges()) == sorted((e["source"], e["target"], e["port"])
                                       for e in data["edges"])
    # written back as the same version, byte for byte
    assert fileformat.dumps(g) == path.read_text(encoding="utf-8")


def test_a_graph_without_data_is_written_as_version_1() -> None:
    g = Graph()
    g.add_node("input", "x", 1.0)
    assert json.loads(fileformat.dumps(g))["version"] == 1
    jsonschema.validate(json.loads(fileformat.dumps(g)), _schema(1))


def test_a_data_leaf_or_a_dataset_makes_version_2() -> None:
    g = Graph()
    x = g.add_node("data", "x1", 1.0)
    assert json.loads(fileformat.dumps(g))["version"] == 2
    g.set_kind(x, "input")
    assert json.loads(fileformat.dumps(g))["version"] == 1
    g.dataset = Dataset({"a": [1.0]}, None)
    assert json.loads(fileformat.dumps(g))["version"] == 2


def test_a_newer_version_is_refused() -> None:
    d = v2_file()
    d["version"] = 3
    e = _error(json.dumps(d))
    assert e.path == "$.version" and "newer" in e.problem and "version 2" in e.problem


@pytest.mark.parametrize("version", [0, "2", 1.5, None, True])
def test_an_unknown_version_is_refused(version) -> None:
    d = v2_file()
    d["version"] = version
    e = _error(json.dumps(d))
    assert e.path == "$.version" and "unsupported" in e.problem


def test_version_1_files_cannot_use_version_2_keys() -> None:
    d = v2_file()
    d["version"] = 1
    e = _error(json.dumps(d))
    assert e.path == "$" and "unknown key 'dataset'" in e.problem
    del d["dataset"]
    e = _error(json.dumps(d))
    assert e.path == "$.nodes[0]" and "unknown key 'column'" in e.problem
    for nd in d["nodes"]:
        nd.pop("column", None)
        if nd["op"] == "data":
            nd.pop("value")
    e = _error(json.dumps(d))
    assert (e.path, e.problem) == ("$.nodes[0].op", "a data node needs file format "
                                                    "version 2 (this file says version 1)")


# ------------------------------------------------------------------ inline datasets

def test_inline_dataset_round_trips_bit_for_bit(tmp_path: Path) -> None:
    g = data_graph()
    path = tmp_path / "g.json"
    assert fileformat.save(g, path) is None  # inline: nothing written beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.json"]
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == 2 and list(data)[-1] == "dataset"
    assert data["dataset"]["origin"] == dict(g.dataset.origin)
    assert data["dataset"]["test"] == [0, 3]
    jsonschema.validate(data, _schema(2))
    back = fileformat.load(path)
    assert state(back) == state(g)
    assert back.dataset.origin == g.dataset.origin
    assert math.copysign(1.0, back.dataset.columns["x1"][0]) == -1.0
    assert back.dataset.columns["x1"][1] == 5e-324
    assert not back.dataset.columns["x1"].flags.writeable
    assert fileformat.dumps(back) == path.read_text(encoding="utf-8")
    r = evaluate_graph(back)
    assert math.isfinite(r.value(back.output))


def test_a_file_lays_a_dataset_out_one_column_a_line() -> None:
    text = fileformat.dumps(fileformat.loads(json.dumps(v2_file())))
    tail = text[text.index('  "dataset"'):]
    assert tail == ('  "dataset": {\n'
                    '    "name": "four",\n'
                    '    "origin": {"generator": "xor", "n": 4},\n'
                    '    "test": [0, 3],\n'
                    '    "columns": {\n'
                    '      "x1": [0.0, 1.0, 0.5, -0.0],\n'
                    '      "y": [0.0, 1.0, 1.0, 0.0]\n'
                    "    }\n"
                    "  }\n"
                    "}\n")


def test_a_column_need_not_exist_in_the_dataset() -> None:
    g = fileformat.loads(json.dumps(v2_file()))
    z = g.id_of("z")
    assert g.column_of(z) == "later" and "later" not in g.dataset.columns
    assert g.column_of(g.id_of("x")) == "x1" and g.column_of(g.id_of("w")) is None
    assert g.node(z).value == 1.5


def test_optional_dataset_keys_default() -> None:
    d = v2_file()
    d["dataset"] = {"columns": {"a": [1, 2]}}
    ds = fileformat.loads(json.dumps(d)).dataset
    assert ds.name == "" and ds.origin == {} and not ds.test.any() and ds.n_rows == 2


def test_an_integral_float_test_row_is_a_row() -> None:
    d = v2_file()
    d["dataset"]["test"] = [1.0, 2]
    ds = fileformat.loads(json.dumps(d)).dataset
    assert ds.rows("test").tolist() == [1, 2]


def test_a_large_inline_dataset_still_loads() -> None:
    # what dumps writes without a folder (the editor's autosave) holds any size inline
    g = data_graph(rows=fileformat.MAX_INLINE_ROWS + 5)
    back = fileformat.loads(fileformat.dumps(g))
    assert state(back) == state(g)


def test_the_clipboard_carries_columns_but_never_the_dataset() -> None:
    g = data_graph()
    ids = [g.id_of("x2"), g.id_of("w2"), g.id_of("m2")]
    data = fileformat.to_dict(g, ids)
    assert data["version"] == 2 and "dataset" not in data
    fresh = fileformat.prepare_paste(g, {**data, "dataset": {"csv": "/etc/passwd"}})
    assert fresh["version"] == 2
    x2 = next(n for n in fresh["nodes"] if n["op"] == "data")
    assert x2["column"] == "x2" and x2["name"] != "x2"


def test_a_column_the_file_cannot_hold_is_refused_before_writing(tmp_path: Path) -> None:
    g = Graph()
    x = g.add_node("data", "x", 1.0)
    with pytest.raises(InvalidNameError, match="1 to 200"):
        g.bind(x, "")  # the graph refuses what its file could not hold
    with pytest.raises(InvalidNameError, match="1 to 200"):
        g.bind(x, "c" * 201)
    g.nx.nodes[x]["column"] = ""  # a graph changed behind its back
    path = tmp_path / "g.json"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(ValueError, match="1 to 200"):
        fileformat.save(g, path)
    assert path.read_text(encoding="utf-8") == "old"
    g.bind(x, "half \ud800")  # a lone surrogate is repaired, as a note's is
    assert fileformat.loads(fileformat.dumps(g)).column_of(x) == "half \ufffd"


def test_a_dataset_the_file_cannot_hold_is_refused_before_writing(tmp_path: Path) -> None:
    g = Graph()
    path = tmp_path / "g.json"
    for cols, words in [({"a b": [1.0]}, "not a valid column name"),
                        ({"exp": [1.0]}, "name of an op")]:
        g.dataset = Dataset(cols, None)
        with pytest.raises(ValueError, match=words):
            fileformat.save(g, path)
    assert not path.exists()
    with pytest.raises(DataError, match="finite number"):  # refused on the way in
        Dataset({"a": [1.0, math.nan]}, None)


# ------------------------------------------------------------------ CSV files

def test_a_csv_reference_is_read_beside_the_graph(tmp_path: Path) -> None:
    (tmp_path / "points.csv").write_text(POINTS, encoding="utf-8")
    (tmp_path / "g.json").write_text(json.dumps(csv_file()), encoding="utf-8")
    g = fileformat.load(tmp_path / "g.json")
    ds = g.dataset
    assert ds.name == "points" and list(ds.columns) == ["x1", "y"]
    assert ds.columns["x1"].tolist() == [1.5, -2.0, 0.25]
    assert ds.rows("test").tolist() == [1]
    assert ds.origin["csv"] == str(tmp_path / "points.csv")


def test_a_csv_in_a_subfolder_and_the_default_name(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "p.csv").write_text(POINTS, encoding="utf-8")
    d = csv_file("data/p.csv")
    del d["dataset"]["name"]
    g = fileformat.loads(json.dumps(d), "g.json", tmp_path)
    assert g.dataset.name == "p.csv" and g.dataset.n_rows == 3


def test_saving_beside_an_unchanged_csv_refers_to_it(tmp_path: Path) -> None:
    csv = tmp_path / "points.csv"
    csv.write_text(POINTS, encoding="utf-8")
    before = csv.read_bytes()
    (tmp_path / "g.json").write_text(json.dumps(csv_file()), encoding="utf-8")
    g = fileformat.load(tmp_path / "g.json")
    assert fileformat.save(g, tmp_path / "h.json") is None
    data = json.loads((tmp_path / "h.json").read_text(encoding="utf-8"))
    assert data["dataset"] == {"name": "points", "csv": "points.csv", "test": [1]}
    assert csv.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.json", "h.json", "points.csv"]
    assert state(fileformat.load(tmp_path / "h.json")) == state(g)
    # saved elsewhere, a small dataset is inline: the file stands alone
    other = tmp_path / "elsewhere"
    other.mkdir()
    fileformat.save(g, other / "g.json")
    moved = json.loads((other / "g.json").read_text(encoding="utf-8"))["dataset"]
    assert "csv" not in moved and moved["origin"] == {"csv": "points.csv"}
    assert state(fileformat.load(other / "g.json")) == state(g)


def test_an_imported_csv_is_referred_to_when_the_graph_is_saved_beside_it(
        tmp_path: Path) -> None:
    csv = tmp_path / "data" / "points.csv"
    csv.parent.mkdir()
    csv.write_text(POINTS, encoding="utf-8")
    g = data_graph()
    g.dataset = datasets.read_csv(csv)  # as the editor imports it
    fileformat.save(g, tmp_path / "g.json")
    data = json.loads((tmp_path / "g.json").read_text(encoding="utf-8"))
    assert data["dataset"]["csv"] == "data/points.csv"


def test_a_changed_csv_is_not_referred_to(tmp_path: Path) -> None:
    csv = tmp_path / "points.csv"
    csv.write_text(POINTS, encoding="utf-8")
    (tmp_path / "g.json").write_text(json.dumps(csv_file()), encoding="utf-8")
    g = fileformat.load(tmp_path / "g.json")
    csv.write_text(POINTS.replace("0.25", "0.5"), encoding="utf-8")  # edited on disk
    fileformat.save(g, tmp_path / "g.json")
    data = json.loads((tmp_path / "g.json").read_text(encoding="utf-8"))
    assert data["dataset"]["columns"]["x1"] == [1.5, -2.0, 0.25]  # what the graph holds
    # a dataset changed in the editor keeps its origin but is no longer the file's
    g.dataset = Dataset({"x1": [9.0, 9.0, 9.0], "y": [0.0, 1.0, 1.0]}, None,
                        origin={"csv": str(csv)})
    fileformat.save(g, tmp_path / "g.json")
    assert "columns" in json.loads((tmp_path / "g.json").read_text("utf-8"))["dataset"]


def test_more_than_max_inline_rows_go_to_a_csv_beside_the_graph(tmp_path: Path) -> None:
    n = fileformat.MAX_INLINE_ROWS + 1
    g = data_graph(rows=n)
    path = tmp_path / "big graph.json"
    written = fileformat.save(g, path)
    assert written == tmp_path / "big graph.data.csv"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["dataset"]["csv"] == "big graph.data.csv"
    assert data["dataset"]["origin"]["generator"] == "moons"
    assert "columns" not in data["dataset"]
    assert written.read_text(encoding="utf-8").splitlines()[0] == "x1,x2,y"
    back = fileformat.load(path)
    assert state(back) == state(g)
    assert back.dataset.origin["generator"] == "moons"
    # saving again neither rewrites nor copies the CSV file
    stamp = written.stat().st_mtime_ns
    assert fileformat.save(back, path) is None
    assert written.stat().st_mtime_ns == stamp
    assert fileformat.save(g, path) is None  # the dataset just written there, too
    assert path.read_text(encoding="utf-8") == fileformat.dumps(back, csv="big graph.data.csv")
    # saved elsewhere: a copy beside the new file
    other = tmp_path / "sub"
    other.mkdir()
    assert fileformat.save(back, other / "copy.json") == other / "copy.data.csv"
    assert state(fileformat.load(other / "copy.json")) == state(g)


def test_exactly_max_inline_rows_stay_inline(tmp_path: Path) -> None:
    g = data_graph(rows=fileformat.MAX_INLINE_ROWS)
    assert fileformat.save(g, tmp_path / "g.json") is None
    assert "columns" in json.loads((tmp_path / "g.json").read_text("utf-8"))["dataset"]


def test_a_failed_save_leaves_the_graph_and_its_csv_as_they_were(tmp_path: Path,
                                                                 monkeypatch) -> None:
    g = data_graph(rows=fileformat.MAX_INLINE_ROWS + 1)
    path = tmp_path / "g.json"
    fileformat.save(g, path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    g2 = data_graph(rows=fileformat.MAX_INLINE_ROWS + 1, seed=1)

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    for target in ("fsync", "replace"):
        monkeypatch.setattr(os, target, boom)
        with pytest.raises(OSError):
            fileformat.save(g2, path)
        monkeypatch.undo()
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_a_symlinked_graph_keeps_its_csv_beside_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link.json"
    link.symlink_to(real / "g.json")
    g = data_graph(rows=fileformat.MAX_INLINE_ROWS + 1)
    assert fileformat.save(g, link) == real / "g.data.csv"
    assert state(fileformat.load(link)) == state(g)
    assert state(fileformat.load(real / "g.json")) == state(g)


# ------------------------------------------------------------------ bad files

def _with(f) -> dict:
    d = v2_file()
    f(d)
    return d


def _csv_doc(ref: str):
    return lambda d: d.__setitem__("dataset", {"csv": ref, "test": []})


#: id, the file (a dict, or text for what JSON itself cannot say), the JSON path, words
BAD = [
    ("wrong_lengths", _with(set_at(["dataset", "columns", "y"], [0, 1, 1])),
     "$.dataset.columns.y", ["3 rows", "'x1' has 4"]),
    ("nan_literal", json.dumps(v2_file()).replace("0.5, -0.0]", "NaN, -0.0]"),
     "$.dataset.columns.x1[2]", ["finite", "NaN"]),
    ("too_large", json.dumps(v2_file()).replace("0.5, -0.0]", "1e999, -0.0]"),
     "$.dataset.columns.x1[2]", ["finite"]),
    ("nan_string", _with(set_at(["dataset", "columns", "x1", 2], "nan")),
     "$.dataset.columns.x1[2]", ['"nan"', "finite numbers only"]),
    ("bool_cell", _with(set_at(["dataset", "columns", "x1", 0], True)),
     "$.dataset.columns.x1[0]", ["true", "not a number"]),
    ("column_not_a_list", _with(set_at(["dataset", "columns", "y"], 3)),
     "$.dataset.columns.y", ["3", "list"]),
    ("no_columns", _with(set_at(["dataset", "columns"], {})),
     "$.dataset.columns", ["at least one column"]),
    ("empty_column_name", _with(lambda d: d["dataset"]["columns"].update({"": [1, 2, 3, 4]})),
     "$.dataset.columns", ["column name", "empty"]),
    ("long_column_name", _with(lambda d: d["dataset"]["columns"].update(
        {"c" * 201: [1, 2, 3, 4]})), "$.dataset.columns", ["too long", "200"]),
    ("invalid_column_name", _with(lambda d: d["dataset"]["columns"].update(
        {"two words": [1, 2, 3, 4]})), "$.dataset.columns.two words",
     ["'two words'", "not a valid column name"]),
    ("op_column_name", _with(lambda d: d["dataset"]["columns"].update({"exp": [1, 2, 3, 4]})),
     "$.dataset.columns.exp", ["'exp'", "op"]),
    ("duplicate_column", json.dumps(v2_file()).replace('"y": [0, 1, 1, 0]',
                                                        '"x1": [0, 1, 1, 0]'),
     "$.dataset.columns.x1", ["twice"]),
    ("test_out_of_range", _with(set_at(["dataset", "test", 1], 4)), "$.dataset.test[1]",
     ["no row 4", "4 rows", "from 0"]),
    ("test_huge", _with(set_at(["dataset", "test", 0], 10 ** 30)), "$.dataset.test[0]",
     ["no row"]),
    ("test_negative", _with(set_at(["dataset", "test", 1], -1)), "$.dataset.test[1]",
     ["-1", "from 0"]),
    ("test_twice", _with(set_at(["dataset", "test"], [2, 0, 2])), "$.dataset.test[2]",
     ["row 2", "twice", "$.dataset.test[0]"]),
    ("test_fraction", _with(set_at(["dataset", "test", 0], 1.5)), "$.dataset.test[0]",
     ["1.5", "integer"]),
    ("test_not_a_list", _with(set_at(["dataset", "test"], 3)), "$.dataset.test", ["list"]),
    ("both_columns_and_csv", _with(set_at(["dataset", "csv"], "p.csv")), "$.dataset",
     ["both", "columns", "csv"]),
    ("neither_columns_nor_csv", _with(lambda d: d["dataset"].pop("columns")),
     "$.dataset.columns", ["missing", "csv"]),
    ("unknown_dataset_key", _with(set_at(["dataset", "rows"], 4)), "$.dataset",
     ["unknown key 'rows'"]),
    ("dataset_not_an_object", _with(set_at(["dataset"], [1, 2])), "$.dataset", ["object"]),
    ("nested_origin", _with(set_at(["dataset", "origin", "n"], [4])), "$.dataset.origin.n",
     ["[4]"]),
    ("name_not_text", _with(set_at(["dataset", "name"], 4)), "$.dataset.name", ["text"]),
    ("absolute_csv", _with(_csv_doc("/tmp/points.csv")), "$.dataset.csv",
     ["'/tmp/points.csv'", "absolute"]),
    ("windows_absolute_csv", _with(_csv_doc("C:\\data\\points.csv")), "$.dataset.csv",
     ["absolute"]),
    ("unc_csv", _with(_csv_doc("\\\\server\\share\\p.csv")), "$.dataset.csv", ["absolute"]),
    ("dotdot_csv", _with(_csv_doc("../points.csv")), "$.dataset.csv",
     ["'../points.csv'", "out of the graph file's folder"]),
    ("inner_dotdot_csv", _with(_csv_doc("data/../../points.csv")), "$.dataset.csv",
     ["out of"]),
    ("backslash_dotdot_csv", _with(_csv_doc("data\\..\\..\\p.csv")), "$.dataset.csv",
     ["out of"]),
    ("empty_csv_ref", _with(_csv_doc("")), "$.dataset.csv", ["empty"]),
    ("missing_csv", _with(_csv_doc("nowhere.csv")), "$.dataset.csv",
     ["'nowhere.csv'", "no such file"]),
    ("csv_is_a_folder", _with(_csv_doc("data")), "$.dataset.csv", ["folder"]),
    ("bad_csv", _with(_csv_doc("bad.csv")), "$.dataset.csv",
     ["'bad.csv'", "line 3", "'oops'"]),
    ("csv_not_utf8", _with(_csv_doc("latin.csv")), "$.dataset.csv", ["UTF-8"]),
    ("csv_test_out_of_range", _with(lambda d: d.__setitem__(
        "dataset", {"csv": "good.csv", "test": [2]})), "$.dataset.test[0]", ["2 rows"]),
    ("data_without_column", _with(lambda d: d["nodes"][0].pop("column")),
     "$.nodes[0].column", ["missing", "data node needs its column"]),
    ("column_on_an_input", _with(set_at(["nodes", 1, "column"], "x1")), "$.nodes[1].column",
     ["a param node has no column"]),
    ("column_on_an_op", _with(set_at(["nodes", 2, "column"], "x1")), "$.nodes[2].column",
     ["a mul node has no column"]),
    ("empty_column", _with(set_at(["nodes", 0, "column"], "")), "$.nodes[0].column",
     ["empty"]),
    ("long_column", _with(set_at(["nodes", 0, "column"], "c" * 201)), "$.nodes[0].column",
     ["too long", "200"]),
    ("column_not_text", _with(set_at(["nodes", 0, "column"], 1)), "$.nodes[0].column",
     ["text"]),
    ("data_without_value", _with(lambda d: d["nodes"][0].pop("value")),
     "$.nodes[0].value", ["missing"]),
    ("op_with_value", _with(set_at(["nodes", 2, "value"], 1)), "$.nodes[2]",
     ["input, param, const, data"]),
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The graph's folder, holding the CSV files the bad cases name."""
    (tmp_path / "good.csv").write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3,oops\n", encoding="utf-8")
    (tmp_path / "latin.csv").write_bytes("a\n1\n\u00e9\n".encode("latin-1"))
    (tmp_path / "data").mkdir()
    return tmp_path


def _text(doc) -> str:
    return doc if isinstance(doc, str) else json.dumps(doc)


def _doc(doc) -> dict:
    """A bad case as the loader sees it after JSON (NaN, duplicates: not a schema matter)."""
    return json.loads(doc) if isinstance(doc, str) else doc


@pytest.mark.parametrize("doc,path,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_v2_file_names_file_path_and_problem(folder: Path, doc, path: str,
                                                   words: list[str]) -> None:
    f = folder / "bad graph.json"
    f.write_text(_text(doc), encoding="utf-8")
    with pytest.raises(GraphFileError) as ei:
        fileformat.load(f)
    e = ei.value
    assert e.file == str(f) and str(e) == f"{f}: {e.path}: {e.problem}"
    assert e.path == path, str(e)
    for w in words:
        assert w.lower() in e.problem.lower(), str(e)
    assert "\n" not in str(e) and len(str(e)) < 400 + len(str(f))


@pytest.mark.parametrize("doc,path,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_fast_check_and_full_schema_agree_on_bad_v2_files(folder: Path, monkeypatch, doc,
                                                          path: str, words: list[str]) -> None:
    text = _text(doc)
    plainly_valid = fileformat._plainly_valid
    with pytest.raises(GraphFileError) as fast:
        fileformat.loads(text, "g.json", folder)
    monkeypatch.setattr(fileformat, "_plainly_valid", lambda data: False)
    with pytest.raises(GraphFileError) as full:
        fileformat.loads(text, "g.json", folder)
    assert str(fast.value) == str(full.value)
    # the fast check says "certainly valid" exactly when the schema does (what the
    # schema accepts and the loader refuses is a rule no schema can say)
    data = _doc(doc)
    assert plainly_valid(data) == schema_ok(data), path


def test_a_csv_reference_needs_a_folder() -> None:
    e = _error(json.dumps(csv_file()))
    assert e.path == "$.dataset.csv" and "not read from a file" in e.problem


def test_the_csv_problem_wraps_the_import_message(folder: Path) -> None:
    e = _error(json.dumps(csv_file("bad.csv")), folder)
    try:
        datasets.read_csv(folder / "bad.csv")
    except DataError as de:
        detail = str(de).removeprefix("bad.csv: ")
    assert e.problem == f"the CSV file 'bad.csv': {detail}"


# ------------------------------------------------------------------ the fast path

_SCHEMAS = {v: json.loads(p.read_text(encoding="utf-8"))
            for v, p in fileformat.SCHEMA_PATHS.items()}


def _schema(version: int) -> dict:
    return _SCHEMAS[version]


def schema_ok(doc) -> bool:
    """The published schema's verdict for the version the document says (v2's when it
    says none it knows: the strictest answer)."""
    v = doc.get("version") if isinstance(doc, dict) else None
    s = _schema(v if type(v) is int and v in _SCHEMAS else 2)
    return jsonschema.validators.validator_for(s)(s).is_valid(doc)


ODD = [None, True, False, 0, 1, 2, 1.0, -2.5, -1, "", "x", "x1", "c" * 201, "/abs.csv",
       [], [1], [1, 2], [1, 1], [0, 1, 2, 3], [1.5], ["a"], [[1]], {}, {"a": 1},
       {"a": [1]}, {"x1": [1, 2, 3, 4]}, {"": [1]}]


def v2_mutations(rnd: random.Random, doc: dict) -> dict:
    d = copy.deepcopy(doc)
    for _ in range(rnd.randint(1, 3)):
        where = rnd.choice(["top", "node", "edge", "dataset", "columns", "origin", "test"])
        ds = d.get("dataset")
        obj = {"top": d,
               "node": rnd.choice(d["nodes"]) if isinstance(d.get("nodes"), list)
               and d["nodes"] else d,
               "edge": rnd.choice(d["edges"]) if isinstance(d.get("edges"), list)
               and d["edges"] else d,
               "dataset": ds,
               "columns": ds.get("columns") if isinstance(ds, dict) else None,
               "origin": ds.get("origin") if isinstance(ds, dict) else None,
               "test": ds.get("test") if isinstance(ds, dict) else None}[where]
        if isinstance(obj, list):
            if obj and rnd.random() < 0.5:
                obj[rnd.randrange(len(obj))] = rnd.choice(ODD)
            else:
                obj.append(rnd.choice(ODD))
            continue
        if not isinstance(obj, dict):
            continue
        mutate_object(rnd, obj, ODD, ["extra", "value", "column", "csv", "columns", "test",
                                      "name", "origin", "dataset", "op", "version"])
    return d


def test_a_plain_valid_v2_file_takes_the_fast_path(monkeypatch) -> None:
    for doc in (v2_file(), csv_file()):
        assert schema_ok(doc) and fileformat._plainly_valid(doc)
    big = fileformat.to_dict(data_graph(rows=fileformat.MAX_INLINE_ROWS))
    assert fileformat._plainly_valid(big)

    def no_schema(version: int = 1):
        raise AssertionError("the full validator was used")

    monkeypatch.setattr(fileformat, "_validator", no_schema)
    fileformat.from_dict(big)
    fileformat.from_dict(fileformat.to_dict(data_graph(rows=3)))


@pytest.mark.parametrize("seed", range(20))
def test_fast_check_never_accepts_what_the_v2_schema_refuses(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(150):
        doc = v2_mutations(rnd, rnd.choice([v2_file(), csv_file()]))
        if fileformat._plainly_valid(doc):
            assert schema_ok(doc), doc
