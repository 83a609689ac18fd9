"""The toolbar's sample picker: which dataset row the canvas shows, or the batch means.

Picking is not an edit: nothing goes on the undo stack and the document stays as it was
saved. The picker is disabled while the graph is evaluated as one sample.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QSpinBox, QWidget

from gui.document import Document


class SamplePicker(QWidget):
    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        self.label = QLabel("Sample")
        self.spin = QSpinBox()
        self.spin.setObjectName("sample_spin")
        self.spin.setToolTip("Which sample's numbers the nodes and edges show (dataset row)")
        self.spin.setKeyboardTracking(False)
        self.spin.setMaximumWidth(90)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setObjectName("sample_slider")
        self.slider.setFixedWidth(110)
        self.slider.setToolTip(self.spin.toolTip())
        self.of = QLabel()
        self.mean = QCheckBox("Batch mean")
        self.mean.setObjectName("batch_mean")
        self.mean.setToolTip("Show every number's mean over the training samples instead of "
                             "one sample's")
        for w in (self.label, self.spin, self.slider, self.of, self.mean):
            lay.addWidget(w)
        lay.addStretch(1)
        self.spin.valueChanged.connect(self._spun)
        self.slider.valueChanged.connect(self._slid)
        self.mean.toggled.connect(lambda on: doc.pick_sample(means=on))
        doc.resultsChanged.connect(self.sync)
        self.sync()

    def _spun(self, v: int) -> None:
        if self.slider.value() != v:
            self.slider.setValue(v)
        if self.doc.live.sample != v - 1:
            self.doc.pick_sample(v - 1)

    def _slid(self, v: int) -> None:
        if self.spin.value() != v:
            self.spin.setValue(v)

    def sync(self) -> None:
        b = self.doc.result.batch
        on = b is not None
        for w in (self.label, self.spin, self.slider, self.of, self.mean):
            w.setEnabled(on)
        if not on:
            self.of.setText("of 1")
            return
        rows = b.rows
        for w in (self.spin, self.slider):
            w.blockSignals(True)
            w.setRange(1, rows)
            w.setValue(self.doc.live.sample + 1)
            w.blockSignals(False)
        self.of.setText(f"of {rows:,}" + (" (test)" if b.test else ""))
        self.mean.blockSignals(True)
        self.mean.setChecked(self.doc.live.show_means)
        self.mean.blockSignals(False)
        self.spin.setEnabled(not self.doc.live.show_means)
        self.slider.setEnabled(not self.doc.live.show_means)
