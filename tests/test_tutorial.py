"""The tutorial's worked examples, through the command line as a user runs them.

Every expected number is the tutorial's own hand calculation (shared/seeds, "The Chain
Rule", Sections 4 and 6 and the three exercises), not output of this program.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "assets" / "examples"
TWO_LAYER = "h = w1*x; yhat = w2*h; L = squared_error(y, yhat)"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)


def _strict(text: str) -> dict:
    def bad(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=bad)


def evaluate(*args: str) -> tuple[dict, dict, dict]:
    p = run("eval", *args, "--json")
    assert p.returncode == 0, p.stderr
    data = _strict(p.stdout)
    nodes = {n["name"]: n for n in data["nodes"]}
    edges = {(e["source"], e["target"], e["port"]): e for e in data["edges"]}
    return data, nodes, edges


TWO_LAYER_SOURCES = [
    (str(EX / "two_layer.json"),),
    ("--expr", TWO_LAYER, "--param", "w1,w2", "--set", "x=2", "y=1", "--set", "w1=0.5", "w2=0.3"),
    ("--expr", "h = w1*x; yhat = w2*h; L = (y - yhat)**2", "--param", "w1,w2",
     "--set", "x=2", "y=1", "w1=0.5", "w2=0.3"),
]


@pytest.mark.parametrize("source", TWO_LAYER_SOURCES, ids=["file", "expr", "expr-pow"])
def test_two_layer_network_section_6(source: tuple[str, ...]) -> None:
    data, n, e = evaluate(*source)
    assert data["output"] == "L"
    assert n["h"]["value"] == pytest.approx(1.0)
    assert n["yhat"]["value"] == pytest.approx(0.3)
    assert n["L"]["value"] == pytest.approx(0.49)
    assert n["yhat"]["grad"] == pytest.approx(-1.4)        # dL/dŷ = −2(y − ŷ)
    assert n["h"]["grad"] == pytest.approx(-0.42)          # × w₂
    assert n["w1"]["grad"] == pytest.approx(-0.84)         # × x
    assert n["w2"]["grad"] == pytest.approx(-1.4)          # exercise 3: × h
    w1_h = e[("w1", "h", "a")]
    assert w1_h["local"] == pytest.approx(2.0)             # ∂h/∂w₁ = x
    assert w1_h["product"] == pytest.approx(-0.84)         # ∂L/∂h × 2
    # a node's gradient is the sum of the products on its outgoing edges
    for name, node in n.items():
        outgoing = [ed["product"] for (s, _, _), ed in e.items() if s == name]
        if outgoing:
            assert node["grad"] == pytest.approx(sum(outgoing))


def test_two_layer_one_training_step(tmp_path: Path) -> None:
    out = tmp_path / "trained.json"
    p = run("train", str(EX / "two_layer.json"), "--steps", "1", "--lr", "0.1",
            "-o", str(out), "--json")
    assert p.returncode == 0, p.stderr
    params = _strict(p.stdout)["params"]
    assert params["w1"] == pytest.approx(0.584)            # 0.5 − 0.1 × (−0.84)
    assert params["w2"] == pytest.approx(0.44)             # 0.3 − 0.1 × (−1.4)
    _, n, _ = evaluate(str(out))
    assert n["w1"]["value"] == pytest.approx(0.584)


def test_chain_2x_section_4() -> None:
    for source in [(str(EX / "chain_2x.json"),), ("--expr", "y = (2*x)**2", "--set", "x=3")]:
        _, n, _ = evaluate(*source)
        assert n["y"]["value"] == pytest.approx(36.0)      # (2·3)²
        assert n["x"]["grad"] == pytest.approx(24.0)       # 8x at x = 3


def test_exercise_1() -> None:
    for source in [(str(EX / "exercise1.json"),), ("--expr", "y = (3*x + 1)**2", "--set", "x=2")]:
        _, n, _ = evaluate(*source)
        assert n["y"]["value"] == pytest.approx(49.0)
        assert n["x"]["grad"] == pytest.approx(42.0)       # 6(3x + 1) at x = 2


def test_exercise_2_gradient_and_step() -> None:
    _, n, _ = evaluate(str(EX / "exercise2.json"))
    assert n["w"]["grad"] == pytest.approx(-18.0)          # −2x(y − wx)
    _, n, _ = evaluate("--expr", "L = (y - w*x)**2", "--param", "w",
                       "--set", "x=3", "y=6", "w=1")
    assert n["w"]["grad"] == pytest.approx(-18.0)
    p = run("train", str(EX / "exercise2.json"), "--steps", "1", "--lr", "0.1", "--json")
    assert _strict(p.stdout)["params"]["w"] == pytest.approx(2.8)


def test_exercise_2_converges_to_w_2() -> None:
    p = run("train", "--expr", "L = (y - w*x)**2", "--param", "w", "--set", "x=3", "y=6",
            "w=1", "--steps", "30", "--lr", "0.05", "--json")
    assert p.returncode == 0, p.stderr
    # error shrinks by |1 − 2x²η| = 0.1 a step: after 30 steps w = 2 to float precision
    assert _strict(p.stdout)["params"]["w"] == pytest.approx(2.0, abs=1e-9)   # y = 6 = 2·3


def test_exercise_3() -> None:
    _, n, _ = evaluate(str(EX / "exercise3.json"))
    assert n["w2"]["grad"] == pytest.approx(-1.4)
    p = run("train", str(EX / "exercise3.json"), "--steps", "1", "--lr", "0.1", "--json")
    assert _strict(p.stdout)["params"]["w2"] == pytest.approx(0.44)


def test_check_passes_on_every_example() -> None:
    files = sorted(EX.glob("*.json"))
    with ThreadPoolExecutor(max_workers=4) as pool:  # one process each, started together
        done = list(pool.map(lambda f: run("check", str(f)), files))
    for f, p in zip(files, done):
        assert p.returncode == 0, (f, p.stdout, p.stderr)


def test_default_table_is_readable() -> None:
    p = run("eval", str(EX / "two_layer.json"))
    assert p.returncode == 0
    assert "0.49" in p.stdout and "−0.84" in p.stdout and "w1 → h" in p.stdout


BAD_INPUTS = [
    ("eval", "missing.json"),
    ("eval", "--expr", "y = x.real"),
    ("eval", "--expr", "y = (x"),
    ("eval", "--expr", "y = 2*x", "--set", "z=1"),
    ("eval", "--expr", "y = 2*x", "--set", "x=two"),
    ("eval", "--expr", "y = 2*x", "--set", "x=inf"),
    ("eval", "--expr", "y = 2*x", "--set", "y=1"),
    ("eval", "--expr", "y = 2*x", "--param", "w"),
    ("eval", "--expr", "a = x; b = 2"),
    ("train", "--expr", "y = 2*x", "--steps", "1", "--lr", "0.1"),
    ("train", "--expr", "y = 2*w", "--param", "w", "--steps", "x", "--lr", "0.1"),
    ("convert", "--expr", "y = __import__('os')", "-o", "OUT"),
    ("convert", "-o", "OUT"),
    ("render", "missing.json", "-o", "OUT.png"),
    ("eval", "--expr", "y = 2*x", "--bogus"),
]


@pytest.mark.parametrize("args", BAD_INPUTS, ids=[" ".join(a)[:40] for a in BAD_INPUTS])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, args) -> None:
    args = [a.replace("OUT", str(tmp_path / "out")) for a in args]
    p = run(*args, cwd=tmp_path)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "Traceback" not in p.stderr
    assert list(tmp_path.iterdir()) == []


def test_train_to_an_unwritable_place_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "no such folder" / "out.json"
    p = run("train", str(EX / "two_layer.json"), "--steps", "1", "--lr", "0.1", "-o", str(target))
    assert p.returncode == 2 and not target.exists()


def test_convert_lays_out_without_overlap(tmp_path: Path) -> None:
    from engine import fileformat
    from engine.layout import node_size
    out = tmp_path / "g.json"
    text = "\n".join(["x0 = 1"] + [f"x{i} = sigmoid(x{i-1}) * x{i-1} + sum(x{i-1}, 1, x0)"
                                   for i in range(1, 40)])
    p = run("convert", "--expr", text, "-o", str(out))
    assert p.returncode == 0, p.stderr
    g = fileformat.load(out)
    rects = []
    for nid in g.ids():
        x, y = g.node(nid).pos
        w, h = node_size(g, nid)
        rects.append((x, y, x + w, y + h))
    rects.sort()
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            if b[0] >= a[2]:
                break
            assert a[3] <= b[1] or b[3] <= a[1], (a, b)
