"""A quiz field: where a hidden number was, a small text editor the learner types into.

It is a QGraphicsTextItem child of the edge label or node card it belongs to (so it
moves and zooms with them and never drifts as an embedded widget would). The label or
card keeps a blank of figure spaces (``QUIZ_BLANK``) where the number would be, and
the field covers that blank. Enter asks the quiz to check; Tab and Shift+Tab move to
the next or previous question in pass order; Escape leaves the field.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QTextCursor
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsTextItem, QStyle,
                               QStyleOptionGraphicsItem)

#: what a label or card shows instead of a quizzed number: room for the field
QUIZ_BLANK = "\u2007" * 9
#: a card's number during a quiz (CanvasScene._quiz_node_state): a field covers it,
#: or "?" because it is computed from an answer still to be worked out
QUIZ_FIELD, QUIZ_WITHHELD = 1, 2

#: (border, fill, text) per mark: open, wrong, right, right after a wrong try, revealed
COLOURS = {
    "open": ("#3b6fd8", "#ffffff", "#1a1a1a"),
    "wrong": ("#c62828", "#fde8e8", "#b71c1c"),
    "right": ("#2e7d32", "#e6f4e7", "#1b5e20"),
    "hinted": ("#2e7d32", "#e6f4e7", "#1b5e20"),
    "revealed": ("#8a8a8a", "#efefef", "#555555"),
}


class QuizField(QGraphicsTextItem):
    """One question's field. ``on_enter(key, text)`` checks; ``on_move(key, step)``
    moves the focus (+1 next, −1 previous); ``on_focus(key)`` says it is being edited."""

    def __init__(self, key: str, font: QFont, min_width: float, parent: QGraphicsItem,
                 on_enter: Callable[[str, str], None], on_move: Callable[[str, int], None],
                 on_focus: Callable[[str], None]) -> None:
        super().__init__(parent)
        self.key = key
        self.status = "open"
        self.min_width = min_width
        self._on_enter, self._on_move, self._on_focus = on_enter, on_move, on_focus
        self.setFont(font)
        self.document().setDocumentMargin(1.0)
        frame = self.document().rootFrame()
        fmt = frame.frameFormat()
        fmt.setLeftMargin(2.0)  # the text clear of the border: a "1" next to the left
        fmt.setRightMargin(2.0)  # edge read as "ı1"
        frame.setFrameFormat(fmt)
        self.setTextInteractionFlags(Qt.TextEditorInteraction)
        self.setZValue(5)
        self.setCursor(Qt.IBeamCursor)

    # ------------------------------------------------------------------ state
    def set_mark(self, status: str, text: str, tip: str) -> None:
        """Show a mark: the learner's text while open or wrong; the number when done
        (then the field is read-only)."""
        self.prepareGeometryChange()
        self.status = status
        done = status in ("right", "hinted", "revealed")
        if text != self.toPlainText():
            self.setPlainText(text)
        self.setDefaultTextColor(QColor(COLOURS[status][2]))
        self.setTextInteractionFlags(Qt.NoTextInteraction if done else Qt.TextEditorInteraction)
        self.setCursor(Qt.ArrowCursor if done else Qt.IBeamCursor)
        self.setToolTip(tip)
        self.update()

    @property
    def editable(self) -> bool:
        return self.status in ("open", "wrong")

    def start(self) -> None:
        """Take the keyboard focus, the text selected (typing replaces it)."""
        self.setFocus(Qt.OtherFocusReason)
        cur = self.textCursor()
        cur.select(QTextCursor.Document)
        self.setTextCursor(cur)

    # --------------------------------------------------------------- painting
    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        r = super().boundingRect()
        return QRectF(r.left(), r.top(), max(r.width(), self.min_width), r.height())

    def shape(self) -> QPainterPath:
        p = QPainterPath()  # the whole box takes clicks, however little is typed
        p.addRect(self.boundingRect())
        return p

    def paint(self, painter: QPainter, option, widget=None) -> None:
        border, fill, _ = COLOURS[self.status]
        r = self.boundingRect().adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setBrush(QColor(fill))
        painter.setPen(QPen(QColor(border), 2.0 if self.hasFocus() else 1.2,
                            Qt.DashLine if self.status == "revealed" else Qt.SolidLine))
        painter.drawRoundedRect(r, 3, 3)
        opt = QStyleOptionGraphicsItem(option)  # the border says focus: no dashed frame
        opt.state &= ~(QStyle.State_Selected | QStyle.State_HasFocus)
        super().paint(painter, opt, widget)

    # ------------------------------------------------------------------ keys
    def sceneEvent(self, event) -> bool:  # noqa: N802 - Qt's name
        # the text item types Tab into its text before keyPressEvent sees it
        if event.type() == QEvent.KeyPress and event.key() in (Qt.Key_Tab, Qt.Key_Backtab):
            back = event.key() == Qt.Key_Backtab or bool(event.modifiers() & Qt.ShiftModifier)
            self._on_move(self.key, -1 if back else 1)
            event.accept()
            return True
        return super().sceneEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        key = event.key()
        if key in (Qt.Key_Return, Qt.Key_Enter):
            if self.editable:
                self._on_enter(self.key, self.toPlainText())
            event.accept()
            return
        if key == Qt.Key_Escape:
            self.clearFocus()
            event.accept()
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().focusInEvent(event)
        self.update()
        self._on_focus(self.key)

    def focusOutEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().focusOutEvent(event)
        cur = self.textCursor()
        cur.clearSelection()
        self.setTextCursor(cur)
        self.update()
