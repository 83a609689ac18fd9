"""Gradient check dock: backprop's gradient of every leaf beside a central finite difference.

The numbers come from ``engine.check.gradient_check``, the code behind ``main.py check``,
so the panel and the command line can never disagree. A check costs two evaluations
per leaf, so it re-runs by itself (debounced) only while the dock is shown and the
graph is small; larger graphs are checked on the button. A long check reports after
each leaf through the check's progress callback, which shows a progress bar and lets
the window handle events now and then — so it stays live and its Stop button works.
The check runs on a copy of the graph; an edit meanwhile ends it (its rows would be
out of date) and, where allowed, starts a fresh one.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
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
from engine.ops import OPS, VARIABLE_KINDS
from gui.document import Document

#: automatic re-checks only while leaves × nodes stays under this (two-layer net: 4 × 7)
AUTO_COST = 200_000
#: and never above this many nodes
AUTO_MAX_NODES = 2000
DEBOUNCE_MS = 250
#: a running check lets the window handle events this often (seconds)...
EVENTS_EVERY = 0.05
#: ...and shows its progress bar and Stop button once it has run this long
SHOW_PROGRESS_AFTER = 0.3
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
        self._running = False
        #: why a running check should end at its next report: "stopped", "changed" or ""
        self._stop_reason = ""
        self._started = self._last_events = 0.0
        self.summary = QLabel()
        self.summary.setObjectName("gradcheck_summary")
        self.summary.setWordWrap(True)
        self.refresh_button = QPushButton("Check now")
        self.refresh_button.setToolTip("Compare backprop with central finite differences")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the check; the rows computed so far stay")
        self.stop_button.hide()
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("gradcheck_progress")
        self.progress_bar.setMaximumWidth(200)  # the count is in the summary beside it
        self.progress_bar.hide()
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
        top.addWidget(self.stop_button)
        top.addWidget(self.progress_bar)
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
        self.stop_button.clicked.connect(self.stop)
        self.auto_box.toggled.connect(lambda on: on and self._schedule())
        self.table.cellClicked.connect(self._row_clicked)
        self.doc.resultsChanged.connect(self._schedule)
        self.doc.withheldChanged.connect(self._withheld_changed)

    def _withheld_changed(self) -> None:
        """A quiz asks for gradients: the table (every backprop gradient) waits."""
        hide = bool(self.doc.withheld)
        self.table.setVisible(not hide)
        self.refresh_button.setEnabled(not hide)
        if hide:
            self.stop()
            self._show_summary(f"Gradients hidden — {self.doc.withheld}.", False)
        else:
            self._stale = True
            self._schedule()

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
        if self._running:
            self._stop_reason = "changed"  # its rows would describe the old graph
            return
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

    def is_running(self) -> bool:
        return self._running

    def stop(self) -> None:
        """Stop a running check at its next leaf; the rows computed so far are shown."""
        if self._running:
            self._stop_reason = "stopped"

    def refresh(self) -> list[CheckRow]:
        """Run the check now on the document's graph and show it (returns when it is
        done or stopped; meanwhile the window handles events)."""
        if self._running:  # asked again from inside a running check's event handling
            return self.rows
        if self.doc.withheld:  # a quiz asks for these gradients (see _withheld_changed)
            return self.rows
        self._timer.stop()
        self._stale = False
        g = self.doc.graph
        if len(g) == 0:
            self.rows = []
            self._fill()
            self._show_summary("The graph is empty: nothing to check.", problem=False)
            return self.rows
        self._running, self._stop_reason = True, ""
        self._started = self._last_events = time.perf_counter()
        self.refresh_button.setEnabled(False)
        QApplication.setOverrideCursor(Qt.BusyCursor)
        try:
            rows = gradient_check(self._one_sample(g), self.tolerance,
                                  progress=self._progress)
        except EngineError as e:
            self.rows = []
            self._fill()
            self._show_summary(f"Cannot check: {e}", problem=True)
            return self.rows
        finally:
            QApplication.restoreOverrideCursor()
            self._running = False
            self.refresh_button.setEnabled(True)
            self.stop_button.hide()
            self.progress_bar.hide()
        reason, total = self._stop_reason, self._leaf_count(g)
        if reason == "changed":
            self._show_summary("The graph changed during the check, so it was stopped: "
                               "press Check now for its new numbers.", problem=False)
            self._schedule()
            return self.rows
        self.rows = rows
        self._fill()
        self._show_summary(*self._verdict(stopped_of=total if reason == "stopped" else None))
        return self.rows

    def _one_sample(self, g):
        """The graph as the canvas shows it: with a dataset, the picked sample's function
        (the check says which sample in its summary)."""
        live = self.doc.live
        if live.batch is None:
            return g.copy()
        from engine.fast.batch import one_sample
        return one_sample(g, live.sample)

    def _progress(self, done: int, total: int) -> bool:
        """The check's callback after each leaf: show how far it is, let the window handle
        events now and then (Stop, paint, edits), and say whether to go on."""
        now = time.perf_counter()
        if now - self._last_events >= EVENTS_EVERY:
            if now - self._started >= SHOW_PROGRESS_AFTER and not self.progress_bar.isVisible():
                self.progress_bar.show()
                self.stop_button.show()
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(done)
            self._show_summary(f"Checking… {done:,} of {total:,} leaves", problem=False)
            QApplication.processEvents()
            self._last_events = time.perf_counter()
        return not self._stop_reason

    @staticmethod
    def _leaf_count(g) -> int:
        return sum(1 for nid in g.ids() if g.op_of(nid) in VARIABLE_KINDS)

    def _verdict(self, stopped_of: int | None = None) -> tuple[str, bool]:
        """The summary line for the rows shown, and whether it reports a problem."""
        failed = sum(r.status == "FAIL" for r in self.rows)
        kinks = sum(r.status == "kink" for r in self.rows)
        undefined = sum(r.status == "undefined" for r in self.rows)
        n = len(self.rows)
        if stopped_of is not None:
            head = f"Stopped after {n:,} of {stopped_of:,} leaves: "
            text = head + (f"✗ {failed} over the tolerance {self.tolerance:g}" if failed else
                           f"✓ all {n:,} checked within {self.tolerance:g}")
        elif failed:
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
        return text, bool(failed)

    # ------------------------------------------------------------ drawing
    def _show_summary(self, text: str, problem: bool) -> None:
        live = self.doc.live
        if live.batch is not None and text:
            text = f"On sample {live.sample + 1} of {live.batch.n_samples:,}: {text}"
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
