"""Your work is safe, in real editor processes: killed, terminated, hung up on or
interrupted with Ctrl+C, the next start offers what was there and Recover gives it back.

Each session is a small driver script run with ``python -c``: it imports the app's own
modules, makes the window with ``gui.app.create_window`` (or starts the whole editor
with ``gui.app.run``), edits through the Document API and writes what it holds to a
file of the test. Qt runs offscreen, and the app-data folder, settings and home are
the test's own temporary folder. Dialogs are answered by the driver: the recovery
prompt (``gui.recovery.ask``) and the unsaved-changes question (``QMessageBox.question``).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")

#: 100 random edits, with undo and redo among them, through the Document API
EDITS = r'''
import random
from engine.ops import OPS


def random_edits(doc, seed, n=100):
    rng = random.Random(seed)
    ops = sorted(OPS)
    count = [0]
    doc.undo_stack.indexChanged.connect(lambda _i: count.__setitem__(0, count[0] + 1))
    while count[0] < n:
        g = doc.graph
        ids = g.ids()
        leaves = [i for i in ids if OPS[g.op_of(i)].is_leaf]
        what = rng.choice(["add"] * 3 + ["connect"] * 4 + ["value"] * 3 + [
            "move", "rename", "delete", "undo", "redo", "output", "kind", "exponent"])
        if what == "add" or not ids:
            doc.add_node(rng.choice(ops), (rng.uniform(-900, 900), rng.uniform(-600, 600)))
        elif what == "connect":
            dst = rng.choice(ids)
            spec = OPS[g.op_of(dst)]
            ports = [f"x{k}" for k in range(1, 5)] if spec.variadic else list(spec.ports)
            if ports:
                doc.connect(rng.choice(ids), dst, rng.choice(ports))
        elif what == "value" and leaves:
            doc.set_value(rng.choice(leaves), round(rng.uniform(-5, 5), rng.randint(0, 9)))
        elif what == "move":
            nid = rng.choice(ids)
            doc.move({nid: (g.node(nid).pos, (rng.uniform(-900, 900), rng.uniform(-600, 600)))})
        elif what == "rename":
            doc.rename(rng.choice(ids), f"n{rng.randint(0, 10**6)}")
        elif what == "delete":
            doc.delete([rng.choice(ids)])
        elif what == "undo" and doc.undo_stack.canUndo():
            doc.undo_stack.undo()
        elif what == "redo" and doc.undo_stack.canRedo():
            doc.undo_stack.redo()
        elif what == "output":
            doc.set_output(rng.choice(ids))
        elif what == "kind" and leaves:
            doc.set_kind(rng.choice(leaves), rng.choice(["input", "param", "const"]))
        elif what == "exponent":
            powers = [i for i in ids if g.op_of(i) == "power"]
            if powers:
                doc.set_attr(rng.choice(powers), "exponent", rng.choice([0.5, 2.0, 3.0, -1.0]))
    return count[0]
'''

#: start, save to DOC, 100 random edits, wait for the autosave, then (after a line on
#: stdin, so the test can look at a running session first) SIGKILL itself
KILLED = EDITS + r'''
import os, signal, sys
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
import gui.app
from engine import fileformat

doc_path, held_path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
w = gui.app.create_window(None)
assert w._save_to(doc_path)
edits = random_edits(w.doc, seed)
with open(held_path, "w", encoding="utf-8") as f:
    f.write(fileformat.dumps(w.doc.graph))

def autosaved(_path):
    print("autosaved", edits, flush=True)
    sys.stdin.readline()
    os.kill(os.getpid(), signal.SIGKILL)

w.autosaver.saved.connect(autosaved)
print("edited", flush=True)
sys.exit(app.exec())
'''

#: a fresh start: answer the recovery prompt with ANSWER, write what the window shows to
#: STATE, then quit with File › Quit answering Discard, and write what is left on disk
START = r'''
import json, os, sys
from PySide6.QtWidgets import QApplication, QMessageBox
app = QApplication(sys.argv[:1])
import gui.app
from gui import autosave, recovery
from engine import fileformat

state_path, answer = sys.argv[1], sys.argv[2]
asked, questions = [], []

def ask(parent, rec):
    asked.append({"name": rec.name, "path": rec.path, "changes": rec.changes,
                  "nodes": rec.nodes, "text": recovery.describe(rec)})
    return answer

def question(parent, title, text, *a, **k):
    questions.append(text)
    return QMessageBox.Discard

recovery.ask = ask
QMessageBox.question = staticmethod(question)

def on_disk():
    folder = autosave.recovery_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

w = gui.app.create_window(None)
state = {"asked": asked, "dumps": fileformat.dumps(w.doc.graph), "path": w.doc.path,
         "modified": w.doc.is_modified(), "window_modified": w.isWindowModified(),
         "title": w.windowTitle(), "undo_steps": w.doc.undo_stack.count(),
         "on_disk": on_disk()}
w.act_quit.trigger()
state.update(closed=not w.isVisible(), questions=questions, left=on_disk())
with open(state_path, "w", encoding="utf-8") as f:
    json.dump(state, f)
'''

#: the whole editor (gui.app.run): a few edits once it is up, then it waits for signals;
#: the unsaved-changes question is answered from ANSWERS (comma-separated, in order)
SIGNALLED = EDITS + r'''
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
import gui.app
from engine import fileformat

held_path, answers = sys.argv[1], sys.argv[2].split(",")
app = QApplication(sys.argv[:1])
asked = []

def question(parent, title, text, *a, **k):
    asked.append(text)
    answer = answers[min(len(asked), len(answers)) - 1]
    print("asked", len(asked), answer, flush=True)
    if answer == "cancel":
        QTimer.singleShot(50, lambda: print("open", parent.isVisible(), flush=True))
        return QMessageBox.Cancel
    return QMessageBox.Discard

QMessageBox.question = staticmethod(question)

def edit():
    w = next(t for t in app.topLevelWidgets() if type(t).__name__ == "MainWindow")
    random_edits(w.doc, 7, n=12)
    with open(held_path, "w", encoding="utf-8") as f:
        f.write(fileformat.dumps(w.doc.graph))
    print("ready", flush=True)

QTimer.singleShot(200, edit)
code = gui.app.run(None)
print("exit", code, flush=True)
sys.exit(code)
'''


class Editor:
    """A driver process whose output lines are read as they come."""

    def __init__(self, script: str, args: list[str], home: Path) -> None:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
                   CHAIN_RULE_STUDIO_DATA_DIR=str(home / "data"),
                   XDG_CONFIG_HOME=str(home / "config"), HOME=str(home),
                   PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen([sys.executable, "-c", script, *args], env=env,
                                     cwd=str(home), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("")  # end of output

    def expect(self, prefix: str, timeout: float = 120) -> str:
        """The next output line starting with ``prefix`` (fails on end of output)."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                self.proc.kill()
                pytest.fail(f"no {prefix!r} line from the editor; saw {self.seen}")
            self.seen.append(line)
            if line.startswith(prefix):
                return line
            if line == "" and self.proc.poll() is not None:
                pytest.fail(f"the editor ended before {prefix!r}: {self.seen}\n"
                            f"{self.proc.stderr.read()[-3000:]}")

    def wait(self, timeout: float = 120) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    def stderr(self) -> str:
        return self.proc.stderr.read()[-3000:]


def start_again(home: Path, answer: str = "recover") -> dict:
    """A fresh editor in the same folders; returns what it showed and left."""
    state = home / f"state-{answer}.json"
    if state.exists():
        state.unlink()
    editor = Editor(START, [str(state), answer], home)
    code = editor.wait()
    assert code == 0, editor.stderr()
    return json.loads(state.read_text(encoding="utf-8"))


def recovery_files(home: Path) -> list[str]:
    folder = home / "data" / "recovery"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_a_killed_editor_is_recovered_exactly(tmp_path):
    doc = tmp_path / "work.json"
    held = tmp_path / "held.json"
    killed = Editor(KILLED, [str(doc), str(held), "2024"], tmp_path)
    assert killed.expect("autosaved") == "autosaved 100"
    # while it runs, a second editor does not offer its copy
    alive = start_again(tmp_path, answer="recover")
    assert alive["asked"] == [] and not alive["modified"]
    killed.proc.stdin.write("kill\n")
    killed.proc.stdin.flush()
    assert killed.wait() == -signal.SIGKILL
    assert any(n.endswith(".session.json") for n in recovery_files(tmp_path))

    state = start_again(tmp_path, answer="recover")
    assert len(state["asked"]) == 1
    asked = state["asked"][0]
    assert asked["name"] == "work.json" and asked["path"] == str(doc)
    assert asked["changes"] > 0 and "work.json" in asked["text"]
    assert state["dumps"] == held.read_text(encoding="utf-8")  # the document that was killed
    assert state["dumps"] != doc.read_text(encoding="utf-8")   # ...not its saved file
    assert state["path"] == str(doc) and state["title"].startswith("work.json")
    assert state["modified"] and state["window_modified"] and state["undo_steps"] == 0
    # the old copy went once recovered; the new session kept its own until quit
    assert len([n for n in state["on_disk"] if n.endswith(".session.json")]) == 1
    assert state["questions"] and state["closed"]  # Quit asked, Discard answered
    assert state["left"] == [] and recovery_files(tmp_path) == []


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_autosave_quit_and_are_offered_next_start(tmp_path, signame):
    held = tmp_path / "held.json"
    editor = Editor(SIGNALLED, [str(held), "discard"], tmp_path)
    editor.expect("ready")
    editor.proc.send_signal(getattr(signal, signame))
    assert editor.expect("exit") == "exit 0"
    assert editor.wait() == 0, editor.stderr()
    assert not any(line.startswith("asked") for line in editor.seen)  # nobody was asked
    files = recovery_files(tmp_path)
    assert len([n for n in files if n.endswith(".session.json")]) == 1

    state = start_again(tmp_path, answer="recover")
    assert len(state["asked"]) == 1 and state["asked"][0]["path"] is None
    assert state["dumps"] == held.read_text(encoding="utf-8")
    assert state["modified"] and state["title"].startswith("two_layer (example)")


def test_ctrl_c_asks_like_quit_and_cancel_keeps_the_editor(tmp_path):
    held = tmp_path / "held.json"
    editor = Editor(SIGNALLED, [str(held), "cancel,discard"], tmp_path)
    editor.expect("ready")
    editor.proc.send_signal(signal.SIGINT)
    assert editor.expect("asked") == "asked 1 cancel"
    assert editor.expect("open") == "open True"  # still running, the document still there
    editor.proc.send_signal(signal.SIGINT)
    assert editor.expect("asked") == "asked 2 discard"
    assert editor.expect("exit") == "exit 0"
    assert editor.wait() == 0, editor.stderr()
    assert recovery_files(tmp_path) == []  # a normal quit: nothing left to recover
    assert start_again(tmp_path)["asked"] == []


def test_the_entry_point_quits_on_sigterm_with_nothing_to_recover(tmp_path):
    """``main.py``'s own entry point, document unmodified: SIGTERM ends it with status 0
    and leaves no copy (there was nothing unsaved). The driver only makes the
    QApplication first, to print when the event loop runs."""
    script = ("import sys\n"
              "from PySide6.QtCore import QTimer\n"
              "from PySide6.QtWidgets import QApplication\n"
              "app = QApplication(sys.argv[:1])\n"
              "QTimer.singleShot(0, lambda: print('up', flush=True))\n"
              "from chain_rule_studio.main import main\n"
              "sys.exit(main([]))\n")
    editor = Editor(script, [], tmp_path)
    editor.expect("up")
    editor.proc.send_signal(signal.SIGTERM)
    assert editor.wait() == 0, editor.stderr()
    assert recovery_files(tmp_path) == []


#: a start whose recovery prompt is interrupted by SIGTERM while it waits for an answer
TERMINATED_WHILE_ASKING = r'''
import os, signal, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
import gui.app
from gui import recovery
real_ask = recovery.ask

def ask(parent, rec):
    QTimer.singleShot(200, lambda: os.kill(os.getpid(), signal.SIGTERM))
    print("asking", rec.name, flush=True)
    return real_ask(parent, rec)  # the real dialog, waiting for a click

recovery.ask = ask
code = gui.app.run(None)
print("exit", code, flush=True)
sys.exit(code)
'''


def test_sigterm_during_the_recovery_prompt_quits_and_keeps_the_copy(tmp_path):
    held = tmp_path / "held.json"
    first = Editor(SIGNALLED, [str(held), "discard"], tmp_path)
    first.expect("ready")
    first.proc.send_signal(signal.SIGTERM)
    assert first.wait() == 0, first.stderr()
    second = Editor(TERMINATED_WHILE_ASKING, [], tmp_path)
    assert second.expect("asking").startswith("asking two_layer")
    assert second.expect("exit") == "exit 0"
    assert second.wait() == 0, second.stderr()
    state = start_again(tmp_path, answer="recover")  # still offered, still whole
    assert len(state["asked"]) == 1
    assert state["dumps"] == held.read_text(encoding="utf-8")
