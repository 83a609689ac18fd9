"""Progress for long work on the GUI thread (opening a huge file, auto-layout).

Building tens of thousands of canvas items has to happen on the GUI thread, so instead
of a worker the long loops call :func:`step` now and then. Inside a :func:`scope` that
shows a progress dialog (after a short delay, so small graphs never flash one) and lets
the window repaint; user input is held back until the work is done, and :func:`busy`
tells timers (Play, Train N) to wait rather than touch a half-built canvas. Outside a
scope (tests, ``main.py render``) ``step`` costs one comparison.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

from PySide6.QtCore import QEventLoop, Qt
from PySide6.QtWidgets import QApplication, QProgressDialog, QWidget

SHOW_AFTER = 0.4   # seconds of work before the dialog appears
REPAINT_EVERY = 0.1  # seconds between two repaints of the window


class _Scope:
    def __init__(self, parent: QWidget | None, label: str) -> None:
        self.parent, self.label = parent, label
        self.started = time.perf_counter()
        self.last = 0.0
        self.dialog: QProgressDialog | None = None

    def step(self, done: int, total: int, label: str | None) -> None:
        now = time.perf_counter()
        if now - self.last < REPAINT_EVERY:
            return
        self.last = now
        if self.dialog is None:
            if now - self.started < SHOW_AFTER:
                return
            self.dialog = QProgressDialog(self.label, "", 0, max(total, 1), self.parent)
            self.dialog.setWindowTitle("Chain Rule Studio")
            self.dialog.setCancelButton(None)  # the work cannot stop half-way safely
            self.dialog.setWindowModality(Qt.WindowModal)
            self.dialog.setMinimumDuration(0)
            self.dialog.setAutoClose(False)
            self.dialog.show()
        if label:
            self.dialog.setLabelText(label)
        self.dialog.setMaximum(max(total, 1))
        self.dialog.setValue(min(done, total))
        QApplication.processEvents(QEventLoop.ExcludeUserInputEvents)

    def close(self) -> None:
        if self.dialog is not None:
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None


_current: _Scope | None = None


@contextmanager
def scope(parent: QWidget | None, label: str) -> Iterator[None]:
    """Report the long loops run inside this block in a dialog over ``parent``."""
    global _current
    if _current is not None:  # nested: the outer dialog reports
        yield
        return
    _current = _Scope(parent, label)
    try:
        yield
    finally:
        s, _current = _current, None
        s.close()


def step(done: int, total: int, label: str | None = None) -> None:
    """Called by long loops: ``done`` of ``total`` units finished."""
    if _current is not None:
        _current.step(done, total, label)


def busy() -> bool:
    """True while a scope is running: timers should wait for the next tick."""
    return _current is not None
