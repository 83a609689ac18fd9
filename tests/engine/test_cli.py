"""The command line, run as a user runs it: `python main.py ...` in subprocesses.

Every process is started once, up front and in parallel (module fixture `runs`), because
each start pays for importing numpy and networkx; the tests then read the results.
Expected numbers are the tutorial's (../shared/seeds/000_7e3f65b3b2963f68.txt).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engine import fileformat
from engine.layout import node_size

ROOT = Path(__file__).resolve().parents[2]
EX = "assets/examples/"
TWO_LAYER = "h = w1*x; yhat = w2*h; L = squared_error(y, yhat)"
TWO_LAYER_POW = "h = w1*x; yhat = w2*h; L = (y - yhat)**2"
SET_TWO_LAYER = ["--param", "w1,w2", "--set", "x=2", "y=1", "--set", "w1=0.5", "w2=0.3"]


def _reject_constant(c: str):
    raise ValueError(f"not strict JSON: {c}")


def strict_json(text: str):
    return json.loads(text, parse_constant=_reject_constant)


class Run:
    def __init__(self, argv: list[str], proc: subprocess.CompletedProcess) -> None:
        self.argv = argv
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        assert self.code == 0, self.err
        return strict_json(self.out)


def iso(a: float, b: float) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    (d / "bad.json").write_text("hello", encoding="utf-8")
    (d / "existing.json").write_bytes((ROOT / EX / "two_layer.json").read_bytes())
    (d / "expr.txt").write_text("x = 3\ny = 6\nw = param(1)\nyhat = w*x\nL = (y - yhat)**2\n",
                                encoding="utf-8")
    (d / "bad_expr.txt").write_text("y = x.real\n", encoding="utf-8")
    # a small graph for layout checks: fan-out, a sum with many ports, several generations
    (d / "layout.txt").write_text(
        "a = w1*x + b1\nc = tanh(a)\nd = sigmoid(a) * c\n"
        "s = sum(a, c, d, x, w1, b1, 2)\nL = squared_error(y, s + d)\n", encoding="utf-8")
    return d


def cases(w: Path) -> dict[str, list[str]]:
    return {
        # tutorial numbers from files
        "two_layer": ["eval", EX + "two_layer.json", "--json"],
        "chain_2x": ["eval", EX + "chain_2x.json", "--json"],
        "ex1": ["eval", EX + "exercise1.json", "--json"],
        "ex2": ["eval", EX + "exercise2.json", "--json"],
        "ex3": ["eval", EX + "exercise3.json", "--json"],
        # ... and from expressions
        "expr_two_layer": ["eval", "--expr", TWO_LAYER, *SET_TWO_LAYER, "--json"],
        "expr_two_layer_pow": ["eval", "--expr", TWO_LAYER_POW, *SET_TWO_LAYER, "--json"],
        "expr_chain_2x": ["eval", "--expr", "y = (2*x)**2", "--set", "x=3", "--json"],
        "expr_ex1": ["eval", "--expr", "y = (3*x + 1)**2", "--set", "x=2", "--json"],
        "expr_ex2": ["eval", "--expr", "L = (y - w*x)**2", "--param", "w", "--set", "x=3",
                     "y=6", "w=1", "--json"],
        "expr_file": ["eval", "--expr-file", str(w / "expr.txt"), "--json"],
        "table": ["eval", EX + "two_layer.json"],
        "nan_json": ["eval", "--expr", "y = log(x)", "--set", "x=-1", "--json"],
        # training
        "train_ex2": ["train", EX + "exercise2.json", "--steps", "1", "--lr", "0.1", "--json"],
        "train_two_layer": ["train", EX + "two_layer.json", "--steps", "1", "--lr", "0.1",
                            "--json"],
        "train_expr_out": ["train", "--expr", "L = (y - w*x)**2", "--param", "w", "--set",
                           "x=3", "y=6", "w=1", "--steps", "1", "--lr", "0.1",
                           "-o", str(w / "trained.json")],
        # check
        **{f"check_{p.stem}": ["check", EX + p.name]
           for p in sorted((ROOT / "assets" / "examples").glob("*.json"))},
        "check_relu_kink": ["check", "--expr", "y = relu(x)", "--set", "x=0"],
        "check_abs_kink_json": ["check", "--expr", "y = abs(x) + relu(x)", "--set", "x=0",
                                "--json"],
        # convert
        "convert_small": ["convert", "--expr-file", str(w / "layout.txt"),
                          "-o", str(w / "layout.json")],
        # bad input: exit 2, one line, nothing written
        "bad_missing_file": ["eval", str(w / "nope.json")],
        "bad_file": ["eval", str(w / "bad.json"), "--json"],
        "bad_expr": ["eval", "--expr", "y = x.real"],
        "bad_expr_file": ["eval", "--expr-file", str(w / "bad_expr.txt")],
        "bad_missing_expr_file": ["eval", "--expr-file", str(w / "none.txt")],
        "bad_set_unknown": ["eval", "--expr", "y = 2*x", "--set", "z=1"],
        "bad_set_number": ["eval", "--expr", "y = 2*x", "--set", "x=abc"],
        "bad_set_nan": ["eval", "--expr", "y = 2*x", "--set", "x=nan"],
        "bad_set_no_equals": ["eval", "--expr", "y = 2*x", "--set", "x"],
        "bad_set_op_node": ["eval", "--expr", "y = 2*x", "--set", "y=3"],
        "bad_conflict": ["eval", EX + "two_layer.json", "--expr", "y = 2*x"],
        "bad_conflict_exprs": ["eval", "--expr", "y = 2*x", "--expr-file", str(w / "expr.txt")],
        "bad_param_unknown": ["eval", "--expr", "y = 2*x", "--param", "w"],
        "bad_steps": ["train", EX + "exercise2.json", "--steps", "many", "--lr", "0.1"],
        "bad_lr": ["train", EX + "exercise2.json", "--steps", "1", "--lr", "fast"],
        "bad_no_command_option": ["eval", "--frobnicate"],
        "bad_train_expr_out": ["train", "--expr", "y = (", "--steps", "1", "--lr", "0.1",
                               "-o", str(w / "never1.json")],
        "bad_convert_expr_out": ["convert", "--expr", "y = lambda: 1",
                                 "-o", str(w / "never2.json")],
        "bad_convert_set_out": ["convert", "--expr", "y = 2*x", "--set", "q=1",
                                "-o", str(w / "never3.json")],
        "bad_train_existing": ["train", str(w / "bad.json"), "--steps", "1", "--lr", "0.1",
                               "-o", str(w / "existing.json")],
        "bad_ambiguous_output": ["eval", "--expr", "a = 2*x\nb = 3*x\na + b\nc = 1"],
    }


@pytest.fixture(scope="module")
def runs(work: Path) -> dict[str, Run]:
    todo = cases(work)

    def one(argv: list[str]) -> Run:
        proc = subprocess.run([sys.executable, "main.py", *argv], cwd=ROOT, capture_output=True,
                              text=True, encoding="utf-8", timeout=300)
        return Run(argv, proc)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(todo, pool.map(one, todo.values())))
    return results


def _nodes(data: dict) -> dict[str, dict]:
    return {n["name"]: n for n in data["nodes"]}


def _edge(data: dict, source: str, target: str) -> dict:
    (e,) = [e for e in data["edges"] if e["source"] == source and e["target"] == target]
    return e


# ------------------------------------------------------------------ tutorial numbers

@pytest.mark.parametrize("case", ["two_layer", "expr_two_layer", "expr_two_layer_pow"])
def test_two_layer_numbers(runs: dict[str, Run], case: str) -> None:
    data = runs[case].json()
    n = _nodes(data)
    assert data["output"] == "L"
    assert iso(n["L"]["value"], 0.49)
    assert iso(n["yhat"]["grad"], -1.4)
    assert iso(n["h"]["grad"], -0.42)
    assert iso(n["w1"]["grad"], -0.84)
    assert iso(n["w2"]["grad"], -1.4)
    assert iso(n["h"]["value"], 1.0) and iso(n["yhat"]["value"], 0.3)
    e = _edge(data, "w1", "h")
    assert iso(e["local"], 2.0) and iso(e["product"], -0.84)
    assert n["w1"]["op"] == "param" and n["x"]["op"] == "input"


@pytest.mark.parametrize("case", ["chain_2x", "expr_chain_2x"])
def test_chain_2x_dy_dx_is_24(runs: dict[str, Run], case: str) -> None:
    n = _nodes(runs[case].json())
    assert n["x"]["value"] == 3 and iso(n["x"]["grad"], 24.0)


@pytest.mark.parametrize("case", ["ex1", "expr_ex1"])
def test_exercise_1_is_42(runs: dict[str, Run], case: str) -> None:
    n = _nodes(runs[case].json())
    assert n["x"]["value"] == 2 and iso(n["x"]["grad"], 42.0)


@pytest.mark.parametrize("case", ["ex2", "expr_ex2", "expr_file"])
def test_exercise_2_is_minus_18(runs: dict[str, Run], case: str) -> None:
    data = runs[case].json()
    n = _nodes(data)
    assert iso(n["w"]["grad"], -18.0)
    assert n["w"]["op"] == "param"


def test_exercise_3_is_minus_1_4(runs: dict[str, Run]) -> None:
    assert iso(_nodes(runs["ex3"].json())["w2"]["grad"], -1.4)


def test_json_shape(runs: dict[str, Run]) -> None:
    data = runs["two_layer"].json()
    assert set(data) >= {"output", "nodes", "edges"}
    for n in data["nodes"]:
        assert {"id", "name", "op", "value", "grad"} <= set(n)
    for e in data["edges"]:
        assert {"source", "target", "port", "local", "product"} <= set(e)
    assert len(data["edges"]) == 6 and len(data["nodes"]) == 7


def test_non_finite_numbers_are_null_with_reason(runs: dict[str, Run]) -> None:
    data = runs["nan_json"].json()  # strict: NaN literals would be refused
    y = _nodes(data)["y"]
    assert y["value"] is None
    assert y["reason"] == "log is undefined for −1"


def test_table_is_readable(runs: dict[str, Run]) -> None:
    r = runs["table"]
    assert r.code == 0 and r.err == ""
    for token in ("w1", "−0.84", "0.49", "−1.4", "−0.42"):
        assert token in r.out


# ------------------------------------------------------------------ train

def test_train_exercise_2_one_step(runs: dict[str, Run]) -> None:
    data = runs["train_ex2"].json()
    assert iso(data["params"]["w"], 2.8)
    assert iso(data["steps"][0]["loss"], 9.0)  # (6 − 1·3)² before the step


def test_train_two_layer_one_step(runs: dict[str, Run]) -> None:
    data = runs["train_two_layer"].json()
    assert iso(data["params"]["w1"], 0.584) and iso(data["params"]["w2"], 0.44)
    assert iso(data["steps"][0]["loss"], 0.49)


def test_train_saves_the_trained_graph(runs: dict[str, Run], work: Path) -> None:
    r = runs["train_expr_out"]
    assert r.code == 0, r.err
    g = fileformat.load(work / "trained.json")
    assert iso(g.node(g.id_of("w")).value, 2.8)
    assert g.node(g.id_of("x")).value == 3.0


# ------------------------------------------------------------------ check

def test_check_passes_on_every_example(runs: dict[str, Run]) -> None:
    names = [k for k in runs if k.startswith("check_") and "kink" not in k]
    assert len(names) >= 5
    for k in names:
        assert runs[k].code == 0, (k, runs[k].out, runs[k].err)


def test_check_reports_kinks_without_failing(runs: dict[str, Run]) -> None:
    r = runs["check_relu_kink"]
    assert r.code == 0, r.out + r.err
    assert "kink" in r.out
    data = runs["check_abs_kink_json"].json()
    assert data["passed"] is True
    (x,) = [row for row in data["leaves"] if row["name"] == "x"]
    assert x["status"] == "kink"
    assert x["analytic"] == 0.0 + 0.0  # abs′(0) + relu′(0) = 0 by convention


# ------------------------------------------------------------------ bad input

BAD_CASES = ["bad_missing_file", "bad_file", "bad_expr", "bad_expr_file", "bad_missing_expr_file",
             "bad_set_unknown", "bad_set_number", "bad_set_nan", "bad_set_no_equals",
             "bad_set_op_node", "bad_conflict", "bad_conflict_exprs", "bad_param_unknown",
             "bad_steps", "bad_lr", "bad_no_command_option", "bad_train_expr_out",
             "bad_convert_expr_out", "bad_convert_set_out", "bad_train_existing",
             "bad_ambiguous_output"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_exits_2_with_one_line(runs: dict[str, Run], case: str) -> None:
    r = runs[case]
    assert r.code == 2, (r.code, r.out, r.err)
    assert "Traceback" not in r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    assert len(lines[0]) > 10
    assert r.out == ""


def test_bad_input_messages_say_what_is_wrong(runs: dict[str, Run]) -> None:
    assert "nope.json" in runs["bad_missing_file"].err
    assert "bad.json" in runs["bad_file"].err and "$" in runs["bad_file"].err
    assert "line 1" in runs["bad_expr"].err and "column 5" in runs["bad_expr"].err
    assert "'z'" in runs["bad_set_unknown"].err or "z" in runs["bad_set_unknown"].err
    assert "abc" in runs["bad_set_number"].err


def test_bad_input_writes_nothing(runs: dict[str, Run], work: Path) -> None:
    for name in ("never1.json", "never2.json", "never3.json"):
        assert not (work / name).exists()
    assert (work / "existing.json").read_bytes() == \
        (ROOT / EX / "two_layer.json").read_bytes()
    leftovers = [p.name for p in work.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers


# ------------------------------------------------------------------ convert

def test_convert_lays_out_without_overlap(runs: dict[str, Run], work: Path) -> None:
    r = runs["convert_small"]
    assert r.code == 0, r.err
    g = fileformat.load(work / "layout.json")
    assert g.name_of(g.resolve_output()) == "L"
    rects = []
    for nid in g.ids():
        x, y = g.node(nid).pos
        w, h = node_size(g, nid)
        rects.append((x, y, x + w, y + h, g.name_of(nid)))
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
            assert apart, (a, b)
    # left to right: every edge goes from a column left of its target
    for s, t, _ in g.edges():
        assert g.node(s).pos[0] < g.node(t).pos[0]


@pytest.mark.slow
def test_convert_100000_statements(tmp_path: Path) -> None:
    n = 100_000
    lines = ["a0 = w*x"] + [f"a{i} = w*a{i - 1} + x" for i in range(1, n)]
    src = tmp_path / "big.txt"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "big.json"
    proc = subprocess.run([sys.executable, "main.py", "convert", "--expr-file", str(src),
                           "-o", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = strict_json(out.read_text(encoding="utf-8"))
    # x, w; a0 = mul; then per statement one mul and one add
    assert len(data["nodes"]) == 2 + 1 + 2 * (n - 1)
    names = {nd["id"]: nd["name"] for nd in data["nodes"]}
    assert names[data["output"]] == f"a{n - 1}"
    # columns: a generation per statement, so x positions strictly increase along the chain
    pos = {nd["name"]: nd["pos"] for nd in data["nodes"]}
    assert all(pos[f"a{i}"][0] < pos[f"a{i + 1}"][0] for i in range(0, n - 1, 997))
