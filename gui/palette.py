"""The palette dock: every op of the registry, grouped, ready to drag onto the canvas.

It reads engine.ops.OPS only, so a new op appears here (with its formula and local
derivatives in the tooltip) without touching this file.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem

from engine.ops import GROUPS, OPS, OpSpec
from gui.mime import OP_MIME

GROUP_TITLES = {"leaf": "Leaves", "arithmetic": "Arithmetic", "function": "Functions",
                "loss": "Loss"}
OP_ROLE = Qt.UserRole + 1


def op_tooltip(spec: OpSpec) -> str:
    """Title, formula and local derivatives, as the engine writes them."""
    lines = [f"<b>{spec.title}</b> ({spec.name})"]
    if spec.is_leaf:
        lines.append(spec.conventions)
    else:
        lines.append(f"out = {spec.generic_formula()}")
        lines.append("Local derivatives:")
        lines += [f"&nbsp;&nbsp;{d}" for d in spec.generic_derivs()]
        if spec.conventions:
            lines.append(f"<i>{spec.conventions}</i>")
    lines.append("Drag onto the canvas, or double-click to add.")
    return "<br>".join(lines)


def op_mime_data(op: str) -> QMimeData:
    """What a palette drag carries: the op name under OP_MIME."""
    data = QMimeData()
    data.setData(OP_MIME, op.encode("utf-8"))
    return data


class OpPalette(QTreeWidget):
    """Ops grouped as leaves, arithmetic, functions and loss; drag or double-click to add."""

    #: double-click / Enter on an op: the window adds it at the view's centre
    opActivated = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setColumnCount(2)
        self.setHeaderHidden(True)
        self.setRootIsDecorated(False)
        self.setIndentation(8)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragOnly)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setUniformRowHeights(True)
        self._items: dict[str, QTreeWidgetItem] = {}
        bold = self.font()
        bold.setBold(True)
        for group in GROUPS:
            head = QTreeWidgetItem(self, [GROUP_TITLES.get(group, group.title()), ""])
            head.setFlags(Qt.ItemIsEnabled)
            head.setFont(0, bold)
            head.setFirstColumnSpanned(True)
            for spec in OPS.values():
                if spec.group != group:
                    continue
                item = QTreeWidgetItem(head, [spec.symbol, spec.title])
                item.setData(0, OP_ROLE, spec.name)
                item.setTextAlignment(0, Qt.AlignCenter)
                tip = op_tooltip(spec)
                item.setToolTip(0, tip)
                item.setToolTip(1, tip)
                item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
                self._items[spec.name] = item
        self.expandAll()
        self.resizeColumnToContents(0)
        self.setColumnWidth(0, max(self.columnWidth(0) + 12, 56))
        self.itemActivated.connect(self._activated)

    def item_for(self, op: str) -> QTreeWidgetItem:
        return self._items[op]

    def ops(self) -> list[str]:
        return list(self._items)

    def mime_data(self, op: str) -> QMimeData:
        """The palette's drag data for ``op`` (tests drop this on the canvas)."""
        return op_mime_data(op)

    # -- Qt drag support: the view asks for these when a drag starts
    def mimeTypes(self) -> list[str]:
        return [OP_MIME]

    def mimeData(self, items) -> QMimeData:  # noqa: N802 - Qt's name
        ops = [i.data(0, OP_ROLE) for i in items if i.data(0, OP_ROLE)]
        return op_mime_data(ops[0]) if ops else QMimeData()

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.CopyAction

    def _activated(self, item: QTreeWidgetItem, _col: int) -> None:
        op = item.data(0, OP_ROLE)
        if op:
            self.opActivated.emit(op)
