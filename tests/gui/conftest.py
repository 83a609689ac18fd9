"""Shared GUI fixtures: a shown main window whose dialogs never block, and a canvas view.

Every GUI test acts as a user: real mouse and key events on shown widgets, then
assertions on the document and on what is drawn. Dialogs are monkeypatched: errors and
questions are recorded on ``dialogs`` and questions answered with ``dialogs.answer``;
the start-up recovery prompt is recorded on ``dialogs.recoveries`` and answered with
``dialogs.recovery_answer`` (by default: decide later, the copy stays). Each GUI test
has its own app-data folder, so autosaved copies never cross from one test to another.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

import engine
from _gui_helpers import shown_view
from gui import recovery
from gui.canvas import CanvasView
from gui.document import Document
from gui.mainwindow import EXAMPLES_DIR, MainWindow


class Dialogs:
    """Records every dialog the window shows; answers questions with ``answer``."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.questions: list[str] = []
        self.answer = QMessageBox.Discard
        self.save_name = ""
        self.open_name = ""
        self.recoveries: list[recovery.Recovery] = []
        self.recovery_answer: str | None = recovery.LATER


@pytest.fixture
def dialogs(monkeypatch) -> Dialogs:
    d = Dialogs()

    def critical(parent, title, text, *a, **k):
        d.errors.append(text)
        return QMessageBox.Ok

    def question(parent, title, text, *a, **k):
        d.questions.append(text)
        return d.answer

    monkeypatch.setattr(QMessageBox, "critical", staticmethod(critical))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (d.save_name, "")))
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (d.open_name, "")))

    def ask_recovery(parent, rec):
        d.recoveries.append(rec)
        return d.recovery_answer

    monkeypatch.setattr(recovery, "ask", ask_recovery)
    return d


@pytest.fixture(autouse=True)
def _own_data_dir(monkeypatch, tmp_path_factory) -> None:
    """A fresh app-data folder (crash log, autosaved copies) for every GUI test."""
    monkeypatch.setenv("CHAIN_RULE_STUDIO_DATA_DIR", str(tmp_path_factory.mktemp("appdata")))


@pytest.fixture
def window(qtbot, dialogs) -> MainWindow:
    """A fresh main window, 1400×900, shown and focused on the canvas."""
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    w.canvas.setFocus()
    yield w
    dialogs.answer = QMessageBox.Discard  # closing at teardown never blocks


@pytest.fixture
def two_layer_window(window: MainWindow) -> MainWindow:
    """The window with File › Examples › two_layer open (the tutorial's network)."""
    assert window.open_example(EXAMPLES_DIR / "two_layer.json", ask=False)
    return window


@pytest.fixture
def canvas(qtbot):
    """A factory: (document, view) for a given graph, shown at zoom 1 around the
    tutorial layout. The views are kept alive until the test ends (pytest-qt holds
    widgets weakly; a view collected mid-test would take its items with it)."""
    made = []

    def make(graph: engine.Graph) -> tuple[Document, CanvasView]:
        doc, view = shown_view(qtbot, graph)
        view.resetTransform()
        view.centerOn(520, 280)
        made.append(view)
        return doc, view
    return make
