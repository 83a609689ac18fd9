"""Quiz mode in the editor: Passes › Quiz, the Quiz dock, and the fields on the canvas.

The numbers of the chosen kinds are hidden; each becomes a field (gui.canvas.quiz_field)
on its edge label or node card. The engine's Quiz (engine.quiz) checks the answers;
this module only shows its marks, hints and score. A quiz is a view, not an edit: it
never touches the undo stack or the modified flag.

When the document changes during a quiz (an edit, undo, another sample) the quiz is
refreshed: answers whose number is unchanged keep their mark, the others are asked
again. Opening another graph starts the quiz afresh. A step-through pass ends the quiz
(both hide numbers; one at a time).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QFontMetricsF, QKeySequence
from PySide6.QtWidgets import (QCheckBox, QGridLayout, QHBoxLayout, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

from engine.numfmt import fmt
from engine.quiz import (GRAD, KIND_TITLES, KINDS, LOCAL, MARK_TITLES, PRODUCT, VALUE,
                         Quiz)
from gui.canvas.quiz_field import QUIZ_BLANK, QuizField

DEFAULT_KINDS = (LOCAL, PRODUCT)
INTRO = ("Work out the hidden numbers: click a field (or press Tab for the next one in "
         "pass order), type a number or arithmetic of numbers (−1.4*0.3) and press Enter. "
         "The second wrong try shows a hint.")


#: what the inspector and the derivation say instead of the numbers during a quiz
QUIZ_WITHHELD = "the quiz is on: work the numbers out on the canvas"


class QuizMode(QObject):
    """The quiz over the document's current Result, and its fields on the canvas."""

    changed = Signal()
    #: a sentence for the status bar
    message = Signal(str)

    def __init__(self, document, view, stepper=None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc, self.view, self.stepper = document, view, stepper
        self.scene = view.scene()
        self.quiz: Quiz | None = None
        self.kinds: tuple[str, ...] = DEFAULT_KINDS
        self.fields: dict[str, QuizField] = {}
        self.last = INTRO
        self.act_quiz = QAction("&Quiz", parent or self)
        self.act_quiz.setIconText("Quiz")
        self.act_quiz.setCheckable(True)
        self.act_quiz.setShortcut(QKeySequence("Ctrl+Shift+Q"))
        self.act_quiz.setToolTip("Quiz: hide numbers and work them out yourself (Ctrl+Shift+Q)")
        self.act_quiz.setStatusTip(self.act_quiz.toolTip())
        self.act_quiz.toggled.connect(self._toggled)
        d = document
        d.resultsChanged.connect(self._document_changed)
        d.sampleChanged.connect(self._document_changed)
        d.graphReset.connect(self._graph_reset)
        self.scene.rebuilt.connect(self._scene_rebuilt)
        if stepper is not None:
            stepper.changed.connect(self._stepper_changed)

    # ---------------------------------------------------------------- control
    @property
    def active(self) -> bool:
        return self.quiz is not None

    def _toggled(self, on: bool) -> None:
        if on and self.quiz is None:
            self.start()
        elif not on and self.quiz is not None:
            self.stop()

    def start(self, kinds=None) -> bool:
        """Start (or restart) a quiz on the numbers of ``kinds`` (default: the last)."""
        if kinds is not None:
            self.kinds = tuple(k for k in KINDS if k in set(kinds)) or DEFAULT_KINDS
        if self.stepper is not None and self.stepper.pass_ is not None:
            self.stepper.reset()
        r = self.doc.result
        if r.output is None:
            self._say("Nothing to quiz: " + (str(r.output_error) if r.output_error
                                             else "the graph has no output") + ".")
            self._set_checked(False)
            return False
        self.quiz = Quiz(self.doc.graph, r, self.kinds)
        self.doc.withhold("quiz", QUIZ_WITHHELD)
        self.last = INTRO if len(self.quiz) else "Nothing of these kinds to work out here."
        self._show()
        self._set_checked(True)
        self.message.emit(self.last)
        return True

    def stop(self) -> None:
        """End the quiz: every number is drawn again."""
        self._clear_fields()
        self.quiz = None
        self.doc.withhold("quiz", None)
        self.scene.set_quiz(None)
        self._set_checked(False)
        self.last = INTRO
        self.changed.emit()

    def _set_checked(self, on: bool) -> None:
        if self.act_quiz.isChecked() != on:
            self.act_quiz.blockSignals(True)
            self.act_quiz.setChecked(on)
            self.act_quiz.blockSignals(False)
        self.changed.emit()

    def _document_changed(self) -> None:
        if self.quiz is None:
            return
        r = self.doc.result
        if r.output is None:
            self.stop()
            self._say("The quiz ended: the graph has no output.")
            return
        if r is self.quiz.result and self.doc.graph is self.quiz.graph:
            return
        before = self.quiz.score()
        self.quiz = self.quiz.refresh(self.doc.graph, r)
        after = self.quiz.score()
        self._show()
        if after.open > before.open:
            self._say("The graph changed: numbers that changed are to be worked out again.")

    def _graph_reset(self) -> None:
        if self.quiz is not None:
            self.quiz = None
            self.start()

    def _scene_rebuilt(self) -> None:
        """The canvas made its items afresh (presentation mode on or off): the fields
        went with the old ones, so make them again on the new labels and cards. A new
        graph is left to _graph_reset, which starts the quiz afresh."""
        if self.quiz is not None and self.quiz.graph is self.doc.graph:
            self.fields.clear()  # their parents are gone, and they with them
            self._show()

    def _stepper_changed(self) -> None:
        if self.quiz is not None and self.stepper.pass_ is not None:
            self.stop()
            self._say("The quiz ended: a step-through pass shows the numbers step by step.")

    # ---------------------------------------------------------------- answers
    def submit(self, key: str, text: str):
        """Check ``text`` for question ``key`` (what Enter in a field does)."""
        out = self.quiz.answer(key, text)
        self._say(out.message)
        self._sync_field(key)
        if out.right:
            self.scene.set_quiz(self.quiz)  # the product's colour, the card's sign
            self._place_fields()
            nxt = self._next_answerable(key)
            if nxt is not None:
                self.focus(nxt)
        self.changed.emit()
        return out

    def _next_answerable(self, after: str) -> str | None:
        """The next open question in pass order that can be worked out now (what it
        needs is known), else the next open one: after ∂h/∂w₁ the cursor goes on to a
        number the learner can work out, not to a product still waiting for ∂L/∂h."""
        keys = [q.key for q in self.quiz.questions]
        i = keys.index(after) if after in keys else -1
        ring = keys[i + 1:] + keys[:i + 1]
        open_ = [k for k in ring if not self.quiz.mark(k).done]
        ready = [k for k in open_ if not self.quiz.missing(k)]
        return (ready or open_ or [None])[0]

    def reveal_one(self) -> None:
        q = self.quiz.reveal_one() if self.quiz is not None else None
        if q is not None:
            self._after_reveal(f"{q.prompt} = {fmt(q.truth)} (revealed)")

    def reveal_all(self) -> None:
        if self.quiz is not None and self.quiz.reveal_all():
            self._after_reveal("Every number is revealed.")

    def _after_reveal(self, text: str) -> None:
        self.scene.set_quiz(self.quiz)
        self._sync_fields()
        self._say(text)

    def focus(self, key: str) -> None:
        """Put the cursor in ``key``'s field and bring it into view."""
        f = self.fields.get(key)
        if f is None:
            return
        self.view.setFocus(Qt.OtherFocusReason)
        self.view.ensureVisible(f.sceneBoundingRect(), 40, 40)
        f.start()

    def _move(self, key: str, step: int) -> None:
        """Tab: the next question still open in pass order (Shift+Tab: the previous)."""
        qs = self.quiz.questions
        keys = [q.key for q in qs]
        i = keys.index(key)
        for k in range(1, len(keys) + 1):
            cand = keys[(i + step * k) % len(keys)]
            if self.quiz.hidden(cand):
                self.focus(cand)
                return

    def _focused(self, key: str) -> None:
        q = self.quiz.question(key) if self.quiz is not None and key in self.quiz else None
        if q is None:
            return
        first = self.quiz.missing(key)
        text = f"{q.prompt} = ?"
        if self.quiz.mark(key).attempts >= 2:
            text += f"  Hint: {self.quiz.hint(key)}"
        elif first:
            text += f"  (it needs {' and '.join(x.prompt for x in first)} first)"
        self.message.emit(text)

    def _say(self, text: str) -> None:
        self.last = text
        self.message.emit(text)
        self.changed.emit()

    # ----------------------------------------------------------------- fields
    def _show(self) -> None:
        self._clear_fields()
        self.scene.set_quiz(self.quiz)
        for q in self.quiz.questions:
            made = self._make_field(q)
            if made is not None:
                self.fields[q.key] = made
        self._sync_fields()
        self.changed.emit()

    def _clear_fields(self) -> None:
        for f in self.fields.values():
            f.clearFocus()
            if f.scene() is not None:
                f.scene().removeItem(f)
            f.setParentItem(None)
        self.fields.clear()

    def _where(self, q) -> tuple[object, object, float] | None:
        """(parent item, its font, the blank's width) for question ``q``'s field."""
        if q.edge is not None:
            e = self.scene.edges.get(q.edge)
            if e is None:
                return None
            self.scene.word_labels([q.edge])
            lab = e.label
            return lab, lab.font(), QFontMetricsF(lab.font()).horizontalAdvance(QUIZ_BLANK)
        item = self.scene.nodes.get(q.node)
        if item is None:
            return None
        f = item.number_font()
        return item, f, QFontMetricsF(f).horizontalAdvance(QUIZ_BLANK)

    def _make_field(self, q) -> QuizField | None:
        where = self._where(q)
        if where is None:
            return None
        parent, font, width = where
        f = QuizField(q.key, font, width, parent, self.submit, self._move, self._focused)
        self._place(f, q)
        return f

    def _place(self, f: QuizField, q) -> None:
        parent, _, width = self._where(q)
        if f.parentItem() is not parent:
            f.setParentItem(parent)
        if q.edge is not None:
            line = 0 if q.kind == LOCAL else 1
            text = parent.lines[line] if line < len(parent.lines) else ""
            at = text.rfind(QUIZ_BLANK)
            if at < 0:
                f.hide()
                return
            r = parent.span_rect(line, at, len(QUIZ_BLANK))
        else:
            r = parent.number_rect(0 if q.kind == VALUE else 1, width)
        f.show()
        f.min_width = r.width()
        h = f.boundingRect().height()
        f.setPos(r.left(), r.center().y() - h / 2)

    def _place_fields(self) -> None:
        for key, f in self.fields.items():
            self._place(f, self.quiz.question(key))

    def _sync_field(self, key: str) -> None:
        q, m, f = self.quiz.question(key), self.quiz.mark(key), self.fields.get(key)
        if f is None:
            return
        if m.done:
            text = fmt(q.truth) + (" ✓" if m.status != "revealed" else "")
        else:
            text = m.text
        tip = f"{q.prompt}: {MARK_TITLES[m.status]}"
        if m.attempts >= 2 and not m.done:
            tip += f"\nHint: {self.quiz.hint(key)}"
        elif self.quiz.missing(key) and not m.done:
            tip += f"\nIt needs {' and '.join(x.prompt for x in self.quiz.missing(key))} first."
        f.set_mark(m.status, text, tip)

    def _sync_fields(self) -> None:
        for key in self.fields:
            self._sync_field(key)
        self._place_fields()

    # ------------------------------------------------------------------ reading
    def field(self, key: str) -> QuizField | None:
        return self.fields.get(key)

    def key_of(self, kind: str, where) -> str:
        from engine.quiz import question_key
        return question_key(kind, where)

    def score_text(self) -> str:
        if self.quiz is None:
            return "No quiz running."
        s = self.quiz.score()
        return s.text() + (" — all done!" if self.quiz.done and len(self.quiz) else "")


class QuizPanel(QWidget):
    """The Quiz dock: which kinds to hide, the score, the last check, Reveal and Stop."""

    def __init__(self, mode: QuizMode, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = mode
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.addWidget(QLabel("Hide and work out:"))
        grid = QGridLayout()
        self.boxes: dict[str, QCheckBox] = {}
        for i, k in enumerate(KINDS):
            b = QCheckBox(KIND_TITLES[k])
            b.setObjectName(f"quiz_kind_{k}")
            b.setChecked(k in mode.kinds)
            b.toggled.connect(self._kinds_changed)
            self.boxes[k] = b
            grid.addWidget(b, i // 2, i % 2)
        lay.addLayout(grid)
        row = QHBoxLayout()
        self.btn_all = QPushButton("All")
        self.btn_all.setToolTip("Hide every kind of number")
        self.btn_all.clicked.connect(self._all)
        self.btn_start = QPushButton("Start")
        self.btn_start.setObjectName("quiz_start")
        self.btn_start.clicked.connect(lambda: mode.start(self.kinds()))
        row.addWidget(self.btn_all)
        row.addWidget(self.btn_start)
        lay.addLayout(row)
        row = QHBoxLayout()
        self.btn_one = QPushButton("Reveal one")
        self.btn_one.setToolTip("Show the next hidden number in pass order")
        self.btn_one.clicked.connect(mode.reveal_one)
        self.btn_every = QPushButton("Reveal all")
        self.btn_every.clicked.connect(mode.reveal_all)
        self.btn_stop = QPushButton("Stop")
        self.btn_stop.setToolTip("End the quiz and show every number")
        self.btn_stop.clicked.connect(mode.stop)
        for b in (self.btn_one, self.btn_every, self.btn_stop):
            row.addWidget(b)
        # the buttons above the texts, which change length with every answer: a
        # button must not move away from under the mouse between two clicks
        lay.addLayout(row)
        self.score = QLabel()
        self.score.setObjectName("quiz_score")
        self.score.setWordWrap(True)
        f = self.score.font()
        f.setBold(True)
        self.score.setFont(f)
        lay.addWidget(self.score)
        self.note = QLabel()
        self.note.setObjectName("quiz_message")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.note)
        lay.addStretch(1)
        mode.changed.connect(self.sync)
        self.sync()

    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k in KINDS if self.boxes[k].isChecked())

    def _all(self) -> None:
        for b in self.boxes.values():
            b.blockSignals(True)
            b.setChecked(True)
            b.blockSignals(False)
        self._kinds_changed()

    def _kinds_changed(self) -> None:
        kinds = self.kinds()
        self.btn_start.setEnabled(bool(kinds))
        if self.mode.active and kinds and kinds != self.mode.kinds:
            self.mode.start(kinds)  # a running quiz follows the boxes at once

    def sync(self) -> None:
        m = self.mode
        on = m.active
        for b in (self.btn_one, self.btn_every, self.btn_stop):
            b.setEnabled(on and (b is self.btn_stop or not m.quiz.done))
        self.btn_start.setText("Restart" if on else "Start")
        self.score.setText(m.score_text())
        self.note.setText(m.last)
