"""The inspector dock: the selected node's name, kind, value, formula and local derivatives.

Numbers are shown at full precision (engine.numfmt.full) because this is where a
learner checks the canvas's rounded labels. Edits go through the Document, so each
is one undo step; a slider drag passes one merge id so the whole drag is one step.
"""

from __future__ import annotations

import itertools
import math

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from engine.labels import derivative_rows, grad_symbol, node_formula
from engine.ops import LEAF_KINDS, OPS
from engine.numfmt import full
from gui.document import Document

SLIDER_STEPS = 1000
HINT = ("Drag an op from the palette (or press Tab on the canvas) to add a node. Drag from a "
        "node's output port (right) to an input port (left) to connect. Every edge shows its "
        "local derivative and the product ∂L/∂target × local.")
_merge_ids = itertools.count(1)


def parse_number(text: str) -> float:
    """A typed number: accepts the typographic minus and ``inf``/``nan`` spellings (so a
    caller can say why a non-finite one is refused, rather than "not a number")."""
    t = text.strip().replace("−", "-").replace("∞", "inf").replace(",", ".") if text else ""
    t = t.replace("NaN", "nan")
    return float(t)


class Inspector(QScrollArea):
    """Shows and edits one selected node; says how many when several are selected."""

    #: the editable fields (their Ctrl+Z goes to the document when nothing is pending);
    #: a class default, as QScrollArea filters events before __init__ has run
    _fields: tuple = ()

    #: a refused edit, said where it is seen even when the dock is short (the status bar)
    statusMessage = Signal(str)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.nid: str | None = None
        self.count = 0
        self._merge: int | None = None
        self._updating = False
        self.setWidgetResizable(True)
        body = QWidget()
        self.setWidget(body)
        outer = QVBoxLayout(body)
        outer.setContentsMargins(8, 8, 8, 8)

        self.heading = QLabel("Nothing selected")
        self.heading.setObjectName("heading")
        self.heading.setWordWrap(True)
        outer.addWidget(self.heading)
        self.hint = QLabel(HINT)
        self.hint.setWordWrap(True)
        outer.addWidget(self.hint)

        self.form_box = QWidget()
        form = self.form = QFormLayout(self.form_box)
        form.setContentsMargins(0, 0, 0, 0)
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("A Python-style name: letters, digits and _")
        form.addRow("Name", self.name_edit)
        self.kind_combo = QComboBox()
        for kind in LEAF_KINDS:
            self.kind_combo.addItem(OPS[kind].title, kind)
        self.kind_combo.setToolTip("Input: a value you set. Parameter: trained. Constant: "
                                   "fixed. Data: one column of the dataset, a value per "
                                   "sample.")
        self.kind_label = QLabel("Kind")
        form.addRow(self.kind_label, self.kind_combo)
        # a data leaf's column (the dataset's columns, or the bound name when missing)
        self.column_combo = QComboBox()
        self.column_combo.setObjectName("column")
        self.column_combo.setToolTip("The dataset column this data leaf reads, one value "
                                     "per sample")
        self.column_label = QLabel("Column")
        form.addRow(self.column_label, self.column_combo)
        self.value_edit = QLineEdit()
        self.value_edit.setToolTip("Type a number and press Enter (full precision)")
        self.value_label = QLabel("Value")
        form.addRow(self.value_label, self.value_edit)
        # an op's fixed number: the exponent of a power node (x ** 3)
        self.attr_edit = QLineEdit()
        self.attr_edit.setToolTip("The fixed exponent n of xⁿ: type a number, press Enter")
        self.attr_label = QLabel("Exponent")
        form.addRow(self.attr_label, self.attr_edit)

        self.slider_box = QWidget()
        sl = QGridLayout(self.slider_box)
        sl.setContentsMargins(0, 0, 0, 0)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.min_edit = QLineEdit("-5")
        self.max_edit = QLineEdit("5")
        for e, tip in ((self.min_edit, "Slider minimum"), (self.max_edit, "Slider maximum")):
            e.setMaximumWidth(56)
            e.setToolTip(tip)
        sl.addWidget(self.min_edit, 0, 0)
        sl.addWidget(self.slider, 0, 1)
        sl.addWidget(self.max_edit, 0, 2)
        form.addRow("Slide", self.slider_box)
        outer.addWidget(self.form_box)

        self.formula = QLabel()
        self.formula.setObjectName("formula")
        self.formula.setWordWrap(True)
        self.formula.setTextInteractionFlags(Qt.TextSelectableByMouse)
        outer.addWidget(self.formula)

        self.numbers = QLabel()
        self.numbers.setWordWrap(True)
        self.numbers.setTextInteractionFlags(Qt.TextSelectableByMouse)
        outer.addWidget(self.numbers)

        self.derivs_box = QGroupBox("Local derivatives")
        self.derivs = QLabel()
        self.derivs.setWordWrap(True)
        self.derivs.setTextInteractionFlags(Qt.TextSelectableByMouse)
        QVBoxLayout(self.derivs_box).addWidget(self.derivs)
        outer.addWidget(self.derivs_box)

        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        outer.addWidget(self.problem)

        row = QHBoxLayout()
        self.output_button = QPushButton("Mark as output")
        self.output_button.setToolTip("Backpropagate from this node: it becomes L")
        row.addWidget(self.output_button)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(1)

        self._fields = (self.name_edit, self.value_edit, self.attr_edit)
        for field in self._fields:
            field.installEventFilter(self)
            # what was typed is committed with Enter (or focus loss): not pending any more
            field.editingFinished.connect(lambda f=field: f.setModified(False))
        self.name_edit.editingFinished.connect(self._rename)
        self.kind_combo.activated.connect(self._kind)
        self.column_combo.activated.connect(self._column)
        self.value_edit.editingFinished.connect(self._typed_value)
        self.attr_edit.editingFinished.connect(self._typed_attr)
        self.slider.sliderPressed.connect(self._slide_start)
        self.slider.sliderReleased.connect(self._slide_end)
        self.slider.valueChanged.connect(self._slid)
        self.min_edit.editingFinished.connect(self._sync_slider)
        self.max_edit.editingFinished.connect(self._sync_slider)
        self.output_button.clicked.connect(self._mark_output)
        document.resultsChanged.connect(self.refresh)
        document.withheldChanged.connect(self.refresh)
        document.graphReset.connect(self._graph_reset)
        document.nodeRemoved.connect(self._removed)
        self.refresh()

    # ------------------------------------------------------------ selection
    def set_selection(self, ids: list[str]) -> None:
        ids = [i for i in ids if i in self.doc.graph]
        self.count = len(ids)
        self.nid = ids[0] if len(ids) == 1 else None
        self.refresh()

    def _graph_reset(self) -> None:
        self.set_selection([])  # ids of the old graph mean other nodes in the new one

    def _removed(self, nid: str) -> None:
        if nid == self.nid:
            self.nid = None
            self.count = 0

    # -------------------------------------------------------------- display
    def refresh(self) -> None:
        self._updating = True
        try:
            self._show()
        finally:
            self._updating = False

    def _show(self) -> None:
        g, r = self.doc.graph, self.doc.result
        nid = self.nid if self.nid in g else None
        self.problem.setText("")
        if nid is None:
            self.heading.setText(f"{self.count} nodes selected" if self.count > 1 else
                                 "Nothing selected — click a node to inspect it")
            self.hint.setVisible(self.count <= 1)
            for w in (self.form_box, self.formula, self.numbers, self.derivs_box,
                      self.output_button):
                w.setVisible(False)
            return
        self.hint.setVisible(False)
        node = g.node(nid)
        spec = OPS[node.op]
        is_out = r.output == nid
        self.heading.setText(f"{spec.symbol_for(node.attrs)}  {spec.title}"
                             + ("  · output (L)" if is_out else ""))
        self.form_box.setVisible(True)
        self._show_text(self.name_edit, node.name)
        for w in (self.kind_combo, self.value_edit, self.slider_box):
            self.form.setRowVisible(w, spec.is_leaf)
        self.form.setRowVisible(self.column_combo, node.op == "data")
        if node.op == "data":
            names = g.dataset.names if g.dataset is not None else []
            choices = names + ([node.column] if node.column not in names else [])
            self.column_combo.clear()
            for c in choices:
                self.column_combo.addItem(c if c in names else f"{c} (no such column yet)", c)
            self.column_combo.setCurrentIndex(choices.index(node.column))
        # with a dataset, a data leaf's value is its column's: typing one would mislead
        data_bound = node.op == "data" and r.batch is not None
        self.value_edit.setReadOnly(data_bound)
        self.slider_box.setEnabled(not data_bound)
        self.form.setRowVisible(self.attr_edit, bool(spec.attrs))
        if spec.attrs:
            attr = spec.attr_names[0]
            self.attr_label.setText(attr.capitalize())
            self._show_text(self.attr_edit, full(node.attrs[attr]))
        nr = r.nodes.get(nid)
        if spec.is_leaf:
            self.kind_combo.setCurrentIndex(self.kind_combo.findData(node.op))
            self._show_text(self.value_edit, full(node.value))
            if not self.slider.isSliderDown():
                self._widen_range(node.value)
                self._place_slider(node.value)
        self.formula.setVisible(True)
        self.formula.setText(node_formula(g, nid))
        self.numbers.setVisible(True)
        if self.doc.withheld:  # a quiz asks for them: only what the canvas shows
            self.numbers.setText(f"Numbers hidden — {self.doc.withheld}.")
            self.derivs_box.setVisible(False)
            self.problem.setText("")
            self.output_button.setVisible(True)
            self.output_button.setEnabled(not (g.output == nid))
            self.output_button.setText("Output (L) ✓" if g.output == nid else "Mark as output")
            return
        lines = [f"value = {full(nr.value) if nr else '?'}"]
        if nr is not None and nr.grad is None:
            lines.append("a constant: it has no gradient")
        elif r.output is None:
            lines.append("no gradient yet: mark a node as the output")
        elif nr is not None and nr.on_path:
            lines.append(f"{grad_symbol(g, r, nid)} = {full(nr.grad)}")
        else:
            lines.append(f"{grad_symbol(g, r, nid)} = 0 (does not feed the output)")
        b = r.batch
        if b is not None:
            which = "batch means" if b.sample is None else f"sample {b.sample + 1}"
            lines[0] += f"   ({which})"
            if nid in b.param_grads:
                lines.append(f"batch gradient (mean over {b.n:,}) = {full(b.param_grads[nid])}")
            if is_out:
                lines.append(f"mean over {b.n:,} samples = {full(b.mean_loss)}")
        self.numbers.setText("\n".join(lines))
        rows = derivative_rows(g, r, nid) if not spec.is_leaf else []
        self.derivs_box.setVisible(not spec.is_leaf)
        if not spec.is_leaf:
            text = []
            for port, src in g.inputs(nid):
                er = r.edges.get((src, nid, port))
                label = spec.port_label(port)
                if er is not None and er.local is None:
                    text.append(f"{label}: from a constant, not differentiated")
                    continue
                num = full(er.local) if er else "?"
                formula = next((f for pl, f, _ in rows if pl == label), "")
                text.append(f"{label}: {formula} = {num}")
                if er is not None and er.reason:
                    text.append(f"    ⚠ {er.reason}")
            fed = {p for p, _ in g.inputs(nid)}
            for port in spec.ports:
                if port not in fed:
                    text.append(f"{spec.port_label(port)}: not connected")
            self.derivs.setText("\n".join(text) if text else "no inputs yet")
        problems = []
        if nr is not None and nr.reason:
            problems.append(f"⚠ value: {nr.reason}")
        if nr is not None and nr.grad is not None and nr.grad_reason:
            problems.append(f"⚠ gradient: {nr.grad_reason}")
        self.problem.setText("\n".join(problems))
        self.output_button.setVisible(True)
        self.output_button.setEnabled(not (g.output == nid))
        self.output_button.setText("Output (L) ✓" if g.output == nid else "Mark as output")

    # ------------------------------------------------------------- slider
    def _range(self) -> tuple[float, float]:
        try:
            lo, hi = parse_number(self.min_edit.text()), parse_number(self.max_edit.text())
        except ValueError:
            lo, hi = -5.0, 5.0
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
            lo, hi = -5.0, 5.0
        return lo, hi

    def set_range(self, lo: float, hi: float) -> None:
        self.min_edit.setText(full(lo).replace("−", "-"))
        self.max_edit.setText(full(hi).replace("−", "-"))
        self._sync_slider()

    def _widen_range(self, v: float) -> None:
        if not math.isfinite(v):
            return
        lo, hi = self._range()
        if v < lo or v > hi:
            span = max(abs(v) * 2.0, 1.0)
            self.min_edit.setText(full(min(lo, -span)).replace("−", "-"))
            self.max_edit.setText(full(max(hi, span)).replace("−", "-"))

    def _place_slider(self, v: float) -> None:
        lo, hi = self._range()
        pos = 0 if not math.isfinite(v) else round((v - lo) / (hi - lo) * SLIDER_STEPS)
        self.slider.blockSignals(True)
        self.slider.setValue(max(0, min(SLIDER_STEPS, pos)))
        self.slider.blockSignals(False)

    def slider_value(self, pos: int) -> float:
        """The value a slider position stands for, rounded to the step so it reads cleanly."""
        lo, hi = self._range()
        step = (hi - lo) / SLIDER_STEPS
        v = lo + pos * step
        digits = max(0, 1 - math.floor(math.log10(step))) if step > 0 else 6
        return round(v, digits)

    def _sync_slider(self) -> None:
        if self.nid in self.doc.graph and OPS[self.doc.graph.op_of(self.nid)].is_leaf:
            self._place_slider(self.doc.graph.node(self.nid).value)

    def _slide_start(self) -> None:
        self._merge = next(_merge_ids)

    def _slide_end(self) -> None:
        self._merge = None

    def _slid(self, pos: int) -> None:
        if self._updating or self.nid not in self.doc.graph:
            return
        merge = self._merge if self._merge is not None else next(_merge_ids)
        self.doc.set_value(self.nid, self.slider_value(pos), merge_id=merge)

    # -------------------------------------------------------------- edits
    def _show_text(self, field: QLineEdit, text: str) -> None:
        """Show the document's value in a field — also while it has the focus, unless
        the user has typed something there that is not committed yet (an undo from the
        toolbar must not leave the undone number in the box)."""
        if field.hasFocus() and field.isModified():
            return
        if field.text() != text:
            field.setText(text)  # (clears the modified flag)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        """Ctrl+Z / Ctrl+Shift+Z in a field with nothing uncommitted undo the document's
        last edit (the field would only undo its own text)."""
        if obj in self._fields and event.type() == QEvent.ShortcutOverride and (
                event.matches(QKeySequence.Undo) or event.matches(QKeySequence.Redo)):
            if not obj.isModified():
                event.ignore()  # not the field's: the window's Undo / Redo shortcut runs
                return True
        return super().eventFilter(obj, event)

    def _rename(self) -> None:
        if self._updating or self.nid not in self.doc.graph:
            return
        name = self.name_edit.text().strip()
        why = self.doc.rename(self.nid, name)
        if why:
            self.problem.setText(f"⚠ {why}")
            self.name_edit.setText(self.doc.graph.name_of(self.nid))

    def _column(self, index: int) -> None:
        if self._updating or self.nid is None:
            return
        self.doc.bind(self.nid, self.column_combo.itemData(index))

    def _kind(self, index: int) -> None:
        if self.nid in self.doc.graph:
            self.doc.set_kind(self.nid, self.kind_combo.itemData(index))

    def _typed_value(self) -> None:
        if self._updating or self.nid not in self.doc.graph:
            return
        text = self.value_edit.text()
        try:
            v = parse_number(text)
            self.doc.set_value(self.nid, v)  # refuses NaN and ±∞: the editor's policy
        except ValueError as e:
            typed = repr(text.strip())
            why = f"{e}, not {typed}" if "finite" in str(e) else f"{typed} is not a number"
            kept = full(self.doc.graph.node(self.nid).value)
            self.problem.setText(f"⚠ {why}; the value stays {kept}")
            self.statusMessage.emit(f"{why[0].upper()}{why[1:]}; the value stays {kept}")
            self.value_edit.setText(kept)
            return
        self._widen_range(v)
        self._sync_slider()

    def _typed_attr(self) -> None:
        if self._updating or self.nid not in self.doc.graph:
            return
        spec = OPS[self.doc.graph.op_of(self.nid)]
        if not spec.attrs:
            return
        attr = spec.attr_names[0]
        text = self.attr_edit.text()
        try:
            v = parse_number(text)
            self.doc.set_attr(self.nid, attr, v)
        except ValueError:
            self.problem.setText(f"⚠ the {attr} must be a finite number, not {text!r}")
            self.attr_edit.setText(full(self.doc.graph.attrs_of(self.nid)[attr]))

    def _mark_output(self) -> None:
        if self.nid in self.doc.graph:
            self.doc.set_output(self.nid)


__all__ = ["Inspector", "parse_number"]
