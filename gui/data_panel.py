"""The Data dock: the document's dataset, its columns, and which data leaf reads which.

Attaching, replacing or detaching a dataset and binding a leaf are edits (one undo step
each, through the Document); a failed import changes nothing. Columns drag onto the
canvas as data leaves bound to them.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.dataset import TARGET, DataError, Dataset
from engine.datasets import GENERATORS, generate, read_csv
from engine.labels import display_name
from engine.numfmt import fmt
from gui.document import Document
from gui.mime import COLUMN_MIME

#: menu titles of the generators, in the order the menu lists them
GENERATOR_TITLES = {"xor": "XOR", "circles": "Circles", "moons": "Two moons",
                    "spirals": "Spirals", "gaussians": "Two gaussians",
                    "linear": "Linear (regression)", "sine": "Sine (regression)"}


def describe(ds: Dataset) -> str:
    """``moons · 200 rows (160 train, 40 test)``"""
    test = int(ds.test.sum())
    split = f" ({ds.n_rows - test} train, {test} test)" if test else ""
    return f"{ds.name or 'dataset'} · {ds.n_rows:,} rows{split}"


class GenerateDialog(QDialog):
    """A built-in dataset: generator, size, noise, seed and the share held out."""

    def __init__(self, kind: str = "moons", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Generate dataset")
        form = QFormLayout(self)
        self.kind = QComboBox()
        for k, title in GENERATOR_TITLES.items():
            self.kind.addItem(title, k)
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))
        self.n = QSpinBox()
        self.n.setRange(1, 100_000)
        self.noise = QDoubleSpinBox()
        self.noise.setRange(0.0, 10.0)
        self.noise.setDecimals(3)
        self.noise.setSingleStep(0.05)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(1)
        self.test = QDoubleSpinBox()
        self.test.setRange(0.0, 0.9)
        self.test.setSingleStep(0.05)
        self.test.setDecimals(2)
        form.addRow("&Kind", self.kind)
        form.addRow("&Samples", self.n)
        form.addRow("N&oise", self.noise)
        form.addRow("S&eed", self.seed)
        form.addRow("&Test share", self.test)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828")
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.Ok)
        form.addRow(buttons)
        self.kind.currentIndexChanged.connect(self._defaults)
        self._defaults()
        self.dataset: Dataset | None = None

    def _defaults(self) -> None:
        k = self.kind.currentData()
        self.n.setValue(GENERATORS[k][1])
        self.noise.setValue(0.0 if k == "xor" else 0.1)
        self.test.setValue(0.0 if k == "xor" else 0.2)

    def _accept(self) -> None:
        try:
            self.dataset = generate(self.kind.currentData(), self.n.value(), self.noise.value(),
                                    self.seed.value(), self.test.value())
        except DataError as e:
            self.error.setText(str(e))
            return
        self.accept()


class _ColumnTree(QTreeWidget):
    """Columns; each drags onto the canvas as a data leaf."""

    def mimeData(self, items) -> QMimeData:  # noqa: N802 - Qt's name
        md = QMimeData()
        if items:
            md.setData(COLUMN_MIME, items[0].data(0, Qt.UserRole).encode("utf-8"))
        return md

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt's name
        return [COLUMN_MIME]


class DataPanel(QWidget):
    """The dataset, its columns and the data leaves' bindings."""

    #: the user asked to see a sample (a double-click on a row of the bindings)
    statusMessage = Signal(str)

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.title = QLabel()
        self.title.setWordWrap(True)
        lay.addWidget(self.title)
        row = QGridLayout()
        self.generate_button = QPushButton("Generate…")
        self.generate_button.clicked.connect(lambda: self.generate_dialog())
        self.import_button = QPushButton("Import CSV…")
        self.import_button.clicked.connect(lambda: self.import_dialog())
        self.detach_button = QPushButton("Detach")
        self.detach_button.clicked.connect(self.detach)
        # two rows: the right column is narrow (a quarter of a 1280-pixel screen)
        row.addWidget(self.generate_button, 0, 0)
        row.addWidget(self.import_button, 0, 1)
        row.addWidget(self.detach_button, 1, 0)
        lay.addLayout(row)
        hint = QLabel("Columns (drag one onto the canvas for a data leaf):")
        hint.setWordWrap(True)
        lay.addWidget(hint)
        self.columns = _ColumnTree()
        self.columns.setHeaderLabels(["column", "range", "role"])
        self.columns.setRootIsDecorated(False)
        self.columns.setDragEnabled(True)
        self.columns.setDragDropMode(QAbstractItemView.DragOnly)
        self.columns.setMinimumHeight(48)
        lay.addWidget(self.columns, 1)
        lay.addWidget(QLabel("Data leaves read:"))
        self.bindings = QTreeWidget()
        self.bindings.setHeaderLabels(["data leaf", "column"])
        self.bindings.setRootIsDecorated(False)
        self.bindings.setMinimumHeight(48)
        lay.addWidget(self.bindings, 1)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828")
        lay.addWidget(self.error)
        self._combos: dict[str, QComboBox] = {}
        doc.datasetChanged.connect(self.refresh)
        doc.graphReset.connect(self.refresh)
        doc.nodeAdded.connect(lambda _n: self._bindings_later())
        doc.nodeRemoved.connect(lambda _n: self._bindings_later())
        doc.nodeChanged.connect(self._node_changed)
        doc.resultsChanged.connect(self._results)
        self._bindings_dirty = False
        self.refresh()

    # ------------------------------------------------------------------ actions
    def generate_dialog(self, kind: str = "moons") -> bool:
        dlg = GenerateDialog(kind, self)
        if dlg.exec() != QDialog.Accepted or dlg.dataset is None:
            return False
        self.doc.set_dataset(dlg.dataset)
        return True

    def import_dialog(self, path: str | None = None) -> bool:
        """Read a CSV; on any problem say where it is and change nothing."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Import CSV", "",
                                                  "CSV files (*.csv);;All files (*)")
            if not path:
                return False
        try:
            ds = read_csv(path)
        except (DataError, OSError) as e:
            QMessageBox.warning(self, "Import CSV", str(e))
            return False
        self.doc.set_dataset(ds)
        return True

    def detach(self) -> None:
        self.doc.set_dataset(None)

    # ------------------------------------------------------------------ views
    def refresh(self) -> None:
        ds = self.doc.graph.dataset
        self.title.setText(describe(ds) if ds is not None else
                           "No dataset: every node holds one value. Generate one or "
                           "import a CSV to train on many samples.")
        self.detach_button.setEnabled(ds is not None)
        self.columns.clear()
        if ds is not None:
            for name, col in ds.columns.items():
                role = ("target, 0/1" if ds.is_binary(name) else "target") \
                    if name == TARGET else "input"
                lo, hi = (fmt(float(col.min())), fmt(float(col.max()))) if len(col) else ("", "")
                it = QTreeWidgetItem([name, f"{lo} … {hi}", role])
                it.setData(0, Qt.UserRole, name)
                it.setToolTip(0, f"Drag {name} onto the canvas: a data leaf bound to it")
                self.columns.addTopLevelItem(it)
            for i in range(3):
                self.columns.resizeColumnToContents(i)
        self._fill_bindings()
        self._results()

    def _node_changed(self, nid: str) -> None:
        """A rename or a change of kind may touch the bindings; a value change (every
        tick of a slider) cannot, and rebuilding them scanned every node."""
        g = self.doc.graph
        if nid in self._combos or (nid in g and g.op_of(nid) == "data"):
            self._bindings_later()

    def _bindings_later(self) -> None:
        if not self._bindings_dirty:
            self._bindings_dirty = True
            from PySide6.QtCore import QTimer
            QTimer.singleShot(0, self._fill_bindings)

    def _fill_bindings(self) -> None:
        self._bindings_dirty = False
        g, ds = self.doc.graph, self.doc.graph.dataset
        self.bindings.clear()
        self._combos.clear()
        names = ds.names if ds is not None else []
        for nid in g.data_leaves():
            col = g.column_of(nid)
            it = QTreeWidgetItem([display_name(g, nid), ""])
            self.bindings.addTopLevelItem(it)
            box = QComboBox()
            choices = list(names) + ([col] if col not in names else [])
            for c in choices:
                box.addItem(c if c in names else f"{c} (missing)", c)
            box.setCurrentIndex(choices.index(col))
            box.activated.connect(lambda i, n=nid, b=box: self.doc.bind(n, b.itemData(i)))
            self.bindings.setItemWidget(it, 1, box)
            self._combos[nid] = box
        self.bindings.resizeColumnToContents(0)

    def _results(self) -> None:
        live = self.doc.live
        self.error.setText(live.data_error or "")
        if self.doc.graph.dataset is not None and not self.doc.graph.data_leaves():
            self.error.setText("No data leaf reads this dataset yet: drag a column onto the "
                               "canvas, or make an input a data leaf in the Inspector.")
