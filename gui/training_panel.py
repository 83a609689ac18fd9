"""The training dock: gradient descent on the graph's ``param`` leaves, watched live.

The arithmetic is engine.train's (one place for ``w ← w − η·∂L/∂w``). A run of N
steps works on a copy of the graph in chunks on a QTimer, so the window keeps
answering and Stop works; only the final values reach the Document, as one undo
step. Any edit of the graph during a run stops it without applying its values,
because they were computed for a graph that no longer exists.
"""

from __future__ import annotations

import html
import math
import time

import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QComboBox,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine import train
from engine.errors import EngineError
from engine.graph import Graph
from engine.labels import display_name
from engine.numfmt import fmt
from gui import progress
from gui.plot_theme import follow_theme
from gui.document import Document
from gui.inspector import parse_number

DEFAULT_LR = 0.1
DEFAULT_STEPS = 200
MAX_STEPS = 1_000_000
#: wall time per timer tick spent stepping; the rest of the tick is the event loop's
_CHUNK_SECONDS = 0.03
#: one colour per param curve, readable on the light and the dark theme
CURVE_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#17becf",
                 "#e377c2", "#8c564b", "#bcbd22", "#7f7f7f")


def _paren(x: float) -> str:
    """A number as a factor: negatives in parentheses, as the tutorial writes ``0.1 × (−0.84)``."""
    s = fmt(x)
    return f"({s})" if s.startswith("−") else s


def update_line(graph: Graph, out: str, u: train.Update, lr: float) -> str:
    """``w₁ ← w₁ − η·∂L/∂w₁ = 0.5 − 0.1 × (−0.84) = 0.584``"""
    w = display_name(graph, u.id)
    L = display_name(graph, out)
    return (f"{w} ← {w} − η·∂{L}/∂{w} = {fmt(u.old)} − {fmt(lr)} × {_paren(u.grad)} "
            f"= {fmt(u.new)}")


class _StepAxis(pg.AxisItem):
    """Step numbers are whole: no ticks at 0.2, 0.4, … when there are few steps."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float):  # noqa: N802, N803
        levels = [(s, o) for s, o in super().tickSpacing(minVal, maxVal, size) if s >= 1]
        return levels or [(1.0, 0.0)]


class _Run:
    """A Train-N run in progress: the graph copy it steps and how far it got."""

    def __init__(self, graph: Graph, lr: float, total: int,
                 trainer: "train.Trainer | None" = None) -> None:
        self.graph = graph
        self.lr = lr
        self.total = total
        self.done = 0
        #: set when the run uses an optimizer over a dataset (engine.train.Trainer)
        self.trainer = trainer


class TrainingPanel(QWidget):
    """Learning rate, Step, Train N / Stop, Reset; loss and parameter plots; the last update."""

    #: a Train-N run ended (finished, stopped or aborted); the argument is the steps applied
    runEnded = Signal(int)
    #: the loss and accuracy history grew (for the Data view's curves)
    historyChanged = Signal()
    #: param values reached by a run in progress (id → value), for a live decision boundary
    paramsPreview = Signal(dict)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self._run: _Run | None = None
        self._applying = False
        self._last_step: train.TrainStep | None = None
        #: param values before this training session began (what Reset restores)
        self.start_values: dict[str, float] | None = None
        #: param values right after the panel's last change; anything else means a new session
        self._last_values: dict[str, float] | None = None
        self.losses: list[float] = []
        self.values: dict[str, list[float]] = {}
        #: per step with a dataset: train accuracy; test loss and accuracy where measured
        self.history: dict[str, list] = _empty_history()
        #: the optimizer of this session over a dataset (its moments persist across steps)
        self._trainer: train.Trainer | None = None
        self._maybe_stale = False
        self._session_output: str | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._tick)
        self._build()
        for sig in (document.nodeAdded, document.nodeRemoved, document.nodeChanged,
                    document.edgeAdded, document.edgeRemoved, document.outputChanged,
                    document.datasetChanged):  # another dataset: another function
            sig.connect(self._on_edit)
        document.graphReset.connect(self._on_graph_reset)
        document.resultsChanged.connect(self._redraw_now)
        self._update_buttons()

    # ----------------------------------------------------------------- build
    def _build(self) -> None:
        self.lr_edit = QLineEdit(fmt(DEFAULT_LR))
        self.lr_edit.setObjectName("learning_rate")
        self.lr_edit.setToolTip("Learning rate η: each step moves every param by −η·∂L/∂w")
        self.lr_edit.setMaximumWidth(90)
        self.steps_spin = QSpinBox()
        self.steps_spin.setObjectName("train_steps")
        self.steps_spin.setRange(1, MAX_STEPS)
        self.steps_spin.setValue(DEFAULT_STEPS)
        self.steps_spin.setMaximumWidth(90)
        self.steps_spin.setToolTip("How many steps Train takes")
        self.optimizer_box = QComboBox()
        self.optimizer_box.setObjectName("optimizer")
        for key, title in (("sgd", "SGD"), ("momentum", "Momentum"), ("adam", "Adam")):
            self.optimizer_box.addItem(title, key)
        self.optimizer_box.setToolTip("SGD: w ← w − η·g.  Momentum: v ← μv + g, w ← w − η·v.  "
                                      "Adam: per-param steps from running means of g and g².")
        self.batch_spin = QSpinBox()
        self.batch_spin.setObjectName("batch_size")
        self.batch_spin.setRange(0, 1_000_000)
        self.batch_spin.setSpecialValueText("full batch")
        self.batch_spin.setToolTip("Samples per step (with a dataset); minibatches are drawn "
                                   "with the seed, reshuffled each epoch")
        self.decay_edit = QLineEdit("0")
        self.decay_edit.setObjectName("weight_decay")
        self.decay_edit.setMaximumWidth(90)
        self.decay_edit.setToolTip("L2 weight decay λ: each gradient gets + λ·w")
        for w in (self.optimizer_box, self.batch_spin):
            w.setMaximumWidth(110)
            w.currentIndexChanged.connect(self._config_changed) if w is self.optimizer_box \
                else w.valueChanged.connect(self._config_changed)
        self.decay_edit.editingFinished.connect(self._config_changed)
        # two columns of settings: the panel stays as short as before the optimizers
        form = QGridLayout()
        for r, (label, w) in enumerate((("Learning rate η", self.lr_edit),
                                        ("Steps N", self.steps_spin),
                                        ("Weight decay λ", self.decay_edit))):
            form.addWidget(QLabel(label), r, 0)
            form.addWidget(w, r, 1)
        for r, (label, w) in enumerate((("Optimizer", self.optimizer_box),
                                        ("Batch", self.batch_spin))):
            form.addWidget(QLabel(label), r, 2)
            form.addWidget(w, r, 3)
        form.setColumnStretch(4, 1)

        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("One gradient-descent update of every param (one undo step)")
        self.step_button.clicked.connect(self.step)
        self.train_button = QPushButton("Train N")
        self.train_button.setToolTip("N steps; the window stays usable; one undo step at the end")
        self.train_button.clicked.connect(lambda: self.train())
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the run and keep the values reached so far")
        self.stop_button.clicked.connect(self.stop)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Restore the param values from before training began")
        self.reset_button.clicked.connect(self.reset)
        buttons = QHBoxLayout()
        for b in (self.step_button, self.train_button, self.stop_button, self.reset_button):
            buttons.addWidget(b)

        self.status_label = QLabel()
        self.status_label.setObjectName("training_status")
        self.status_label.setWordWrap(True)
        self.error_label = QLabel()
        self.error_label.setObjectName("problem")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        # the last step written out; scrolls when there are many params (XOR has nine)
        self.update_label = QPlainTextEdit()
        self.update_label.setObjectName("last_update")
        self.update_label.setReadOnly(True)
        self.update_label.setFrameShape(QFrame.NoFrame)
        self.update_label.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.update_label.setPlaceholderText(
            "Press Step: each param moves by −η times its gradient, written out here.")
        self.update_label.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Expanding)

        controls = QVBoxLayout()
        controls.addLayout(form)
        controls.addLayout(buttons)
        controls.addWidget(self.status_label)
        controls.addWidget(self.error_label)
        controls.addWidget(self.update_label, 1)
        left = QWidget()
        left.setLayout(controls)
        left.setMinimumWidth(400)
        left.setMaximumWidth(520)

        self.loss_plot = pg.PlotWidget(axisItems={"bottom": _StepAxis("bottom")})
        self.loss_plot.setObjectName("loss_plot")
        self.loss_plot.setTitle("Loss at each step")
        self.loss_plot.setToolTip("The loss before each step; the dashed leg ends at the "
                                  "loss now, after the last update.")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.setLabel("left", "L")
        self.loss_plot.showGrid(x=True, y=True, alpha=0.25)
        self.loss_plot.getAxis("left").enableAutoSIPrefix(False)
        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen("#2f6fde", width=2))
        # dashed from the last step's loss to the loss now, after its update
        self.now_marker = self.loss_plot.plot(
            [], [], pen=pg.mkPen("#2f6fde", width=2, style=Qt.DashLine), symbol="o",
            symbolSize=8, symbolPen=pg.mkPen("#2f6fde", width=2), symbolBrush=None)
        self.param_plot = pg.PlotWidget(axisItems={"bottom": _StepAxis("bottom")})
        self.param_plot.setObjectName("param_plot")
        self.param_plot.setTitle("Param values")
        self.param_plot.setLabel("bottom", "step")
        self.param_plot.showGrid(x=True, y=True, alpha=0.25)
        # a legend beside the plot, not on it, so it never hides a curve
        self.param_legend = QLabel()
        self.param_legend.setObjectName("param_legend")
        self.param_legend.setWordWrap(True)
        self.param_legend.setTextFormat(Qt.RichText)
        self.param_curves: dict[str, pg.PlotDataItem] = {}
        for p in (self.loss_plot, self.param_plot):
            p.setMinimumSize(220, 160)
            p.setMenuEnabled(False)
            # long runs: draw at most about one point per pixel column
            p.setDownsampling(auto=True, mode="peak")
            p.setClipToView(True)

        row = QHBoxLayout(self)
        row.setContentsMargins(6, 4, 6, 4)
        row.addWidget(left)
        row.addWidget(self.loss_plot, 1)
        params = QVBoxLayout()
        params.setContentsMargins(0, 0, 0, 0)
        params.addWidget(self.param_plot, 1)
        params.addWidget(self.param_legend)
        row.addLayout(params, 1)
        self._apply_palette()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() in (QEvent.PaletteChange, QEvent.ApplicationPaletteChange):
            self._apply_palette()
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        """Plots follow the window's theme instead of pyqtgraph's black default."""
        pal = self.palette()
        bg, fg = pal.color(QPalette.Base), pal.color(QPalette.Text)
        for p in (getattr(self, "loss_plot", None), getattr(self, "param_plot", None)):
            if p is None:
                continue
            follow_theme(p, bg, fg)

    # ----------------------------------------------------------------- state
    def is_running(self) -> bool:
        return self._run is not None

    def steps_done(self) -> int:
        """Steps taken by the current run so far (0 when idle)."""
        return self._run.done if self._run is not None else 0

    def learning_rate(self) -> float | None:
        """The typed η, or None (with the reason shown) when it is not a positive number."""
        try:
            lr = parse_number(self.lr_edit.text())
        except ValueError:
            lr = math.nan
        if not (math.isfinite(lr) and lr > 0):
            self._error(f"The learning rate η must be a positive number, not "
                        f"“{self.lr_edit.text().strip()}”.")
            return None
        return lr

    def _params(self) -> list[str]:
        return train.params(self.doc.graph)

    def _current(self) -> dict[str, float]:
        g = self.doc.graph
        return {nid: g.node(nid).value for nid in self._params()}

    def _begin_session_if_needed(self) -> None:
        """A new session (plots cleared, Reset point taken) unless we continue the last one."""
        current = self._current()
        if self.start_values is not None and current == self._last_values:
            return
        self.start_values = dict(current)
        self._session_output = self.doc.graph.output
        self._trainer = None
        self.history = _empty_history()
        self.historyChanged.emit()
        self.losses = []
        self.values = {nid: [] for nid in current}
        self._rebuild_param_curves()
        self._redraw()

    def _rebuild_param_curves(self) -> None:
        for curve in self.param_curves.values():
            self.param_plot.removeItem(curve)
        self.param_curves = {}
        g = self.doc.graph
        keys = []
        for i, nid in enumerate(self.values):
            colour = CURVE_COLOURS[i % len(CURVE_COLOURS)]
            self.param_curves[nid] = self.param_plot.plot([], [], pen=pg.mkPen(colour, width=2))
            keys.append(f'<span style="color:{colour}">━━</span>&nbsp;'
                        f"{html.escape(display_name(g, nid))}")
        # colours repeat after ten: past that a legend cannot tell curves apart
        shown = len(CURVE_COLOURS)
        more = (f"&nbsp;&nbsp; … and {len(keys) - shown} more (colours repeat)"
                if len(keys) > shown else "")
        self.param_legend.setText("&nbsp;&nbsp; ".join(keys[:shown]) + more)

    def _record(self, ts: train.TrainStep) -> None:
        self.losses.append(ts.loss)
        for u in ts.updates:
            self.values.setdefault(u.id, []).append(u.old)
        self.history["train_acc"].append(getattr(ts, "accuracy", None))

    def _redraw(self) -> None:
        xs = list(range(len(self.losses)))
        self.loss_curve.setData(xs, self.losses)
        self._redraw_now()

    def _redraw_now(self, *_args) -> None:
        """The parts that show "now": the dashed last leg of the loss (to the loss after
        the last update) and each param's current value at the end of its curve."""
        if self._maybe_stale and not self.is_running():
            self._maybe_stale = False
            # the history belongs to another function once the params or the output differ
            if self.values and (set(self.values) != set(self._params())
                                or self.doc.graph.output != self._session_output):
                self._on_graph_reset()
                return
        idle = not self.is_running()
        now = self._now_loss()
        if self.losses and idle and now is not None:
            n = len(self.losses)
            self.now_marker.setData([n - 1, n], [self.losses[-1], now])
        else:
            self.now_marker.setData([], [])
        g = self.doc.graph
        for nid, curve in self.param_curves.items():
            ys = list(self.values.get(nid, []))
            if idle and ys and nid in g and g.op_of(nid) == "param":
                ys.append(g.node(nid).value)
            curve.setData(list(range(len(ys))), ys)

    # --------------------------------------------------------------- actions
    def step(self) -> bool:
        """One update of every param, as one undo step; False (reason shown) if none was made."""
        if self.is_running():
            return False
        lr = self.learning_rate()
        if lr is None:
            return False
        g = self.doc.graph.copy()
        try:
            self._begin_session_if_needed()
            trainer = self._trainer_for(lr)
            ts = trainer.step() if trainer is not None else train.step(g, lr)
        except EngineError as e:
            self._error(_why(e))
            return False
        self._record(ts)
        if trainer is not None:
            self._measure_test(trainer)
        self._apply({u.id: u.new for u in ts.updates}, "Train step")
        self._redraw()
        self._show_update(g, ts, lr, len(self.losses))
        return True

    # ------------------------------------------------------------ optimizers
    def config(self, lr: float) -> "train.TrainConfig":
        try:
            decay = parse_number(self.decay_edit.text())
        except ValueError:
            decay = math.nan
        if not (math.isfinite(decay) and decay >= 0):
            raise train.TrainingError(f"the weight decay λ must be a number ≥ 0, not "
                                      f"“{self.decay_edit.text().strip()}”")
        return train.TrainConfig(self.optimizer_box.currentData(), lr,
                                 self.batch_spin.value(), decay)

    def uses_trainer(self) -> bool:
        """Whether steps go through an optimizer over samples (a dataset, momentum, Adam
        or weight decay) rather than the tutorial's plain w ← w − η·∂L/∂w."""
        g = self.doc.graph
        data = g.dataset is not None and bool(g.data_leaves())
        plain = self.optimizer_box.currentData() == "sgd" and self.decay_edit.text().strip() \
            in ("0", "", "0.0")
        return data or not plain

    def _trainer_for(self, lr: float) -> "train.Trainer | None":
        """This session's Trainer (kept while the graph and the settings stay), or None
        for the plain single-sample step."""
        if not self.uses_trainer():
            self._trainer = None
            return None
        cfg = self.config(lr)
        t = self._trainer
        if t is None or t.config != cfg or t.values != self._current():
            t = self._trainer = train.Trainer(self.doc.graph.copy(), cfg)
        return t

    def _config_changed(self, *_args) -> None:
        self._trainer = None

    def _measure_test(self, trainer: "train.Trainer") -> None:
        """Test loss and accuracy at the current step (forward only over the test rows)."""
        m = trainer.metrics("test")
        if m is not None:
            self.history["test_steps"].append(len(self.losses))
            self.history["test_loss"].append(m.loss)
            self.history["test_acc"].append(m.accuracy)
        self.historyChanged.emit()

    def train(self, n: int | None = None) -> bool:
        """Start a run of ``n`` (default: the spin box) steps; returns at once."""
        if self.is_running():
            return False
        lr = self.learning_rate()
        if lr is None:
            return False
        if not self._params():
            self._error(_why(train.TrainingError("the graph has no param nodes to train")))
            return False
        self._begin_session_if_needed()
        self._clear_error()
        try:
            trainer = self._trainer_for(lr)
        except EngineError as e:
            self._error(_why(e))
            return False
        self._run = _Run(self.doc.graph.copy(), lr, int(n or self.steps_spin.value()), trainer)
        self._last_step = None
        self.status_label.setText(f"Training: step 0 of {self._run.total}…")
        self._update_buttons()
        self._timer.start()
        return True

    def _tick(self) -> None:
        if progress.busy():  # a file is being opened or laid out: next tick
            return
        run = self._run
        if run is None:
            self._timer.stop()
            return
        t0 = time.perf_counter()
        try:
            while run.done < run.total and time.perf_counter() - t0 < _CHUNK_SECONDS:
                ts = run.trainer.step() if run.trainer else train.step(run.graph, run.lr)
                self._record(ts)
                self._last_step = ts
                run.done += 1
            if run.trainer is not None:
                self._measure_test(run.trainer)
                self.paramsPreview.emit(dict(run.trainer.values))
        except EngineError as e:
            self._redraw()
            self._finish(f"Stopped after {run.done} steps: {_why(e)}", error=True)
            return
        self._redraw()
        self.status_label.setText(f"Training: step {run.done} of {run.total}…")
        if run.done >= run.total:
            self._finish(f"Trained {run.done} steps at η = {fmt(run.lr)}.")

    def stop(self) -> None:
        """Stop a run and keep what it reached (one undo step)."""
        if self._run is not None:
            self._finish(f"Stopped after {self._run.done} of {self._run.total} steps "
                         f"at η = {fmt(self._run.lr)}.")

    def _finish(self, message: str, error: bool = False) -> None:
        run = self._run
        self._timer.stop()
        self._run = None
        done = run.done if run is not None else 0
        if run is not None and done:
            values = ({nid: run.graph.node(nid).value for nid in train.params(run.graph)}
                      if run.trainer is None else dict(run.trainer.values))
            self._apply(values, "Train 1 step" if done == 1 else f"Train {done} steps")
            if self._last_step is not None:
                self._show_update(run.graph, self._last_step, run.lr, len(self.losses))
        self._redraw()
        if error:
            self._error(message)
        self.status_label.setText(message if not error else self._loss_text())
        self._update_buttons()
        self.runEnded.emit(done)

    def _abort(self, why: str) -> None:
        """End a run without applying anything (the graph it trained is out of date)."""
        self._timer.stop()
        self._run = None
        self.status_label.setText(why)
        self._update_buttons()
        self.runEnded.emit(0)

    def reset(self) -> bool:
        """Restore the param values from before training began (one undo step)."""
        if self.is_running() or self.start_values is None:
            return False
        g = self.doc.graph
        values = {nid: v for nid, v in self.start_values.items()
                  if nid in g and g.op_of(nid) == "param"}
        self.start_values = None
        self._last_values = None
        self._trainer = None
        self.losses = []
        self.history = _empty_history()
        self.historyChanged.emit()
        self.values = {nid: [] for nid in self.values}
        self._apply(values, "Reset training")
        self._redraw()
        self.update_label.clear()
        self.status_label.setText("Reset to the values before training. " + self._loss_text())
        self._update_buttons()
        return True

    # --------------------------------------------------------------- helpers
    def _apply(self, values: dict[str, float], text: str) -> None:
        self._applying = True
        try:
            self.doc.set_values(values, text)
        finally:
            self._applying = False
        self._last_values = self._current()
        self._clear_error()
        self._update_buttons()

    def _show_update(self, graph: Graph, ts: train.TrainStep, lr: float, number: int) -> None:
        out = graph.resolve_output()
        L = display_name(graph, out)
        after = self.doc.result.value(out) if out in self.doc.graph else math.nan
        batch = self.doc.result.batch
        if batch is not None:
            after = batch.mean_loss
            L = f"mean {L} over {ts.rows if isinstance(ts, train.BatchStep) else batch.n}"
        head = f"Step {number}: {L} = {fmt(ts.loss, 6)} → {fmt(after, 6)}"
        if isinstance(ts, train.BatchStep):
            lines = [ts.text] + [f"{u.name}: {fmt(u.old)} → {fmt(u.new)}"
                                 for u in ts.updates[1:]]
        else:
            lines = [update_line(graph, out, u, lr) for u in ts.updates]
        self.update_label.setPlainText(head + "\n" + "\n".join(lines))
        if not self.is_running():
            self.status_label.setText(self._loss_text())

    def _now_loss(self) -> float | None:
        r = self.doc.result
        if r.batch is not None:
            return r.batch.mean_loss if math.isfinite(r.batch.mean_loss) else None
        if r.output is None or r.output not in self.doc.graph:
            return None
        v = r.value(r.output)
        return v if math.isfinite(v) else None

    def _loss_text(self) -> str:
        r = self.doc.result
        if r.output is None or r.output not in self.doc.graph:
            return ""
        if r.batch is not None:
            acc = self.history["train_acc"][-1] if self.history["train_acc"] else None
            tail = f", train accuracy {acc:.1%}" if acc is not None else ""
            return (f"Now mean {display_name(self.doc.graph, r.output)} over {r.batch.n} "
                    f"samples = {fmt(r.batch.mean_loss, 6)}{tail}.")
        return f"Now {display_name(self.doc.graph, r.output)} = {fmt(r.value(r.output), 6)}."

    def _error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()

    def _clear_error(self) -> None:
        self.error_label.clear()
        self.error_label.hide()

    def _update_buttons(self) -> None:
        running = self.is_running()
        self.step_button.setEnabled(not running)
        self.train_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.reset_button.setEnabled(not running and self.start_values is not None)
        self.lr_edit.setEnabled(not running)
        self.steps_spin.setEnabled(not running)
        for w in (self.optimizer_box, self.batch_spin, self.decay_edit):
            w.setEnabled(not running)

    def _on_edit(self, *_args) -> None:
        if self._applying:
            return
        self._maybe_stale = True
        self._trainer = None
        if self._run is not None:
            self._abort("Training stopped: the graph was edited during the run, so its "
                        "values were not applied.")

    def _on_graph_reset(self) -> None:
        if self._run is not None:
            self._abort("Training stopped: another graph was opened.")
        self._trainer = None
        self.history = _empty_history()
        self.historyChanged.emit()
        self.start_values = None
        self._last_values = None
        self.losses = []
        self.values = {}
        self._rebuild_param_curves()
        self._redraw()
        for plot in (self.loss_plot, self.param_plot):  # no axes left over from the old graph
            plot.getViewBox().setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            plot.enableAutoRange()
        self.update_label.clear()
        self._clear_error()
        self.status_label.setText("")
        self._update_buttons()


def _empty_history() -> dict[str, list]:
    return {"train_acc": [], "test_steps": [], "test_loss": [], "test_acc": []}


def _why(e: Exception) -> str:
    text = str(e).strip("'\"")
    return f"Cannot train: {text}." if not text.endswith(".") else f"Cannot train: {text}"


__all__ = ["TrainingPanel", "update_line", "DEFAULT_LR", "DEFAULT_STEPS"]
