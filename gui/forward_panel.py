"""The "Forward vs reverse" dock: the full gradient by both modes of differentiation.

For the graph on screen it says how many passes each mode needs for every ∂L/∂leaf
(forward: one per leaf; reverse: one backward pass), and lists, for each leaf, the
output's forward-mode tangent with that leaf as the direction beside the leaf's
reverse-mode gradient, with a ✓ where they agree up to rounding. The numbers come
from ``engine.forward.compare``; the panel recomputes (coalesced) after every change
while it is shown. Clicking a row makes that leaf forward mode's direction.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from engine.forward import Comparison, compare, variable_leaves
from engine.labels import display_name, tangent_symbol
from engine.numfmt import fmt, full

COLUMNS = ["Leaf", "Forward mode: output's tangent", "Reverse mode: gradient", "Agree"]
#: rows listed; a larger graph's remaining leaves are counted in the summary
MAX_ROWS = 500
#: leaves × edges above which the comparison (one forward sweep per leaf) waits for
#: the Compare button instead of following every edit (a 2-64-64-1 network: 56 million)
AUTO_COST = 4_000_000
WHY = ("Why reverse mode wins for many parameters: one backward pass gives ∂L/∂θ for "
       "every θ at once, while forward mode needs a pass per parameter — a network with "
       "a million weights would take a million forward passes, against one backward. "
       "Forward mode wins the other way round: few inputs, many outputs.")


class ForwardPanel(QWidget):
    """Passes needed by each mode and the table of both modes' numbers."""

    leafActivated = Signal(str)

    def __init__(self, document, forward_mode=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.mode = forward_mode
        self.comparison: Comparison | None = None
        self.passes = QLabel()
        self.passes.setObjectName("forward_passes")
        self.passes.setWordWrap(True)
        f = self.passes.font()
        f.setBold(True)
        self.passes.setFont(f)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("forward_table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.cellClicked.connect(self._clicked)
        self.why = QLabel(WHY)
        self.why.setObjectName("forward_why")
        self.why.setWordWrap(True)
        self.compare_button = QPushButton("Compare now")
        self.compare_button.setToolTip("Run forward mode once per leaf and compare with "
                                       "the backward pass (a large graph waits for this)")
        self.compare_button.clicked.connect(lambda: self.refresh(force=True))
        self.compare_button.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addWidget(self.passes)
        lay.addWidget(self.compare_button)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.why)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.refresh)
        document.resultsChanged.connect(self._schedule)
        document.graphReset.connect(self._schedule)
        if forward_mode is not None:
            forward_mode.changed.connect(self._schedule)
        self._stale = True

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def _schedule(self) -> None:
        """Recompute once the current burst of changes is over, while shown."""
        self._stale = True
        if self.isVisible():
            self._timer.start(0)

    def refresh(self, force: bool = False) -> None:
        self._timer.stop()
        self._stale = False
        g, r = self.doc.graph, self.doc.result
        b = r.batch
        cost = len(variable_leaves(g, r)) * max(1, len(r.edges))
        big = cost > AUTO_COST and not force
        self.compare_button.setVisible(big)
        if big:
            self.comparison = None
            self.table.setRowCount(0)
            n = len(variable_leaves(g, r))
            self.passes.setText(
                f"The full gradient needs {n:,} forward-mode passes (one per leaf) against "
                "one backward pass: on a graph this size the comparison runs when asked.")
            return
        c = self.comparison = compare(g, r) if not (b is not None and b.sample is None) \
            else None
        direction = self.mode.direction if self.mode is not None else None
        self.table.setRowCount(0)
        if c is None:
            self.passes.setText("The canvas shows the batch means: pick one sample to "
                                "compare the two modes on its numbers.")
            return
        if not c.rows:
            self.passes.setText("Nothing to differentiate: " + (
                "mark a node as the output." if c.output is None else
                "the output depends on no input or param."))
            return
        out = display_name(g, c.output)
        n = c.forward_passes
        bad = sum(not row.agree for row in c.rows)
        verdict = ("both modes give the same numbers ✓" if not bad else
                   f"{bad} of {n} differ ✗")
        which = f" for sample {b.sample + 1}" if b is not None else ""
        self.passes.setText(
            f"The full gradient of {out}{which} with respect to its {n} "
            f"lea{'f' if n == 1 else 'ves'}: forward mode needs {n} "
            f"pass{'' if n == 1 else 'es'} (one per leaf), reverse mode "
            f"{c.reverse_passes} (one backward sweep) — {verdict}."
            + (f" The first {MAX_ROWS} are listed." if n > MAX_ROWS else ""))
        rows = c.rows[:MAX_ROWS]
        self.table.setRowCount(len(rows))
        bold = QFont(self.table.font())
        bold.setBold(True)
        for i, row in enumerate(rows):
            name = display_name(g, row.leaf)
            cells = [name, f"{tangent_symbol(g, c.output)} = {fmt(row.forward)} from {name}",
                     f"∂{out}/∂{name} = {fmt(row.reverse)}", "✓" if row.agree else "✗"]
            tips = ["", f"forward mode from {name}: ∂{out}/∂{name} = {full(row.forward)}",
                    f"backward pass: ∂{out}/∂{name} = {full(row.reverse)}",
                    "equal up to rounding" if row.agree else "the two modes differ"]
            for j, (text, tip) in enumerate(zip(cells, tips)):
                item = QTableWidgetItem(text)
                item.setData(Qt.UserRole, row.leaf)
                if tip:
                    item.setToolTip(tip)
                if row.leaf == direction:
                    item.setFont(bold)
                    item.setBackground(QBrush(QColor(11, 127, 116, 45)))
                if j == 3:
                    item.setTextAlignment(Qt.AlignCenter)
                    item.setForeground(QBrush(QColor(34, 150, 80) if row.agree
                                              else QColor(214, 69, 69)))
                self.table.setItem(i, j, item)

    def wanted_height(self) -> int:
        """Room for the summary, up to eight rows and the closing sentence: the canvas
        keeps the rest."""
        t = self.table
        rows = min(max(t.rowCount(), 2), 8)
        row_h = t.verticalHeader().defaultSectionSize()
        width = max(300, self.width() - 12)
        text = self.passes.heightForWidth(width) + self.why.heightForWidth(width)
        return text + t.horizontalHeader().height() + rows * row_h + 4 * t.frameWidth() + 40

    def row_texts(self) -> list[list[str]]:
        """What the table shows, row by row (what tests and users read)."""
        return [[self.table.item(i, j).text() for j in range(self.table.columnCount())]
                for i in range(self.table.rowCount())]

    def _clicked(self, row: int, _col: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.leafActivated.emit(item.data(Qt.UserRole))
