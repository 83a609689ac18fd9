"""The loader's bulk build accepts and rejects exactly what the checked path does, and
builds the same graph; the command line's fast writers give the same text as the
standard library and the numbers of the readable reference.

Each document is loaded twice: as the loader does it (bulk where plainly valid), and
with the bulk build switched off, so every node and edge goes through ``Graph.add_node``
and ``Graph.connect_error`` as before. Outcomes must be identical: the same error
message, or graphs equal in every dict, in networkx's insertion order (which fixes the
order gradients are summed in), in names and in the next id."""

from __future__ import annotations

import copy
import json
import math
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement import close_ulp
from chain_rule_studio import jsonout
from engine import fileformat
from engine.errors import GraphFileError
from engine.evaluate import evaluate
from engine.fast import compile_graph

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "assets" / "examples").glob("*.json"))


def _shape(g) -> tuple:
    G = g.nx
    return (list(G._node.items()), [(u, list(v.items())) for u, v in G._succ.items()],
            [(u, list(v.items())) for u, v in G._pred.items()], g.output, g.note,
            dict(g._names), g._next)


def _outcome(text: str, bulk: bool, monkeypatch) -> tuple:
    with monkeypatch.context() as m:
        if not bulk:
            m.setattr(fileformat, "_build_plainly", lambda *a, **k: False)
        try:
            g = fileformat.loads(text, "f.json")
        except GraphFileError as e:
            return ("error", str(e))
    return ("graph", _shape(g))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_builds_the_same_graph_in_bulk(path: Path, monkeypatch) -> None:
    text = path.read_text(encoding="utf-8")
    fast = _outcome(text, True, monkeypatch)
    assert fast[0] == "graph"
    assert fast == _outcome(text, False, monkeypatch)


ODD = [None, True, 0, -1, 2.5, "", "x", "n1", "n2", "n99", "a", "b", "x1", "x2", "x0",
       "sum", "exp", "tanh", "mul", "data", "power", "é", "1x", "if", [], [1, 2], {}, 1e308]


def _mutate(rnd: random.Random, doc: dict) -> dict:
    d = copy.deepcopy(doc)
    for _ in range(rnd.randint(1, 3)):
        kind = rnd.choice(["node", "edge", "dup_edge", "dup_name", "swap", "benign"])
        if kind == "benign" and d["nodes"]:  # still a valid file
            nd = rnd.choice(d["nodes"])
            nd["name"] = f"z{rnd.randrange(10**6)}"
            nd["pos"] = [rnd.uniform(-9, 9), rnd.uniform(-9, 9)]
        elif kind == "node" and d["nodes"]:
            nd = rnd.choice(d["nodes"])
            nd[rnd.choice(["name", "op", "value", "pos", "exponent", "column", "id"])] = \
                rnd.choice(ODD)
        elif kind == "edge" and d["edges"]:
            ed = rnd.choice(d["edges"])
            ed[rnd.choice(["source", "target", "port"])] = rnd.choice(ODD)
        elif kind == "dup_edge" and d["edges"]:
            d["edges"].append(copy.deepcopy(rnd.choice(d["edges"])))
        elif kind == "dup_name" and len(d["nodes"]) > 1:
            a, b = rnd.sample(d["nodes"], 2)
            a["name"] = b["name"]
        elif d["edges"]:
            ed = rnd.choice(d["edges"])
            ed["source"], ed["target"] = ed["target"], ed["source"]  # maybe a cycle
    return d


BASE = json.loads((ROOT / "assets" / "examples" / "two_paths.json").read_text("utf-8"))
SUMS = {
    "format": "chain-rule-studio", "version": 2, "output": "n6",
    "nodes": [{"id": "n1", "name": "x1", "op": "data", "value": 1, "column": "x1"},
              {"id": "n2", "name": "w", "op": "param", "value": 0.5},
              {"id": "n3", "name": "m", "op": "mul"},
              {"id": "n4", "name": "s", "op": "sum"},
              {"id": "n5", "name": "p", "op": "power", "exponent": 2},
              {"id": "n6", "name": "t", "op": "tanh"}],
    "edges": [{"source": "n1", "target": "n3", "port": "a"},
              {"source": "n2", "target": "n3", "port": "b"},
              {"source": "n3", "target": "n4", "port": "x1"},
              {"source": "n1", "target": "n4", "port": "x2"},
              {"source": "n4", "target": "n5", "port": "x"},
              {"source": "n5", "target": "n6", "port": "x"}],
}


@pytest.mark.parametrize("seed", range(12))
def test_mutated_files_get_the_same_outcome_both_ways(seed: int, monkeypatch) -> None:
    rnd = random.Random(seed)
    seen = set()
    for base in (BASE, SUMS):
        for _ in range(60):
            text = json.dumps(_mutate(rnd, base))
            fast = _outcome(text, True, monkeypatch)
            assert fast == _outcome(text, False, monkeypatch), text
            seen.add(fast[0])
    assert seen == {"graph", "error"}  # the mutations reach both outcomes


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 60), st.integers(0, 2**32 - 1))
def test_random_valid_graphs_build_the_same_in_bulk(n: int, seed: int) -> None:
    import sys
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from families import dag
    g, _ = dag(n, seed=seed % 1000)
    text = fileformat.dumps(g)
    with pytest.MonkeyPatch.context() as m:
        fast = _outcome(text, True, m)
        assert fast[0] == "graph" and fast == _outcome(text, False, m)


# ------------------------------------------------------------------ the writers

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=4),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_the_json_writer_writes_what_the_json_module_writes(doc) -> None:
    assert jsonout.dumps(doc) == json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=1)


def test_records_in_runs_of_the_same_keys() -> None:
    records = [{"id": "n1", "v": 1.5, "ok": True}, {"id": "n2", "v": -0.0, "ok": False},
               {"id": "n3", "v": 2.0, "ok": True, "why": "constant"},
               {"id": "n4", "v": None, "ok": True}, {"id": "%s\n\"", "v": 5e-324, "ok": True}]
    doc = {"output": "L", "nodes": records, "edges": []}
    assert jsonout.dumps(doc) == json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=1)
    with pytest.raises(ValueError):
        jsonout.dumps({"nodes": [{"v": 1.0}, {"v": math.nan}]})


def test_eval_json_equals_the_reference_within_4_ulp(tmp_path: Path) -> None:
    """``main.py eval --json`` (compiled arrays, fast writer) against the readable
    reference evaluation of the same file, number by number."""
    import contextlib
    import io
    import sys
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from families import mlp
    from chain_rule_studio import cli
    g, _ = mlp(400)
    path = tmp_path / "g.json"
    fileformat.save(g, path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.run(["eval", str(path), "--json"]) == 0
    doc = json.loads(out.getvalue())
    g = fileformat.load(path)
    ref = evaluate(g)
    assert [n["id"] for n in doc["nodes"]] == ref.order
    for n in doc["nodes"]:
        nr = ref.nodes[n["id"]]
        assert close_ulp(n["value"], nr.value) and n["on_path"] == nr.on_path
        assert (n["grad"] is None) == (nr.grad is None)
        if nr.grad is not None:
            assert close_ulp(n["grad"], nr.grad), n
    names = {nid: g.name_of(nid) for nid in g.ids()}
    want = [(names[s], names[t], p) for (s, t, p) in ref.edges]
    assert [(e["source"], e["target"], e["port"]) for e in doc["edges"]] == want
    for e, er in zip(doc["edges"], ref.edges.values()):
        if er.local is not None:
            assert close_ulp(e["local"], er.local) and close_ulp(e["product"], er.product)
    # the table is the reference's table
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.run(["eval", str(path)]) == 0
    assert out.getvalue().strip().splitlines()[0].startswith(f"output {g.name_of(g.output)} =")
    assert len(out.getvalue().splitlines()) == 2 + 2 + len(g) + 1 + 2 + len(ref.edges)



def _eval_stderr(monkeypatch, capsys, tty: bool) -> str:
    import time
    from chain_rule_studio import cli
    monkeypatch.setattr(cli, "_stderr_is_tty", lambda: tty)
    monkeypatch.setattr(cli, "PROGRESS_AFTER", 0.0)
    real = cli.compile_graph

    def slow(g):  # long enough for the timer's thread to speak first
        time.sleep(0.05)
        return real(g)
    monkeypatch.setattr(cli, "compile_graph", slow)
    assert cli.run(["eval", str(EXAMPLES[0])]) == 0
    return capsys.readouterr().err


def test_progress_lines_go_to_a_terminal_only(monkeypatch, capsys) -> None:
    err = _eval_stderr(monkeypatch, capsys, tty=True)
    assert "main.py: compiling… " in err and err.rstrip().endswith(" s")
    assert "main.py: loading… " in err
    assert _eval_stderr(monkeypatch, capsys, tty=False) == ""


@pytest.mark.parametrize("text", ["x = 2\nw = param(0.5)\ny = 2*x\nL = (y - w*x)**2",
                                  "a = 3\nb = a*a\nc = 1.5 + 2\nL = b*c",
                                  "x = 0.3\nL = tanh(x)"])
def test_the_array_writers_write_what_the_result_writers_write(text: str) -> None:
    """``eval``'s writers straight from the arrays against the Result-based ones (the
    same numbers: every one here is finite, so to_result reads the same arrays)."""
    from chain_rule_studio import cli
    from engine.expr import parse
    g = parse(text)
    cres = compile_graph(g).evaluate()
    assert cres.all_finite()
    r = cres.to_result(g)
    want = json.dumps(cli.result_json(g, r), ensure_ascii=False, allow_nan=False, indent=1)
    assert cli.compiled_json_text(g, cres) == want
    assert jsonout.dumps(cli.compiled_json(g, cres)) == want
    assert cli.compiled_table(g, cres) == cli.result_table(g, r)


# ------------------------------------- numbers the bulk build must never let through

def _careful(text: str, monkeypatch) -> tuple:
    return _outcome(text, False, monkeypatch)


def _spliced(doc: dict, rnd: random.Random) -> str:
    """``doc`` as text with one number or key made bad where ``json`` still parses it:
    a NaN or Infinity literal, a number beyond a float, a key given twice."""
    text = json.dumps(doc)
    bad = rnd.choice(["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "9" * 400])
    spots = [m.start() for m in __import__("re").finditer(r"(?<=[:\[,] )-?\d[\d.e+-]*", text)]
    kind = rnd.choice(["number", "number", "dup"])
    if kind == "number" and spots:
        at = rnd.choice(spots)
        end = at
        while end < len(text) and text[end] not in ",]}":
            end += 1
        return text[:at] + bad + text[end:]
    keys = [m.start() for m in __import__("re").finditer(r'\{"', text)]
    at = rnd.choice(keys) + 1
    close = text.index("}", at)
    body = text[at:close]
    first = body.split(",")[0]
    return text[:at] + first + ", " + body + text[close:]


DATASET_DOC = {
    "format": "chain-rule-studio", "version": 2, "output": "n4",
    "dataset": {"name": "d", "origin": {"kind": "moons", "seed": 3, "noise": 0.1},
                "test": [1], "columns": {"x1": [0.5, -1.0, 2.0], "y": [1, 0, 1]}},
    "nodes": [{"id": "n1", "name": "x1", "op": "data", "value": 0.5, "column": "x1",
               "pos": [0.0, 1.25]},
              {"id": "n2", "name": "w", "op": "param", "value": 0.5, "pos": [1.0, 2.0]},
              {"id": "n3", "name": "p", "op": "power", "exponent": 2, "pos": [2.0, 3.0]},
              {"id": "n4", "name": "t", "op": "mul", "pos": [3.0, 4.0]}],
    "edges": [{"source": "n1", "target": "n3", "port": "x"},
              {"source": "n3", "target": "n4", "port": "a"},
              {"source": "n2", "target": "n4", "port": "b"}],
}


@pytest.mark.parametrize("seed", range(8))
def test_a_bad_number_or_key_anywhere_gets_the_careful_paths_message(seed: int,
                                                                     monkeypatch) -> None:
    """The loader skips its walk over every parsed number when the bulk build succeeds:
    a NaN, an infinity, a number beyond a float or a repeated key spliced anywhere into
    a file must still be reported exactly as the careful path reports it."""
    rnd = random.Random(seed)
    errors = 0
    for base in (BASE, SUMS, DATASET_DOC):
        for _ in range(25):
            text = _spliced(base, rnd)
            fast = _outcome(text, True, monkeypatch)
            assert fast == _careful(text, monkeypatch), text
            errors += fast[0] == "error"
    assert errors > 40  # most splices are errors; a few land where any number is fine


def test_the_three_examples_on_data_load_the_same_both_ways(monkeypatch) -> None:
    for name in ("xor", "moons", "sine"):
        text = (ROOT / "assets" / "examples" / f"{name}.json").read_text("utf-8")
        fast = _outcome(text, True, monkeypatch)
        assert fast[0] == "graph" and fast == _careful(text, monkeypatch)


# ---------------------------------------------------- a column of numbers for a table

@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats() | st.sampled_from([0.0, -0.0, 1e-5, -1e21, 5e-324, 1e16,
                                                123456.5, -999999.5, 1e-100]),
                max_size=30),
       st.integers(1, 9))
def test_a_column_is_formatted_as_each_number_alone(xs: list, digits: int) -> None:
    from engine.numfmt import fmt, fmt_many
    assert fmt_many(xs, digits) == [fmt(x, digits) for x in xs]


def _bad_corpus() -> list[tuple[str, str]]:
    """Every bad file the format tests name (version 1 and version 2), as text."""
    import test_fileformat as v1
    import test_fileformat_v2 as v2
    out = [(f"v1-{b[0]}", b[1]) for b in v1.BAD]
    out += [(f"v2-{b[0]}", v2._text(b[1])) for b in v2.BAD]
    return out


@pytest.mark.parametrize("name,text", _bad_corpus(), ids=lambda x: x if len(x) < 40 else "")
def test_the_bad_file_corpus_is_refused_the_same_both_ways(name: str, text: str,
                                                            monkeypatch) -> None:
    fast = _outcome(text, True, monkeypatch)
    assert fast[0] == "error", name
    assert fast == _careful(text, monkeypatch)
