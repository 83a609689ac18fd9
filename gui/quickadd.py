"""Quick-add popup: type a few letters, press Enter, and the op is placed at the cursor.

Opened by Tab or double-click on empty canvas, and when a new edge is dropped on empty
canvas (then ``ops`` limits the list to ops that can take an input). Non-blocking: the
choice arrives through ``opChosen``.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, Qt, Signal
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from engine.ops import OPS
from gui.palette import op_tooltip

OP_ROLE = Qt.UserRole + 1


def matches(op: str, text: str) -> bool:
    """Case-insensitive match on name, title, symbol and group."""
    t = text.strip().lower()
    if not t:
        return True
    spec = OPS[op]
    hay = " ".join((spec.name, spec.title, spec.symbol, spec.group)).lower()
    return all(word in hay for word in t.split())


class QuickAddPopup(QFrame):
    opChosen = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent, Qt.Popup)
        self.setFrameShape(QFrame.StyledPanel)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("Type to find an op…")
        self.edit.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setUniformItemSizes(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addWidget(self.edit)
        lay.addWidget(self.list)
        self.resize(260, 320)
        self._ops: list[str] = list(OPS)
        self.edit.textChanged.connect(self._filter)
        self.edit.installEventFilter(self)
        self.list.itemActivated.connect(self._choose_item)

    def open_at(self, global_pos: QPoint, ops: list[str] | None = None) -> None:
        """Show the popup at ``global_pos`` with all ops, or only ``ops``."""
        self._ops = [o for o in (ops if ops is not None else OPS) if o in OPS]
        self.edit.clear()
        self._filter("")
        self.move(global_pos)
        self.show()
        self.raise_()
        self.activateWindow()
        self.edit.setFocus()

    def visible_ops(self) -> list[str]:
        return [self.list.item(i).data(OP_ROLE) for i in range(self.list.count())]

    def _filter(self, text: str) -> None:
        self.list.clear()
        for op in self._ops:
            if matches(op, text):
                spec = OPS[op]
                item = QListWidgetItem(f"{spec.symbol}\t{spec.title}  ({spec.name})")
                item.setData(OP_ROLE, op)
                item.setToolTip(op_tooltip(spec))
                self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        # as wide as the longest entry, so no title is cut off
        widest = max((self.list.fontMetrics().horizontalAdvance(self.list.item(i).text())
                      for i in range(self.list.count())), default=0)
        self.resize(max(260, widest + 80), self.height())

    def choose_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self._choose_item(item)

    def _choose_item(self, item: QListWidgetItem) -> None:
        op = item.data(OP_ROLE)
        self.hide()
        if op:
            self.opChosen.emit(op)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if obj is self.edit and event.type() == QEvent.KeyPress:
            key = event.key()
            if key in (Qt.Key_Return, Qt.Key_Enter):
                self.choose_current()
                return True
            if key == Qt.Key_Escape:
                self.hide()
                return True
            if key in (Qt.Key_Down, Qt.Key_Up, Qt.Key_PageDown, Qt.Key_PageUp):
                row = self.list.currentRow()
                step = {Qt.Key_Down: 1, Qt.Key_Up: -1, Qt.Key_PageDown: 8, Qt.Key_PageUp: -8}[key]
                if self.list.count():
                    self.list.setCurrentRow(max(0, min(self.list.count() - 1, row + step)))
                return True
        return super().eventFilter(obj, event)
