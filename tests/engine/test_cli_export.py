"""``main.py export FILE --to torch|numpy|latex|pdf -o OUT`` as a user runs it: the file
is written and the NumPy script prints the tutorial's −0.84; bad input is one line on
stderr with status 2 and writes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TWO_LAYER = str(ROOT / "assets" / "examples" / "two_layer.json")


def main(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8", timeout=300)


def test_numpy_export_runs_and_prints_the_tutorial_gradient(tmp_path) -> None:
    done = main("export", TWO_LAYER, "--to", "numpy", "-o", "net.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    ran = subprocess.run([sys.executable, "net.py"], cwd=tmp_path, capture_output=True,
                         text=True, encoding="utf-8")
    assert "dL/dw1 = -0.84" in ran.stdout.splitlines()
    # exporting again replaces its own earlier export without --force
    assert main("export", TWO_LAYER, "--to", "torch", "-o", "net.py", cwd=tmp_path).returncode == 0
    assert "import torch" in (tmp_path / "net.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("to, head", [("latex", b"% two_layer: exported"), ("pdf", b"%PDF-")])
def test_latex_and_pdf(tmp_path, to, head) -> None:
    out = tmp_path / f"net.{to}"
    done = main("export", TWO_LAYER, "--to", to, "-o", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(head)


def test_bad_input_is_one_line_and_writes_nothing(tmp_path) -> None:
    mine = tmp_path / "mine.py"
    mine.write_text("print('my own work')\n", encoding="utf-8")
    for args, words in [
        (["export", TWO_LAYER, "--to", "numpy", "-o", str(mine)], "refusing to overwrite"),
        (["export", TWO_LAYER, "--to", "matlab", "-o", "x.m"], "invalid choice"),
        (["export", str(tmp_path / "none.json"), "--to", "numpy", "-o", "x.py"], "no such file"),
        (["export", TWO_LAYER, "--to", "numpy", "-o", TWO_LAYER], "is the input"),
    ]:
        done = main(*args, cwd=tmp_path)
        assert done.returncode == 2 and words in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1
    assert mine.read_text(encoding="utf-8") == "print('my own work')\n"
    assert not (tmp_path / "x.py").exists() and not (tmp_path / "x.m").exists()


def test_a_graph_without_an_output_is_refused(tmp_path) -> None:
    import json
    two_sinks = {
        "format": "chain-rule-studio", "version": 1, "output": None,
        "nodes": [
            {"id": "n1", "name": "x", "op": "input", "value": 2.0, "pos": [0, 0]},
            {"id": "n2", "name": "a", "op": "neg", "pos": [200, 0]},
            {"id": "n3", "name": "b", "op": "exp", "pos": [200, 100]},
        ],
        "edges": [{"source": "n1", "target": "n2", "port": "x"},
                  {"source": "n1", "target": "n3", "port": "x"}],
    }
    (tmp_path / "two.json").write_text(json.dumps(two_sinks), encoding="utf-8")
    done = main("export", "two.json", "--to", "numpy", "-o", "out.py", cwd=tmp_path)
    assert done.returncode == 2 and "mark one as the output" in done.stderr, done.stderr
    assert not (tmp_path / "out.py").exists()
