"""Gradient check dock: backprop's gradient of every leaf beside a central finite difference.

The numbers come from ``engine.check.gradient_check``, the code behind ``main.py check``,
so the panel and the command line can never disagree. A check costs two evaluations
per leaf, so it re-runs by itself (debounced) only while the dock is shown and the
graph is small; larger graphs are checked on the button.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.check import TOLERANCE, CheckRow, gradient_check
from engine.errors import EngineError
from engine.labels import display_name
from engine.numfmt import fmt, full
from engine.ops import OPS
from gui.document import Document

#: automatic re-checks only while leaves × nodes stays under this (two-layer net: 4 × 7)
AUTO_COST = 200_000
#: and never above this many nodes
AUTO_MAX_NODES = 2000
DEBOUNCE_MS = 250
COLUMNS = ["Leaf", "Backprop", "Finite diff.", "Error", "Status", "Note"]
STATUS_TEXT = {"ok": "✓ ok", "FAIL": "✗ FAIL", "kink": "◆ kink", "undefined": "? undefined"}
#: row backgrounds (translucent, so they read in light and dark themes)
STATUS_COLOUR = {"FAIL": QColor(229, 57, 53, 90), "kink": QColor(255, 179, 0, 80),
                 "undefined": QColor(158, 158, 158, 80)}


class GradCheckPanel(QWidget):
    """A table of CheckRows; clicking a row asks for that node to be selected."""

    nodeActivated = Signal(str)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.tolerance = TOLERANCE
        self.rows: list[CheckRow] = []
        self._stale = True
        self.summary = QLabel()
        self.summary.setObjectName("gradcheck_summary")
        self.summary.setWordWrap(True)
        self.refresh_button = QPushButton("Check now")
        self.refresh_button.setToolTip("Compare backprop with central finite differences")
        self.auto_box = QCheckBox("Automatic")
        self.auto_box.setChecked(True)
        self.auto_box.setToolTip("Re-check after every change while the graph is small "
                                 f"(at most {AUTO_MAX_NODES} nodes)")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        for c in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(c, QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        self.explain = QLabel(
            f"error = |backprop − finite diff.| / max(1, |backprop|, |finite diff.|), flagged "
            f"above {TOLERANCE:g}; at a kink the one-sided slopes differ: reported, not failed")
        self.explain.setObjectName("hint")
        self.explain.setToolTip("Finite difference: (f(v + h) − f(v − h)) / 2h with "
                                "h ≈ 6·10⁻⁶·max(1, |v|), the same as main.py check")

        top = QHBoxLayout()
        top.addWidget(self.refresh_button)
        top.addWidget(self.auto_box)
        top.addWidget(self.summary, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.explain)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._auto_refresh)
        self.refresh_button.clicked.connect(self.refresh)
        self.auto_box.toggled.connect(lambda on: on and self._schedule())
        self.table.cellClicked.connect(self._row_clicked)
        self.doc.resultsChanged.connect(self._schedule)

    # ------------------------------------------------------------ running
    def auto_allowed(self) -> bool:
        """Cheap enough to re-run on every change (two evaluations per leaf)."""
        g = self.doc.graph
        n = len(g)
        if n > AUTO_MAX_NODES:
            return False
        leaves = sum(1 for nid in g.ids() if OPS[g.op_of(nid)].is_leaf)
        return leaves * n <= AUTO_COST

    def _schedule(self) -> None:
        self._stale = True
        if self.auto_box.isChecked() and self.isVisible():
            self._timer.start()

    def _auto_refresh(self) -> None:
        if self.auto_allowed():
            self.refresh()
        else:
            self._show_summary(f"The graph has {len(self.doc.graph)} nodes: press Check now "
                               "(a check evaluates the graph twice per leaf).", problem=False)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._stale:
            self._schedule()

    def refresh(self) -> list[CheckRow]:
        """Run the check now on the document's graph and show it."""
        self._timer.stop()
        self._stale = False
        g = self.doc.graph
        if len(g) == 0:
            self.rows = []
            self._fill()
            self._show_summary("The graph is empty: nothing to check.", problem=False)
            return self.rows
        QApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            self.rows = gradient_check(g, self.tolerance)
        except EngineError as e:
            self.rows = []
            self._fill()
            self._show_summary(f"Cannot check: {e}", problem=True)
            return self.rows
        finally:
            QApplication.restoreOverrideCursor()
        self._fill()
        failed = sum(r.status == "FAIL" for r in self.rows)
        kinks = sum(r.status == "kink" for r in self.rows)
        undefined = sum(r.status == "undefined" for r in self.rows)
        n = len(self.rows)
        if failed:
            text = f"✗ {failed} of {n} leaves over the tolerance {self.tolerance:g}"
        else:
            text = f"✓ passed: {n} lea{'f' if n == 1 else 'ves'}, all within {self.tolerance:g}"
        extra = []
        if kinks:
            extra.append(f"{kinks} at a kink (explained, not failed)")
        if undefined:
            extra.append(f"{undefined} not finite")
        if extra:
            text += "; " + ", ".join(extra)
        self._show_summary(text, problem=bool(failed))
        return self.rows

    # ------------------------------------------------------------ drawing
    def _show_summary(self, text: str, problem: bool) -> None:
        self.summary.setText(text)
        self.summary.setObjectName("problem" if problem else "gradcheck_summary")
        self.summary.style().unpolish(self.summary)
        self.summary.style().polish(self.summary)

    def _fill(self) -> None:
        g = self.doc.graph
        self.table.setRowCount(len(self.rows))
        for i, r in enumerate(self.rows):
            name = display_name(g, r.id) if r.id in g else r.name
            cells = [
                (f"{name}  ({r.op})", None),
                (fmt(r.analytic, 8), full(r.analytic)),
                (fmt(r.numeric, 8), full(r.numeric)),
                (f"{r.error:.1e}".replace("-", "−") if math.isfinite(r.error) else "—",
                 repr(r.error)),
                (STATUS_TEXT.get(r.status, r.status), None),
                (r.note, r.note or None),
            ]
            for c, (text, tip) in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.UserRole, r.id)
                if 1 <= c <= 3:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if tip:
                    item.setToolTip(tip)
                colour = STATUS_COLOUR.get(r.status)
                if colour is not None:
                    item.setBackground(QBrush(colour))
                self.table.setItem(i, c, item)

    def row_of(self, nid: str) -> int:
        return next((i for i, r in enumerate(self.rows) if r.id == nid), -1)

    def _row_clicked(self, row: int, _col: int) -> None:
        if 0 <= row < len(self.rows) and self.rows[row].id in self.doc.graph:
            self.nodeActivated.emit(self.rows[row].id)


__all__ = ["GradCheckPanel", "AUTO_COST", "AUTO_MAX_NODES"]
