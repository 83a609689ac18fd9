"""The Data view: a dataset's points, the model's output behind them, and the training curves.

Training on a dataset is only convincing when one can see what was learned: for two
input columns the model's output is a heatmap over the input plane with the points on
top (the decision boundary p = 0.5 drawn as a line when the target is 0/1); for one
input column it is the fitted curve through the points. Below, loss and accuracy over
the steps, so "the boundary moved" and "the loss fell" are seen side by side.

More than two inputs: the first two are drawn, and the heatmap is the slice through
the plane where every other input sits at its mean over the training rows (a note
says so). Without a dataset the view shows a hint; with a dataset but no model, the
points alone with a note.

The widget knows nothing of graphs or documents: it is given a Dataset, the names of
its input columns and a ``predict`` function, so the main window can wire it to
whatever evaluates the model (``engine.fast.batch.BatchPlan.predict``).
"""

from __future__ import annotations

import html
import math
from typing import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QBoxLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine.dataset import TARGET, Dataset
from engine.numfmt import fmt
from gui.plot_theme import follow_theme

Predict = Callable[[dict[str, np.ndarray]], np.ndarray]

#: heatmap resolution (cells per side) and fitted-curve resolution (points)
GRID = 200
CURVE_POINTS = 300
#: the plotted area reaches this fraction of the data's span beyond the data
MARGIN = 0.12
#: rows per predict call: the batch engine keeps every node's values (and buffers for
#: the backward pass) for every row, so 40,000 grid rows at once would take hundreds of
#: MB and fall out of the CPU cache; chunks of 4,000 are twice as fast
CHUNK_ROWS = 4000
#: class colours for 0/1 targets: Okabe–Ito blue and orange, told apart with any
#: colour vision and in greyscale (dark vs light)
CLASS_COLOURS = ("#0072B2", "#E69F00")
#: how far the heatmap goes from the plot's background towards the class colour at
#: p = 0 or 1 (a tint, so the points in full colour stay visible on it)
TINT = 0.38
POINT_SIZE = 9
LOSS_COLOUR = "#2f6fde"
ACC_COLOUR = "#009E73"
FIT_COLOUR = "#D55E00"
HINT = "Attach a dataset: Data › Generate…"


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved a fraction ``t`` of the way to ``b``."""
    return QColor(round(a.red() + (b.red() - a.red()) * t),
                  round(a.green() + (b.green() - a.green()) * t),
                  round(a.blue() + (b.blue() - a.blue()) * t))


def _span(values: np.ndarray) -> tuple[float, float]:
    """The finite range of ``values`` widened by MARGIN each side (never empty)."""
    v = values[np.isfinite(values)]
    lo, hi = (float(v.min()), float(v.max())) if len(v) else (0.0, 1.0)
    pad = (hi - lo) * MARGIN if hi > lo else max(abs(lo) * 0.5, 0.5)
    return lo - pad, hi + pad


def contour_segments(z: np.ndarray, xs: np.ndarray, ys: np.ndarray,
                     level: float) -> tuple[np.ndarray, np.ndarray]:
    """Marching squares, vectorised: the ``level`` line of ``z[row=y, col=x]`` as
    segment end points (x, y arrays of even length, for ``connect="pairs"``).

    pyqtgraph's IsocurveItem joins its segments in a Python loop (about 10 ms for a
    200×200 grid, a third of a frame); unjoined segments draw the same line in ~1 ms.
    """
    above = z > level  # NaN counts as below: no line through cells the model can't say
    with np.errstate(all="ignore"):
        # crossings on horizontal edges (r, c)–(r, c+1) and vertical edges (r, c)–(r+1, c)
        th = (level - z[:, :-1]) / (z[:, 1:] - z[:, :-1])
        tv = (level - z[:-1, :]) / (z[1:, :] - z[:-1, :])
    fh = above[:, :-1] != above[:, 1:]
    fv = above[:-1, :] != above[1:, :]
    hx = xs[:-1] + th * np.diff(xs)                 # (ny, nx-1)
    hy = np.broadcast_to(ys[:, None], hx.shape)
    vy = ys[:-1, None] + tv * np.diff(ys)[:, None]  # (ny-1, nx)
    vx = np.broadcast_to(xs[None, :], vy.shape)
    # each cell's edges in the order bottom, right, top, left
    ex = np.stack([hx[:-1], vx[:, 1:], hx[1:], vx[:, :-1]], axis=-1)
    ey = np.stack([hy[:-1], vy[:, 1:], hy[1:], vy[:, :-1]], axis=-1)
    ef = np.stack([fh[:-1], fv[:, 1:], fh[1:], fv[:, :-1]], axis=-1)
    count = ef.sum(axis=-1)
    # two crossings: join them
    two = count == 2
    order = np.argsort(~ef[two], axis=-1, kind="stable")[:, :2]
    px, py = ex[two], ey[two]
    sx = np.take_along_axis(px, order, axis=-1)
    sy = np.take_along_axis(py, order, axis=-1)
    # four (a saddle): the cell's mean decides which opposite corners are joined
    four = count == 4
    if four.any():
        r, c = np.nonzero(four)
        centre = (z[r, c] + z[r, c + 1] + z[r + 1, c] + z[r + 1, c + 1]) / 4 > level
        cut_bd = centre == above[r, c]  # the bottom-left corner's side holds the centre
        pairs = np.where(cut_bd[:, None], [[0, 1, 2, 3]], [[0, 3, 1, 2]])
        qx = np.take_along_axis(ex[four], pairs, axis=-1).reshape(-1, 2)
        qy = np.take_along_axis(ey[four], pairs, axis=-1).reshape(-1, 2)
        sx, sy = np.concatenate([sx, qx]), np.concatenate([sy, qy])
    return sx.reshape(-1), sy.reshape(-1)


class _StepAxis(pg.AxisItem):
    """Step numbers are whole: no ticks at 0.2, 0.4, … when there are few steps."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float):  # noqa: N802, N803
        levels = [(s, o) for s, o in super().tickSpacing(minVal, maxVal, size) if s >= 1]
        return levels or [(1.0, 0.0)]


class _Marker(pg.ScatterPlotItem):
    """The selection ring: drawn over the points but never takes their clicks or tips."""

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph's name
        ev.ignore()

    def hoverEvent(self, ev) -> None:  # noqa: N802
        pass


class DataView(QWidget):
    """The dataset's points with the model's output behind them; loss/accuracy below."""

    #: the user clicked a point: its row index in the dataset
    sample_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset: Dataset | None = None
        self.inputs: list[str] = []
        self.target: str = TARGET
        self.predict: Predict | None = None
        self.selected: int | None = None
        #: "empty" (no dataset), "none" (no input column), "1d" or "2d"
        self.mode = "empty"
        self.binary = False
        self._levels: tuple[float, float] | None = None
        self._px = np.zeros(0)  # each row's position in the plot
        self._row_colours: list[QColor] = []
        self._py = np.zeros(0)
        self._grid: dict[str, np.ndarray] = {}  # the columns predict is asked about
        self._gx = np.zeros(0)  # the grid's x (and y) coordinates
        self._gy = np.zeros(0)
        self._model_note = ""
        self._extent: tuple[float, float, float, float] | None = None
        self._rect = QRectF()
        self._held: dict[str, float] = {}  # inputs beyond two: their value on the grid
        self._laying_out = False
        self._history: dict[str, np.ndarray] = {}
        self._steps = np.zeros(0)
        self._readout_plain = ""
        self._build()

    # ----------------------------------------------------------------- build
    def _build(self) -> None:
        self.hint_label = QLabel(HINT)
        self.hint_label.setObjectName("data_hint")
        self.hint_label.setAlignment(Qt.AlignCenter)
        self.hint_label.setWordWrap(True)

        self.data_plot = pg.PlotWidget()
        self.data_plot.setObjectName("data_plot")
        self.data_plot.setMenuEnabled(False)
        # a fixed view: a click selects a point, it never pans the plot by accident
        self.data_plot.setMouseEnabled(x=False, y=False)
        self.data_plot.hideButtons()
        self.data_plot.setMinimumSize(220, 150)
        self.data_plot.getAxis("left").enableAutoSIPrefix(False)
        self.data_plot.getAxis("bottom").enableAutoSIPrefix(False)
        vb = self.data_plot.getViewBox()
        vb.disableAutoRange()
        vb.sigRangeChanged.connect(self._on_range_changed)

        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-20)
        self.boundary = pg.PlotCurveItem(connect="pairs")
        self.boundary.setZValue(-10)
        self.fit_curve = pg.PlotDataItem([], [], pen=pg.mkPen(FIT_COLOUR, width=2.5),
                                         connect="finite")
        self.fit_curve.setZValue(-10)
        self.scatter = pg.ScatterPlotItem(size=POINT_SIZE, hoverable=True, tip=self._tip)
        self.scatter.setZValue(10)
        self.scatter.sigClicked.connect(self._on_points_clicked)
        self.marker = _Marker(pxMode=True)
        self.marker.setZValue(20)
        for item in (self.image, self.boundary, self.fit_curve, self.scatter, self.marker):
            self.data_plot.addItem(item)

        self.legend_label = QLabel()
        self.legend_label.setObjectName("data_legend")
        self.legend_label.setTextFormat(Qt.RichText)
        self.legend_label.setWordWrap(True)
        self.note_label = QLabel()
        self.note_label.setObjectName("data_note")
        self.note_label.setWordWrap(True)
        self.note_label.hide()

        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        col.addWidget(self.data_plot, 1)
        col.addWidget(self.legend_label)
        col.addWidget(self.note_label)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.hint_label)
        self.stack.addWidget(page)

        self.loss_plot = self._history_plot("loss_plot", "Loss", "loss")
        self.train_loss_curve = self.loss_plot.plot(
            [], [], pen=pg.mkPen(LOSS_COLOUR, width=2), connect="finite")
        self.test_loss_curve = self.loss_plot.plot(
            [], [], pen=pg.mkPen(LOSS_COLOUR, width=2, style=Qt.DashLine), connect="finite")
        self.acc_plot = self._history_plot("acc_plot", "Accuracy", "accuracy %")
        self.train_acc_curve = self.acc_plot.plot(
            [], [], pen=pg.mkPen(ACC_COLOUR, width=2), connect="finite")
        self.test_acc_curve = self.acc_plot.plot(
            [], [], pen=pg.mkPen(ACC_COLOUR, width=2, style=Qt.DashLine), connect="finite")
        self.acc_plot.hide()
        self.readout = QLabel()
        self.readout.setObjectName("history_readout")
        self.readout.setTextFormat(Qt.RichText)
        self.readout.setWordWrap(True)

        # the points above the curves in a tall dock, beside them in a wide one (a
        # dock below the canvas is wide and short): see resizeEvent
        curves = self.curves_layout = QBoxLayout(QBoxLayout.LeftToRight)
        curves.setContentsMargins(0, 0, 0, 0)
        curves.addWidget(self.loss_plot, 1)
        curves.addWidget(self.acc_plot, 1)
        body = self.body_layout = QBoxLayout(QBoxLayout.TopToBottom)
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.stack, 3)
        body.addLayout(curves, 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(4)
        lay.addLayout(body, 1)
        lay.addWidget(self.readout)
        self._apply_palette()
        self._show_state()
        self._update_readout()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Wide and short (below the canvas): the points left, the curves stacked on the
        right; otherwise the points above the curves side by side."""
        super().resizeEvent(event)
        wide = self.width() > 1.6 * self.height()
        body = QBoxLayout.LeftToRight if wide else QBoxLayout.TopToBottom
        curves = QBoxLayout.TopToBottom if wide else QBoxLayout.LeftToRight
        if self.body_layout.direction() != body:
            self.body_layout.setDirection(body)
            self.curves_layout.setDirection(curves)
            self.body_layout.setStretch(0, 3 if not wide else 5)
            self.body_layout.setStretch(1, 2 if not wide else 4)

    def _history_plot(self, name: str, title: str, ylabel: str) -> pg.PlotWidget:
        p = pg.PlotWidget(axisItems={"bottom": _StepAxis("bottom")})
        p.setObjectName(name)
        p.setTitle(title)
        p.setLabel("bottom", "step")
        p.setLabel("left", ylabel)
        p.showGrid(x=True, y=True, alpha=0.25)
        for axis in ("left", "bottom"):
            # grid lines at the labelled ticks only: the minor ones cost two thirds of
            # the plot's repaint (the axes draw the grid, and redraw it on every update)
            p.getAxis(axis).setStyle(maxTickLevel=0)
        p.getAxis("left").enableAutoSIPrefix(False)
        p.setMenuEnabled(False)
        p.setMinimumSize(140, 90)
        p.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        # long runs: about one point per pixel column
        p.setDownsampling(auto=True, mode="peak")
        p.setClipToView(True)
        return p

    # ----------------------------------------------------------------- theme
    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() in (QEvent.PaletteChange, QEvent.ApplicationPaletteChange):
            self._apply_palette()
        super().changeEvent(event)

    def _colours(self) -> tuple[QColor, QColor]:
        pal = self.palette()
        return pal.color(QPalette.Base), pal.color(QPalette.Text)

    def _apply_palette(self) -> None:
        """Plots follow the window's theme instead of pyqtgraph's black default; the
        heatmap's tints and the point outlines are mixed from the theme's colours."""
        if not hasattr(self, "readout"):
            return
        bg, fg = self._colours()
        for p in (self.data_plot, self.loss_plot, self.acc_plot):
            follow_theme(p, bg, fg)
        muted = self.palette().color(QPalette.PlaceholderText)
        self.hint_label.setStyleSheet(f"color: {muted.name()}; font-size: 13pt;")
        self.boundary.setPen(pg.mkPen(_mix(bg, fg, 0.85), width=1.6))
        if self.dataset is not None:
            self._style_points()
            self._update_lut()
            self._update_legend()
            self.set_selected(self.selected)
        self._update_readout()

    # ----------------------------------------------------------------- data
    def set_dataset(self, ds: Dataset | None, inputs: list[str], target: str = TARGET) -> None:
        """Show ``ds``: its ``inputs`` (one or two columns; more are sliced at their
        mean) against the ``target`` column. None shows the hint. An input that is not
        a column of ``ds`` is a ValueError (the caller's mistake, not the user's)."""
        if ds is not None:
            unknown = [c for c in inputs if c not in ds.columns]
            if unknown:
                raise ValueError(f"the dataset has no column {', '.join(map(repr, unknown))}")
        self.dataset = ds
        self.inputs = list(inputs) if ds is not None else []
        self.target = target
        self.binary = ds is not None and ds.is_binary(target)
        if ds is None:
            self.mode = "empty"
        elif not self.inputs:
            self.mode = "none"
        else:
            self.mode = "1d" if len(self.inputs) == 1 else "2d"
        if self.selected is not None and (ds is None or not 0 <= self.selected < ds.n_rows):
            self.selected = None
        self.scatter.clear()
        self.fit_curve.setData([], [])
        self.boundary.setData([], [])
        self.image.clear()
        if self.mode in ("1d", "2d"):
            self._layout_data()
            self._style_points()
            self._update_lut()
        self._update_legend()
        self.set_selected(self.selected)
        self.acc_plot.setVisible(self.binary or self._has_acc())
        self._show_state()
        self.refresh()

    def _layout_data(self) -> None:
        """Point positions, axes and the view range (the data's plus a margin)."""
        ds = self.dataset
        assert ds is not None
        cols = ds.columns
        y = cols.get(self.target, np.zeros(ds.n_rows))
        self._px = cols[self.inputs[0]]
        self._py = y if self.mode == "1d" else cols[self.inputs[1]]
        x0, x1 = _span(self._px)
        y0, y1 = _span(self._py)
        plot = self.data_plot
        plot.setLabel("bottom", self.inputs[0])
        plot.setLabel("left", self.target if self.mode == "1d" else self.inputs[1])
        self._held = {}
        if self.mode == "2d":
            train = ds.rows("train")
            for name in self.inputs[2:]:
                c = cols[name][train if len(train) else ds.rows("all")]
                c = c[np.isfinite(c)]
                self._held[name] = float(c.mean()) if len(c) else 0.0
        ratio = (x1 - x0) / (y1 - y0)
        # same units per pixel on both axes when the columns are on similar scales
        # (a circle looks like one); not when one column is in the thousands
        plot.getViewBox().setAspectLocked(self.mode == "2d" and 1 / 3 <= ratio <= 3)
        self._extent = None
        self._laying_out = True
        try:
            plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        finally:
            self._laying_out = False
        self._fit_grid()
        if self.binary:
            self._levels = (0.0, 1.0)
        else:
            t = y[np.isfinite(y)]
            lo, hi = (float(t.min()), float(t.max())) if len(t) else (0.0, 1.0)
            self._levels = (lo, hi) if hi > lo else (lo - 0.5, lo + 0.5)

    def _fit_grid(self) -> bool:
        """The grid the model is asked about covers the whole visible range (with the
        aspect locked that is more than the data's range, and it changes with the
        widget's shape); True when it changed."""
        if self.mode not in ("1d", "2d"):
            return False
        (x0, x1), (y0, y1) = self.data_plot.getViewBox().viewRange()
        extent = (x0, x1, y0, y1)
        if self._extent is not None and np.allclose(extent, self._extent, rtol=1e-9, atol=0):
            return False
        self._extent = extent
        if self.mode == "1d":
            self._gx = np.linspace(x0, x1, CURVE_POINTS)
            self._gy = np.zeros(0)
            self._grid = {self.inputs[0]: self._gx}
            return True
        # grid points at the cell centres, so the image exactly fills the view
        dx, dy = (x1 - x0) / GRID, (y1 - y0) / GRID
        self._gx = np.linspace(x0 + dx / 2, x1 - dx / 2, GRID)
        self._gy = np.linspace(y0 + dy / 2, y1 - dy / 2, GRID)
        gx, gy = np.meshgrid(self._gx, self._gy)  # row = y, column = x
        self._grid = {self.inputs[0]: gx.reshape(-1), self.inputs[1]: gy.reshape(-1)}
        for name, v in self._held.items():
            self._grid[name] = np.full(GRID * GRID, v)
        self._rect = QRectF(x0, y0, x1 - x0, y1 - y0)
        return True

    def _on_range_changed(self, *_args) -> None:
        """The widget was resized (the locked aspect widened the view): a new grid."""
        if not self._laying_out and self._fit_grid():
            self.refresh()

    def _point_colours(self) -> list[QColor]:
        """Each row's colour: its class (0/1 targets), else its target on viridis (2-D;
        in 1-D the target is the height, so one colour)."""
        ds = self.dataset
        assert ds is not None
        n = ds.n_rows
        y = ds.columns.get(self.target)
        if self.binary:
            c0, c1 = QColor(CLASS_COLOURS[0]), QColor(CLASS_COLOURS[1])
            return [c1 if v == 1 else c0 for v in y]
        if self.mode == "2d" and y is not None and self._levels is not None:
            lo, hi = self._levels
            t = np.clip((np.nan_to_num(y, nan=lo) - lo) / (hi - lo), 0, 1)
            return list(pg.colormap.get("viridis").mapToQColor(t))
        return [QColor(CLASS_COLOURS[0])] * n

    def _style_points(self) -> None:
        """Train rows filled with a thin outline; test rows hollow (a ring in their
        colour), so held-out points are told apart at a glance."""
        ds = self.dataset
        if ds is None or self.mode not in ("1d", "2d"):
            return
        bg, fg = self._colours()
        outline = pg.mkPen(_mix(bg, fg, 0.75), width=0.8)
        fill_bg = pg.mkBrush(bg)
        pens, brushes = [], []
        self._row_colours = self._point_colours()
        for colour, test in zip(self._row_colours, ds.test):
            if test:
                pens.append(pg.mkPen(colour, width=2))
                brushes.append(fill_bg)
            else:
                pens.append(outline)
                brushes.append(pg.mkBrush(colour))
        self.scatter.setData(x=self._px, y=self._py, data=np.arange(ds.n_rows),
                             pen=pens, brush=brushes, size=POINT_SIZE, symbol="o")

    def _update_lut(self) -> None:
        """The heatmap's colours: 0/1 targets go from a blue tint (p = 0) through the
        background (p = 0.5, the boundary) to an orange tint (p = 1); others are
        viridis, tinted, on the target's scale."""
        bg, _ = self._colours()
        if self.binary:
            c0, c1 = QColor(CLASS_COLOURS[0]), QColor(CLASS_COLOURS[1])
            t = np.linspace(0.0, 1.0, 256)
            rows = [(_mix(bg, c0, TINT * (0.5 - v) * 2) if v < 0.5 else
                     _mix(bg, c1, TINT * (v - 0.5) * 2)) for v in t]
        else:
            cols = pg.colormap.get("viridis").mapToQColor(np.linspace(0.0, 1.0, 256))
            rows = [_mix(bg, c, TINT) for c in cols]
        lut = np.array([[c.red(), c.green(), c.blue(), 255] for c in rows], dtype=np.ubyte)
        self.image.setLookupTable(lut)

    def _update_legend(self) -> None:
        ds = self.dataset
        if ds is None or self.mode not in ("1d", "2d"):
            self.legend_label.clear()
            return
        _, fg = self._colours()

        def dot(colour: str, hollow: bool = False) -> str:
            return f'<span style="color:{colour}">{"○" if hollow else "●"}</span>'
        parts = []
        t = html.escape(self.target)
        if self.binary:
            parts += [f"{dot(CLASS_COLOURS[k])}&nbsp;{t} = {k}" for k in (0, 1)]
        elif self.mode == "2d" and self._levels is not None:
            lo, hi = self._levels
            swatches = "".join(f'<span style="color:{c.name()}">■</span>' for c in
                               pg.colormap.get("viridis").mapToQColor(np.linspace(0, 1, 6)))
            parts.append(f"{t}: {fmt(lo, 3)}&nbsp;{swatches}&nbsp;{fmt(hi, 3)}")
        else:
            parts.append(f"{dot(CLASS_COLOURS[0])}&nbsp;train")
        if ds.test.any():
            parts.append(f"{dot(fg.name(), True)}&nbsp;test")
        if self.predict is None:
            pass
        elif self.mode == "1d":
            parts.append(f'<span style="color:{FIT_COLOUR}">━━</span>&nbsp;model')
        elif self.binary:
            parts.append("background: the model’s p(y = 1); line: p = 0.5")
        else:
            parts.append("background: model output")
        counts = f"{int((~ds.test).sum())} train" + (f", {int(ds.test.sum())} test"
                                                     if ds.test.any() else "")
        name = html.escape(ds.name) + " · " if ds.name else ""
        self.legend_label.setText(f"{name}{counts} &nbsp;&nbsp; " + " &nbsp; ".join(parts))

    def _show_state(self) -> None:
        """The hint page, or the plot with a note when something is left out."""
        if self.mode == "empty":
            self.hint_label.setText(HINT)
            self.stack.setCurrentIndex(0)
            return
        if self.mode == "none":
            self.hint_label.setText("The data view plots one or two input columns; this "
                                    f"dataset has none besides the target {self.target!r}.")
            self.stack.setCurrentIndex(0)
            return
        self.stack.setCurrentIndex(1)
        notes = []
        if len(self.inputs) > 2:
            rest = ", ".join(self.inputs[2:])
            its = "its" if len(self.inputs) == 3 else "their"
            notes.append(f"Showing {self.inputs[0]} and {self.inputs[1]}; the model's output "
                         f"is drawn with {rest} held at {its} mean over the training rows.")
        if self.predict is None:
            notes.append("No model yet: the points only.")
        elif self._model_note:
            notes.append(self._model_note)
        self.note_label.setText(" ".join(notes))
        self.note_label.setVisible(bool(notes))

    # ----------------------------------------------------------------- model
    def set_model(self, predict: Predict | None) -> None:
        """The function from input columns to the model's output per row (None: no
        model); drawn at once."""
        self.predict = predict
        self._update_legend()
        self.refresh()

    def refresh(self) -> None:
        """Ask the model again (after a training step) and redraw its output in place:
        the image's pixels and the curve's points change, no item is rebuilt."""
        self._model_note = ""
        if self.predict is None or self.mode not in ("1d", "2d"):
            self.image.setVisible(False)
            self.boundary.setData([], [])
            self.fit_curve.setData([], [])
            self._show_state()
            return
        try:
            out = self._evaluate(self._grid)
        except Exception as e:  # any model fault is shown, never raised into the event loop
            self._model_note = f"The model could not be evaluated: {e}"
            self.image.setVisible(False)
            self.boundary.setData([], [])
            self.fit_curve.setData([], [])
            self._show_state()
            return
        if not np.isfinite(out).all():
            self._model_note = "The model's output is not a number (NaN or ∞) in places."
        if self.mode == "1d":
            self.fit_curve.setData(self._gx, out)
        else:
            z = out.reshape(GRID, GRID)
            levels = self._levels
            if levels is None:
                f = z[np.isfinite(z)]
                levels = (float(f.min()), float(f.max())) if len(f) else (0.0, 1.0)
            self.image.setImage(z, autoLevels=False, levels=levels)
            self.image.setRect(self._rect)  # scales by the image's size: after setImage
            self.image.setVisible(True)
            if self.binary:
                self.boundary.setData(*contour_segments(z, self._gx, self._gy, 0.5))
        self._show_state()

    def _evaluate(self, cols: dict[str, np.ndarray]) -> np.ndarray:
        """``predict`` over ``cols`` in chunks of CHUNK_ROWS rows (see there why)."""
        assert self.predict is not None
        n = len(next(iter(cols.values())))
        parts = []
        for i in range(0, n, CHUNK_ROWS):
            chunk = {k: v[i:i + CHUNK_ROWS] for k, v in cols.items()}
            m = len(next(iter(chunk.values())))
            p = np.asarray(self.predict(chunk), dtype=np.float64).reshape(-1)
            if len(p) != m:
                raise ValueError(f"the model gave {len(p)} values for {m} rows")
            parts.append(p)
        return np.concatenate(parts)

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """The heatmap's x and y coordinates (2-D: ``image.image[i, j]`` is the model at
        (x[j], y[i])), or the curve's x and an empty y (1-D)."""
        return self._gx, self._gy

    # ------------------------------------------------------------- selection
    def set_selected(self, row: int | None) -> None:
        """Mark one row's point (bigger, with a ring); None or a row not shown clears."""
        ds = self.dataset
        valid = ds is not None and row is not None and 0 <= row < ds.n_rows
        self.selected = row if valid else None
        if not valid or self.mode not in ("1d", "2d"):
            self.marker.clear()
            return
        assert ds is not None and row is not None
        bg, fg = self._colours()
        colour = self._row_colours[row]
        test = bool(ds.test[row])
        x, y = float(self._px[row]), float(self._py[row])
        self.marker.setData(
            x=[x, x], y=[y, y], size=[POINT_SIZE * 2.6, POINT_SIZE * 1.5], symbol="o",
            pen=[pg.mkPen(fg, width=2.5), pg.mkPen(colour, width=2.5) if test
                 else pg.mkPen(_mix(bg, fg, 0.75), width=1)],
            brush=[pg.mkBrush(None), pg.mkBrush(bg if test else colour)])

    def _on_points_clicked(self, _item, points, ev) -> None:
        """The nearest of the points under the cursor (in pixels) becomes the selection."""
        if not len(points):
            return
        at = ev.scenePos()

        def dist(p) -> float:
            s = self.scatter.mapToScene(p.pos())
            return (s.x() - at.x()) ** 2 + (s.y() - at.y()) ** 2
        row = int(min(points, key=dist).data())
        self.set_selected(row)
        self.sample_clicked.emit(row)

    def scene_pos_of(self, row: int) -> QPointF:
        """Where row ``row``'s point is in the plot's scene (for tests and pickers)."""
        # through the view box, which brings its transform up to date first
        return self.data_plot.getViewBox().mapViewToScene(
            QPointF(float(self._px[row]), float(self._py[row])))

    def _tip(self, x: float, y: float, data: object) -> str:
        ds = self.dataset
        if ds is None:
            return ""
        row = int(data)  # type: ignore[arg-type]
        names = self.inputs[:2] + ([self.target] if self.target in ds.columns else [])
        if self.mode == "1d":
            names = self.inputs[:1] + [n for n in names[1:] if n == self.target]
        vals = ", ".join(f"{n} = {fmt(ds.columns[n][row])}" for n in dict.fromkeys(names))
        return f"row {row}{' (test)' if ds.test[row] else ''}: {vals}"

    # --------------------------------------------------------------- history
    def set_history(self, steps: Sequence[float], train_loss: Sequence[float],
                    test_loss: Sequence[float] | None = None,
                    train_acc: Sequence[float] | None = None,
                    test_acc: Sequence[float] | None = None) -> None:
        """Loss (train solid, test dashed) and accuracy curves over ``steps``.
        Accuracies are fractions 0…1, drawn in percent; NaN leaves a gap (a step
        where the test set was not evaluated)."""
        s = np.asarray(steps, dtype=np.float64).reshape(-1)
        h: dict[str, np.ndarray] = {}
        for key, v in (("train_loss", train_loss), ("test_loss", test_loss),
                       ("train_acc", train_acc), ("test_acc", test_acc)):
            if v is None:
                continue
            a = np.asarray(v, dtype=np.float64).reshape(-1)
            if len(a) != len(s):
                raise ValueError(f"{key} has {len(a)} values for {len(s)} steps")
            h[key] = a
        self._history = h
        self._steps = s
        for key, curve, scale in (("train_loss", self.train_loss_curve, 1),
                                  ("test_loss", self.test_loss_curve, 1),
                                  ("train_acc", self.train_acc_curve, 100),
                                  ("test_acc", self.test_acc_curve, 100)):
            if key in h:
                curve.setData(s, h[key] * scale)
            elif curve.xData is not None and len(curve.xData):
                curve.setData([], [])  # (an empty curve left alone costs no repaint)
        self.acc_plot.setVisible(self.binary or self._has_acc())
        self._update_readout()

    def clear_history(self) -> None:
        """No curves (a new training session, or another dataset)."""
        self.set_history([], [])
        for p in (self.loss_plot, self.acc_plot):
            p.enableAutoRange()

    def _has_acc(self) -> bool:
        return any(len(self._history.get(k, ())) for k in ("train_acc", "test_acc"))

    def _update_readout(self) -> None:
        """The latest numbers in words, and which line is which."""
        h = self._history

        def last(key: str) -> float | None:
            a = h.get(key)
            if a is None:
                return None
            f = a[np.isfinite(a)]
            return float(f[-1]) if len(f) else None
        solid, dashed = "━━", "╍╍"
        parts, words = [], []
        for key, label, colour, pct in (
                ("train_loss", "train loss", LOSS_COLOUR, False),
                ("test_loss", "test loss", LOSS_COLOUR, False),
                ("train_acc", "train acc", ACC_COLOUR, True),
                ("test_acc", "test acc", ACC_COLOUR, True)):
            v = last(key)
            if v is None:
                continue
            text = f"{label} {v * 100:.1f}%" if pct else f"{label} {fmt(v, 3)}"
            line = solid if key.startswith("train") else dashed
            parts.append(f'<span style="color:{colour}">{line}</span>&nbsp;{text}')
            words.append(text)
        steps = self._steps
        if not parts:
            self._readout_plain = "No training yet: loss and accuracy appear here as it runs."
            self.readout.setText(self._readout_plain)
            return
        head = f"step {int(steps[-1]):,}" if len(steps) and math.isfinite(steps[-1]) else ""
        self._readout_plain = (head + ": " if head else "") + " · ".join(words)
        self.readout.setText((head + " &nbsp; " if head else "") + " · ".join(parts))

    def readout_text(self) -> str:
        """The latest numbers in words, without the line keys ("step 40: train loss
        0.123 · test loss 0.15 · train acc 96.0% · test acc 94.5%"), for a status bar."""
        return self._readout_plain


__all__ = ["DataView", "contour_segments", "HINT", "GRID", "CURVE_POINTS", "CLASS_COLOURS"]
