"""Autosave and recovery inside one process: what is written, when, and what a start-up
offers. Edits are made as a user makes them (keys in the inspector, Ctrl+S, Ctrl+Z);
a crashed session is a session whose lock was let go without its files being removed,
which is exactly what the OS leaves behind after a kill. The real-process versions
(SIGKILL, SIGTERM, Ctrl+C) are in test_recovery_session.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from _gui_helpers import two_layer
from engine import fileformat
from gui import app as app_module
from gui import autosave, recovery
from gui.mainwindow import MainWindow
from test_mainwindow import press

#: the real dialog (the ``dialogs`` fixture replaces ``recovery.ask`` for each test)
REAL_ASK = recovery.ask


@pytest.fixture(autouse=True)
def _quick(monkeypatch):
    """A short debounce, so the tests wait for autosaves briefly (the mechanism is the same)."""
    monkeypatch.setattr(autosave, "DELAY_MS", 50)


def folder() -> Path:
    return autosave.recovery_dir()


def copies() -> list[dict]:
    """The sidecars on disk."""
    if not folder().is_dir():
        return []
    return [json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(folder().glob("*" + autosave.SIDECAR))]


def type_value(qtbot, window: MainWindow, nid: str, text: str) -> None:
    """Select a node, type a value in the inspector and press Enter."""
    window.canvas.select_ids([nid])
    edit = window.inspector.value_edit
    qtbot.mouseClick(edit, Qt.LeftButton)
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key_Return)


def wait_autosaved(qtbot, window: MainWindow) -> dict:
    """Wait for the autosave of the window's last edit; returns its sidecar."""
    saver = window.autosaver
    if saver.pending_write():
        with qtbot.waitSignal(saver.saved, timeout=10_000):
            pass
    assert saver.session is not None and saver.session.sidecar.exists()
    return json.loads(saver.session.sidecar.read_text("utf-8"))


def crash(window: MainWindow) -> None:
    """What a kill leaves: the copy on disk, the lock let go (the OS drops it at exit)."""
    window.autosaver._ended = True
    window.autosaver.timer.stop()
    window.autosaver.session.lock.release()
    window.autosaver.session.lock = None


def test_an_edit_is_autosaved_without_touching_the_undo_stack(window, qtbot, dialogs, tmp_path):
    ids = two_layer(window.doc)
    dialogs.save_name = str(tmp_path / "net.json")
    press(qtbot, window.canvas, QKeySequence.Save)
    assert copies() == []  # saved: nothing to recover
    type_value(qtbot, window, ids["x"], "3")
    assert window.autosaver.pending_write()  # debounced: not written at once
    stack = window.doc.undo_stack
    before = (stack.count(), stack.index(), stack.cleanIndex(), window.isWindowModified())
    info = wait_autosaved(qtbot, window)
    assert (stack.count(), stack.index(), stack.cleanIndex(),
            window.isWindowModified()) == before
    assert info["path"] == str(tmp_path / "net.json") and info["changes"] == 1
    assert info["nodes"] == 7 and info["pid"] == os.getpid()
    graph_file = folder() / info["graph"]
    # the copy is the graph as it is now: x = 3
    assert graph_file.read_text("utf-8") == fileformat.dumps(window.doc.graph)
    assert fileformat.load(graph_file).node(ids["x"]).value == 3.0
    # Ctrl+S: saved, so the copy goes at once
    press(qtbot, window.canvas, QKeySequence.Save)
    assert copies() == [] and not graph_file.exists()


def test_undoing_back_to_the_saved_state_removes_the_copy(window, qtbot, dialogs, tmp_path):
    ids = two_layer(window.doc)
    window.doc.save(str(tmp_path / "net.json"))
    type_value(qtbot, window, ids["w1"], "0.25")
    type_value(qtbot, window, ids["w2"], "0.75")
    assert wait_autosaved(qtbot, window)["changes"] == 2
    press(qtbot, window.canvas, QKeySequence.Undo)
    assert wait_autosaved(qtbot, window)["changes"] == 1
    press(qtbot, window.canvas, QKeySequence.Undo)
    assert not window.doc.is_modified() and copies() == []


def test_a_normal_close_leaves_nothing_behind(window, qtbot, dialogs):
    two_layer(window.doc)
    wait_autosaved(qtbot, window)
    assert len(copies()) == 1
    dialogs.answer = QMessageBox.Discard
    window.act_quit.trigger()
    assert not window.isVisible()
    assert list(folder().iterdir()) == []


def test_two_windows_keep_their_own_copies_and_running_ones_are_not_offered(qtbot, dialogs):
    windows = [MainWindow(), MainWindow()]
    for w in windows:
        qtbot.addWidget(w)
        w.show()
    two_layer(windows[0].doc)
    windows[1].doc.add_node("input", (0, 0), "solo", 1.0)
    for w in windows:
        wait_autosaved(qtbot, w)
    infos = copies()
    assert len(infos) == 2 and infos[0]["graph"] != infos[1]["graph"]
    assert sorted(c["nodes"] for c in infos) == [1, 7]
    # both sessions are running (their locks are held): a start-up offers neither
    assert autosave.pending() == []
    w = app_module.create_window(None)
    qtbot.addWidget(w)
    assert dialogs.recoveries == []
    assert sorted(c["nodes"] for c in copies()) == [1, 7]


def _crashed_session(qtbot, tmp_path: Path, saved: bool = True) -> tuple[str, Path | None]:
    """A window that saved net.json (or never saved), made 3 more edits, was autosaved
    and then died. Returns the graph it held and its file."""
    w = MainWindow()
    qtbot.addWidget(w)
    ids = two_layer(w.doc)
    path = None
    if saved:
        path = tmp_path / "net.json"
        w.doc.save(str(path))
    w.doc.set_value(ids["x"], 4.0)
    w.doc.rename(ids["h"], "hidden")
    w.doc.add_node("sin", (900, 0), "s")
    wait_autosaved(qtbot, w)
    crash(w)
    return fileformat.dumps(w.doc.graph), path


def test_recover_gives_the_crashed_document_modified_with_its_path(qtbot, dialogs, tmp_path):
    held, path = _crashed_session(qtbot, tmp_path)
    dialogs.recovery_answer = recovery.RECOVER
    w = app_module.create_window(None)
    qtbot.addWidget(w)
    assert len(dialogs.recoveries) == 1
    rec = dialogs.recoveries[0]
    assert (rec.path, rec.changes, rec.nodes, rec.name) == (str(path), 3, 8, "net.json")
    text = recovery.describe(rec)
    assert "net.json" in text and "3 unsaved changes" in text and "today at" in text
    assert fileformat.dumps(w.doc.graph) == held
    assert w.doc.path == str(path) and w.windowTitle().startswith("net.json")
    assert w.doc.is_modified() and w.isWindowModified()
    assert w.doc.undo_stack.count() == 0  # the history did not survive, the graph did
    # the old copy is gone; the window's own copy holds the recovered graph already
    left = copies()
    assert len(left) == 1 and left[0]["pid"] == os.getpid() and left[0]["changes"] == 3
    assert autosave.pending() == []
    # Save writes it where it belongs, and nothing is left to recover
    w.act_save.trigger()
    assert fileformat.dumps(fileformat.load(path)) == held and copies() == []


def test_open_saved_opens_the_file_and_deletes_the_copy(qtbot, dialogs, tmp_path):
    _held, path = _crashed_session(qtbot, tmp_path)
    dialogs.recovery_answer = recovery.OPEN_SAVED
    w = app_module.create_window(None)
    qtbot.addWidget(w)
    assert w.doc.path == str(path) and not w.doc.is_modified()
    assert fileformat.dumps(w.doc.graph) == path.read_text("utf-8")
    assert copies() == [] and autosave.pending() == []


def test_discard_deletes_the_copy_and_opens_as_usual(qtbot, dialogs, tmp_path):
    _crashed_session(qtbot, tmp_path, saved=False)
    dialogs.recovery_answer = recovery.DISCARD
    w = app_module.create_window(None)
    qtbot.addWidget(w)
    assert len(dialogs.recoveries) == 1 and dialogs.recoveries[0].path is None
    assert w.doc.path is None and not w.doc.is_modified() and "two_layer" in w.windowTitle()
    assert list(folder().iterdir()) == []


def test_no_answer_keeps_the_copy_for_the_next_start(qtbot, dialogs, tmp_path):
    _crashed_session(qtbot, tmp_path)
    w = app_module.create_window(None)  # recovery_answer: LATER
    qtbot.addWidget(w)
    assert len(dialogs.recoveries) == 1 and len(autosave.pending()) == 1


def test_an_untitled_document_is_recovered_under_its_name(qtbot, dialogs, tmp_path):
    held, _ = _crashed_session(qtbot, tmp_path, saved=False)
    dialogs.recovery_answer = recovery.RECOVER
    w = app_module.create_window(None)
    qtbot.addWidget(w)
    assert fileformat.dumps(w.doc.graph) == held and w.doc.path is None
    assert w.windowTitle().startswith("Untitled") and w.isWindowModified()


def test_a_copy_older_than_its_file_is_not_offered(qtbot, dialogs, tmp_path):
    _held, path = _crashed_session(qtbot, tmp_path)
    later = os.stat(path).st_mtime + 60
    os.utime(path, (later, later))  # the file was saved again after the crash
    w = app_module.create_window(None)
    qtbot.addWidget(w)
    assert dialogs.recoveries == [] and copies() == []


def test_a_second_document_gets_its_own_window(qtbot, dialogs, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    held_a, path_a = _crashed_session(qtbot, tmp_path / "a")
    held_b, path_b = _crashed_session(qtbot, tmp_path / "b")
    dialogs.recovery_answer = recovery.RECOVER
    w = app_module.create_window(None)
    qtbot.addWidget(w)
    try:
        assert len(dialogs.recoveries) == 2 and len(recovery.extra_windows) == 1
        other = recovery.extra_windows[0]
        got = {w.doc.path: fileformat.dumps(w.doc.graph),
               other.doc.path: fileformat.dumps(other.doc.graph)}
        assert got == {str(path_a): held_a, str(path_b): held_b}
        assert other.isVisible() and other.doc.is_modified()
    finally:
        for extra in recovery.extra_windows:
            extra.close()
        recovery.extra_windows.clear()


def test_a_failed_autosave_is_said_in_the_status_bar_and_changes_nothing(window, qtbot,
                                                                        monkeypatch):
    ids = two_layer(window.doc)

    def fail(*_a, **_k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(autosave, "_write_atomically", fail)
    with qtbot.waitSignal(window.autosaver.failed, timeout=10_000) as blocker:
        pass
    assert blocker.args == ["Autosave failed: No space left on device"]
    assert "Autosave failed" in window.statusBar().currentMessage()
    assert window.doc.is_modified() and window.doc.graph.node(ids["x"]).value == 2.0


def test_the_recovery_dialog_as_a_user_sees_it(qtbot, dialogs, tmp_path, monkeypatch):
    """The real dialog: it names the document, when and how many changes, and Recover
    is a button to click."""
    held, path = _crashed_session(qtbot, tmp_path)
    monkeypatch.setattr(recovery, "ask", REAL_ASK)
    seen: dict = {}

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if box is None or box.objectName() != "recovery_dialog":
            QTimer.singleShot(20, answer)
            return
        seen["text"] = box.text()
        seen["buttons"] = [b.text() for b in box.findChildren(QPushButton) if b.isVisible()]
        seen["image"] = box.grab()
        button = next(b for b in box.buttons() if b.text() == "Recover")
        qtbot.mouseClick(button, Qt.LeftButton)

    QTimer.singleShot(0, answer)
    w = app_module.create_window(None)
    qtbot.addWidget(w)
    assert "net.json" in seen["text"] and "3 unsaved changes" in seen["text"]
    assert "today at" in seen["text"]
    assert {"Recover", "Open saved", "Discard"} <= set(seen["buttons"])
    assert not seen["image"].isNull()
    if os.environ.get("CRS_SCREENSHOTS"):
        seen["image"].save(os.path.join(os.environ["CRS_SCREENSHOTS"], "recovery.png"))
    assert fileformat.dumps(w.doc.graph) == held and w.doc.is_modified()
