"""The command line never overwrites what it should not, never blocks on an input, and
says every problem in one line: the reproducers of the fault probe, run as a user runs
them (``python main.py ...`` in subprocesses, all started up front and in parallel)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engine import fileformat

ROOT = Path(__file__).resolve().parents[2]
TWO_LAYER = ROOT / "assets" / "examples" / "two_layer.json"
POSIX = hasattr(os, "mkfifo")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NOTES = '{"my": "notes"}\n'
NET = "x = 2\ny = 3*x\n"


class Run:
    def __init__(self, argv: list[str], proc: subprocess.CompletedProcess | None) -> None:
        self.argv = argv
        self.code = proc.returncode if proc else None  # None: it blocked
        self.out = proc.stdout if proc else ""
        self.err = proc.stderr if proc else ""


def _graph_text(**change) -> str:
    d = json.loads(TWO_LAYER.read_text(encoding="utf-8"))
    d.update(change)
    return json.dumps(d)


def _unwritable_folder(w: Path) -> str | None:
    """A folder the command cannot create files in: read-only for a normal user; for
    root (who ignores permissions) a folder of the proc file system."""
    if not IS_ROOT:
        ro = w / "readonly"
        ro.mkdir()
        ro.chmod(0o500)
        return str(ro)
    if os.path.isdir("/proc/self"):
        return "/proc/self"
    return None


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    w = tmp_path_factory.mktemp("cli_safety")
    for name in ("net.txt", "net2.txt", "net3.txt", "net4.txt", "net5.txt"):
        (w / name).write_text(NET, encoding="utf-8")
    (w / "notes.json").write_text(NOTES, encoding="utf-8")
    (w / "notes.png").write_text(NOTES, encoding="utf-8")
    (w / "again.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)  # a picture
    (w / "forced.json").write_text(NOTES, encoding="utf-8")
    (w / "empty.json").write_text("", encoding="utf-8")
    (w / "graph.json").write_bytes(TWO_LAYER.read_bytes())
    (w / "folder").mkdir()
    (w / "sigmoids.txt").write_text(
        "x = 0.5\ns0 = sigmoid(x)\n" + "".join(f"s{i} = sigmoid(s{i - 1})\n"
                                              for i in range(1, 1000)), encoding="utf-8")
    (w / "long_name.txt").write_text(f"{'a' * 201} = 2\ny = 3*{'a' * 201}\n", encoding="utf-8")
    # sum ports a person or a mutation might write
    for tag, port in (("sup", "x²"), ("digits5000", "x" + "7" * 5000),
                      ("digits100", "x" + "9" * 100)):
        (w / f"port_{tag}.json").write_text(json.dumps({
            "format": "chain-rule-studio", "version": 1, "output": "n2",
            "nodes": [{"id": "n1", "name": "a", "op": "input", "value": 1},
                      {"id": "n2", "name": "s", "op": "sum"}],
            "edges": [{"source": "n1", "target": "n2", "port": port}]}), encoding="utf-8")
    (w / "dup_keys.json").write_text(
        _graph_text()[:-1] + ', "output": null}', encoding="utf-8")
    (w / "mega_op.json").write_text(
        TWO_LAYER.read_text(encoding="utf-8").replace('"op": "mul"', '"op": "' + "q" * 1_000_000
                                                      + '"', 1), encoding="utf-8")
    if POSIX:
        os.mkfifo(w / "fifo.json")
        os.mkfifo(w / "fifo.txt")
        target = w / "target.json"
        target.write_bytes(TWO_LAYER.read_bytes())
        (w / "link.json").symlink_to(target)
    return w


def cases(w: Path) -> dict[str, list[str]]:
    c = {
        # -o over its own input, a non-graph file, a folder, a device
        "own_input": ["convert", "--expr-file", str(w / "net.txt"), "-o", str(w / "net.txt")],
        "own_input_forced": ["convert", "--expr-file", str(w / "net2.txt"),
                             "-o", str(w / "net2.txt"), "--force"],
        "notes": ["convert", "--expr-file", str(w / "net3.txt"), "-o", str(w / "notes.json")],
        "empty": ["convert", "--expr-file", str(w / "net3.txt"), "-o", str(w / "empty.json")],
        "notes_forced": ["convert", "--expr-file", str(w / "net4.txt"),
                         "-o", str(w / "forced.json"), "--force"],
        "over_graph": ["convert", "--expr-file", str(w / "net5.txt"),
                       "-o", str(w / "graph.json")],
        "folder": ["convert", "--expr", "y = 2*x", "-o", str(w / "folder")],
        "device": ["convert", "--expr", "y = 2*x", "-o", os.devnull],
        "train_own_input": ["train", str(w / "graph.json"), "--steps", "1", "--lr", "0.1",
                            "-o", str(w / "graph.json")],
        "render_over_notes": ["render", str(TWO_LAYER), "-o", str(w / "notes.png")],
        "render_new": ["render", str(TWO_LAYER), "-o", str(w / "fresh.png")],
        "render_again": ["render", str(TWO_LAYER), "-o", str(w / "again.png")],
        # inputs that must be refused, never read or waited on
        "dev_zero": ["eval", "/dev/zero"],
        "dev_urandom_expr": ["eval", "--expr-file", "/dev/urandom"],
        # bad input said in one short line
        "port_sup": ["eval", str(w / "port_sup.json")],
        "port_digits5000": ["eval", str(w / "port_digits5000.json")],
        "port_digits100": ["eval", str(w / "port_digits100.json")],
        "dup_keys": ["eval", str(w / "dup_keys.json")],
        "mega_op": ["eval", str(w / "mega_op.json")],
        "mega_set": ["eval", "--expr", "y = 2*x", "--set", "x=" + "z" * 100_000],
        "syntax_warning": ["eval", "--expr", "y = 2and x"],  # Python warns on stderr
        "long_name": ["convert", "--expr-file", str(w / "long_name.txt"),
                      "-o", str(w / "long_name.json")],
        # check and train
        "tol_nan": ["check", "--expr", "y = 2*x", "--tol", "nan"],
        "tol_negative": ["check", "--expr", "y = 2*x", "--tol", "-1e-3"],
        "undefined": ["check", "--expr", "y = sqrt(x)", "--set", "x=0"],
        "undefined_json": ["check", "--expr", "y = sqrt(x)", "--set", "x=0", "--json"],
        "underflow": ["check", "--expr-file", str(w / "sigmoids.txt")],
        "diverge_out": ["train", "--expr", "L = w*x", "--param", "w", "--set", "x=3", "w=1",
                        "--steps", "10", "--lr", "1e308", "-o", str(w / "diverged.json")],
        "diverge_json": ["train", "--expr", "L = w*x", "--param", "w", "--set", "x=3", "w=1",
                         "--steps", "10", "--lr", "1e308", "--json"],
    }
    if POSIX:
        c.update({
            "fifo_file": ["eval", str(w / "fifo.json")],
            "fifo_expr": ["eval", "--expr-file", str(w / "fifo.txt")],
            "fifo_out": ["convert", "--expr", "y = 2*x", "-o", str(w / "fifo.json")],
            "symlink_out": ["convert", "--expr", "y = 7*x", "-o", str(w / "link.json")],
        })
    ro = _unwritable_folder(w)
    if ro is not None:
        c.update({
            "render_png_readonly": ["render", str(TWO_LAYER), "-o", ro + "/shot.png"],
            "render_svg_readonly": ["render", str(TWO_LAYER), "-o", ro + "/shot.svg"],
            "convert_readonly": ["convert", "--expr", "y = 2*x", "-o", ro + "/g.json"],
        })
    return c


@pytest.fixture(scope="module")
def runs(work: Path) -> dict[str, Run]:
    todo = cases(work)

    def one(argv: list[str]) -> Run:
        try:
            proc = subprocess.run([sys.executable, "main.py", *argv], cwd=ROOT,
                                  capture_output=True, text=True, encoding="utf-8",
                                  timeout=120)
        except subprocess.TimeoutExpired:
            return Run(argv, None)
        return Run(argv, proc)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(todo, pool.map(one, todo.values())))


def one_line(r: Run, code: int = 2) -> str:
    assert r.code is not None, f"blocked: {r.argv[:4]}"
    assert r.code == code, (r.code, r.out[-500:], r.err[-2000:])
    assert "Traceback" not in r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err[:2000]
    assert lines[0].startswith("main.py: error: ")
    assert len(lines[0]) < 300, lines[0][:400]
    return lines[0]


# ------------------------------------------------------------------ -o

def test_convert_refuses_to_overwrite_its_own_expression_file(runs, work: Path) -> None:
    for case in ("own_input", "own_input_forced"):
        assert "input" in one_line(runs[case])
    assert (work / "net.txt").read_text(encoding="utf-8") == NET
    assert (work / "net2.txt").read_text(encoding="utf-8") == NET


def test_train_refuses_to_overwrite_its_own_graph_file(runs, work: Path) -> None:
    assert "input" in one_line(runs["train_own_input"])
    assert (work / "graph.json").exists()


def test_an_existing_file_that_is_not_a_graph_is_kept_unless_forced(runs, work: Path) -> None:
    assert "--force" in one_line(runs["notes"])
    assert (work / "notes.json").read_text(encoding="utf-8") == NOTES
    one_line(runs["empty"])
    assert (work / "empty.json").read_text(encoding="utf-8") == ""
    r = runs["notes_forced"]
    assert r.code == 0, r.err
    assert fileformat.load(work / "forced.json").name_of(
        fileformat.load(work / "forced.json").resolve_output()) == "y"


def test_an_existing_graph_file_is_replaced(runs, work: Path) -> None:
    r = runs["over_graph"]
    assert r.code == 0, r.err
    g = fileformat.load(work / "graph.json")
    assert g.names() == {"x", "c1", "y"}  # net5.txt's graph, not the two-layer network


def test_folders_and_devices_are_refused(runs) -> None:
    assert "is a folder" in one_line(runs["folder"])
    assert "device" in one_line(runs["device"])


def test_render_does_not_replace_a_file_of_another_kind(runs, work: Path) -> None:
    assert "PNG" in one_line(runs["render_over_notes"])
    assert (work / "notes.png").read_text(encoding="utf-8") == NOTES
    for case in ("render_new", "render_again"):  # a fresh name, then its own picture
        assert runs[case].code == 0, runs[case].err
    assert (work / "fresh.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.skipif(not POSIX, reason="needs FIFOs and symlinks")
def test_a_fifo_is_never_replaced_and_never_waited_on(runs, work: Path) -> None:
    assert "FIFO" in one_line(runs["fifo_out"])
    assert (work / "fifo.json").is_fifo()


@pytest.mark.skipif(not POSIX, reason="needs FIFOs and symlinks")
def test_output_through_a_symlink_writes_its_target(runs, work: Path) -> None:
    r = runs["symlink_out"]
    assert r.code == 0, r.err
    assert (work / "link.json").is_symlink()
    g = fileformat.load(work / "target.json")
    assert g.names() == {"x", "c1", "y"} and g.node(g.id_of("c1")).value == 7.0
    assert not [p for p in work.iterdir() if p.name.endswith(".tmp")]


def test_output_errors_are_one_line(runs, work: Path) -> None:
    names = [k for k in runs if k.endswith("_readonly")]
    if not names:
        pytest.skip("no unwritable folder on this system")
    for k in names:
        assert "cannot write" in one_line(runs[k]), k


# ------------------------------------------------------------------ inputs

@pytest.mark.skipif(not POSIX, reason="needs FIFOs")
def test_a_fifo_as_input_is_refused_at_once(runs) -> None:
    assert "FIFO" in one_line(runs["fifo_file"])
    assert "FIFO" in one_line(runs["fifo_expr"])


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_devices_as_input_are_refused_at_once(runs) -> None:
    assert "device" in one_line(runs["dev_zero"])
    assert "device" in one_line(runs["dev_urandom_expr"])


@pytest.mark.parametrize("case", ["port_sup", "port_digits5000", "port_digits100", "dup_keys",
                                  "mega_op", "mega_set", "syntax_warning"])
def test_bad_input_is_one_short_line(runs, case: str) -> None:
    line = one_line(runs[case])
    if case.startswith("port"):
        assert "$.edges[0].port" in line
    if case == "dup_keys":
        assert "$.output" in line and "twice" in line


def test_convert_refuses_a_name_that_eval_would_refuse(runs, work: Path) -> None:
    assert "200" in one_line(runs["long_name"])
    assert not (work / "long_name.json").exists()


# ------------------------------------------------------------------ check

def test_check_refuses_a_nan_or_negative_tolerance(runs) -> None:
    assert "--tol" in one_line(runs["tol_nan"])
    assert "--tol" in one_line(runs["tol_negative"])


def test_check_fails_when_a_gradient_is_undefined(runs) -> None:
    r = runs["undefined"]
    assert r.code == 1, (r.out, r.err)
    assert "FAILED" in r.out and "undefined" in r.out
    r = runs["undefined_json"]
    assert r.code == 1
    assert json.loads(r.out)["passed"] is False


def test_check_notes_an_underflowed_gradient(runs) -> None:
    r = runs["underflow"]
    assert r.code == 0, r.err
    assert "underflowed at node s" in r.out


# ------------------------------------------------------------------ train

def test_diverging_training_is_one_line_and_writes_nothing(runs, work: Path) -> None:
    line = one_line(runs["diverge_out"])
    assert "w would become" in line and "nothing was written" in line
    assert not (work / "diverged.json").exists()
    line = one_line(runs["diverge_json"])
    assert "w would become" in line
    assert runs["diverge_json"].out == ""


# ------------------------------------------------------------------ signals, stdout

_SIGNAL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {root!r})
    from chain_rule_studio import cli
    def fsync(fd, _real=os.fsync):
        _real(fd)
        os.kill(os.getpid(), signal.{sig})   # arrives while the temp file exists
    os.fsync = fsync
    sys.exit(cli.run(["convert", "--expr", "y = 2*x", "-o", {out!r}]))
""")


@pytest.mark.skipif(not POSIX, reason="POSIX signals")
@pytest.mark.parametrize("sig,code", [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_signal_during_a_save_leaves_no_temp_file(tmp_path: Path, sig: str, code: int) -> None:
    out = tmp_path / "g.json"
    proc = subprocess.run([sys.executable, "-c", _SIGNAL_SCRIPT.format(
        root=str(ROOT), sig=sig, out=str(out))], capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"main.py: error: interrupted by {sig}"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_on_stdout_is_one_line() -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "main.py", "eval", str(TWO_LAYER)], cwd=ROOT,
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write" in lines[0], proc.stderr
