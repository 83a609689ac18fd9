"""Quitting after a copy: the copied graph stays on the clipboard and the process exits 0.

A QMimeData made in Python and left on the clipboard used to be deleted by Qt's exit
handlers after Python had shut down, ending every session that had copied a node with a
segmentation fault (exit status 139). The app now hands the clipboard over on quit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from gui.mime import GRAPH_MIME, hand_over_clipboard
from test_mainwindow import press

ROOT = Path(__file__).resolve().parents[2]

SESSION = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import gui.app
from gui.mime import GRAPH_MIME

app = QApplication(sys.argv[:1])

def act():
    w = next(t for t in app.topLevelWidgets() if type(t).__name__ == "MainWindow")
    w.act_select_all.trigger()     # Edit > Select All, Edit > Copy, File > Quit
    w.act_copy.trigger()
    print("copied", app.clipboard().mimeData().hasFormat(GRAPH_MIME), flush=True)
    w.act_quit.trigger()

QTimer.singleShot(300, act)
sys.exit(gui.app.run(None))
"""


def test_quitting_after_a_copy_exits_cleanly(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               CHAIN_RULE_STUDIO_DATA_DIR=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path),
               HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-c", SESSION], env=env, cwd=str(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert "copied True" in run.stdout, run.stderr[-2000:]
    assert run.returncode == 0, run.stderr[-2000:]


def test_the_handed_over_clipboard_still_pastes(window, qtbot):
    window.open_example(ROOT / "assets" / "examples" / "two_layer.json", ask=False)
    n = len(window.doc.graph)
    press(qtbot, window.canvas, "Ctrl+A")
    press(qtbot, window.canvas, "Ctrl+C")
    hand_over_clipboard()
    assert QApplication.clipboard().mimeData().hasFormat(GRAPH_MIME)
    press(qtbot, window.canvas, "Ctrl+V")
    assert len(window.doc.graph) == 2 * n
