"""A plain (non-editable) install works on its own: the examples ship with the package,
File › Examples opens them, and the command is on the PATH. Slow: it builds and installs
the project into a fresh virtual environment (which reuses this one's dependencies)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHECK = textwrap.dedent("""
    import json, os, sys, sysconfig
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    import chain_rule_studio, engine
    from chain_rule_studio.examples import examples_dir
    from PySide6.QtWidgets import QApplication
    from gui.mainwindow import MainWindow
    app = QApplication([])
    w = MainWindow()
    w.examples_menu.aboutToShow.emit()  # the menu fills itself as it opens
    actions = {a.text(): a for a in w.examples_menu.actions()}
    actions["two layer"].trigger()
    r = w.doc.result
    print(json.dumps({"package": chain_rule_studio.__file__, "engine": engine.__file__,
                      "examples": str(examples_dir()), "menu": sorted(actions),
                      "loss": r.value(r.output), "nodes": len(w.doc.graph),
                      "purelib": sysconfig.get_paths()["purelib"]}))
    w.doc.undo_stack.setClean()
    w.close()
""")


def _copy_source(dest: Path) -> None:
    """The files a fresh clone has (not build leftovers, caches or this checkout's venvs)."""
    try:
        files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: cannot tell the source files from build leftovers")
    for name in files:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)


@pytest.mark.slow
def test_a_plain_install_has_its_examples_and_opens_them(tmp_path: Path) -> None:
    src, env_dir, elsewhere = tmp_path / "src", tmp_path / "venv", tmp_path / "work"
    src.mkdir()
    elsewhere.mkdir()
    _copy_source(src)
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    py = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(src)],
                   check=True, cwd=elsewhere, timeout=600)
    out = subprocess.run([str(py), "-c", CHECK], cwd=elsewhere, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    site = str(env_dir)
    assert got["package"].startswith(site) and got["engine"].startswith(site)
    assert got["examples"].startswith(site)  # package data, not this checkout's folder
    assert "two layer" in got["menu"] and len(got["menu"]) >= 10
    assert got["loss"] == pytest.approx(0.49) and got["nodes"] == 7
    cmd = env_dir / ("Scripts/chain-rule-studio.exe" if os.name == "nt" else
                     "bin/chain-rule-studio")
    run = subprocess.run([str(cmd), "eval", "--json"], cwd=elsewhere, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["output"] == "L"
    grads = {n["name"]: n["grad"] for n in data["nodes"]}
    assert grads["w1"] == pytest.approx(-0.84)  # the tutorial's default example
    purelib = Path(got["purelib"])  # no global modules named "cli" or "main"
    assert (purelib / "chain_rule_studio" / "cli.py").is_file()
    assert not (purelib / "cli.py").exists() and not (purelib / "main.py").exists()
