"""File › Lessons…: the lessons that ship with the program, with the learner's progress.

Each lesson is loaded (and so checked whole) as the list is made; one that cannot be
read is listed greyed out with the loader's words, never opened half-way.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine import lesson
from gui.lesson_progress import LessonProgress

#: where a list item keeps its Lesson
_LESSON = Qt.UserRole + 1


def load_all(files: list[Path], examples: Path) -> list[lesson.Lesson | lesson.LessonError]:
    out: list[lesson.Lesson | lesson.LessonError] = []
    for path in files:
        try:
            out.append(lesson.load(path, examples))
        except lesson.LessonError as e:
            out.append(e)
    return out


class LessonsDialog(QDialog):
    """A list of lessons; ``chosen`` carries the one opened (double-click or Open)."""

    chosen = Signal(object)

    def __init__(self, files: list[Path], examples: Path, progress: LessonProgress,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Lessons")
        self.setObjectName("lessons_dialog")
        self.progress = progress
        self.list = QListWidget()
        self.list.setObjectName("lesson_list")
        self.list.setWordWrap(True)
        self.list.setSpacing(4)
        self.list.setAlternatingRowColors(True)
        for item in load_all(files, examples):
            self.list.addItem(self._item(item))
        intro = QLabel("Each lesson is a few short steps on a graph, with a task the app "
                       "checks. Your place in each is remembered.")
        intro.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Open | QDialogButtonBox.Cancel)
        self.open_button = self.buttons.button(QDialogButtonBox.Open)
        self.buttons.accepted.connect(self._open_current)
        self.buttons.rejected.connect(self.reject)
        self.list.itemActivated.connect(lambda _item: self._open_current())
        self.list.itemDoubleClicked.connect(lambda _item: self._open_current())
        self.list.currentItemChanged.connect(lambda *_: self._update_button())
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.buttons)
        first = next((i for i in range(self.list.count())
                      if self.list.item(i).data(_LESSON) is not None), None)
        if first is not None:
            self.list.setCurrentRow(first)
        self._update_button()
        self.resize(560, 480)

    def _item(self, entry: lesson.Lesson | lesson.LessonError) -> QListWidgetItem:
        if isinstance(entry, lesson.LessonError):
            item = QListWidgetItem(f"{Path(entry.file).name}\ncannot be read: {entry.problem}")
            item.setFlags(Qt.NoItemFlags)
            item.setToolTip(str(entry))
            return item
        item = QListWidgetItem(f"{entry.title}\n{entry.summary}\n"
                               f"{self.progress.summary(entry)}")
        item.setData(_LESSON, entry)
        item.setToolTip(f"{len(entry)} steps")
        return item

    def lessons(self) -> list[lesson.Lesson]:
        return [self.list.item(i).data(_LESSON) for i in range(self.list.count())
                if self.list.item(i).data(_LESSON) is not None]

    def _update_button(self) -> None:
        item = self.list.currentItem()
        self.open_button.setEnabled(item is not None and item.data(_LESSON) is not None)

    def _open_current(self) -> None:
        item = self.list.currentItem()
        if item is None or item.data(_LESSON) is None:
            return
        self.accept()
        self.chosen.emit(item.data(_LESSON))
