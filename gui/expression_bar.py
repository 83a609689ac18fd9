"""The expression bar above the canvas: type ``y = (3*x + 1)**2``, press Enter, see the graph.

It speaks the engine's expression language (engine/expr.py), the same one as
``main.py eval --expr``, so the editor and the command line build the same graph.
A rejected expression never reaches the document: the error is shown under the
bar with a caret under the offending column, and the undo stack is untouched.

Values: ``x = 2; y = (3*x + 1)**2`` sets x in the text. A name left free keeps
the value (and input/param kind) of the leaf with that name in the current graph,
so editing the formula does not reset the numbers the learner has set.
"""

from __future__ import annotations

import ast
import html

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QFontDatabase, QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine import fileformat
from engine.errors import EngineError, ExpressionError
from engine.expr import parse, to_expression
from engine.graph import Graph
from engine.layout import COLUMN_GAP, NODE_WIDTH
from engine.names import pretty
from engine.numfmt import fmt
from gui.document import Document

HISTORY_KEY = "expressionHistory"
MAX_HISTORY = 50
#: a document with more nodes than this opens with an empty bar (a one-line wall of text helps nobody)
MAX_SHOWN_NODES = 40
#: characters of the expression shown either side of the error's column
ERROR_CONTEXT = 50


class ExpressionEdit(QLineEdit):
    """One line of expression text: Enter builds, Shift/Ctrl+Enter inserts beside,
    Up/Down walk the history, Escape gives the keyboard back to the canvas."""

    submitted = Signal(bool)  # True: insert beside the current graph
    escaped = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history: list[str] = []
        self._pos = 0          # index into history; len(history) means "the draft"
        self._draft = ""

    def remember(self, text: str) -> None:
        if text in self.history:
            self.history.remove(text)
        self.history.append(text)
        del self.history[:-MAX_HISTORY]
        self._pos = len(self.history)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        key, mods = event.key(), event.modifiers()
        if key in (Qt.Key_Return, Qt.Key_Enter):
            self.submitted.emit(bool(mods & (Qt.ShiftModifier | Qt.ControlModifier)))
            event.accept()
        elif key == Qt.Key_Escape:
            self.escaped.emit()
            event.accept()
        elif key in (Qt.Key_Up, Qt.Key_Down) and self.history:
            self._walk(-1 if key == Qt.Key_Up else 1)
            event.accept()
        else:
            super().keyPressEvent(event)

    def _walk(self, step: int) -> None:
        if self._pos == len(self.history):
            self._draft = self.text()
        self._pos = max(0, min(len(self.history), self._pos + step))
        self.setText(self.history[self._pos] if self._pos < len(self.history) else self._draft)


class ExpressionBar(QWidget):
    """Expression text ↔ the document's graph, each way in one action."""

    #: after a successful build: the new node ids and whether they were inserted beside
    built = Signal(list, bool)
    escaped = Signal()

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("expression_bar")
        self.doc = document
        self.label = QLabel("f =")
        self.label.setObjectName("expression_label")
        self.edit = ExpressionEdit()
        self.edit.setObjectName("expression_edit")
        mono = QFontDatabase.systemFont(QFontDatabase.FixedFont)
        self.edit.setFont(mono)
        self.edit.setPlaceholderText("y = (3*x + 1)**2      or      x = 2; y = (3*x + 1)**2")
        self.edit.setToolTip(
            "An expression in the engine's language (+ − * / ** and ops such as sigmoid(x)).\n"
            "Enter: build it, replacing the graph (one undo step).\n"
            "Shift+Enter: insert it beside the current graph.\n"
            "Up/Down: earlier expressions.   Escape: back to the canvas.\n"
            "Give values in the text (x = 2; …) or keep them: a free name takes the value\n"
            "of the leaf with that name in the current graph.")
        self.build_button = QPushButton("Build")
        self.build_button.setToolTip("Replace the graph with this expression (Enter)")
        self.insert_button = QPushButton("Insert beside")
        self.insert_button.setToolTip("Add this expression beside the current graph (Shift+Enter)")
        self.from_graph_button = QPushButton("From graph")
        self.from_graph_button.setToolTip("Write the current graph into the bar as an expression")
        self.message = QLabel()
        self.message.setObjectName("expression_message")
        self.message.setFont(mono)
        self.message.setTextFormat(Qt.RichText)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.message.setWordWrap(False)
        self.message.hide()
        self.error: ExpressionError | None = None
        #: ids of free leaves in the last built graph that took the old graph's values
        self.kept: list[str] = []
        self.label.setMinimumWidth(self.label.fontMetrics().horizontalAdvance(
            "Expression") + 6)
        self.label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label)
        row.addWidget(self.edit, 1)
        row.addWidget(self.build_button)
        row.addWidget(self.insert_button)
        row.addWidget(self.from_graph_button)
        col = QVBoxLayout(self)
        col.setContentsMargins(6, 4, 6, 4)
        col.setSpacing(2)
        col.addLayout(row)
        col.addWidget(self.message)

        self.edit.submitted.connect(self.submit)
        self.edit.escaped.connect(self.escaped)
        self.edit.textChanged.connect(self._text_changed)
        self.build_button.clicked.connect(lambda: self.submit(False))
        self.insert_button.clicked.connect(lambda: self.submit(True))
        self.from_graph_button.clicked.connect(self.from_graph)
        document.graphReset.connect(self._document_opened)
        self._load_history()

    # ------------------------------------------------------------ actions
    def text(self) -> str:
        return self.edit.text()

    def set_text(self, text: str) -> None:
        self.edit.setText(text)

    def submit(self, insert: bool = False) -> bool:
        """Build the typed expression into the document; False (document untouched) on error."""
        text = self.edit.text()
        try:
            graph = self.build_graph(text)
        except ExpressionError as e:
            self.show_error(e, text)
            return False
        if insert and len(self.doc.graph):
            ids = self._insert_beside(graph, text)
        else:
            self.doc.replace_graph(graph, text)
            ids = list(graph.ids())
            insert = False
        self.edit.remember(text)
        self._save_history()
        self._show_built(graph, text, insert)
        self.built.emit(ids, insert)
        return True

    def build_graph(self, text: str) -> Graph:
        """Parse and lay out; free names keep the value and kind of the current graph's leaf."""
        graph = parse(text, layout=True)
        assigned = _assigned_names(text)
        old = self.doc.graph
        self.kept = []
        if assigned is None:  # too deep to read twice: keep the text's own values
            return graph
        for nid in graph.ids():
            name = graph.name_of(nid)
            if graph.op_of(nid) != "input" or name in assigned:
                continue
            oid = old.id_of(name)
            if oid is None or old.op_of(oid) not in ("input", "param"):
                continue
            graph.set_value(nid, old.nx.nodes[oid]["value"])
            if old.op_of(oid) == "param":
                graph.set_kind(nid, "param")
            self.kept.append(nid)
        return graph

    def from_graph(self) -> bool:
        """Write the current graph into the bar (one line, statements joined by ``;``)."""
        try:
            text = to_expression(self.doc.graph) if len(self.doc.graph) else ""
        except (ValueError, EngineError) as e:
            self._show_message(f"The graph cannot be written as an expression: {e}", "problem")
            return False
        self.edit.setText("; ".join(line for line in text.splitlines() if line.strip()))
        self.edit.setCursorPosition(len(self.edit.text()))
        self.clear_message()
        return True

    def _document_opened(self) -> None:
        """Another document (New, Open, an example): the bar shows its function, when it
        is short enough to read on one line, with no message left from the last one."""
        self.clear_message()
        g = self.doc.graph
        if not len(g) or len(g) > MAX_SHOWN_NODES:
            self.edit.clear()
            return
        try:
            text = "; ".join(line for line in to_expression(g).splitlines() if line.strip())
        except (ValueError, EngineError):
            text = ""
        self.edit.setText(text)
        self.edit.setCursorPosition(0)

    def _insert_beside(self, graph: Graph, text: str) -> list[str]:
        """Paste the new graph to the right of the current one; one undo step. When the
        old output was found from the only sink, it is pinned, so adding a second sink
        does not leave the document without an output."""
        old = self.doc.graph
        right = max(n.pos[0] for n in old.nodes()) + NODE_WIDTH + COLUMN_GAP
        top = min(n.pos[1] for n in old.nodes())
        left0 = min(n.pos[0] for n in graph.nodes())
        top0 = min(n.pos[1] for n in graph.nodes())
        pin = None
        if old.output is None:
            try:
                pin = old.resolve_output()
            except EngineError:
                pin = None
        stack = self.doc.undo_stack
        stack.beginMacro(f"Insert {_short(text)}")
        try:
            if pin is not None:
                self.doc.set_output(pin)
            ids = self.doc.paste(fileformat.to_dict(graph), (right - left0, top - top0))
        finally:
            stack.endMacro()
        return ids

    # ------------------------------------------------------------ messages
    def show_error(self, e: ExpressionError, text: str) -> None:
        """The text around the error, a caret under its column, and the reason."""
        self.error = e
        lines = text.splitlines() or [""]
        line = lines[e.line - 1] if 1 <= e.line <= len(lines) else ""
        col = max(1, e.col)
        start = max(0, col - 1 - ERROR_CONTEXT)
        end = col - 1 + ERROR_CONTEXT
        snippet = line[start:end]
        lead = "…" if start > 0 else ""
        tail = "…" if end < len(line) else ""
        caret_at = len(lead) + col - 1 - start
        where = f"column {e.col}" if len(lines) == 1 else f"line {e.line}, column {e.col}"
        body = (_esc(lead + snippet + tail) + "<br>" + "&nbsp;" * caret_at
                + f"<b>^</b> {_esc(where)}: {_esc(e.reason)}")
        self._show_message(body, "problem", rich=True)
        if e.line == 1 or len(lines) == 1:
            self.edit.setCursorPosition(min(col - 1, len(self.edit.text())))
        self.edit.setFocus()

    def clear_message(self) -> None:
        self.error = None
        self.message.clear()
        self.message.hide()

    def _show_message(self, text: str, kind: str, rich: bool = False) -> None:
        self.message.setObjectName("problem" if kind == "problem" else "expression_message")
        colour = ("#e53935" if kind == "problem"
                  else self.palette().color(QPalette.PlaceholderText).name())
        content = text if rich else _esc(text)
        self.message.setText(f"<span style='color:{colour}; white-space:pre'>{content}</span>")
        self.message.show()

    def _show_built(self, graph: Graph, text: str, inserted: bool) -> None:
        self.error = None
        parts = []
        out = graph.output
        if out is not None:
            parts.append(f"{'Inserted' if inserted else 'Built'} {pretty(graph.name_of(out))}: "
                         f"{len(graph)} nodes")
        kept = [f"{pretty(graph.name_of(n))} = {fmt(graph.nx.nodes[n]['value'], 6)}"
                for n in self.kept]
        if kept:
            parts.append("kept from the previous graph: " + ", ".join(kept))
        assigned = _assigned_names(text) or set()
        zero = [graph.name_of(n) for n in graph.ids()
                if graph.op_of(n) in ("input", "param") and n not in self.kept
                and graph.nx.nodes[n]["value"] == 0 and graph.name_of(n) not in assigned]
        if zero:
            parts.append(f"{', '.join(pretty(z) for z in zero)} = 0: set "
                         f"{'it' if len(zero) == 1 else 'them'} in the Inspector, "
                         f"or write {zero[0]} = 2; … in the bar")
        self._show_message(" · ".join(parts), "info")

    def _text_changed(self, text: str) -> None:
        # a bare expression becomes the output f, so the label completes the statement;
        # with an assignment in the text, the text names its own output
        self.label.setText("Expression" if "=" in text else "f =")
        if self.error is not None:
            self.clear_message()

    # ------------------------------------------------------------ history
    def _load_history(self) -> None:
        value = QSettings().value(HISTORY_KEY, [])
        if isinstance(value, str):
            value = [value]
        for item in value or []:
            self.edit.remember(str(item))

    def _save_history(self) -> None:
        QSettings().setValue(HISTORY_KEY, list(self.edit.history))


def _assigned_names(text: str) -> set[str] | None:
    """Names given a value or formula in the text (never overridden); None if unreadable."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return {t.id for node in tree.body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:39] + "…"


def _esc(text: str) -> str:
    return html.escape(text, quote=False).replace(" ", "&nbsp;")


__all__ = ["ExpressionBar", "ExpressionEdit"]
