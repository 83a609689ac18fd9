"""The Data view's frame while training: refresh() of the 200×200 heatmap plus a repaint.

    python benchmarks/data_view.py                   # 50 frames, 720×760 widget
    python benchmarks/data_view.py --frames 100 --size 1000x900

The model is a 2-8-8-1 tanh network with a sigmoid output and a BCE loss, written as
an expression (x1, x2, y are dataset columns, so they become data leaves) and compiled
with ``engine.fast.batch.compile_batch``; ``predict`` is ``BatchPlan.predict`` on the
output p. 200 random points, labelled by which side of a curve they lie on.

Each frame nudges every param (as a training step would) and appends a loss to the
history, then times ``DataView.refresh()`` (the model on 40,000 grid points, the image
and the p = 0.5 line updated in place) and a repaint, two ways:

* ``grab()``: a synchronous repaint of the whole widget (every axis and label too), the
  pessimistic figure;
* ``processEvents()``: what the event loop does after a training step: only the parts
  that changed (the data plot's view box, the loss plot with its new point) are painted.

Prints medians and the split. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from engine.dataset import Dataset  # noqa: E402
from engine.expr import parse  # noqa: E402
from engine.fast.batch import compile_batch  # noqa: E402
from engine.graph import Graph  # noqa: E402

HIDDEN = 8


def network_text() -> tuple[str, list[str]]:
    """``h1_j = tanh(w1_j1*x1 + w1_j2*x2 + b1_j)`` …, ``p = sigmoid(…)``, ``L = bce(y, p)``;
    returns the text and the param names."""
    lines, params = [], []
    for j in range(1, HIDDEN + 1):
        lines.append(f"h1_{j} = tanh(w1_{j}_1*x1 + w1_{j}_2*x2 + b1_{j})")
        params += [f"w1_{j}_1", f"w1_{j}_2", f"b1_{j}"]
    for k in range(1, HIDDEN + 1):
        terms = " + ".join(f"w2_{k}_{j}*h1_{j}" for j in range(1, HIDDEN + 1))
        lines.append(f"h2_{k} = tanh({terms} + b2_{k})")
        params += [f"w2_{k}_{j}" for j in range(1, HIDDEN + 1)] + [f"b2_{k}"]
    terms = " + ".join(f"w3_{k}*h2_{k}" for k in range(1, HIDDEN + 1))
    lines.append(f"p = sigmoid({terms} + b3)")
    params += [f"w3_{k}" for k in range(1, HIDDEN + 1)] + ["b3"]
    lines.append("L = bce(y, p)")
    return "\n".join(lines), params


def network(rng: np.random.Generator) -> Graph:
    text, params = network_text()
    g = parse(text, params=params, columns=["x1", "x2", "y"], layout=False)
    for nid in g.ids():
        if g.op_of(nid) == "param":
            g.set_value(nid, rng.normal(0.0, 1.0))
    return g


def points(rng: np.random.Generator, n: int = 200) -> Dataset:
    x1, x2 = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
    y = (x2 > np.sin(2 * x1)).astype(float)
    return Dataset({"x1": x1, "x2": x2, "y": y}, rng.random(n) < 0.2, name="random")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--size", default="720x760", help="widget size, WxH")
    args = ap.parse_args()
    w_px, h_px = map(int, args.size.lower().split("x"))

    from PySide6.QtWidgets import QApplication

    from gui import theme
    from gui.data_view import DataView

    app = QApplication.instance() or QApplication([])
    theme.apply_theme(app, "light")
    rng = np.random.default_rng(0)
    g = network(rng)
    ds = points(rng)
    plan = compile_batch(g)
    out = g.id_of("p")
    params = [nid for nid in g.ids() if g.op_of(nid) == "param"]
    values = {nid: g.node(nid).value for nid in params}

    view = DataView()
    view.resize(w_px, h_px)
    view.set_dataset(ds, ["x1", "x2"])
    view.set_model(lambda cols: plan.predict(cols, out))
    view.show()
    app.processEvents()
    view.grab()  # first paint: fonts, symbol atlas

    steps: list[int] = []
    losses: list[float] = []

    def frames(repaint) -> tuple[list[float], list[float], list[float]]:
        t_refresh, t_paint, t_frame = [], [], []
        for _ in range(args.frames):
            for nid in params:  # a training step's worth of change
                values[nid] += rng.normal(0.0, 0.02)
                plan.set_leaf(nid, values[nid])
            steps.append(len(steps))
            losses.append(0.7 * np.exp(-len(steps) / 20))
            view.set_history(steps, losses)
            t0 = time.perf_counter()
            view.refresh()
            t1 = time.perf_counter()
            repaint()
            t2 = time.perf_counter()
            t_refresh.append(t1 - t0)
            t_paint.append(t2 - t1)
            t_frame.append(t2 - t0)
        return t_refresh, t_paint, t_frame

    grab = frames(view.grab)
    events = frames(app.processEvents)

    # the model alone, on the whole grid in one call (what chunking saves)
    grid = view._grid
    plan.predict(grid, out)
    t_one = []
    for _ in range(5):
        t0 = time.perf_counter()
        plan.predict(grid, out)
        t_one.append(time.perf_counter() - t0)

    def ms(xs: list[float]) -> str:
        return f"{statistics.median(xs) * 1000:6.1f} ms"
    print(f"Data view {w_px}×{h_px}, {ds.n_rows} points, {len(g.ids())}-node 2-8-8-1 net, "
          f"{args.frames} frames")
    for name, (t_refresh, t_paint, t_frame) in (("grab()", grab),
                                                 ("processEvents()", events)):
        print(f"  repaint by {name}:")
        print(f"    refresh() (model on the 200×200 grid, image, p=0.5 line): {ms(t_refresh)}")
        print(f"    repaint:                                                   {ms(t_paint)}")
        print(f"    frame (refresh + repaint):                                 {ms(t_frame)}")
    print(f"  for comparison, predict on all 40,000 grid rows in one call: {ms(t_one)}")


if __name__ == "__main__":
    main()
