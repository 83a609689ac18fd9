"""The engine imports no Qt: proven in a fresh interpreter, module by module."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QT_PREFIXES = ("PySide6", "PyQt", "shiboken", "PySide2", "sip")


def _engine_modules() -> list[str]:
    pkg = ROOT / "engine"
    return ["engine"] + [m.name for m in pkgutil.walk_packages([str(pkg)], prefix="engine.")]


def test_engine_has_the_expected_modules() -> None:
    mods = set(_engine_modules())
    for m in ("engine.ops", "engine.graph", "engine.evaluate", "engine.expr",
              "engine.fileformat", "engine.check", "engine.train", "engine.layout",
              "engine.result", "engine.fast", "engine.fast.plan", "engine.fast.wide",
              "engine.fast.deep", "engine.fast.flat"):
        assert m in mods


@pytest.mark.parametrize("module", _engine_modules())
def test_importing_engine_module_loads_no_qt(module: str) -> None:
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert module in loaded
    qt = [m for m in loaded if m.startswith(QT_PREFIXES)]
    assert not qt, f"{module} pulled in {qt}"


def test_engine_source_mentions_no_qt_import() -> None:
    for path in (ROOT / "engine").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for bad in ("import PySide6", "from PySide6", "import PyQt", "from PyQt", "shiboken"):
            assert bad not in text, f"{path.name} contains {bad!r}"
