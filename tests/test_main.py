"""The entry point: a mistyped sub-command and a missing display are one line and exit 2,
never an editor that aborts; a FILE still opens the editor on it."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from chain_rule_studio import main as entry

ROOT = Path(__file__).resolve().parent.parent
TWO_LAYER = ROOT / "assets" / "examples" / "two_layer.json"


def _main(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=env)


def test_a_mistyped_sub_command_lists_the_sub_commands() -> None:
    proc = _main("evaluate", str(TWO_LAYER))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "main.py: error: unknown sub-command 'evaluate' (did you mean eval?); sub-commands: "
        "eval, check, train, convert, render, quiz, export; or give a FILE to open"]


def test_a_word_with_no_near_sub_command_gets_the_list_without_a_guess() -> None:
    proc = _main("zzzz")
    assert proc.returncode == 2 and "did you mean" not in proc.stderr
    assert "eval, check, train, convert, render" in proc.stderr


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="X11/Wayland platforms")
def test_no_display_is_one_line_instead_of_an_abort() -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = _main(env=env)
    assert proc.returncode == 2, proc.stderr  # SIGABRT would be −6
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display" in lines[0]


def _fake_editor(monkeypatch) -> list:
    """Stand in for gui.app so no window opens; records what it was asked to open."""
    opened: list = []
    fake = types.ModuleType("gui.app")
    fake.run = lambda path: opened.append(path) or 0
    monkeypatch.setitem(sys.modules, "gui.app", fake)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    return opened


def test_a_file_still_opens_the_editor(monkeypatch) -> None:
    opened = _fake_editor(monkeypatch)
    assert entry.main([str(TWO_LAYER)]) == 0
    assert entry.main([]) == 0
    assert opened == [str(TWO_LAYER), None]


def test_an_existing_file_named_like_a_word_opens_too(monkeypatch, tmp_path: Path) -> None:
    opened = _fake_editor(monkeypatch)
    (tmp_path / "evaluate").write_bytes(TWO_LAYER.read_bytes())
    monkeypatch.chdir(tmp_path)
    assert entry.main(["evaluate"]) == 0
    assert opened == ["evaluate"]
    # a missing .json file is a file the editor reports, not a sub-command
    assert entry.main(["missing.json"]) == 0 and opened[-1] == "missing.json"
