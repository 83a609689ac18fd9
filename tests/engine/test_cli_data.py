"""The command line on a dataset: --data / --dataset for eval, check and train.

Run in-process (``cli.run``, output captured), so no test pays for a fresh interpreter.
Expected numbers come from the mathematics, computed here from the CSV's numbers:
for L = (y − w·x)², L̄ = mean((y − w·x)²) and ∂L̄/∂w = mean(−2x(y − w·x)).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from chain_rule_studio import cli
from chain_rule_studio.cli import progress_marks, run
from engine import fileformat
from engine.datasets import parse_spec
from engine.expr import parse

X = [1.0, 2.0, -1.0, 3.0, 0.5]
Y = [2.0, 3.5, -1.0, 7.0, 1.25]
W0 = 1.5
LINE = "L = (y - w*x)**2"

#: XOR 2-2-1: tanh hidden, sigmoid out, BCE; an init that Adam (η 0.1) takes to the
#: truth table in far fewer than 1000 steps (starting loss ≈ 0.71)
XOR_NET = """w11 = param(0.4)
w21 = param(-0.6)
b1 = param(0.1)
w12 = param(-0.7)
w22 = param(0.5)
b2 = param(0.2)
v1 = param(0.8)
v2 = param(0.9)
c = param(-0.3)
h1 = tanh(w11*x1 + w21*x2 + b1)
h2 = tanh(w12*x1 + w22*x2 + b2)
p = sigmoid(v1*h1 + v2*h2 + c)
L = bce(y, p)"""

LOGISTIC = "p = sigmoid(w1*x1 + w2*x2 + b); L = bce(y, p)"
MOONS = "moons:n=200,noise=0.1,seed=1"


def strict_json(text: str):
    def reject(c: str):
        raise ValueError(f"not strict JSON: {c}")
    return json.loads(text, parse_constant=reject)


def cli_run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code, out, err = cli_run(capsys, *argv, "--json")
    assert code == 0, err
    return strict_json(out)


def bad(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run a command that must fail as bad input: exit 2, one line, nothing on stdout."""
    code, out, err = cli_run(capsys, *argv)
    assert code == 2, (code, out, err)
    assert out == "" and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def nodes(data: dict) -> dict[str, dict]:
    return {n["name"]: n for n in data["nodes"]}


def mlp_text(sizes: list[int], seed: int) -> str:
    """A tanh MLP with a sigmoid output and BCE loss on columns x1, x2 → y, as
    expression text; weights ~ N(0, 1/fan_in) from a fixed seed, biases 0."""
    rng = np.random.default_rng(seed)
    lines, prev = [], ["x1", "x2"]
    for layer, n in enumerate(sizes[1:], 1):
        last = layer == len(sizes) - 1
        cur = []
        for j in range(n):
            terms = []
            for i, src in enumerate(prev):
                w = f"w{layer}_{i}_{j}"
                lines.append(f"{w} = param({rng.normal(0, 1 / math.sqrt(len(prev))):.6f})")
                terms.append(f"{w}*{src}")
            lines.append(f"b{layer}_{j} = param(0)")
            h = "p" if last else f"h{layer}_{j}"
            act = "sigmoid" if last else "tanh"
            lines.append(f"{h} = {act}({' + '.join(terms)} + b{layer}_{j})")
            cur.append(h)
        prev = cur
    lines.append("L = bce(y, p)")
    return "\n".join(lines)


@pytest.fixture
def pts(tmp_path: Path) -> Path:
    path = tmp_path / "pts.csv"
    path.write_text("x,y\n" + "".join(f"{x},{y}\n" for x, y in zip(X, Y)), encoding="utf-8")
    return path


def _hand_line(w: float) -> tuple[float, float, list[float]]:
    x, y = np.array(X), np.array(Y)
    r = y - w * x
    return float(np.mean(r ** 2)), float(np.mean(-2 * x * r)), (r ** 2).tolist()


# ------------------------------------------------------------------ eval

def test_eval_csv_mean_loss_and_batch_gradient(capsys, pts: Path) -> None:
    data = cli_json(capsys, "eval", "--expr", LINE, "--param", "w", "--set", f"w={W0}",
                    "--data", str(pts))
    mean, grad, per_row = _hand_line(W0)
    assert math.isclose(data["mean_loss"], mean, rel_tol=1e-12)
    w = nodes(data)["w"]
    assert math.isclose(w["grad"], grad, rel_tol=1e-12) and w["value"] == W0
    assert data["samples"] == len(X) and data["mean_rows"] == len(X)
    assert data["accuracy"] is None  # no 0/1 target, no prediction port
    assert data["outputs_node"] == "L"
    assert np.allclose(data["outputs"], per_row, rtol=1e-12)
    assert nodes(data)["x"]["op"] == "data"
    # every number is the mean over the rows: the output's value is L̄
    assert math.isclose(nodes(data)["L"]["value"], mean, rel_tol=1e-12)
    assert data["dataset"] == {"name": "pts.csv", "columns": ["x", "y"], "rows": 5,
                               "train_rows": 5, "test_rows": 0}


def test_eval_json_keys(capsys, pts: Path) -> None:
    plain = cli_json(capsys, "eval", "--expr", LINE, "--param", "w", "--set", "x=3", "y=6")
    assert set(plain) == {"output", "nodes", "edges"}  # unchanged without a dataset
    data = cli_json(capsys, "eval", "--expr", LINE, "--param", "w", "--data", str(pts))
    assert set(data) == {"output", "nodes", "edges", "dataset", "samples", "mean_loss",
                         "accuracy", "mean_rows", "test_loss", "test_accuracy",
                         "outputs_node", "outputs"}
    assert data["test_loss"] is None and data["test_accuracy"] is None


def test_eval_text_shows_mean_loss_then_batch_gradients(capsys, pts: Path) -> None:
    code, out, err = cli_run(capsys, "eval", "--expr", LINE, "--param", "w", "--set",
                             f"w={W0}", "--data", str(pts))
    assert code == 0 and err == ""
    mean, grad, _ = _hand_line(W0)
    lines = out.splitlines()
    assert lines[0].startswith("dataset pts.csv: 5 rows")
    assert "L̄ = mean of L over the 5 training rows" in lines[1]
    assert lines[1].endswith(cli.fmt(mean, 6))
    assert "accuracy" not in out  # undefined here
    (wrow,) = [ln for ln in lines if ln.startswith("w ")]
    assert cli.fmt(grad, 6) in wrow and "param" in wrow
    assert "∂L̄/∂leaf" in out


def test_eval_logistic_on_xor_accuracy_and_gradients(capsys) -> None:
    w1, w2, b = 0.3, -0.2, 0.1
    data = cli_json(capsys, "eval", "--expr", LOGISTIC, "--param", "w1,w2,b",
                    "--set", f"w1={w1}", f"w2={w2}", f"b={b}", "--dataset", "xor")
    x1, x2, y = (np.array(v, dtype=float) for v in ([0, 0, 1, 1], [0, 1, 0, 1],
                                                     [0, 1, 1, 0]))
    p = 1 / (1 + np.exp(-(w1 * x1 + w2 * x2 + b)))
    loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert math.isclose(data["mean_loss"], loss.mean(), rel_tol=1e-12)
    assert data["accuracy"] == np.mean((p >= 0.5) == (y == 1))  # 0.5 here
    n = nodes(data)
    for name, xs in (("w1", x1), ("w2", x2), ("b", np.ones(4))):
        assert math.isclose(n[name]["grad"], np.mean((p - y) * xs), rel_tol=1e-9,
                            abs_tol=1e-15)
    assert data["outputs_node"] == "p" and np.allclose(data["outputs"], p, rtol=1e-12)


def test_eval_reports_test_rows(capsys) -> None:
    data = cli_json(capsys, "eval", "--expr", LOGISTIC, "--param", "w1,w2,b",
                    "--dataset", "moons:n=50,seed=3,test=0.2")
    assert data["samples"] == 50 and data["mean_rows"] == 40
    assert data["test_loss"] is not None and data["test_accuracy"] is not None
    assert len(data["outputs"]) == 50


# ------------------------------------------------------------------ check

def test_check_on_the_mean_loss(capsys, pts: Path) -> None:
    data = cli_json(capsys, "check", "--expr", LINE, "--param", "w", "--set", f"w={W0}",
                    "--data", str(pts))
    mean, grad, _ = _hand_line(W0)
    assert data["passed"] is True and data["mean_rows"] == 5
    assert math.isclose(data["mean_loss"], mean, rel_tol=1e-12)
    (w,) = data["leaves"]  # data leaves are not checked
    assert w["name"] == "w" and math.isclose(w["analytic"], grad, rel_tol=1e-12)
    assert math.isclose(w["numeric"], grad, rel_tol=1e-7)
    code, out, _ = cli_run(capsys, "check", "--expr", XOR_NET, "--dataset",
                           "moons:n=60,seed=2,test=0.25")
    assert code == 0, out
    assert "mean of L over the 45 training rows" in out and "passed" in out
    assert out.count(" ok") == 9


def test_check_with_data_still_finds_kinks(capsys, pts: Path) -> None:
    # relu(w·x) with w = 0: every row sits on the kink
    data = cli_json(capsys, "check", "--expr", "L = (y - relu(w*x))**2", "--param", "w",
                    "--set", "w=0", "--data", str(pts))
    (w,) = data["leaves"]
    assert w["status"] == "kink" and data["passed"] is True


# ------------------------------------------------------------------ train

def test_one_full_batch_sgd_step_by_hand(capsys, pts: Path) -> None:
    data = cli_json(capsys, "train", "--expr", LINE, "--param", "w", "--set", f"w={W0}",
                    "--data", str(pts), "--steps", "1", "--lr", "0.05")
    mean, grad, _ = _hand_line(W0)
    assert math.isclose(data["params"]["w"], W0 - 0.05 * grad, rel_tol=1e-12)
    assert math.isclose(data["initial"]["loss"], mean, rel_tol=1e-12)
    assert math.isclose(data["history"][0]["batch_loss"], mean, rel_tol=1e-12)
    assert math.isclose(data["final_loss"], _hand_line(W0 - 0.05 * grad)[0], rel_tol=1e-12)


def test_weight_decay_adds_lambda_w(capsys, pts: Path) -> None:
    data = cli_json(capsys, "train", "--expr", LINE, "--param", "w", "--set", f"w={W0}",
                    "--data", str(pts), "--steps", "1", "--lr", "0.05",
                    "--weight-decay", "0.1")
    _, grad, _ = _hand_line(W0)
    assert math.isclose(data["params"]["w"], W0 - 0.05 * (grad + 0.1 * W0), rel_tol=1e-12)


def test_train_json_shape(capsys) -> None:
    data = cli_json(capsys, "train", "--expr", LOGISTIC, "--param", "w1,w2,b",
                    "--dataset", "moons:n=40,seed=1,test=0.25", "--steps", "20",
                    "--lr", "0.5", "--optimizer", "momentum", "--batch", "8", "--seed", "3")
    assert set(data) == {"dataset", "config", "initial", "history", "final", "final_loss",
                         "params"}
    assert data["config"] == {"steps": 20, "optimizer": "momentum", "lr": 0.5, "batch": 8,
                              "weight_decay": 0.0, "seed": 3}
    assert [h["step"] for h in data["history"]] == list(range(2, 21, 2))
    for h in data["history"]:
        assert set(h) == {"step", "batch_loss", "loss", "accuracy", "test_loss",
                          "test_accuracy"}
        assert 0 <= h["accuracy"] <= 1 and h["test_loss"] is not None
    assert set(data["final"]) == {"loss", "accuracy", "test_loss", "test_accuracy"}
    assert data["final_loss"] == data["final"]["loss"] < data["initial"]["loss"]
    assert set(data["params"]) == {"w1", "w2", "b"}


def test_minibatches_are_seeded(capsys) -> None:
    argv = ["train", "--expr", LOGISTIC, "--param", "w1,w2,b", "--dataset", "moons:n=40",
            "--steps", "7", "--lr", "0.3", "--batch", "8"]
    a = cli_json(capsys, *argv, "--seed", "1")
    b = cli_json(capsys, *argv, "--seed", "1")
    c = cli_json(capsys, *argv, "--seed", "2")
    assert a["params"] == b["params"] != c["params"]


def test_xor_2_2_1_with_adam(capsys) -> None:
    code, out, err = cli_run(capsys, "train", "--expr", XOR_NET, "--dataset", "xor",
                             "--optimizer", "adam", "--lr", "0.1", "--steps", "1000")
    assert code == 0 and err == ""
    steps = [ln for ln in out.splitlines() if ln.startswith("step ")]
    assert [ln.split()[1] for ln in steps] == [f"{k}/1000" for k in range(100, 1001, 100)]
    assert all("loss " in ln and "acc " in ln for ln in steps)
    assert "test" not in out  # xor's four rows all train
    (final,) = [ln for ln in out.splitlines() if ln.startswith("final")]
    assert "acc 100.0%" in final
    data = cli_json(capsys, "train", "--expr", XOR_NET, "--dataset", "xor",
                    "--optimizer", "adam", "--lr", "0.1", "--steps", "1000")
    assert data["final"]["loss"] < 0.05 and data["final"]["accuracy"] == 1.0
    assert data["initial"]["loss"] > 0.6
    assert len(data["history"]) == 10


def test_moons_2_8_8_1_reaches_95_percent(capsys) -> None:
    data = cli_json(capsys, "train", "--expr", mlp_text([2, 8, 8, 1], seed=0),
                    "--dataset", MOONS, "--optimizer", "adam", "--lr", "0.01",
                    "--steps", "1000")
    assert data["final"]["accuracy"] >= 0.95
    assert data["dataset"]["train_rows"] == 200
    assert len(data["params"]) == 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1


def test_progress_is_one_line_per_tenth() -> None:
    assert progress_marks(1000) == list(range(100, 1001, 100))
    assert progress_marks(15) == [2, 3, 5, 6, 8, 9, 11, 12, 14, 15]
    assert progress_marks(5) == [1, 2, 3, 4, 5]
    assert progress_marks(0) == []


def test_text_progress_with_test_rows(capsys) -> None:
    code, out, _ = cli_run(capsys, "train", "--expr", LOGISTIC, "--param", "w1,w2,b",
                           "--dataset", "moons:n=40,test=0.25", "--steps", "30",
                           "--lr", "0.5")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("training on the dataset moons") and "10 test rows" in lines[0]
    steps = [ln for ln in lines if ln.startswith("step ")]
    assert len(steps) == 10 and all(" test " in ln and "test acc" in ln for ln in steps)
    assert any(ln.strip().startswith("test  loss") and "(10 rows)" in ln for ln in lines)


def test_without_a_dataset_training_is_unchanged(capsys) -> None:
    code, out, _ = cli_run(capsys, "train", "--expr", LINE, "--param", "w", "--set", "x=3",
                           "y=6", "w=1", "--steps", "2", "--lr", "0.1")
    assert code == 0
    # w ← w − 0.1·(−2·3·(6 − 3w)): 1 → 2.8 → 1.36, loss (6 − 3w)²
    assert out.splitlines() == ["step     0  loss 9  w 2.8",
                                "step     1  loss 5.76  w 1.36",
                                "final  loss 3.6864  w 1.36"]


def test_adam_without_a_dataset_trains_the_one_sample(capsys) -> None:
    data = cli_json(capsys, "train", "--expr", LINE, "--param", "w", "--set", "x=3", "y=6",
                    "w=1", "--steps", "1", "--lr", "0.1", "--optimizer", "adam")
    assert math.isclose(data["params"]["w"], 1.1, rel_tol=1e-6)  # Adam's first step: η·sign
    assert set(data) == {"steps", "final_loss", "params"}


# ------------------------------------------------------------ graphs from files

def _file_graph(monkeypatch: pytest.MonkeyPatch, column: str = "x",
                stored: bool = False) -> None:
    """Stand in for a graph file with a data leaf (fileformat v2 stores them)."""
    g = parse(LINE, ["w"], columns=["x", "y"])
    g.set_value(g.id_of("w"), W0)
    g.bind(g.id_of("x"), column)
    if stored:
        g.dataset = parse_spec("linear:n=20,seed=4")
    monkeypatch.setattr(cli.fileformat, "load", lambda path: g.copy())


def test_a_stored_dataset_is_used_and_data_overrides_it(capsys, monkeypatch, pts) -> None:
    _file_graph(monkeypatch, stored=True)
    stored = cli_json(capsys, "eval", "model.json")
    assert stored["dataset"]["name"] == "linear" and stored["samples"] == 20
    given = cli_json(capsys, "eval", "model.json", "--data", str(pts))
    assert given["dataset"]["name"] == "pts.csv"
    assert math.isclose(given["mean_loss"], _hand_line(W0)[0], rel_tol=1e-12)


def test_data_leaf_bound_to_a_missing_column(capsys, monkeypatch, pts: Path) -> None:
    _file_graph(monkeypatch, column="z")
    for cmd in (["eval"], ["check"], ["train", "--steps", "1", "--lr", "0.1"]):
        msg = bad(capsys, *cmd, "model.json", "--data", str(pts))
        assert "'x'" in msg and "'z'" in msg and "pts.csv" in msg and "x, y" in msg


def test_data_leaves_without_a_dataset_are_one_sample(capsys, monkeypatch) -> None:
    _file_graph(monkeypatch)
    code, out, err = cli_run(capsys, "eval", "model.json")
    assert code == 0 and "output L" in out
    assert "note: no dataset" in err and "--data" in err


@pytest.mark.skipif(fileformat.VERSION < 2,
                    reason="needs fileformat v2: a graph file that stores its dataset")
def test_train_saves_the_graph_with_its_dataset(capsys, tmp_path: Path) -> None:
    out = tmp_path / "trained.json"
    code, _, err = cli_run(capsys, "train", "--expr", XOR_NET, "--dataset", "xor",
                           "--optimizer", "adam", "--lr", "0.1", "--steps", "50",
                           "-o", str(out))
    assert code == 0, err
    g = fileformat.load(out)
    assert g.dataset is not None and g.dataset.names == ["x1", "x2", "y"]
    assert {g.column_of(n) for n in g.data_leaves()} == {"x1", "x2", "y"}
    again = cli_json(capsys, "eval", str(out))
    assert again["samples"] == 4 and again["mean_loss"] < 0.69


# ------------------------------------------------------------------ bad input

def test_bad_data_path(capsys, tmp_path: Path) -> None:
    msg = bad(capsys, "eval", "--expr", LINE, "--data", str(tmp_path / "nope.csv"))
    assert "nope.csv" in msg and "no such file" in msg
    msg = bad(capsys, "train", "--expr", LINE, "--data", str(tmp_path), "--steps", "1",
              "--lr", "0.1")
    assert "folder" in msg


def test_bad_csv_content(capsys, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("x,y\n1,2\n3,abc\n", encoding="utf-8")
    msg = bad(capsys, "eval", "--expr", LINE, "--data", str(path))
    assert "bad.csv" in msg and "line 3" in msg and "abc" in msg
    path.write_bytes(b"x,y\n1,2\n\xff,3\n")
    assert "line 3" in bad(capsys, "check", "--expr", LINE, "--data", str(path))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_refused_not_waited_on(capsys, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert "FIFO" in bad(capsys, "eval", "--expr", LINE, "--data", str(fifo))


def test_bad_dataset_spec(capsys) -> None:
    msg = bad(capsys, "eval", "--expr", LINE, "--dataset", "blobs")
    assert "--dataset" in msg and "blobs" in msg and "moons" in msg
    msg = bad(capsys, "train", "--expr", LOGISTIC, "--dataset", "moons:n=two",
              "--steps", "1", "--lr", "0.1")
    assert "n" in msg and "two" in msg
    assert "colour" in bad(capsys, "check", "--expr", LINE, "--dataset", "sine:colour=red")


def test_data_and_dataset_together(capsys, pts: Path) -> None:
    msg = bad(capsys, "eval", "--expr", LINE, "--data", str(pts), "--dataset", "xor")
    assert "--data" in msg and "--dataset" in msg


def test_an_expression_reading_no_column(capsys) -> None:
    msg = bad(capsys, "eval", "--expr", "L = (t - w*u)**2", "--dataset", "xor")
    assert "no column" in msg and "x1, x2, y" in msg


def test_other_data_mistakes(capsys, pts: Path) -> None:
    assert "data leaf" in bad(capsys, "eval", "--expr", LINE, "--data", str(pts),
                              "--set", "x=2")
    assert "--batch needs a dataset" in bad(capsys, "train", "--expr", LINE, "--param", "w",
                                            "--steps", "1", "--lr", "0.1", "--batch", "4")
    for opt, value in (("--batch", "-1"), ("--weight-decay", "-0.5"), ("--seed", "-2"),
                       ("--optimizer", "rmsprop")):
        msg = bad(capsys, "train", "--expr", LINE, "--param", "w", "--data", str(pts),
                  "--steps", "1", "--lr", "0.1", opt, value)
        assert opt in msg
    assert "--lr" in bad(capsys, "train", "--expr", LINE, "--param", "w", "--data", str(pts),
                         "--steps", "1", "--lr", "-0.1")
    assert "no param" in bad(capsys, "train", "--expr", LINE, "--data", str(pts),
                             "--steps", "1", "--lr", "0.1")


def test_diverging_training_on_data_stops_with_one_line(capsys, pts: Path,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "never.json"
    code, _, err = cli_run(capsys, "train", "--expr", LINE, "--param", "w", "--data",
                           str(pts), "--steps", "1000", "--lr", "1e200", "-o", str(out))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("main.py: error: stopped at step 2 of 1000")
    assert "diverged" in err and "nothing was written" in err
    assert not out.exists()


# ------------------------------------------------------------------ help

def test_train_help_describes_the_options(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        run(["train", "--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for opt in ("--data PATH.csv", "--dataset SPEC", "--optimizer {sgd,momentum,adam}",
                "--batch N", "--weight-decay λ", "--seed SEED", "10%"):
        assert opt in text, opt
    with pytest.raises(SystemExit):
        run(["eval", "--help"])
    assert "batch gradient" in " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        run(["check", "--help"])
    assert "mean loss" in " ".join(capsys.readouterr().out.split())


def test_readme_shows_the_dataset_commands() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "main.py train" in readme and "--dataset moons" in readme
    assert "main.py eval" in readme and "--data " in readme

