"""The Lesson dock: a lesson's step text, its task and Back / Next.

Entering a step opens its graph as opening a file does (the window asks before unsaved
changes are dropped; a step that goes on with the learner's graph keeps it when
reached by Next). A quiz's fields are here in the dock, and while it is open the
canvas shows "?" for the asked numbers and those that would give them away (a pass
mask, as step-through uses). Check asks the engine (``engine.tasks``); Next is enabled
once the step's task is done, and Skip moves on without it. Nothing here edits the
document: answers, checks and progress are not on the undo stack, and progress is
remembered in QSettings (``gui.lesson_progress``).
"""

from __future__ import annotations

import html
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine import tasks
from engine.errors import EngineError
from engine.graph import Graph
from engine.lesson import Lesson
from engine.numfmt import fmt
from engine.passes import PassMask
from gui.document import Document
from gui.lesson_progress import LessonProgress

RIGHT_COLOUR, WRONG_COLOUR = "#2e7d32", "#c62828"
NO_LESSON = "No lesson is open: File › Lessons… lists them."


class LessonPanel(QWidget):
    """``open_graph(graph, name) -> bool`` replaces the document (False: the learner
    kept theirs); ``show_training(lr, steps)`` opens the Training dock set up so."""

    #: the step shown changed (lesson id, step index)
    stepChanged = Signal(str, int)
    #: the numbers the canvas hides for the open quiz changed
    maskChanged = Signal()

    def __init__(self, document: Document, scene, open_graph: Callable[[Graph, str], bool],
                 show_training: Callable[[float, int], None],
                 progress: LessonProgress | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.scene = scene
        self._open_graph = open_graph
        self._show_training = show_training
        self.progress = progress or LessonProgress()
        self.lesson: Lesson | None = None
        self.index = -1
        self.fields: list[QLineEdit] = []
        self.marks: list[QLabel] = []
        self._mask = None
        self._active = True
        self._build()
        document.resultsChanged.connect(self._refresh_mask)
        self._show_empty()

    # ----------------------------------------------------------------- build
    def _build(self) -> None:
        self.title_label = QLabel()
        self.title_label.setObjectName("lesson_title")
        self.title_label.setWordWrap(True)
        f = self.title_label.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.15)
        self.title_label.setFont(f)
        self.step_label = QLabel()
        self.step_label.setObjectName("lesson_step")
        self.text_label = QLabel()
        self.text_label.setObjectName("lesson_text")
        self.text_label.setWordWrap(True)
        self.text_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.text_label.setAlignment(Qt.AlignTop | Qt.AlignLeft)

        self.task_frame = QFrame()
        self.task_frame.setObjectName("lesson_task")
        self.task_frame.setFrameShape(QFrame.StyledPanel)
        self.task_layout = QVBoxLayout(self.task_frame)
        self.task_title = QLabel()
        tf = self.task_title.font()
        tf.setBold(True)
        self.task_title.setFont(tf)
        self.task_text = QLabel()
        self.task_text.setWordWrap(True)
        self.quiz_grid = QGridLayout()
        self.quiz_grid.setColumnStretch(1, 1)
        self.training_button = QPushButton("Set up Training")
        self.training_button.setToolTip("Open the Training dock with this task's η and N")
        self.training_button.clicked.connect(self._set_up_training)
        self.check_button = QPushButton("Check")
        self.check_button.setObjectName("lesson_check")
        self.check_button.setDefault(True)
        self.check_button.clicked.connect(self.check)
        self.status_label = QLabel()
        self.status_label.setObjectName("lesson_status")
        self.status_label.setWordWrap(True)
        self.hint_label = QLabel()
        self.hint_label.setObjectName("lesson_hint")
        self.hint_label.setWordWrap(True)
        self.hint_label.hide()
        row = QHBoxLayout()
        row.addWidget(self.training_button)
        row.addStretch(1)
        row.addWidget(self.check_button)
        for w in (self.task_title, self.task_text):
            self.task_layout.addWidget(w)
        self.task_layout.addLayout(self.quiz_grid)
        self.task_layout.addLayout(row)
        self.task_layout.addWidget(self.status_label)
        self.task_layout.addWidget(self.hint_label)

        self.back_button = QPushButton("◂ Back")
        self.back_button.setObjectName("lesson_back")
        self.back_button.clicked.connect(self.back)
        self.skip_button = QPushButton("Skip")
        self.skip_button.setObjectName("lesson_skip")
        self.skip_button.setToolTip("Go on without doing this task (it stays not done)")
        self.skip_button.clicked.connect(self.skip)
        self.next_button = QPushButton("Next ▸")
        self.next_button.setObjectName("lesson_next")
        self.next_button.clicked.connect(self.next)
        nav = QHBoxLayout()
        nav.addWidget(self.back_button)
        nav.addStretch(1)
        nav.addWidget(self.skip_button)
        nav.addWidget(self.next_button)

        body = QWidget()
        inner = QVBoxLayout(body)
        inner.addWidget(self.title_label)
        inner.addWidget(self.step_label)
        inner.addWidget(self.text_label)
        inner.addWidget(self.task_frame)
        inner.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(scroll, 1)
        outer.addLayout(nav)

    def _show_empty(self) -> None:
        self.title_label.setText("Lessons")
        self.step_label.setText("")
        self.text_label.setText(NO_LESSON)
        self.task_frame.hide()
        for b in (self.back_button, self.skip_button, self.next_button):
            b.setEnabled(False)

    # ---------------------------------------------------------------- state
    @property
    def step(self):
        return None if self.lesson is None else self.lesson.steps[self.index]

    @property
    def task(self) -> tasks.Task | None:
        s = self.step
        return None if s is None else s.task

    def task_done(self) -> bool:
        return self.lesson is not None and self.index in self.progress.done(self.lesson.id)

    # ----------------------------------------------------------- navigation
    def open_lesson(self, lesson: Lesson) -> bool:
        """Open ``lesson`` at the step the learner left it at; False when the learner
        kept the document they had (nothing changes then)."""
        start = min(self.progress.step(lesson.id), len(lesson) - 1)
        previous = (self.lesson, self.index)
        self.lesson, self.index = lesson, -1
        if not self.go_to(start, by_next=False):
            self.lesson, self.index = previous
            return False
        return True

    def go_to(self, i: int, by_next: bool) -> bool:
        """Show step ``i``, opening its graph unless it goes on with the learner's and
        was reached by Next; False (and nothing changed) when the learner said Cancel."""
        les = self.lesson
        if les is None or not 0 <= i < len(les):
            return False
        step = les.steps[i]
        if step.new_graph or not by_next:
            name = f"{les.id} step {i + 1} (lesson)"
            self._set_mask(None)
            if not self._open_graph(les.graph(i), name):
                self._refresh_mask()
                return False
        self.index = i
        self.progress.set_step(les.id, i)
        self._show_step()
        self.stepChanged.emit(les.id, i)
        return True

    def next(self) -> None:
        if self.lesson is None:
            return
        if self.index + 1 < len(self.lesson):
            self.go_to(self.index + 1, by_next=True)
        else:
            self.status_label.setText("Lesson finished ✓ — File › Lessons… for the next one.")

    def back(self) -> None:
        if self.lesson is not None and self.index > 0:
            self.go_to(self.index - 1, by_next=False)

    def skip(self) -> None:
        if self.lesson is not None and self.index + 1 < len(self.lesson):
            self.go_to(self.index + 1, by_next=True)

    # ------------------------------------------------------------- showing
    def _show_step(self) -> None:
        les, i, step = self.lesson, self.index, self.step
        assert les is not None and step is not None
        self.title_label.setText(les.title)
        self.step_label.setText(f"Step {i + 1} of {len(les)}")
        self.text_label.setText(step.text)
        self._clear_quiz()
        self.hint_label.hide()
        self.status_label.setText("")
        task = step.task
        self.task_frame.setVisible(task is not None)
        self.training_button.setVisible(isinstance(task, tasks.TrainTask))
        if isinstance(task, tasks.QuizTask):
            self.task_title.setText("Work out" if len(task.asks) > 1 else "Work it out")
            self.task_text.setText("Type a number or arithmetic of numbers (−1.4*0.3), then "
                                   "Enter or Check.")
            self._fill_quiz(task)
        elif isinstance(task, tasks.TrainTask):
            self.task_title.setText("Train")
            self.task_text.setText(f"Get the loss below {fmt(task.below)} — the lesson "
                                   f"needs at most {task.steps} step"
                                   f"{'s' if task.steps != 1 else ''} at η = {fmt(task.lr)}.")
        elif isinstance(task, tasks.BuildTask):
            self.task_title.setText("Build")
            extra = []
            if task.ops:
                extra.append("use " + ", ".join(task.ops))
            if task.avoid:
                extra.append("no " + ", ".join(task.avoid))
            leaves = ", ".join(tasks.required_leaves(task))
            self.task_text.setText(
                f"A graph computing <b>{html.escape(task.function)}</b> with a leaf named "
                f"{html.escape(leaves)}" + (f" ({'; '.join(extra)})" if extra else "") + ".")
        if task is not None and self.task_done():
            self.status_label.setText("Done ✓")
            self._colour_status(True)
        self._refresh_mask()
        self._update_buttons()

    def _clear_quiz(self) -> None:
        for w in self.fields + self.marks:
            w.deleteLater()
        while self.quiz_grid.count():
            item = self.quiz_grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.fields, self.marks = [], []

    def _fill_quiz(self, task: tasks.QuizTask) -> None:
        try:
            qs = tasks.quiz_questions(task, self.doc.graph, self.doc.result)
            prompts = [q.prompt for q in qs]
        except (EngineError, KeyError):
            qs, prompts = [], ["?"] * len(task.asks)
        done = self.task_done()
        for row, prompt in enumerate(prompts):
            label = QLabel(f"{html.escape(prompt)} =")
            field = QLineEdit()
            field.setObjectName(f"lesson_answer_{row}")
            field.setPlaceholderText("your answer")
            field.returnPressed.connect(self.check)
            mark = QLabel("")
            mark.setMinimumWidth(16)
            if done and qs:
                field.setText(fmt(qs[row].truth))
                self._set_mark(mark, True)
            self.quiz_grid.addWidget(label, row, 0)
            self.quiz_grid.addWidget(field, row, 1)
            self.quiz_grid.addWidget(mark, row, 2)
            self.fields.append(field)
            self.marks.append(mark)

    def _set_mark(self, mark: QLabel, right: bool | None) -> None:
        mark.setText({True: "✓", False: "✗", None: ""}[right])
        mark.setStyleSheet(f"color: {RIGHT_COLOUR if right else WRONG_COLOUR}; font-weight: bold")
        mark.setToolTip({True: "right", False: "not right yet", None: ""}[right])

    def _colour_status(self, ok: bool | None) -> None:
        self.status_label.setStyleSheet("" if ok is None else
                                        f"color: {RIGHT_COLOUR if ok else WRONG_COLOUR}")

    def _update_buttons(self) -> None:
        les = self.lesson
        if les is None:
            return
        last = self.index + 1 >= len(les)
        ready = self.task is None or self.task_done()
        self.back_button.setEnabled(self.index > 0)
        self.next_button.setEnabled(ready)
        self.next_button.setText("Finish ✓" if last else "Next ▸")
        self.skip_button.setVisible(not ready and not last)
        self.skip_button.setEnabled(not ready and not last)
        self.check_button.setEnabled(self.task is not None)

    # ---------------------------------------------------------------- check
    def answers(self) -> list[str]:
        return [f.text() for f in self.fields]

    def check(self) -> tasks.Verdict | None:
        """Check the task against the document as it is now."""
        task, les = self.task, self.lesson
        if task is None or les is None:
            return None
        verdict = tasks.check(task, self.doc.graph, self.answers())
        for mark, right in zip(self.marks, verdict.marks):
            self._set_mark(mark, right)
        for field, note in zip(self.fields, verdict.notes or ()):
            field.setToolTip(note)
        self.status_label.setText(verdict.message)
        self._colour_status(verdict.done)
        if verdict.done:
            self.progress.mark_done(les.id, self.index)
            self.hint_label.hide()
            self._refresh_mask()
        elif task.hint:  # after the first check that is not right
            self.hint_label.setText(f"Hint: {task.hint}")
            self.hint_label.show()
        self._update_buttons()
        return verdict

    def _set_up_training(self) -> None:
        task = self.task
        if isinstance(task, tasks.TrainTask):
            self._show_training(task.lr, task.steps)

    # ----------------------------------------------------------------- mask
    def set_active(self, on: bool) -> None:
        """The dock was closed (False) or shown again: a closed lesson hides nothing."""
        self._active = on
        self._refresh_mask()

    def _set_mask(self, mask) -> None:
        if self.scene is None:
            return
        current = self.scene.pass_mask()
        if current is not None and current is not self._mask:
            self._mask = None  # a step-through pass owns the canvas now
            return
        self._mask = mask
        self.doc.withhold("lesson", None if mask is None else
                          "this step asks for them: work them out in the Lesson dock")
        if mask is not None or current is not None:
            self.scene.set_pass_mask(mask)
            self.maskChanged.emit()

    def _refresh_mask(self, *_args) -> None:
        """Hide the open quiz's numbers (again, after an edit changed them), and those
        the next steps on this same graph will ask for: a step done must not show the
        answers of the one after it (lesson 3 asks h, ŷ, L, then ∂L/∂ŷ, then ∂L/∂w₁)."""
        asked = self._quizzes_ahead() if self._active else []
        mask = None
        for task in asked:
            try:
                one = tasks.quiz_mask(task, self.doc.graph, self.doc.result)
            except (EngineError, KeyError):
                continue
            mask = one if mask is None else _both(mask, one)
        self._set_mask(mask)

    def _quizzes_ahead(self) -> list[tasks.QuizTask]:
        """This step's quiz if it is not done, then the quizzes of the steps after it
        that go on with this graph unchanged (up to a step with a graph of its own or
        one that changes it, such as training), those not done yet."""
        les = self.lesson
        if les is None or self.index < 0:
            return []
        done = self.progress.done(les.id)
        out = []
        for j in range(self.index, len(les)):
            step = les.steps[j]
            if j > self.index and step.new_graph:
                break
            if step.task is None:
                continue
            if not isinstance(step.task, tasks.QuizTask):
                break  # training or building changes the graph: its numbers will too
            if j not in done:
                out.append(step.task)
        return out

    def pass_ended(self) -> None:
        """Step-through gave the canvas back: hide the quiz's numbers again."""
        self._refresh_mask()


def _both(a: PassMask, b: PassMask) -> PassMask:
    """What both masks show (each hides what it hides)."""
    def meet(x, y):
        return y if x is None else x if y is None else x & y
    grads = b.grads if a.grads is None else a.grads if b.grads is None else {
        n: g for n, g in a.grads.items() if n in b.grads}
    return PassMask(values=meet(a.values, b.values), grads=grads,
                    locals=meet(a.locals, b.locals), products=meet(a.products, b.products))
