"""The main window: canvas in the middle, palette, inspector and history docks, menus.

The window owns one Document and routes menu actions to it; it never edits the graph
itself. File problems are shown in dialogs with the engine's own words and never
leave the document half-changed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QCursor, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QStyle,
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
from gui.export_menu import build_export_menu
from engine.quiz import VALUE, question_key
from gui.inspector import Inspector
from gui.mime import GRAPH_MIME
from gui.palette import OpPalette
from gui.presentation import Presenter, apply_ui_scale, step_ui_scale, ui_scale
from gui.theme import THEMES, apply_theme, current_theme

APP_TITLE = "Chain Rule Studio"
EXAMPLES_DIR = examples_dir()
FILE_FILTER = "Chain Rule Studio graphs (*.json);;All files (*)"
MAX_RECENT = 8
#: a paste moves this far (one canvas grid step, twice) off what it would cover
PASTE_STEP = 40.0
LABEL_TITLES = {"none": "No labels", "local": "Local derivative", "product": "Product",
                "both": "Local and product", "formulas": "Formulas"}


#: the note's text while numbers are withheld (a quiz, a lesson's task)
NOTE_WITHHELD = ("The example's note is hidden while you work the numbers out: it "
                 "would give some of them away.")


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
        self._build_quiz()
        self._build_forward_mode()
        self._quiz_or_tangents()
        self._build_data()
        self._build_lesson_dock()
        self.canvas.selectionChangedIds.connect(self._selection_changed)
        self.canvas.statusMessage.connect(self.show_message)
        self.inspector.statusMessage.connect(self.show_message)
        self.doc.fileChanged.connect(self._update_title)
        self.doc.resultsChanged.connect(self._update_status)
        self.doc.graphReset.connect(
            lambda: QTimer.singleShot(0, self.canvas, self.canvas.fit_all))
        self.autosaver = Autosaver(self.doc, lambda: self.untitled_name, self)
        self.autosaver.failed.connect(self.show_message)
        #: set when a signal (SIGTERM, SIGHUP) ends the session: close without asking
        self._closing_on_signal = False
        self.set_label_mode(str(self.settings.value("labelMode", "both")))
        self.set_theme(str(self.settings.value("theme", "light")))
        self.presenter = Presenter(self)
        self._shown_once = False
        self.canvas.installEventFilter(self)  # Esc leaves presentation mode
        self._build_view_menu()
        self._default_state = self.saveState()
        for dock in self.docks():
            dock.visibilityChanged.connect(self._dock_shown)
        self.resize(*_first_size(self))
        self._restore_layout()
        # arranging the docks left the window as wide as all of them side by side
        self.layout().activate()
        self.resize(*_first_size(self))
        if abs(ui_scale() - 1.0) > 1e-9:
            apply_ui_scale(ui_scale())
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

    def _build_training_dock(self) -> None:
        """Gradient descent on the params, with live loss and value plots (bottom dock)."""
        from gui.training_panel import TrainingPanel
        self.training = TrainingPanel(self.doc)
        self.training_dock = self._dock("Training", self.training, Qt.BottomDockWidgetArea)

    def _build_note_dock(self) -> None:
        """The opened file's note (what an example teaches), above the canvas; closable."""
        self.note_label = _NoteLabel()
        self.note_label.setObjectName("graph_note")
        self.note_label.setWordWrap(True)
        self.note_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.note_label.setContentsMargins(8, 4, 8, 6)
        self.note_label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.note_dock = self._dock("Note", self.note_label, Qt.TopDockWidgetArea)
        self.note_dock.setTitleBarWidget(QWidget())  # a line of text needs no title bar
        self.note_label.setToolTip("What this example shows (View › Note hides it)")
        self._note_text = ""
        self.doc.graphReset.connect(self._show_note)
        self.doc.withheldChanged.connect(self._note_withheld)
        # a graph replaced by an undoable edit (the expression bar) brings its own note
        self.doc.undo_stack.indexChanged.connect(lambda _i: self._show_note(only_if_changed=True))
        self._show_note()

    def _show_note(self, only_if_changed: bool = False) -> None:
        """Show the graph's note when a file is opened; hide the dock when it has none."""
        note = self.doc.graph.note.strip()
        if only_if_changed and note == self._note_text:
            return  # keep a note the user closed closed
        self._note_text = note
        self._note_withheld()
        self.note_dock.setVisible(bool(note))
        if note:  # a wrapped label's height depends on its width, which docks do not ask
            width = max(300, self.width() - 40)
            self.resizeDocks([self.note_dock], [self.note_label.heightForWidth(width) + 2],
                             Qt.Vertical)

    def _note_withheld(self) -> None:
        """The note's text, or while a quiz or a lesson asks for numbers, a line saying
        it is hidden: an example's note spells out the numbers (∂L/∂w₁ = −0.84)."""
        note = self._note_text
        self.note_label.setText(NOTE_WITHHELD if note and self.doc.withheld else note)
        if note and self.note_dock.isVisible():  # the dock follows the shorter text
            need = self.note_label.heightForWidth(max(300, self.note_label.width()))
            self.note_label.setMinimumHeight(need)
            self.resizeDocks([self.note_dock], [need + 2], Qt.Vertical)

    def _view_menu(self):
        return next(a.menu() for a in self.menuBar().actions() if a.text() == "&View")

    def docks(self) -> list[QDockWidget]:
        """Every dock, in the order the View menu lists them."""
        return [self.palette_dock, self.inspector_dock, self.data_dock, self.derivation_dock,
                self.history_dock, self.narration_dock, self.training_dock,
                self.data_view_dock, self.gradcheck_dock, self.note_dock, self.forward_dock,
                self.quiz_dock, self.lesson_dock]

    def _build_view_menu(self) -> None:
        """The View menu's second half: every dock, the minimap, presentation, UI zoom,
        Reset Layout (built once every dock exists)."""
        v = self._view_menu()
        v.addSeparator()
        for dock in self.docks():
            v.addAction(dock.toggleViewAction())
        v.addSeparator()
        A = self._action
        self.act_minimap = A("&Minimap", lambda: self.set_minimap(self.act_minimap.isChecked()),
                             "Ctrl+Shift+M", "A map of the whole graph in the canvas corner")
        self.act_minimap.setCheckable(True)
        self.act_find = A("&Find Node…", lambda: self.canvas.open_find(), QKeySequence.Find,
                          "Find a node by name: it is selected and brought to the middle")
        self.act_present = A("&Presentation", self.presenter.toggle, "F5",
                             "Full screen, large text, only the graph (Esc leaves)")
        self.act_ui_bigger = A("Zoom UI &In", lambda: step_ui_scale(1),
                               ["Ctrl+Shift+=", "Ctrl+Shift++"], "Larger text everywhere")
        self.act_ui_smaller = A("Zoom UI &Out", lambda: step_ui_scale(-1), "Ctrl+Shift+-",
                                "Smaller text everywhere")
        self.act_ui_reset = A("&Reset UI Zoom", lambda: apply_ui_scale(1.0), "Ctrl+Shift+0")
        self.act_reset_layout = A("Reset &Layout", self.reset_layout, None,
                                  "Docks back where they start: the canvas gets the room")
        v.addActions([self.act_focus_expression, self.act_minimap, self.act_present])
        zoom_ui = v.addMenu("Zoom &UI")
        zoom_ui.addActions([self.act_ui_bigger, self.act_ui_smaller, self.act_ui_reset])
        v.addAction(self.act_reset_layout)
        self._view_menu_edit().addSeparator()
        self._view_menu_edit().addAction(self.act_find)
        self.act_minimap.setChecked(self.settings.value("minimap", False) in (True, "true"))
        self.set_minimap(self.act_minimap.isChecked())

    def _view_menu_edit(self):
        return next(a.menu() for a in self.menuBar().actions() if a.text() == "&Edit")

    def set_minimap(self, on: bool) -> None:
        self.act_minimap.setChecked(on)
        self.canvas.set_minimap(on)
        self.settings.setValue("minimap", on)

    # ---------------------------------------------------------------- layout
    def _arrange_default(self) -> None:
        """Docks where they start: one column on the right (Inspector with the Palette,
        Derivation with the History, each pair tabbed), Narration, Training and Gradient
        Check tabbed below and hidden until wanted, so the canvas has most of the
        window."""
        bottom = (self.narration_dock, self.training_dock, self.gradcheck_dock,
                  self.forward_dock)
        for dock in self.docks():
            dock.setFloating(False)
            if dock is not self.note_dock and dock not in bottom \
                    and dock is not getattr(self, "data_view_dock", None) \
                    and dock is not getattr(self, "lesson_dock", None) \
                    and dock is not getattr(self, "quiz_dock", None):
                dock.show()  # Qt tabifies only docks that are shown
        self.addDockWidget(Qt.RightDockWidgetArea, self.inspector_dock)
        self.addDockWidget(Qt.RightDockWidgetArea, self.derivation_dock)
        self.tabifyDockWidget(self.inspector_dock, self.palette_dock)
        if hasattr(self, "data_dock"):
            self.tabifyDockWidget(self.palette_dock, self.data_dock)
            self.data_view_dock.hide()
            self.addDockWidget(Qt.BottomDockWidgetArea, self.data_view_dock)
        self.tabifyDockWidget(self.derivation_dock, self.history_dock)
        for dock in bottom:  # tabbed together as they are shown (see _dock_shown)
            dock.hide()
            self.addDockWidget(Qt.BottomDockWidgetArea, dock)
        if hasattr(self, "quiz_dock"):  # shown (tabbed with the Inspector) by a quiz
            self.quiz_dock.hide()
            self.addDockWidget(Qt.RightDockWidgetArea, self.quiz_dock)
        if hasattr(self, "lesson_dock"):  # shown when a lesson is opened
            self.lesson_dock.hide()
            self.addDockWidget(Qt.LeftDockWidgetArea, self.lesson_dock)
        self.inspector_dock.raise_()
        self.derivation_dock.raise_()
        self._size_docks()

    def _size_docks(self) -> None:
        """The right column a quarter of the window or less, split in two."""
        w = max(250, min(320, round(self.width() / 4.5)))
        self.resizeDocks([self.inspector_dock], [w], Qt.Horizontal)
        self.resizeDocks([self.inspector_dock, self.derivation_dock],
                         [self.height() // 2, self.height() // 2], Qt.Vertical)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if self.settings.value("windowState") is None:
                QTimer.singleShot(0, self, self._size_docks)  # now the window has its size

    def _restore_layout(self) -> None:
        """The layout the user left (remembered), else the default one."""
        self._arrange_default()
        state = self.settings.value("windowState")
        if state is not None:
            self.restoreState(state)
        self._show_note()

    def reset_layout(self) -> None:
        """View › Reset Layout."""
        self._arrange_default()
        self._show_note()
        self.settings.remove("windowState")
        self._keep_on_screen()

    def _show_narration(self) -> None:
        if self.stepper.pass_ is not None and not self.narration_dock.isVisible() \
                and not self.presenter.active:
            self.narration_dock.show()
            self.narration_dock.raise_()

    def _dock_shown(self, visible: bool) -> None:
        if not visible:
            return
        dock = self.sender()
        bottom = (self.narration_dock, self.training_dock, self.gradcheck_dock,
                  self.forward_dock)
        if dock in bottom and self.dockWidgetArea(dock) == Qt.BottomDockWidgetArea:
            # the panels below the canvas share one place, as tabs
            other = next((d for d in bottom if d is not dock and d.isVisible()
                          and self.dockWidgetArea(d) == Qt.BottomDockWidgetArea), None)
            if other is not None and dock not in self.tabifiedDockWidgets(other):
                self.tabifyDockWidget(other, dock)
                dock.raise_()
            elif other is None:  # the first one up: a third of the height, not half
                self.resizeDocks([dock], [max(160, self.height() // 3)], Qt.Vertical)
        quiz = getattr(self, "quiz_dock", None)
        if dock is quiz and self.dockWidgetArea(dock) == Qt.RightDockWidgetArea \
                and self.inspector_dock.isVisible() and not dock.isFloating() \
                and dock not in self.tabifiedDockWidgets(self.inspector_dock):
            self.tabifyDockWidget(self.inspector_dock, dock)  # a tab, not another row
            dock.raise_()
        QTimer.singleShot(0, self, self._keep_on_screen)  # (not if the window is gone)

    def _keep_on_screen(self) -> None:
        """Docks never push the window past the screen: it shrinks back to the screen's
        room and, where a dock will not fit beside the others, the dock joins another
        as a tab."""
        screen = self.screen()
        if screen is None or self.isFullScreen() or self.isMaximized():
            return
        room = screen.availableGeometry()
        for _ in range(len(self.docks())):
            if self.minimumSizeHint().width() <= room.width() and \
                    self.minimumSizeHint().height() <= room.height():
                break
            if not self._tab_one_away():
                break
        frame = self.frameGeometry()
        extra_w = frame.width() - self.width()
        extra_h = frame.height() - self.height()
        w = min(self.width(), room.width() - extra_w)
        h = min(self.height(), room.height() - extra_h)
        if (w, h) != (self.width(), self.height()):
            self.resize(w, h)
        frame = self.frameGeometry()
        x = min(max(frame.x(), room.x()), room.right() - frame.width() + 1)
        y = min(max(frame.y(), room.y()), room.bottom() - frame.height() + 1)
        if (x, y) != (frame.x(), frame.y()):
            self.move(x, y)

    def _tab_one_away(self) -> bool:
        """Tab a dock that stands on its own beside another in its area; False when
        every dock already shares a place."""
        for area in (Qt.BottomDockWidgetArea, Qt.RightDockWidgetArea, Qt.LeftDockWidgetArea):
            shown = [d for d in self.docks() if d.isVisible() and not d.isFloating()
                     and self.dockWidgetArea(d) == area]
            alone = [d for d in shown if not self.tabifiedDockWidgets(d)]
            if len(shown) > 1 and alone:
                other = next(d for d in shown if d is not alone[-1])
                self.tabifyDockWidget(other, alone[-1])
                alone[-1].raise_()
                return True
        return False

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if (obj is self.canvas and event.type() == QEvent.KeyPress
                and event.key() == Qt.Key_Escape and self.presenter.active):
            self.presenter.leave()
            return True
        return super().eventFilter(obj, event)

    def _build_data(self) -> None:
        """Datasets: the Data dock (columns, bindings), the Data menu, the toolbar's
        sample picker and the Data view (points, decision boundary, loss curves)."""
        from gui.data_panel import GENERATOR_TITLES, DataPanel
        from gui.data_view import DataView
        from gui.sample_picker import SamplePicker
        self.data_panel = DataPanel(self.doc)
        scroll = QScrollArea()  # the right column is short on a 720-pixel screen
        scroll.setWidget(self.data_panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        self.data_dock = self._dock("Data", scroll, Qt.RightDockWidgetArea)
        self.data_view = DataView()
        self.data_view_dock = self._dock("Data View", self.data_view, Qt.BottomDockWidgetArea)
        self.data_view.sample_clicked.connect(lambda row: self.doc.pick_sample(row, False))
        self.sample_picker = SamplePicker(self.doc)
        tb = QToolBar("Samples", self)
        tb.setObjectName("samples_toolbar")
        tb.addWidget(self.sample_picker)
        # a row of its own: beside the main toolbar it pushed forward mode's controls
        # behind the overflow chevron on a 1440-pixel window
        self.addToolBarBreak(Qt.TopToolBarArea)
        self.addToolBar(Qt.TopToolBarArea, tb)
        self.samples_toolbar = tb
        menu = self.menuBar().addMenu("&Data")
        gen = menu.addMenu("&Generate")
        for kind, title in GENERATOR_TITLES.items():
            gen.addAction(title + "…", lambda k=kind: self.data_panel.generate_dialog(k))
        self.act_import_csv = menu.addAction("&Import CSV…", lambda: self.data_panel.import_dialog())
        self.act_detach = menu.addAction("&Detach Dataset", self.data_panel.detach)
        menu.addSeparator()
        menu.addAction("Show Data &View", lambda: self._show_data_docks(True))
        self.data_menu = menu
        self._model_plan = None
        self._model_key = None
        self.doc.datasetChanged.connect(self._dataset_changed)
        self.doc.graphReset.connect(self._dataset_changed)
        self.doc.resultsChanged.connect(self._data_results)
        self.doc.sampleChanged.connect(
            lambda: self.data_view.set_selected(None if self.doc.live.show_means
                                                else self.doc.live.sample))
        self.training.historyChanged.connect(self._data_history)
        self.training.paramsPreview.connect(self._preview_params)
        self._dataset_changed()

    def _show_data_docks(self, raise_: bool = False) -> None:
        """The Data dock and the Data view beside the Training dock."""
        self.data_dock.show()
        if raise_:
            self.data_dock.raise_()
        self.training_dock.show()
        self.training_dock.raise_()
        self.data_view_dock.show()
        if not self.training_dock.isFloating() and not self.data_view_dock.isFloating():
            self.splitDockWidget(self.training_dock, self.data_view_dock, Qt.Horizontal)
        self.data_view_dock.raise_()

    def _dataset_changed(self) -> None:
        g = self.doc.graph
        ds = g.dataset
        self.act_detach.setEnabled(ds is not None)
        self.samples_toolbar.setVisible(ds is not None)
        self._model_key = None
        self._sync_data_view()
        if ds is not None and self.isVisible() and not self.data_view_dock.isVisible():
            self._show_data_docks()

    def _model_inputs(self) -> tuple[list[str], str, str | None]:
        """(input columns, target column, prediction node) of the graph's model."""
        from engine.train import model_parts
        g = self.doc.graph
        pred, target = model_parts(g)
        target = target or "y"
        cols = []
        for nid in g.data_leaves():
            c = g.column_of(nid)
            if c != target and c not in cols:
                cols.append(c)
        return cols, target, pred

    def _sync_data_view(self) -> None:
        """Give the Data view the dataset and a predict function of the current graph."""
        g, ds = self.doc.graph, self.doc.graph.dataset
        if ds is None:
            self.data_view.set_dataset(None, [])
            self.data_view.set_model(None)
            return
        cols, target, pred = self._model_inputs()
        cols = [c for c in cols if c in ds.columns]
        key = (id(ds), tuple(cols), target, pred, self.doc.live.batch_plan is not None and
               id(self.doc.live.batch_plan))
        if key == self._model_key:
            return
        self._model_key = key
        self.data_view.set_dataset(ds, cols, target if target in ds.columns else "y")
        if pred is None or self.doc.live.batch_plan is None:
            self.data_view.set_model(None)
            return
        from engine.fast.batch import compile_batch
        plan = self._model_plan = compile_batch(g)

        def predict(columns, plan=plan, pred=pred):
            return plan.predict(columns, pred)
        self.data_view.set_model(predict)
        self.data_view.refresh()

    def _data_results(self) -> None:
        if self.doc.graph.dataset is None:
            return
        self._sync_data_view()
        plan = self._model_plan
        if plan is not None and self.training._run is None:
            try:
                plan.read_values(self.doc.graph)
            except (KeyError, IndexError):
                self._model_key = None
                return
            self.data_view.refresh()
        self.data_view.set_selected(None if self.doc.live.show_means else self.doc.live.sample)

    def _preview_params(self, values: dict) -> None:
        plan = self._model_plan
        if plan is None:
            return
        for nid, v in values.items():
            if nid in plan.index:
                plan.set_leaf(nid, v)
        self.data_view.refresh()

    def _data_history(self) -> None:
        """The Training panel's history as the Data view's curves: test numbers exist
        only at the steps where they were measured (NaN elsewhere: a gap)."""
        import numpy as np
        t = self.training
        h = t.history
        n = len(t.losses)
        if n == 0:
            self.data_view.clear_history()
            return

        def at_steps(values):
            out = np.full(n, np.nan)
            for step, v in zip(h["test_steps"], values):
                if 0 < step <= n and v is not None:
                    out[step - 1] = v
            return out
        acc = h["train_acc"][:n]
        train_acc = ([np.nan if a is None else a for a in acc]
                     if any(a is not None for a in acc) and len(acc) == n else None)
        has_test = bool(h["test_loss"])
        test_acc = at_steps(h["test_acc"]) if any(a is not None for a in h["test_acc"]) \
            else None
        self.data_view.set_history(list(range(n)), list(t.losses),
                                   at_steps(h["test_loss"]) if has_test else None,
                                   train_acc, test_acc)

    def _build_derivation_dock(self) -> None:
        """The Derivation dock (∂L/∂w written out for the selected node) and its View toggle."""
        from gui.derivation_panel import DerivationPanel
        self.derivation = DerivationPanel(self.doc, self.canvas)
        self.derivation_dock = self._dock("Derivation", self.derivation, Qt.RightDockWidgetArea)
        self.canvas.selectionChangedIds.connect(self.derivation.set_selection)

    def _build_lesson_dock(self) -> None:
        """The Lesson dock (left of the canvas), opened from File › Lessons…."""
        from gui.lesson_panel import LessonPanel
        self.lesson_panel = LessonPanel(self.doc, self.canvas.scene(), self.open_lesson_graph,
                                        self._set_up_training)
        self.lesson_dock = self._dock("Lesson", self.lesson_panel, Qt.LeftDockWidgetArea)
        self.lesson_dock.hide()
        self.lesson_dock.visibilityChanged.connect(
            lambda _v: self.lesson_panel.set_active(not self.lesson_dock.isHidden()))
        self.stepper.changed.connect(
            lambda: self.stepper.pass_ is None and self.lesson_panel.pass_ended())
        self.lesson_panel.maskChanged.connect(self._update_status)
        self.stepper.changed.connect(self._update_status)

    def open_lessons_dialog(self):
        """File › Lessons…: the shipped lessons with the learner's progress."""
        from chain_rule_studio.examples import lesson_files
        from gui.lessons_dialog import LessonsDialog
        dialog = LessonsDialog(lesson_files(), EXAMPLES_DIR, self.lesson_panel.progress, self)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.chosen.connect(self.open_lesson)
        dialog.open()
        return dialog

    def open_lesson(self, lesson) -> bool:
        """Show ``lesson`` in the Lesson dock at the learner's step."""
        if not self.lesson_panel.open_lesson(lesson):
            return False
        if self.lesson_dock.isHidden():
            self.lesson_dock.show()
            self.resizeDocks([self.lesson_dock], [max(280, min(360, self.width() // 4))],
                             Qt.Horizontal)
        self.lesson_dock.raise_()
        return True

    def open_lesson_graph(self, graph: engine.Graph, name: str) -> bool:
        """A lesson step's graph replaces the document as opening a file does."""
        if not self.maybe_save():
            return False
        self.doc.load_graph(graph, None)
        self.set_untitled_name(name)
        return True

    def _set_up_training(self, lr: float, steps: int) -> None:
        self.training.lr_edit.setText(fmt(lr))
        self.training.steps_spin.setValue(steps)
        self.training_dock.show()
        self.training_dock.raise_()

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
        self.act_lessons = self._action("&Lessons…", self.open_lessons_dialog, None,
                                        "Short lessons with tasks the app checks")
        f.addAction(self.act_lessons)
        self._fill_recent()
        self._fill_examples()
        f.addSeparator()
        f.addActions([self.act_save, self.act_save_as])
        f.addSeparator()
        f.addAction(self.act_quit)
        build_export_menu(self, f, f.actions()[-2])  # File › Export As, after Save As
        e = mb.addMenu("&Edit")
        e.addActions([self.act_undo, self.act_redo])
        e.addSeparator()
        e.addActions([self.act_cut, self.act_copy, self.act_paste, self.act_duplicate,
                      self.act_delete])
        e.addSeparator()
        e.addActions([self.act_select_all, self.act_mark_output])
        self.insert_menu = mb.addMenu("&Insert")
        self.act_insert_network = self._action(
            "&Network…", self.insert_network, None,
            "Build a multilayer perceptron from data leaves to its loss (one undo step)")
        self.insert_menu.addAction(self.act_insert_network)
        v = mb.addMenu("&View")
        v.addActions([self.act_fit, self.act_fit_sel, self.act_zoom_in, self.act_zoom_out])
        v.addSeparator()
        v.addAction(self.act_layout)
        labels = v.addMenu("Edge &Labels")
        labels.addActions(list(self.label_actions.values()))
        themes = v.addMenu("&Theme")
        themes.addActions(list(self.theme_actions.values()))

    def _build_toolbar(self) -> None:
        """Icons with tooltips for the file and undo commands, a list for what edge
        labels show, text for the passes (what a learner looks for): fits at 1280 px."""
        tb = QToolBar("Main", self)
        tb.setObjectName("main_toolbar")
        tb.setToolButtonStyle(Qt.ToolButtonIconOnly)
        icon = self.style().standardIcon
        for act, pix in ((self.act_new, QStyle.SP_FileIcon),
                         (self.act_open, QStyle.SP_DialogOpenButton),
                         (self.act_save, QStyle.SP_DialogSaveButton)):
            act.setIcon(icon(pix))
            act.setToolTip(f"{act.text().replace('&', '').rstrip('…')} "
                           f"({act.shortcut().toString(QKeySequence.NativeText)})")
        tb.addActions([self.act_new, self.act_open, self.act_save])
        tb.addSeparator()
        # fixed icons, so the toolbar does not jump; the tooltip names the command
        self.tb_undo = QAction(icon(QStyle.SP_ArrowBack), "Undo", self)
        self.tb_undo.triggered.connect(self.doc.undo_stack.undo)
        self.tb_redo = QAction(icon(QStyle.SP_ArrowForward), "Redo", self)
        self.tb_redo.triggered.connect(self.doc.undo_stack.redo)
        self.doc.undo_stack.indexChanged.connect(self._update_undo_buttons)
        self.doc.undo_stack.cleanChanged.connect(self._update_undo_buttons)
        self._update_undo_buttons()
        tb.addActions([self.tb_undo, self.tb_redo])
        tb.addSeparator()
        tb.addActions([self.act_fit, self.act_layout])
        tb.widgetForAction(self.act_fit).setToolButtonStyle(Qt.ToolButtonTextOnly)
        tb.widgetForAction(self.act_layout).setToolButtonStyle(Qt.ToolButtonTextOnly)
        tb.addSeparator()
        tb.addWidget(QLabel(" Labels "))
        self.label_box = QComboBox()
        self.label_box.setObjectName("label_mode")
        self.label_box.setToolTip("What each edge's label shows")
        for mode in LABEL_MODES:
            self.label_box.addItem(LABEL_TITLES.get(mode, mode), mode)
        self.label_box.activated.connect(
            lambda i: self.set_label_mode(self.label_box.itemData(i)))
        tb.addWidget(self.label_box)
        self.addToolBar(Qt.TopToolBarArea, tb)
        self.toolbar = tb

    def _build_stepper(self) -> None:
        """Step-through passes: toolbar buttons, the Passes menu and the Narration dock."""
        from gui.stepper import NarrationView, Stepper
        self.stepper = Stepper(self.doc, self.canvas.scene(), self)
        self.narration = NarrationView(self.stepper)
        self.narration_dock = self._dock("Narration", self.narration, Qt.BottomDockWidgetArea)
        menu = self.passes_menu = self.menuBar().addMenu("&Passes")
        menu.addActions(self.stepper.actions())
        # the narration comes into view when a pass starts (it is tabbed away by default)
        self.stepper.changed.connect(self._show_narration)
        self.toolbar.addSeparator()
        self.toolbar.addActions(self.stepper.actions())
        self.toolbar.addWidget(self.stepper.speed_box)
        for a in self.stepper.actions():
            self.addAction(a)
        for a in (self.stepper.act_play, self.stepper.act_pause):  # a single key: canvas only
            self.removeAction(a)
            a.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            self.canvas.addAction(a)

    def _build_quiz(self) -> None:
        """Quiz mode: Passes › Quiz, a toolbar toggle, and the Quiz dock (see gui.quiz)."""
        from gui.quiz import QuizMode, QuizPanel
        self.quiz_mode = QuizMode(self.doc, self.canvas, self.stepper, self)
        self.quiz_panel = QuizPanel(self.quiz_mode)
        scroll = QScrollArea()  # tabbed with the Inspector in a short right column
        scroll.setWidget(self.quiz_panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        self.quiz_dock = self._dock("Quiz", scroll, Qt.RightDockWidgetArea)
        self.quiz_dock.hide()
        self.passes_menu.addSeparator()
        self.passes_menu.addAction(self.quiz_mode.act_quiz)
        self.toolbar.addAction(self.quiz_mode.act_quiz)
        self.addAction(self.quiz_mode.act_quiz)
        self.quiz_mode.message.connect(self.show_message)
        self.quiz_mode.changed.connect(self._update_status)  # the output's value may be asked
        self.quiz_mode.act_quiz.toggled.connect(self._show_quiz_dock)

    def _show_quiz_dock(self, on: bool) -> None:
        if on and not self.quiz_dock.isVisible():
            if self.inspector_dock.isVisible() and not self.quiz_dock.isFloating():
                self.tabifyDockWidget(self.inspector_dock, self.quiz_dock)
            self.quiz_dock.show()
            self.quiz_dock.raise_()

    def _quiz_or_tangents(self) -> None:
        """A quiz and forward mode exclude each other: from w₁, L̇ is ∂L/∂w₁, an answer."""
        def quiz_moved() -> None:
            if self.quiz_mode.active and self.forward.direction is not None:
                self.forward.set_direction(None)

        def direction_moved() -> None:
            if self.forward.direction is not None and self.quiz_mode.active:
                self.quiz_mode.stop()
                self.show_message("The quiz ended: forward mode's tangents would give its "
                                  "answers away.")
        self.quiz_mode.changed.connect(quiz_moved)
        self.forward.changed.connect(direction_moved)

    def _build_forward_mode(self) -> None:
        """Forward mode beside reverse mode: the direction leaf (toolbar list, Passes ›
        Forward Mode…, a leaf's context menu), its tangents on the canvas, the
        forward-mode pass, and the "Forward vs reverse" dock."""
        from engine.ops import VARIABLE_KINDS
        from engine.tangent_pass import TANGENT
        from gui.forward_mode import ForwardMode
        from gui.forward_panel import ForwardPanel
        fm = self.forward = ForwardMode(self.doc, self.canvas.scene(), self)
        st = self.stepper

        def seed() -> str | None:
            if fm.direction is None:
                fm.set_direction(fm.default_leaf())
            return fm.direction
        st.tangent_seed = seed

        shown_for = [None]  # the direction the dock was last brought up for

        def direction_moved() -> None:
            p = st.pass_
            if p is not None and p.direction == TANGENT and p.seed != fm.direction:
                st.reset()
            moved, shown_for[0] = fm.direction != shown_for[0], fm.direction
            presenting = getattr(getattr(self, "presenter", None), "active", False)
            if moved and fm.direction is not None and not self.forward_dock.isVisible() \
                    and not presenting:
                self.forward_dock.show()
                self.forward_dock.raise_()
                self.forward_panel.refresh()
                QTimer.singleShot(0, self, lambda: self.resizeDocks(
                    [self.forward_dock], [self.forward_panel.wanted_height()], Qt.Vertical))
        fm.changed.connect(direction_moved)
        self.forward_panel = ForwardPanel(self.doc, fm)
        self.forward_panel.leafActivated.connect(fm.set_direction)
        self.forward_dock = self._dock("Forward vs reverse", self.forward_panel,
                                       Qt.BottomDockWidgetArea)
        self.forward_dock.setObjectName("forward_dock")
        menu = next(a.menu() for a in self.menuBar().actions() if a.text() == "&Passes")
        menu.addSeparator()
        menu.addActions([st.act_tangent, fm.act_choose, fm.act_off])
        self.addAction(st.act_tangent)
        self.toolbar.addSeparator()
        self.toolbar.addWidget(fm.box)
        self.toolbar.addAction(st.act_tangent)

        def leaf_entry(menu, nid: str) -> None:
            if self.doc.graph.op_of(nid) in VARIABLE_KINDS:
                a = menu.addAction("Differentiate forward from this leaf",
                                   lambda: fm.set_direction(nid))
                a.setCheckable(True)
                a.setChecked(fm.direction == nid)
        self.canvas.node_menu_extras.append(leaf_entry)

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
            mask = self.canvas.scene().pass_mask()  # a pass or a quiz hiding the value
            shown = mask is None or mask.node_state(r.output)[0]
            quiz = self.canvas.scene().quiz()
            if quiz is not None and quiz.unknown(question_key(VALUE, r.output)):
                shown = False  # Quiz mode asks for it
            text = f"Output {display_name(g, r.output)} = {fmt(nr.value, 6) if shown else '?'}"
            if r.batch is not None:
                b, L = r.batch, display_name(g, r.output)
                which = ("" if b.sample is None else
                         f" · sample {b.sample + 1}: {L} = {fmt(nr.value, 6) if shown else '?'}")
                text = f"Mean {L} over {b.n:,} samples = {fmt(b.mean_loss, 6)}{which}"
            elif self.doc.live.data_error:
                text += f" · dataset not used: {self.doc.live.data_error}"
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
            self.presenter.leave()
            self.settings.setValue("windowState", self.saveState())
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
        """At the mouse when it is over the canvas, else a little down-right of the
        original; then a grid step further while a pasted node would lie exactly on a
        node already there (the original, or an earlier paste), so none hides another."""
        vp = self.canvas.viewport()
        local = vp.mapFromGlobal(QCursor.pos())
        nodes = fragment_nodes(data)
        if not nodes:
            return 0.0, 0.0
        if vp.rect().contains(local):
            at = self.canvas.mapToScene(local)
            x0 = min(n["pos"][0] for n in nodes)
            y0 = min(n["pos"][1] for n in nodes)
            dx, dy = at.x() - x0, at.y() - y0
        else:
            dx = dy = PASTE_STEP * max(1, self._paste_count)
        taken = {(round(n.pos[0]), round(n.pos[1])) for n in self.doc.graph.nodes()}
        for _ in range(200):
            if not any((round(n["pos"][0] + dx), round(n["pos"][1] + dy)) in taken
                       for n in nodes):
                break
            dx, dy = dx + PASTE_STEP, dy + PASTE_STEP
        return dx, dy

    def _paste_data(self, data: dict, offset: tuple[float, float]) -> None:
        new = self.doc.paste(data, offset)
        if new:
            self.canvas.select_ids(new)

    def insert_network(self) -> None:
        """Insert › Network…: the dialog (gui.network_dialog) inserts it on OK."""
        from gui.network_dialog import open_network_dialog
        open_network_dialog(self)

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
        self.label_box.setCurrentIndex(self.label_box.findData(mode))
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
    """1440×900 where the screen has room (a wide canvas for the first graph), else the
    whole screen's room (a projector's 1280×720 needs every pixel for the graph)."""
    screen = window.screen() or QApplication.primaryScreen()
    if screen is None:
        return 1280, 820
    avail = screen.availableGeometry()
    if avail.width() < 1600 or avail.height() < 950:
        return avail.width(), avail.height()
    return min(1440, int(avail.width() * 0.9)), min(900, int(avail.height() * 0.9))


def _file_error_text(e: BaseException, path: str) -> str:
    """One sentence for a file that could not be opened, whatever went wrong: what is
    wrong, in words, first; where it is after (``Node 1: unknown op 'foo' (at
    $.nodes[0].op in g.json)``)."""
    if isinstance(e, engine.GraphFileError):
        return _in_words(e)
    if isinstance(e, OSError):
        return f"{path}: {e.strerror or e}"
    if isinstance(e, MemoryError):
        return f"{path}: the graph is too large to open in the memory available."
    if isinstance(e, engine.EngineError):
        return f"{path}: {e}"
    return f"{path}: the graph cannot be opened ({type(e).__name__}: {e})."


def _in_words(e) -> str:
    """A GraphFileError with the problem first and the JSON path last."""
    import re
    name = os.path.basename(e.file) or e.file
    m = re.match(r"^\$\.(nodes|edges)\[(\d+)\]", e.path)
    problem = e.problem[:1].upper() + e.problem[1:]
    if m:
        subject = ("Node" if m.group(1) == "nodes" else "Edge") + f" {int(m.group(2)) + 1}"
        return f"{subject}: {e.problem} (at {e.path} in {name})"
    if e.path in ("$", ""):
        return f"{problem} ({name})"
    return f"{problem} (at {e.path} in {name})"


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
