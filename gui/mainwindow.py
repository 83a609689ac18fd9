"""The main window: canvas in the middle, palette, inspector and history docks, menus.

The window owns one Document and routes menu actions to it; it never edits the graph
itself. File problems are shown in dialogs with the engine's own words and never
leave the document half-changed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import QMimeData, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QCursor, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QToolBar,
    QUndoView,
    QWidget,
)

import engine
from engine.labels import LABEL_MODES, display_name
from engine.numfmt import fmt
from chain_rule_studio.examples import DEFAULT_EXAMPLE, example_files, examples_dir
from gui import progress
from gui.autosave import Autosaver
from gui.canvas import CanvasView
from gui.commands import fragment_nodes
from gui.document import Document
from gui.inspector import Inspector
from gui.mime import GRAPH_MIME
from gui.palette import OpPalette
from gui.theme import THEMES, apply_theme, current_theme

APP_TITLE = "Chain Rule Studio"
EXAMPLES_DIR = examples_dir()
FILE_FILTER = "Chain Rule Studio graphs (*.json);;All files (*)"
MAX_RECENT = 8
LABEL_TITLES = {"none": "No labels", "local": "Local derivative", "product": "Product",
                "both": "Local and product", "formulas": "Formulas"}


class _NoteLabel(QLabel):
    """A word-wrapped label that asks for the height its text needs at its current width,
    so a docked note is never cut off when the window is resized."""

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        need = self.heightForWidth(self.width()) if self.text() else 0
        if need > 0 and need != self.minimumHeight():
            self.setMinimumHeight(need)


class MainWindow(QMainWindow):
    def __init__(self, document: Document | None = None) -> None:
        super().__init__()
        self.doc = document or Document(self)
        self.untitled_name = "Untitled"
        self.settings = QSettings()
        self._paste_count = 0
        self.canvas = CanvasView(self.doc)
        self.setCentralWidget(self.canvas)
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status()
        self._build_expression_bar()
        self._build_gradcheck_dock()
        self._build_training_dock()
        self._build_note_dock()
        self._build_derivation_dock()
        self._build_stepper()
        self.canvas.selectionChangedIds.connect(self._selection_changed)
        self.canvas.statusMessage.connect(self.show_message)
        self.inspector.statusMessage.connect(self.show_message)
        self.doc.fileChanged.connect(self._update_title)
        self.doc.resultsChanged.connect(self._update_status)
        self.doc.graphReset.connect(lambda: QTimer.singleShot(0, self.canvas.fit_all))
        self.autosaver = Autosaver(self.doc, lambda: self.untitled_name, self)
        self.autosaver.failed.connect(self.show_message)
        #: set when a signal (SIGTERM, SIGHUP) ends the session: close without asking
        self._closing_on_signal = False
        self.set_label_mode(str(self.settings.value("labelMode", "both")))
        self.set_theme(str(self.settings.value("theme", "light")))
        self.resize(*_first_size(self))
        self._update_title()
        self._update_status()

    # ---------------------------------------------------------------- build
    def _build_docks(self) -> None:
        self.palette = OpPalette()
        self.palette.opActivated.connect(self.add_at_centre)
        self.palette_dock = self._dock("Palette", self.palette, Qt.LeftDockWidgetArea)
        self.inspector = Inspector(self.doc)
        self.inspector_dock = self._dock("Inspector", self.inspector, Qt.RightDockWidgetArea)
        self.history = QUndoView(self.doc.undo_stack)
        self.history.setEmptyLabel("<opened>")
        self.history_dock = self._dock("History", self.history, Qt.RightDockWidgetArea)
        self.resizeDocks([self.palette_dock, self.inspector_dock], [200, 320], Qt.Horizontal)
        self.resizeDocks([self.inspector_dock, self.history_dock], [620, 200], Qt.Vertical)

    def _build_training_dock(self) -> None:
        """Gradient descent on the params, with live loss and value plots (bottom dock)."""
        from gui.training_panel import TrainingPanel
        self.training = TrainingPanel(self.doc)
        self.training_dock = self._dock("Training", self.training, Qt.BottomDockWidgetArea)
        self.resizeDocks([self.training_dock], [280], Qt.Vertical)
        self._view_menu().addAction(self.training_dock.toggleViewAction())

    def _build_note_dock(self) -> None:
        """The opened file's note (what an example teaches), above the canvas; closable."""
        self.note_label = _NoteLabel()
        self.note_label.setObjectName("graph_note")
        self.note_label.setWordWrap(True)
        self.note_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.note_label.setContentsMargins(8, 4, 8, 6)
        self.note_label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.note_dock = self._dock("Note", self.note_label, Qt.TopDockWidgetArea)
        self._view_menu().addAction(self.note_dock.toggleViewAction())
        self.doc.graphReset.connect(self._show_note)
        # a graph replaced by an undoable edit (the expression bar) brings its own note
        self.doc.undo_stack.indexChanged.connect(lambda _i: self._show_note(only_if_changed=True))
        self._show_note()

    def _show_note(self, only_if_changed: bool = False) -> None:
        """Show the graph's note when a file is opened; hide the dock when it has none."""
        note = self.doc.graph.note.strip()
        if only_if_changed and note == self.note_label.text():
            return  # keep a note the user closed closed
        self.note_label.setText(note)
        self.note_dock.setVisible(bool(note))
        if note:  # a wrapped label's height depends on its width, which docks do not ask
            width = max(300, self.width() - 40)
            self.resizeDocks([self.note_dock], [self.note_label.heightForWidth(width) + 12],
                             Qt.Vertical)

    def _view_menu(self):
        return next(a.menu() for a in self.menuBar().actions() if a.text() == "&View")

    def _build_derivation_dock(self) -> None:
        """The Derivation dock (∂L/∂w written out for the selected node) and its View toggle."""
        from gui.derivation_panel import DerivationPanel
        self.derivation = DerivationPanel(self.doc, self.canvas)
        self.derivation_dock = self._dock("Derivation", self.derivation, Qt.RightDockWidgetArea)
        self.canvas.selectionChangedIds.connect(self.derivation.set_selection)
        view_menu = next((a.menu() for a in self.menuBar().actions()
                          if a.menu() is not None and a.text() == "&View"), None)
        if view_menu is not None:
            view_menu.addAction(self.derivation_dock.toggleViewAction())
        # History shares the derivation's place as a tab, so the derivation gets the room
        self.tabifyDockWidget(self.derivation_dock, self.history_dock)
        self.derivation_dock.raise_()
        self.resizeDocks([self.palette_dock, self.derivation_dock], [200, 380], Qt.Horizontal)
        self.resizeDocks([self.inspector_dock, self.derivation_dock], [330, 520], Qt.Vertical)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.lower() + "_dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                a.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        a.triggered.connect(lambda _checked=False: slot())
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        A = self._action
        self.act_new = A("&New", self.new_file, QKeySequence.New, "Start an empty graph")
        self.act_open = A("&Open…", self.open_dialog, QKeySequence.Open, "Open a graph file")
        self.act_save = A("&Save", self.save, QKeySequence.Save, "Save the graph")
        self.act_save_as = A("Save &As…", self.save_as, QKeySequence.SaveAs)
        self.act_quit = A("&Quit", self.close, QKeySequence.Quit)
        self.act_undo = self.doc.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence.Undo)
        self.act_redo = self.doc.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence(QKeySequence.Redo), QKeySequence("Ctrl+Y")]
                                   if QKeySequence(QKeySequence.Redo) != QKeySequence("Ctrl+Y")
                                   else [QKeySequence(QKeySequence.Redo)])
        self.addAction(self.act_undo)
        self.addAction(self.act_redo)
        self.act_cut = A("Cu&t", self.cut, QKeySequence.Cut)
        self.act_copy = A("&Copy", self.copy, QKeySequence.Copy)
        self.act_paste = A("&Paste", self.paste, QKeySequence.Paste)
        self.act_duplicate = A("&Duplicate", self.duplicate, "Ctrl+D")
        self.act_delete = A("&Delete", self.delete_selection, QKeySequence.Delete,
                            "Delete the selected nodes and their edges")
        self.act_select_all = A("Select &All", self.select_all, QKeySequence.SelectAll)
        self.act_mark_output = A("&Mark as Output", self.mark_output, "Ctrl+M",
                                 "Backpropagate from the selected node")
        self.act_fit = A("&Fit All", lambda: self.canvas.fit_all(), "F", "Show the whole graph")
        self.act_fit_sel = A("Fit &Selection", lambda: self.canvas.fit_selection(), "Shift+F")
        self.act_zoom_in = A("Zoom &In", lambda: self.canvas.zoom_in(), ["Ctrl+=", "Ctrl++"])
        self.act_zoom_out = A("Zoom &Out", lambda: self.canvas.zoom_out(), "Ctrl+-")
        self.act_layout = A("Auto-&Layout", self.auto_layout, "L",
                            "Arrange left to right by generation (one undo step)")
        # single keys act on the canvas only: Delete in the palette or F typed in a
        # field must not delete or refit the canvas selection (menus still show them)
        for a in (self.act_delete, self.act_fit, self.act_fit_sel, self.act_layout):
            self.removeAction(a)
            a.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            self.canvas.addAction(a)
        self.label_group = QActionGroup(self)
        self.label_actions: dict[str, QAction] = {}
        for mode in LABEL_MODES:
            a = QAction(LABEL_TITLES.get(mode, mode), self.label_group)
            a.setCheckable(True)
            a.setToolTip(f"Edge labels: {LABEL_TITLES.get(mode, mode).lower()}")
            a.triggered.connect(lambda _c=False, m=mode: self.set_label_mode(m))
            self.label_actions[mode] = a
        self.theme_group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for theme in THEMES:
            a = QAction(theme.title(), self.theme_group)
            a.setCheckable(True)
            a.triggered.connect(lambda _c=False, t=theme: self.set_theme(t))
            self.theme_actions[theme] = a

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        f.addActions([self.act_new, self.act_open])
        self.recent_menu = f.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.examples_menu = f.addMenu("&Examples")
        self.examples_menu.aboutToShow.connect(self._fill_examples)
        self._fill_recent()
        self._fill_examples()
        f.addSeparator()
        f.addActions([self.act_save, self.act_save_as])
        f.addSeparator()
        f.addAction(self.act_quit)
        e = mb.addMenu("&Edit")
        e.addActions([self.act_undo, self.act_redo])
        e.addSeparator()
        e.addActions([self.act_cut, self.act_copy, self.act_paste, self.act_duplicate,
                      self.act_delete])
        e.addSeparator()
        e.addActions([self.act_select_all, self.act_mark_output])
        v = mb.addMenu("&View")
        v.addActions([self.act_fit, self.act_fit_sel, self.act_zoom_in, self.act_zoom_out])
        v.addSeparator()
        v.addAction(self.act_layout)
        labels = v.addMenu("Edge &Labels")
        labels.addActions(list(self.label_actions.values()))
        themes = v.addMenu("&Theme")
        themes.addActions(list(self.theme_actions.values()))
        v.addSeparator()
        for dock in (self.palette_dock, self.inspector_dock, self.history_dock):
            v.addAction(dock.toggleViewAction())

    def _build_toolbar(self) -> None:
        tb = QToolBar("Main", self)
        tb.setObjectName("main_toolbar")
        tb.setToolButtonStyle(Qt.ToolButtonTextOnly)
        tb.addActions([self.act_new, self.act_open, self.act_save])
        tb.addSeparator()
        # fixed texts, so the toolbar does not jump; the tooltip names the command
        self.tb_undo = QAction("Undo", self)
        self.tb_undo.triggered.connect(self.doc.undo_stack.undo)
        self.tb_redo = QAction("Redo", self)
        self.tb_redo.triggered.connect(self.doc.undo_stack.redo)
        self.doc.undo_stack.indexChanged.connect(self._update_undo_buttons)
        self.doc.undo_stack.cleanChanged.connect(self._update_undo_buttons)
        self._update_undo_buttons()
        tb.addActions([self.tb_undo, self.tb_redo])
        tb.addSeparator()
        tb.addActions([self.act_fit, self.act_layout])
        tb.addSeparator()
        tb.addWidget(QLabel(" Labels: "))
        tb.addActions(list(self.label_actions.values()))
        self.addToolBar(Qt.TopToolBarArea, tb)
        self.toolbar = tb

    def _build_stepper(self) -> None:
        """Step-through passes: toolbar buttons, the Passes menu and the Narration dock."""
        from gui.stepper import NarrationView, Stepper
        self.stepper = Stepper(self.doc, self.canvas.scene(), self)
        self.narration = NarrationView(self.stepper)
        self.narration_dock = self._dock("Narration", self.narration, Qt.BottomDockWidgetArea)
        menu = self.menuBar().addMenu("&Passes")
        menu.addActions(self.stepper.actions())
        menu.addSeparator()
        menu.addAction(self.narration_dock.toggleViewAction())
        self.toolbar.addSeparator()
        self.toolbar.addActions(self.stepper.actions())
        self.toolbar.addWidget(self.stepper.speed_box)
        for a in self.stepper.actions():
            self.addAction(a)
        for a in (self.stepper.act_play, self.stepper.act_pause):  # a single key: canvas only
            self.removeAction(a)
            a.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            self.canvas.addAction(a)

    def _build_status(self) -> None:
        self.output_label = QLabel()
        self.output_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.statusBar().addPermanentWidget(self.output_label)

    def _build_expression_bar(self) -> None:
        """The expression bar above the canvas; Ctrl+E focuses it, Escape hands back."""
        from PySide6.QtWidgets import QVBoxLayout
        from gui.expression_bar import ExpressionBar
        canvas = self.takeCentralWidget()
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.expression_bar = ExpressionBar(self.doc)
        lay.addWidget(self.expression_bar)
        lay.addWidget(canvas, 1)
        self.setCentralWidget(central)
        self.expression_bar.escaped.connect(lambda: self.canvas.setFocus())
        self.expression_bar.built.connect(self._expression_built)
        self.act_focus_expression = self._action(
            "&Expression Bar", self.focus_expression_bar, "Ctrl+E",
            "Type a formula; Enter builds it as a graph")
        view = next(a.menu() for a in self.menuBar().actions() if a.text() == "&View")
        view.addAction(self.act_focus_expression)

    def focus_expression_bar(self) -> None:
        self.expression_bar.edit.setFocus(Qt.ShortcutFocusReason)
        self.expression_bar.edit.selectAll()

    def _expression_built(self, ids: list, inserted: bool) -> None:
        if inserted:
            self.canvas.select_ids(list(ids))
            fit = getattr(self.canvas, "ensure_all_visible", None)
            (fit or self.canvas.fit_all)()
        else:
            self.canvas.fit_all()

    def _build_gradcheck_dock(self) -> None:
        """Gradient check (backprop vs finite differences): a wide table under the canvas,
        hidden until asked for in the View menu (it checks only while shown)."""
        from gui.gradcheck_panel import GradCheckPanel
        self.gradcheck = GradCheckPanel(self.doc)

        def show_node(nid: str) -> None:
            self.canvas.select_ids([nid])
            item = getattr(self.canvas.scene(), "nodes", {}).get(nid)
            if item is not None:
                self.canvas.ensureVisible(item)

        self.gradcheck.nodeActivated.connect(show_node)
        self.gradcheck_dock = self._dock("Gradient Check", self.gradcheck,
                                         Qt.BottomDockWidgetArea)
        self.gradcheck_dock.setObjectName("gradcheck_dock")
        self.gradcheck_dock.hide()
        view = next(a.menu() for a in self.menuBar().actions() if a.text() == "&View")
        view.addAction(self.gradcheck_dock.toggleViewAction())

    # --------------------------------------------------------------- status
    def _update_undo_buttons(self, *_args) -> None:
        stack = self.doc.undo_stack
        self.tb_undo.setEnabled(stack.canUndo())
        self.tb_redo.setEnabled(stack.canRedo())
        self.tb_undo.setToolTip(f"Undo {stack.undoText()}" if stack.canUndo() else "Nothing to undo")
        self.tb_redo.setToolTip(f"Redo {stack.redoText()}" if stack.canRedo() else "Nothing to redo")

    def show_message(self, text: str) -> None:
        """Transient message (refusal reasons, file results)."""
        self.statusBar().showMessage(text, 8000)

    def _update_status(self) -> None:
        r, g = self.doc.result, self.doc.graph
        if r.output_error is not None:
            self.output_label.setObjectName("problem")
            self.output_label.setText(f"⚠ {r.output_error}")
        elif r.output is not None:
            self.output_label.setObjectName("")
            nr = r.nodes[r.output]
            text = f"Output {display_name(g, r.output)} = {fmt(nr.value, 6)}"
            if nr.reason:
                text = f"⚠ {text}: {nr.reason}"
                self.output_label.setObjectName("problem")
            self.output_label.setText(text)
        else:
            self.output_label.setText("")
        self.output_label.style().unpolish(self.output_label)
        self.output_label.style().polish(self.output_label)

    def set_untitled_name(self, name: str) -> None:
        """What the title calls a document without a file ("Untitled", "two_layer (example)")."""
        self.untitled_name = name
        self._update_title()

    def _update_title(self) -> None:
        name = os.path.basename(self.doc.path) if self.doc.path else self.untitled_name
        self.setWindowTitle(f"{name}[*] — {APP_TITLE}")
        self.setWindowModified(self.doc.is_modified())

    def _selection_changed(self, ids: list) -> None:
        self.inspector.set_selection(list(ids))

    # ---------------------------------------------------------------- files
    def maybe_save(self) -> bool:
        """Ask Save / Discard / Cancel when there are unsaved changes; True to go on."""
        if not self.doc.is_modified():
            return True
        name = os.path.basename(self.doc.path) if self.doc.path else self.untitled_name
        answer = QMessageBox.question(
            self, APP_TITLE, f"Save the changes to {name}?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    def new_file(self) -> None:
        if self.maybe_save():
            self.untitled_name = "Untitled"
            self.doc.new()
            self._paste_count = 0

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = os.path.dirname(self.doc.path) if self.doc.path else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open graph", start, FILE_FILTER)
        if path:
            self.open_path(path, ask=False)

    def open_path(self, path: str, ask: bool = True) -> bool:
        """Open a file; on any failure show one message and keep the current document
        (graph, title, path and undo stack): the new one is built whole before it replaces it."""
        if ask and not self.maybe_save():
            return False
        try:
            with progress.scope(self, f"Opening {Path(path).name}…"):
                self.doc.open(path)
        except Exception as e:  # noqa: BLE001 - a file must never half-open or crash
            kept = ("\n\nThe document you had open is unchanged."
                    if len(self.doc.graph) or self.doc.path else "")
            self.show_error("Could not open the file", _file_error_text(e, path) + kept)
            return False
        self._add_recent(path)
        self.show_message(f"Opened {path}")
        return True

    def open_example(self, path: str | Path, ask: bool = True) -> bool:
        """Open a shipped example as an untitled copy, so Save never overwrites it."""
        from engine import fileformat
        if ask and not self.maybe_save():
            return False
        try:
            graph = fileformat.load(str(path))
            with progress.scope(self, f"Opening {Path(path).name}…"):
                self.doc.load_graph(graph, None)
        except Exception as e:  # noqa: BLE001 - as open_path
            self.show_error("Could not open the example", _file_error_text(e, str(path)))
            return False
        self.set_untitled_name(f"{Path(path).stem} (example)")
        return True

    def save(self) -> bool:
        if not self.doc.path:
            return self.save_as()
        return self._save_to(self.doc.path)

    def save_as(self) -> bool:
        start = self.doc.path or str(Path.home() / f"{self.untitled_name.split(' ')[0]}.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save graph as", start, FILE_FILTER)
        if not path:
            return False
        if not Path(path).suffix:
            path += ".json"
        return self._save_to(path)

    def _save_to(self, path: str) -> bool:
        """Save, or say in words why not: nothing raised by a save (OSError, a value the
        format cannot hold, an encoding error...) reaches the event loop or closes the window."""
        try:
            self.doc.save(path)
        except Exception as e:  # noqa: BLE001 - the document must survive any failed save
            self.show_error("Could not save", f"{path} was not saved: {_save_error_text(e)}\n\n"
                            "Your changes are still here, unsaved; the old file is unchanged.")
            return False
        self._add_recent(path)
        self.show_message(f"Saved {path}")
        return True

    def show_error(self, title: str, text: str) -> None:
        self.show_message(text.splitlines()[0] if text else title)
        QMessageBox.critical(self, title, text)

    def recent_files(self) -> list[str]:
        value = self.settings.value("recentFiles", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _add_recent(self, path: str) -> None:
        path = os.path.abspath(path)
        files = [p for p in self.recent_files() if p != path]
        self.settings.setValue("recentFiles", [path] + files[:MAX_RECENT - 1])

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for p in files:
            a = self.recent_menu.addAction(os.path.basename(p))
            a.setToolTip(p)
            a.setStatusTip(p)
            a.triggered.connect(lambda _c=False, p=p: self.open_path(p))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Menu", self._clear_recent)
        else:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def _clear_recent(self) -> None:
        self.settings.setValue("recentFiles", [])

    def _fill_examples(self) -> None:
        self.examples_menu.clear()
        files = example_files()
        for p in files:
            a = self.examples_menu.addAction(p.stem.replace("_", " "))
            a.setData(str(p))
            a.setStatusTip(str(p))
            a.triggered.connect(lambda _c=False, p=p: self.open_example(p))
        if not files:
            self.examples_menu.addAction("(none found)").setEnabled(False)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """A normal close asks about unsaved changes and then removes the autosaved copy;
        a close on a signal keeps it (written now) for the next start to offer."""
        if self._closing_on_signal:
            self.gradcheck.stop()
            self.autosaver.end(keep=True)
            event.accept()
        elif self.maybe_save():
            self.gradcheck.stop()
            self.autosaver.end(keep=False)
            event.accept()
        else:
            event.ignore()

    def close_on_signal(self) -> None:
        """SIGTERM or SIGHUP: autosave now and close without asking (nobody may be there
        to answer); the copy is offered at the next start."""
        self._closing_on_signal = True
        self.autosaver.end(keep=True)  # also if the window is hidden and closes quietly
        self.close()

    # ----------------------------------------------------------------- edit
    def selected_ids(self) -> list[str]:
        return [i for i in self.canvas.selected_ids() if i in self.doc.graph]

    def delete_selection(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.doc.delete(ids)

    def select_all(self) -> None:
        self.canvas.select_ids(self.doc.graph.ids())

    def mark_output(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            self.doc.set_output(ids[0])
        else:
            self.show_message("Select exactly one node to mark it as the output")

    def copy(self) -> bool:
        ids = self.selected_ids()
        if not ids:
            return False
        data = self.doc.copy_data(ids)
        text = json.dumps(data, ensure_ascii=False, indent=1)
        md = QMimeData()
        md.setData(GRAPH_MIME, text.encode("utf-8"))
        md.setText(text)
        QApplication.clipboard().setMimeData(md)
        self._paste_count = 0
        return True

    def cut(self) -> None:
        if self.copy():
            self.doc.delete(self.selected_ids())

    def paste(self) -> None:
        md = QApplication.clipboard().mimeData()
        if md is None:
            return
        if md.hasFormat(GRAPH_MIME):
            raw = bytes(md.data(GRAPH_MIME)).decode("utf-8")
        elif md.hasText():
            raw = md.text()
        else:
            return
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not a graph")
            self._paste_count += 1
            self._paste_data(data, self._paste_offset(data))
        except (ValueError, KeyError, TypeError, engine.EngineError) as e:
            self.show_message(f"Nothing to paste: the clipboard holds no graph ({e})")

    def duplicate(self) -> None:
        ids = self.selected_ids()
        if ids:
            self._paste_data(self.doc.copy_data(ids), (40.0, 40.0))

    def _paste_offset(self, data: dict) -> tuple[float, float]:
        """At the mouse when it is over the canvas, else a little down-right of the original."""
        vp = self.canvas.viewport()
        local = vp.mapFromGlobal(QCursor.pos())
        nodes = fragment_nodes(data)
        if nodes and vp.rect().contains(local):
            at = self.canvas.mapToScene(local)
            x0 = min(n["pos"][0] for n in nodes)
            y0 = min(n["pos"][1] for n in nodes)
            return at.x() - x0, at.y() - y0
        k = 40.0 * self._paste_count
        return k, k

    def _paste_data(self, data: dict, offset: tuple[float, float]) -> None:
        new = self.doc.paste(data, offset)
        if new:
            self.canvas.select_ids(new)

    def auto_layout(self) -> None:
        """Arrange the graph, then make sure all of it is in sight."""
        with progress.scope(self, "Laying the graph out…"):
            self.doc.auto_layout()
        fit = getattr(self.canvas, "ensure_all_visible", None)
        if fit is not None:
            fit()

    def add_at_centre(self, op: str) -> str:
        c = self.canvas.mapToScene(self.canvas.viewport().rect().center())
        from engine.layout import NODE_BASE_HEIGHT, NODE_WIDTH
        nid = self.doc.add_node(op, (c.x() - NODE_WIDTH / 2, c.y() - NODE_BASE_HEIGHT / 2))
        self.canvas.select_ids([nid])
        return nid

    # ----------------------------------------------------------------- view
    def set_label_mode(self, mode: str) -> None:
        if mode not in LABEL_MODES:
            mode = "both"
        self.label_mode = mode
        self.label_actions[mode].setChecked(True)
        self.canvas.set_label_mode(mode)
        self.settings.setValue("labelMode", mode)

    def set_theme(self, theme: str) -> None:
        if theme not in THEMES:
            theme = "light"
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, theme)
        self.theme_actions[theme].setChecked(True)
        self.canvas.scene().set_dark(theme == "dark")
        self.settings.setValue("theme", theme)
        self._update_status()

    @property
    def theme(self) -> str:
        app = QApplication.instance()
        return current_theme(app) if app is not None else "light"


def _first_size(window: QWidget) -> tuple[int, int]:
    """1440×900 where the screen has room (a wide canvas for the first graph), else 90 % of it."""
    screen = window.screen() or QApplication.primaryScreen()
    if screen is None:
        return 1280, 820
    avail = screen.availableGeometry()
    return min(1440, int(avail.width() * 0.9)), min(900, int(avail.height() * 0.9))


def _file_error_text(e: BaseException, path: str) -> str:
    """One sentence for a file that could not be opened, whatever went wrong."""
    if isinstance(e, engine.GraphFileError):
        return str(e)
    if isinstance(e, OSError):
        return f"{path}: {e.strerror or e}"
    if isinstance(e, MemoryError):
        return f"{path}: the graph is too large to open in the memory available."
    if isinstance(e, engine.EngineError):
        return f"{path}: {e}"
    return f"{path}: the graph cannot be opened ({type(e).__name__}: {e})."


def _save_error_text(e: BaseException) -> str:
    """Why a save failed, in words (the file format refuses some values today)."""
    if isinstance(e, OSError):
        why = e.strerror or str(e)
    elif isinstance(e, UnicodeError):
        why = f"a name or the note holds text that cannot be written ({e.reason})"
    elif isinstance(e, ValueError) and "JSON" in str(e):
        why = "a number in the graph cannot be written (it is not finite)"
    else:
        why = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    return why.rstrip(".") + "."


__all__ = ["MainWindow", "example_files", "EXAMPLES_DIR", "DEFAULT_EXAMPLE"]
