"""Inline rename: a text editor laid over a node's name.

Enter (or clicking elsewhere) asks the document to rename; a refused name
(reserved, taken, not an identifier) is reported and the old name stays.
Escape cancels.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QGraphicsTextItem

from gui.canvas.node_item import NodeItem
from gui.canvas.theme import font


class RenameEditor(QGraphicsTextItem):
    """Edits ``node_item``'s raw name; ``on_done(text | None)`` once (None = cancelled)."""

    def __init__(self, node_item: NodeItem, name: str, on_done: Callable[[str | None], None]) -> None:
        super().__init__(name)
        self.node_item = node_item
        self._on_done = on_done
        self._finished = False
        self.setFont(font(13, bold=True))
        self.setDefaultTextColor(Qt.black)
        self.setTextInteractionFlags(Qt.TextEditorInteraction)
        self.setZValue(10)
        r = node_item.name_rect()
        self.setPos(node_item.mapToScene(r.left() - 4, r.top() + 1))
        self.setTextWidth(max(80.0, r.width() + 8))

    def start(self) -> None:
        self.setFocus(Qt.OtherFocusReason)
        cur = self.textCursor()
        cur.select(QTextCursor.Document)
        self.setTextCursor(cur)

    def paint(self, painter, option, widget=None) -> None:
        painter.setPen(self.scene().theme.selection if self.scene() else Qt.blue)
        painter.setBrush(Qt.white)
        painter.drawRoundedRect(self.boundingRect().adjusted(0.5, 0.5, -0.5, -0.5), 3, 3)
        super().paint(painter, option, widget)

    def finish(self, commit: bool) -> None:
        if self._finished:
            return
        self._finished = True
        text = self.toPlainText().strip() if commit else None
        scene = self.scene()
        if scene is not None:
            scene.removeItem(self)
        self._on_done(text)

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if event.key() in (Qt.Key_Return, Qt.Key_Enter):
            self.finish(True)
            return
        if event.key() == Qt.Key_Escape:
            self.finish(False)
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().focusOutEvent(event)
        self.finish(True)
