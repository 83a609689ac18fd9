"""Where the learner is in each lesson, remembered between sessions in QSettings.

Per lesson (by its id, the file's stem): the step last shown and the steps whose task
was done. Nothing here touches a document: progress is not an edit.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

from engine.lesson import Lesson

_GROUP = "lessons"


class LessonProgress:
    def __init__(self, settings: QSettings | None = None) -> None:
        self.settings = settings if settings is not None else QSettings()

    def _key(self, lesson_id: str, what: str) -> str:
        return f"{_GROUP}/{lesson_id}/{what}"

    def started(self, lesson_id: str) -> bool:
        return self.settings.contains(self._key(lesson_id, "step"))

    def step(self, lesson_id: str) -> int:
        try:
            return max(0, int(self.settings.value(self._key(lesson_id, "step"), 0)))
        except (TypeError, ValueError):
            return 0

    def done(self, lesson_id: str) -> set[int]:
        """Steps whose task is done (stored as "0,2,3": the same in every settings format)."""
        raw = str(self.settings.value(self._key(lesson_id, "done"), "") or "")
        return {int(p) for p in raw.split(",") if p.strip().isdigit()}

    def set_step(self, lesson_id: str, i: int) -> None:
        self.settings.setValue(self._key(lesson_id, "step"), int(i))

    def mark_done(self, lesson_id: str, i: int) -> None:
        done = self.done(lesson_id) | {int(i)}
        self.settings.setValue(self._key(lesson_id, "done"), ",".join(map(str, sorted(done))))

    def forget(self, lesson_id: str) -> None:
        self.settings.remove(f"{_GROUP}/{lesson_id}")

    def summary(self, lesson: Lesson) -> str:
        """``not started``, ``step 2 of 5 · 1 of 3 tasks done`` or ``… all 3 tasks done ✓``."""
        if not self.started(lesson.id):
            return "not started"
        n = len(lesson)
        at = min(self.step(lesson.id), n - 1) + 1
        tasks = set(lesson.tasks())
        done = len(self.done(lesson.id) & tasks)
        if tasks and done == len(tasks):
            return f"step {at} of {n} · all {len(tasks)} tasks done ✓"
        return f"step {at} of {n} · {done} of {len(tasks)} tasks done"
