"""The Data view as a learner sees it: points over the model's output, a click picks a
sample, the loss and accuracy curves with their readout.

Models here are numpy functions whose output is known everywhere (a step at x1 = 0, a
line), so what the heatmap and the curve hold can be checked number by number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from engine.dataset import Dataset
from gui import theme
from gui.data_view import CURVE_POINTS, GRID, HINT, DataView, contour_segments

SCREENSHOT = Path("/tmp/data_view.png")


def step_model(cols: dict[str, np.ndarray]) -> np.ndarray:
    """p = 1 right of x1 = 0, else 0."""
    return (cols["x1"] > 0).astype(float)


def moons(n: int = 200, noise: float = 0.1, seed: int = 3) -> Dataset:
    """Two interleaved half circles, every fifth row held out for testing."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    y = (np.arange(n) % 2).astype(float)
    x1 = np.where(y == 0, np.cos(t), 1 - np.cos(t)) + rng.normal(0, noise, n)
    x2 = np.where(y == 0, np.sin(t), 0.5 - np.sin(t)) + rng.normal(0, noise, n)
    return Dataset({"x1": x1, "x2": x2, "y": y}, np.arange(n) % 5 == 0, name="moons")


def moons_model(cols: dict[str, np.ndarray]) -> np.ndarray:
    """A hand-made classifier for the moons: y = 1 below x2 = 0.25 + 0.5·cos(π·x1)."""
    return 1 / (1 + np.exp(-6 * (0.25 + 0.5 * np.cos(np.pi * cols["x1"]) - cols["x2"])))


@pytest.fixture
def view(qtbot) -> DataView:
    """A Data view, 720×760, shown and exposed, in the light theme."""
    theme.apply_theme(QApplication.instance(), "light")
    w = DataView()
    qtbot.addWidget(w)
    w.resize(720, 760)
    w.show()
    qtbot.waitExposed(w)
    return w


def four_points() -> Dataset:
    """Two classes left and right of x1 = 0; row 3 (a test row) stands apart."""
    return Dataset({"x1": [-1.0, -0.5, 0.5, 1.0], "x2": [0.0, 1.0, 0.0, 1.0],
                    "y": [0.0, 0.0, 1.0, 1.0]}, [False, False, False, True], name="four")


def click_data_point(qtbot, view: DataView, x: float, y: float, dx_px: float = 0) -> None:
    """A real left click on the data plot where (x, y) is drawn (``dx_px`` pixels right)."""
    vb = view.data_plot.getViewBox()
    scene = vb.mapViewToScene(QPointF(x, y)) + QPointF(dx_px, 0)
    pos = view.data_plot.mapFromScene(scene)
    qtbot.mouseClick(view.data_plot.viewport(), Qt.LeftButton, pos=pos)


# ---------------------------------------------------------------- the heatmap
def test_heatmap_holds_the_models_output_each_side_of_the_boundary(view):
    view.set_dataset(four_points(), ["x1", "x2"])
    view.set_model(step_model)
    img = view.image.image
    gx, gy = view.grid()
    assert img.shape == (GRID, GRID) == (len(gy), len(gx))
    # rows run along x2, columns along x1: left of x1 = 0 the model says 0, right 1
    assert np.all(img[:, gx < 0] == 0) and np.all(img[:, gx > 0] == 1)
    assert (gx < 0).sum() > 20 and (gx > 0).sum() > 20
    # the grid covers the data with a margin, and the image covers exactly the view
    assert gx[0] < -1 and gx[-1] > 1 and gy[0] < 0 and gy[-1] > 1
    (x0, x1), (y0, y1) = view.data_plot.getViewBox().viewRange()
    rect = view.image.mapRectToParent(view.image.boundingRect())
    assert rect.left() == pytest.approx(x0) and rect.right() == pytest.approx(x1)
    assert rect.top() == pytest.approx(y0) and rect.bottom() == pytest.approx(y1)
    # levels fixed at 0…1 (a 0/1 target): colours mean the same p on every refresh
    assert list(view.image.levels) == [0, 1]
    # the p = 0.5 line runs along x1 = 0
    bx, by = view.boundary.getData()
    assert len(bx) > 0 and np.allclose(bx, 0, atol=(gx[1] - gx[0]))


def test_refresh_updates_the_image_in_place(view):
    """refresh() after the model changed (a training step) draws the new output into
    the same items: no item is rebuilt."""
    w = np.array([1.0])
    view.set_dataset(four_points(), ["x1", "x2"])
    view.set_model(lambda c: (c["x1"] > w[0]).astype(float))
    image, scatter, items = view.image, view.scatter, list(view.data_plot.getPlotItem().items)
    gx, _ = view.grid()
    assert np.all(view.image.image[:, gx < 1] == 0)
    w[0] = -0.5
    view.refresh()
    assert view.image is image and view.scatter is scatter
    assert list(view.data_plot.getPlotItem().items) == items
    assert np.all(view.image.image[:, gx > -0.5] == 1)
    assert np.all(view.image.image[:, gx < -0.5] == 0)


def test_the_heatmap_follows_a_resize(qtbot, view):
    """With the aspect locked the view is wider than the data when the widget is; the
    model is asked about the whole visible range, so no part of the plot is left bare."""
    view.set_dataset(moons(), ["x1", "x2"])
    view.set_model(moons_model)
    before = view.grid()[0].copy()
    view.resize(1100, 760)
    qtbot.waitUntil(lambda: view.grid()[0][0] < before[0] - 0.1)
    (x0, x1), _ = view.data_plot.getViewBox().viewRange()
    rect = view.image.mapRectToParent(view.image.boundingRect())
    assert rect.left() == pytest.approx(x0) and rect.right() == pytest.approx(x1)
    gx, gy = view.grid()
    expected = moons_model({"x1": np.meshgrid(gx, gy)[0], "x2": np.meshgrid(gx, gy)[1]})
    assert np.allclose(view.image.image, expected)


def test_hovering_a_point_names_its_row(view):
    view.set_dataset(four_points(), ["x1", "x2"])
    assert view._tip(1.0, 1.0, 3) == "row 3 (test): x1 = 1, x2 = 1, y = 1"


def test_points_are_coloured_by_class_and_test_rows_are_hollow(view):
    ds = four_points()
    view.set_dataset(ds, ["x1", "x2"])
    spots = view.scatter.points()
    assert [int(p.data()) for p in spots] == [0, 1, 2, 3]
    assert [(p.pos().x(), p.pos().y()) for p in spots] == list(zip(ds.columns["x1"],
                                                                     ds.columns["x2"]))
    blue, orange = QColor("#0072B2"), QColor("#E69F00")
    assert spots[0].brush().color() == blue and spots[2].brush().color() == orange
    # the test row: a ring in its class colour, filled with the background
    assert spots[3].pen().color() == orange
    assert spots[3].brush().color() == view.palette().base().color()


def test_more_than_two_inputs_slices_at_the_mean(view):
    rng = np.random.default_rng(1)
    ds = Dataset({"x1": rng.normal(size=20), "x2": rng.normal(size=20),
                  "x3": np.arange(20.0), "y": (np.arange(20) % 2).astype(float)},
                 np.arange(20) >= 16)
    seen = {}

    def model(cols):
        seen.update(cols)
        return np.zeros(len(cols["x1"]))
    view.set_dataset(ds, ["x1", "x2", "x3"])
    view.set_model(model)
    assert np.all(seen["x3"] == np.arange(16.0).mean())  # the training rows' mean
    assert view.note_label.isVisible()
    assert "x3 held at its mean" in view.note_label.text()


def test_a_failing_model_is_a_note_not_a_crash(view):
    view.set_dataset(four_points(), ["x1", "x2"])

    def broken(cols):
        raise ValueError("no output node")
    view.set_model(broken)
    assert not view.image.isVisible()
    assert view.note_label.isVisible() and "no output node" in view.note_label.text()
    view.set_model(step_model)  # a working model again: the note goes
    assert view.image.isVisible() and not view.note_label.isVisible()


def test_nan_output_is_left_blank_with_a_note(view):
    """A model that says NaN somewhere (log of a negative, 0/0) still draws the rest."""
    view.set_dataset(four_points(), ["x1", "x2"])
    view.set_model(lambda c: np.where(c["x1"] < 0, np.nan, 0.8))
    assert view.image.isVisible()
    assert "not a number" in view.note_label.text()
    gx, _ = view.grid()
    assert np.isnan(view.image.image[:, gx < 0]).all()
    assert view.grab().width() > 0  # paints without a fault


# ------------------------------------------------------------------ one input
def test_one_input_draws_the_fitted_curve_through_the_predictions(view):
    x = np.linspace(-2, 3, 30)
    ds = Dataset({"x": x, "y": 2 * x + 1 + np.sin(5 * x) * 0.3}, None)
    view.set_dataset(ds, ["x"])
    view.set_model(lambda c: 2 * c["x"] + 1)
    cx, cy = view.fit_curve.getData()
    assert len(cx) == CURVE_POINTS
    assert cx[0] <= -2 and cx[-1] >= 3  # across the whole x range
    assert np.allclose(cy, 2 * cx + 1)
    assert view.data_plot.getPlotItem().getAxis("left").labelText == "y"
    assert view.data_plot.getPlotItem().getAxis("bottom").labelText == "x"
    assert not view.image.isVisible()
    spots = view.scatter.points()
    assert np.allclose([p.pos().y() for p in spots], ds.columns["y"])


# ---------------------------------------------------------------- empty states
def test_no_dataset_shows_the_hint(view):
    assert view.stack.currentWidget() is view.hint_label
    assert view.hint_label.isVisible() and view.hint_label.text() == HINT
    view.set_dataset(four_points(), ["x1", "x2"])
    assert view.data_plot.isVisible() and not view.hint_label.isVisible()
    # a dataset without a model: the points, and a note saying why there is no more
    assert not view.image.isVisible()
    assert "No model yet" in view.note_label.text() and view.note_label.isVisible()
    view.set_dataset(None, [])
    assert view.hint_label.isVisible() and view.hint_label.text() == HINT
    assert view.scatter.points().size == 0


# --------------------------------------------------------------------- clicks
def test_clicking_a_point_emits_its_row_and_rings_it(qtbot, view):
    ds = four_points()
    view.set_dataset(ds, ["x1", "x2"])
    view.set_model(step_model)
    qtbot.wait(10)
    with qtbot.waitSignal(view.sample_clicked, timeout=2000) as sig:
        click_data_point(qtbot, view, 1.0, 1.0)
    assert sig.args == [3]
    assert view.selected == 3
    ring = view.marker.points()
    assert len(ring) == 2 and all((p.pos().x(), p.pos().y()) == (1.0, 1.0) for p in ring)
    assert max(p.size() for p in ring) > view.scatter.points()[3].size()
    # the picker elsewhere chose another sample: the ring follows
    view.set_selected(0)
    assert {(p.pos().x(), p.pos().y()) for p in view.marker.points()} == {(-1.0, 0.0)}
    view.set_selected(None)
    assert len(view.marker.points()) == 0


def test_a_click_between_overlapping_points_picks_the_nearest(qtbot, view):
    """Two points whose symbols overlap: the one nearer the cursor is picked."""
    ds = Dataset({"x1": [0.0, 0.05, 5.0], "x2": [0.0, 0.0, 5.0], "y": [0.0, 1.0, 1.0]},
                 None)
    view.set_dataset(ds, ["x1", "x2"])
    a, b = view.scene_pos_of(0), view.scene_pos_of(1)
    assert 2 < b.x() - a.x() < 7  # a few pixels apart: both under a click between them
    got = []
    view.sample_clicked.connect(got.append)
    gap = b.x() - a.x()
    click_data_point(qtbot, view, 0.0, 0.0, dx_px=gap * 0.7)  # nearer row 1
    click_data_point(qtbot, view, 0.0, 0.0, dx_px=gap * 0.3)  # nearer row 0
    assert got == [1, 0]
    # a click on empty background picks nothing
    click_data_point(qtbot, view, 2.5, 2.5)
    assert got == [1, 0] and view.selected == 0


# -------------------------------------------------------------------- history
def test_history_draws_loss_and_accuracy_curves_with_a_readout(view):
    view.set_dataset(four_points(), ["x1", "x2"])
    steps = np.arange(5)
    tl = [0.7, 0.5, 0.3, 0.2, 0.123]
    vl = [0.8, 0.6, np.nan, 0.25, 0.150]  # a step without a test evaluation: a gap
    ta = [0.5, 0.7, 0.9, 0.95, 0.96]
    va = [0.4, 0.6, 0.8, 0.9, 0.945]
    view.set_history(steps, tl, vl, ta, va)
    assert np.array_equal(view.train_loss_curve.getData()[1], tl)
    assert np.array_equal(view.test_loss_curve.getData()[1], vl, equal_nan=True)
    assert np.allclose(view.train_acc_curve.getData()[1], np.multiply(ta, 100))
    assert np.allclose(view.test_acc_curve.getData()[1], np.multiply(va, 100))
    assert np.array_equal(view.train_loss_curve.getData()[0], steps)
    assert view.train_loss_curve.opts["pen"].style() == Qt.SolidLine
    assert view.test_loss_curve.opts["pen"].style() == Qt.DashLine
    assert view.acc_plot.isVisible()
    assert view.readout_text() == ("step 4: train loss 0.123 · test loss 0.15 · "
                                   "train acc 96.0% · test acc 94.5%")
    shown = view.readout.text()  # the same words, each after its line's key
    assert "━━</span>&nbsp;train loss 0.123" in shown
    assert "╍╍</span>&nbsp;test loss 0.15" in shown
    with pytest.raises(ValueError, match="3 values for 5 steps"):
        view.set_history(steps, tl[:3])
    view.clear_history()
    assert len(view.train_loss_curve.getData()[1] or []) == 0
    assert "No training yet" in view.readout_text()


def test_accuracy_plot_only_for_a_0_1_target(view):
    x = np.linspace(0, 1, 10)
    view.set_dataset(Dataset({"x": x, "y": x ** 2}, None), ["x"])
    view.set_history([0, 1], [1.0, 0.5])
    assert not view.acc_plot.isVisible()
    assert view.readout_text() == "step 1: train loss 0.5"
    view.set_dataset(four_points(), ["x1", "x2"])
    assert view.acc_plot.isVisible()


# -------------------------------------------------------------- theme, pixels
def test_follows_the_dark_theme(view):
    view.set_dataset(four_points(), ["x1", "x2"])
    view.setPalette(theme.palette("dark"))
    base = theme.color("dark", "base")
    assert view.data_plot.backgroundBrush().color() == base
    assert view.loss_plot.backgroundBrush().color() == base
    # the heatmap at p = 0.5 is the background colour, so the boundary reads as a gap
    assert tuple(view.image.lut[128][:3]) == (base.red(), base.green(), base.blue())


def test_contour_segments_lie_on_the_level():
    xs = np.linspace(-2, 2, 81)
    ys = np.linspace(-2, 2, 61)
    X, Y = np.meshgrid(xs, ys)
    sx, sy = contour_segments(X ** 2 + Y ** 2, xs, ys, 1.0)  # the unit circle
    assert len(sx) % 2 == 0 and len(sx) > 100
    assert np.allclose(np.hypot(sx, sy), 1.0, atol=0.01)
    sx, sy = contour_segments(np.full((5, 5), np.nan), xs[:5], ys[:5], 0.5)
    assert len(sx) == 0


def test_screenshot_of_the_moons(qtbot, view):
    """A moons dataset with a good model, saved to /tmp/data_view.png to look at."""
    view.set_dataset(moons(), ["x1", "x2"])
    view.set_model(moons_model)
    steps = np.arange(300)
    loss = 0.7 * np.exp(-steps / 60) + 0.08
    acc = 1 - 0.5 * np.exp(-steps / 40)
    view.set_history(steps, loss, loss + 0.025, acc - 0.03, acc - 0.055)
    view.set_selected(7)
    qtbot.wait(20)
    img = view.grab()
    assert img.save(str(SCREENSHOT))
    # both class tints are on screen (blue above the boundary, orange below)
    q = img.toImage()
    (x0, x1), (y0, y1) = view.data_plot.getViewBox().viewRange()

    def pixel(x: float, y: float) -> QColor:
        p = view.data_plot.mapTo(view, view.data_plot.mapFromScene(
            view.data_plot.getViewBox().mapViewToScene(QPointF(x, y))))
        return q.pixelColor(p.x(), p.y())
    top, bottom = pixel(0.5 * (x0 + x1), y1 - 0.05), pixel(0.5 * (x0 + x1), y0 + 0.05)
    assert top.blue() > top.red() and bottom.red() > bottom.blue()
