"""Insert › Network…: a dialog that builds a multilayer perceptron into the document.

The dialog only collects choices; ``engine.network.build_network`` builds the graph on a
copy of the document's graph (so ids and names are free in it) and the Document adds
the new nodes, edges and output mark as one undo step (``Document.insert_graph``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.dataset import TARGET
from engine.errors import EngineError
from engine.graph import Graph
from engine.layout import COLUMN_GAP, NODE_WIDTH
from engine.network import build_network, count, layer_sizes, parse_hidden
from gui import progress

if TYPE_CHECKING:
    from gui.document import Document
    from gui.mainwindow import MainWindow

#: the largest network offered: 2-64-64-1 has 8,967 nodes and takes about 12 s to insert
#: (the editor's figures in README, Performance, are for 10,000 nodes)
MAX_NODES = 10_000
MAX_INPUTS = 64
ACTIVATION_TITLES = {"tanh": "tanh", "sigmoid": "sigmoid", "relu": "ReLU"}
OUTPUT_TITLES = {"sigmoid": "sigmoid", "tanh": "tanh", "none": "none (identity)"}
LOSS_TITLES = {"squared_error": "squared error", "binary_cross_entropy": "binary cross-entropy"}


@dataclass(frozen=True)
class NetworkChoices:
    """What the dialog asks for, ready for ``build_network``."""

    inputs: int | tuple[str, ...]
    hidden: tuple[int, ...]
    activation: str
    output_activation: str
    loss: str
    seed: int
    target: str = TARGET

    @property
    def n_inputs(self) -> int:
        return self.inputs if isinstance(self.inputs, int) else len(self.inputs)

    def shape(self) -> str:
        """``2-4-1``."""
        return "-".join(map(str, layer_sizes(self.n_inputs, self.hidden)))


class NetworkDialog(QDialog):
    """Inputs (a count, or the dataset's columns), hidden sizes, activations, loss, seed."""

    def __init__(self, graph: Graph, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Insert Network")
        self.setObjectName("network_dialog")
        self.dataset = getattr(graph, "dataset", None)
        form = QFormLayout()
        self.inputs_spin = QSpinBox()
        self.inputs_spin.setObjectName("network_inputs")
        self.inputs_spin.setRange(1, MAX_INPUTS)
        self.inputs_spin.setValue(2)
        self.inputs_spin.setToolTip("Data leaves x1 … xn, bound to the columns of the same "
                                    "names; the target y reads the column y")
        self.columns_list = QListWidget()
        self.columns_list.setObjectName("network_columns")
        self.target_box = QComboBox()
        self.target_box.setObjectName("network_target")
        if self.dataset is None:
            form.addRow("&Inputs:", self.inputs_spin)
        else:
            names = list(self.dataset.names)
            target = TARGET if TARGET in names else names[-1]
            for name in names:
                self.target_box.addItem(name, name)
            self.target_box.setCurrentIndex(names.index(target))
            for name in names:
                item = QListWidgetItem(name)
                item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
                item.setCheckState(Qt.Checked if name in self.dataset.input_names(target)
                                   else Qt.Unchecked)
                self.columns_list.addItem(item)
            self.columns_list.setMaximumHeight(22 * min(6, len(names)) + 8)
            self.columns_list.setToolTip("The dataset columns the input data leaves read")
            form.addRow("&Input columns:", self.columns_list)
            form.addRow("&Target column:", self.target_box)
        self.hidden_edit = QLineEdit("4")
        self.hidden_edit.setObjectName("network_hidden")
        self.hidden_edit.setPlaceholderText("e.g. 4 or 8, 8 (empty: no hidden layer)")
        self.hidden_edit.setToolTip("Neurons per hidden layer, left to right: 4 or 8, 8")
        self.hidden_message = QLabel()
        self.hidden_message.setObjectName("problem")
        self.hidden_message.setWordWrap(True)
        hidden_box = QWidget()
        hidden_lay = QVBoxLayout(hidden_box)
        hidden_lay.setContentsMargins(0, 0, 0, 0)
        hidden_lay.setSpacing(2)
        hidden_lay.addWidget(self.hidden_edit)
        hidden_lay.addWidget(self.hidden_message)
        form.addRow("&Hidden layers:", hidden_box)
        self.activation_box = _combo("network_activation", ACTIVATION_TITLES, "tanh")
        form.addRow("&Activation:", self.activation_box)
        binary = self.dataset is None or self.dataset.is_binary(self._target())
        self.output_box = _combo("network_output", OUTPUT_TITLES,
                                 "sigmoid" if binary else "none")
        form.addRow("&Output activation:", self.output_box)
        self.loss_box = _combo("network_loss", LOSS_TITLES,
                               "binary_cross_entropy" if binary else "squared_error")
        form.addRow("&Loss:", self.loss_box)
        self.seed_spin = QSpinBox()
        self.seed_spin.setObjectName("network_seed")
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("The same seed gives the same initial weights")
        form.addRow("&Seed:", self.seed_spin)
        self.summary = QLabel()
        self.summary.setObjectName("network_summary")
        self.summary.setWordWrap(True)
        self.note = QLabel()
        self.note.setObjectName("network_note")
        self.note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("Insert")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.summary)
        lay.addWidget(self.note)
        lay.addWidget(self.buttons)
        for signal in (self.hidden_edit.textChanged, self.inputs_spin.valueChanged,
                       self.columns_list.itemChanged, self.target_box.currentIndexChanged,
                       self.output_box.currentIndexChanged, self.loss_box.currentIndexChanged):
            signal.connect(self._update)
        self.setMinimumWidth(420)
        self._update()

    @property
    def ok_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.Ok)

    # ---------------------------------------------------------------- choices
    def _target(self) -> str:
        return self.target_box.currentData() if self.dataset is not None else TARGET

    def _inputs(self) -> int | tuple[str, ...]:
        if self.dataset is None:
            return self.inputs_spin.value()
        return tuple(self.columns_list.item(i).text() for i in range(self.columns_list.count())
                     if self.columns_list.item(i).checkState() == Qt.Checked)

    def problem(self) -> str | None:
        """Why OK would not insert (shown under the hidden sizes), or None."""
        try:
            hidden = parse_hidden(self.hidden_edit.text())
        except ValueError as e:
            return str(e)[:1].upper() + str(e)[1:] + "."
        inputs = self._inputs()
        if isinstance(inputs, tuple):
            if not inputs:
                return "Tick at least one input column."
            if self._target() in inputs:
                return f"The target column {self._target()} cannot also be an input."
        n = inputs if isinstance(inputs, int) else len(inputs)
        nodes = count(n, hidden, self.output_box.currentData()).nodes
        if nodes > MAX_NODES:
            shape = "-".join(map(str, layer_sizes(n, hidden)))
            return (f"A {shape} network has {nodes:,} nodes; the editor stays quick up to "
                    f"{MAX_NODES:,}. Use fewer or smaller layers.")
        return None

    def choices(self) -> NetworkChoices | None:
        """The choices made, or None while they are not valid."""
        if self.problem() is not None:
            return None
        return NetworkChoices(self._inputs(), tuple(parse_hidden(self.hidden_edit.text())),
                              self.activation_box.currentData(),
                              self.output_box.currentData(), self.loss_box.currentData(),
                              self.seed_spin.value(), self._target())

    def _update(self, *_args) -> None:
        why = self.problem()
        self.hidden_message.setText(why or "")
        self.hidden_message.setVisible(why is not None)
        self.ok_button.setEnabled(why is None)
        if why is None:
            c = self.choices()
            n = count(c.n_inputs, c.hidden, c.output_activation)
            self.summary.setText(f"{c.shape()}: {n.params:,} parameters, {n.nodes:,} nodes, "
                                 f"{n.edges:,} edges")
        else:
            self.summary.setText("")
        bce = self.loss_box.currentData() == "binary_cross_entropy"
        self.note.setText("Binary cross-entropy needs a prediction between 0 and 1: a "
                          "sigmoid output gives one." if bce and
                          self.output_box.currentData() != "sigmoid" else "")
        self.note.setVisible(bool(self.note.text()))

    def accept(self) -> None:
        if self.problem() is not None:  # Enter in a field while the text is bad
            self._update()
            self.hidden_edit.setFocus()
            return
        super().accept()


def _combo(name: str, titles: dict[str, str], current: str) -> QComboBox:
    box = QComboBox()
    box.setObjectName(name)
    for key, title in titles.items():
        box.addItem(title, key)
    box.setCurrentIndex(list(titles).index(current))
    return box


def insert_network(document: "Document", choices: NetworkChoices) -> list[str]:
    """Build the network to the right of the document's nodes (at the origin in an empty
    graph) and insert it as one undo step; its loss becomes the output. Returns the ids."""
    graph = document.graph
    origin = (0.0, 0.0)
    if len(graph):
        nodes = list(graph.nodes())
        origin = (max(n.pos[0] for n in nodes) + NODE_WIDTH + COLUMN_GAP,
                  min(n.pos[1] for n in nodes))
    work = graph.copy()
    net = build_network(list(choices.inputs) if isinstance(choices.inputs, tuple)
                        else choices.inputs, list(choices.hidden), choices.activation,
                        choices.output_activation, choices.loss, choices.seed, graph=work,
                        origin=origin, target=choices.target)
    return document.insert_graph(work, net.ids, f"Insert network {choices.shape()}",
                                 output=net.loss)


def open_network_dialog(window: "MainWindow") -> NetworkDialog:
    """Insert › Network…: show the dialog (window-modal); OK inserts the network and
    fits the view to it."""
    dialog = NetworkDialog(window.doc.graph, window)
    dialog.setAttribute(Qt.WA_DeleteOnClose)

    def accepted() -> None:
        choices = dialog.choices()
        if choices is None:
            return
        try:
            with progress.scope(window, "Inserting the network…"):
                ids = insert_network(window.doc, choices)
        except (EngineError, ValueError) as e:
            window.show_error("Could not insert the network", str(e))
            return
        # not selected: a selection of thousands of nodes is slow to make and to undo
        window.canvas.fit_nodes(ids)
        n = count(choices.n_inputs, choices.hidden, choices.output_activation)
        window.show_message(f"Inserted a {choices.shape()} network: {n.params:,} parameters, "
                            f"{len(ids):,} nodes (Edit › Undo removes it)")

    dialog.accepted.connect(accepted)
    dialog.open()
    return dialog


__all__ = ["NetworkDialog", "NetworkChoices", "insert_network", "open_network_dialog",
           "MAX_NODES"]
