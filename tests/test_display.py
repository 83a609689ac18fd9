"""Before a window opens on X11 the editor names the system libraries Qt's xcb plugin is
missing and the packages that provide them, instead of Qt's bare "could not load the Qt
platform plugin" abort."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from chain_rule_studio import display
from chain_rule_studio.main import main

LDD_WITH_TWO_MISSING = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibxcb-cursor.so.0 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f)
\tlibxkbcommon-x11.so.0 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)
"""


@pytest.fixture
def fake_ldd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")
    monkeypatch.setattr(display, "xcb_plugin", lambda: plugin)
    monkeypatch.setattr(display.shutil, "which", lambda name: "/usr/bin/ldd")
    monkeypatch.setattr(display.sys, "platform", "linux")
    monkeypatch.setattr(display.subprocess, "run",
                        lambda *a, **k: SimpleNamespace(stdout=LDD_WITH_TWO_MISSING))
    return plugin


def test_missing_libraries_are_read_from_the_linker(fake_ldd: Path) -> None:
    assert display.missing_libraries() == ["libxcb-cursor.so.0", "libxkbcommon-x11.so.0"]


def test_advice_names_the_packages_for_debian_and_fedora(fake_ldd: Path) -> None:
    ok, line = display.check_display()
    assert not ok
    assert "apt-get install libxcb-cursor0 libxkbcommon-x11-0" in line
    assert "dnf install libxkbcommon-x11 xcb-util-cursor" in line


def test_the_editor_refuses_with_the_advice_instead_of_a_qt_abort(
        fake_ldd: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main([]) != 0
    err = capsys.readouterr().err
    assert "libxcb-cursor0" in err and "xcb-util-cursor" in err


def test_check_display_sub_command_exit_status(fake_ldd: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check-display"]) == 1
    assert "libxkbcommon-x11-0" in capsys.readouterr().out


def test_other_platforms_do_not_go_through_xcb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("DISPLAY", ":0")
    assert not display.uses_xcb()
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(display.sys, "platform", "linux")
    assert display.uses_xcb()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ldd is Linux's")
def test_real_check_runs_and_says_one_line() -> None:
    out = subprocess.run([sys.executable, "-m", "chain_rule_studio", "--check-display"],
                         capture_output=True, text=True, timeout=60)
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0]
    # exit status agrees with what the line says
    assert (out.returncode == 0) == ("missing" not in lines[0])
