"""Editor figures, measured offscreen: open + first paint, a leaf's value change, a fit-all frame.

    python benchmarks/editor.py                    # 1,000 and 10,000 nodes
    python benchmarks/editor.py --sizes 1000 --repeat 5

The graphs are the scalar-unrolled MLP of benchmarks/families.py (about half of the
nodes are ops), laid out by engine.layout and saved to a temporary file, so opening
measures the real path: read + validate the file, evaluate, build the scene, fit, paint.

* **open + first paint**: ``MainWindow.open_path`` until the fitted view has painted once
  (the window is shown at 1400×900; pending events are processed, then the viewport
  repaints synchronously).
* **value change**: ``Document.set_value`` of one input leaf as a slider drag pushes it
  (merge id), which re-evaluates and updates every item whose numbers changed; the
  repaint that follows is timed separately, at zoom 1 centred on that leaf (readable
  labels) and at fit-all zoom.
* **select → inspector**: ``select_ids`` of one node (as a click does) until the
  pending events are processed and the inspector shows its name (the derivation panel
  is filled later, off this path).
* **auto-layout**: Auto-Layout (key L) after every node's x and y were swapped, until
  the view has painted once (a single run, progress dialog included).
* **fit-all frame**: one synchronous repaint of the whole graph fitted in the view
  (nothing changed since the last frame, as for a hover, a selection or a rubber band);
  **… after a pan**: the view scrolled by one pixel first (far out the last frame is
  shifted and only the uncovered strip drawn).
* **frame after a zoom step** (in / out): the first frame after ``zoom_in`` or
  ``zoom_out`` (Ctrl+= / Ctrl+-, one wheel notch is about the same step) from the
  fit-all view, crisp before the step; **settled frame**: the frame drawn crisp at the
  new zoom once the steps stop (``settle_zoom``, which the view's timer calls 90 ms
  after the last step). Far out the first frame is the last one scaled; closer in every
  frame is drawn by the items.

Medians of --repeat runs after one warm-up. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from families import mlp  # noqa: E402


def _median(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def make_file(n_nodes: int, folder: str) -> str:
    """An MLP of about ``n_nodes`` nodes, laid out and saved; returns the path."""
    from engine import fileformat
    from engine.layout import apply_layout
    g, _ = mlp(max(2, n_nodes // 2))
    apply_layout(g)
    path = os.path.join(folder, f"mlp_{len(g)}.json")
    fileformat.save(g, path)
    return path


def measure(path: str, repeat: int, app) -> dict:
    from PySide6.QtCore import QPointF
    from gui.mainwindow import MainWindow
    from gui.document import Document
    out: dict = {}
    win = MainWindow(Document())
    win.resize(1400, 900)
    win.show()
    app.processEvents()
    view = win.canvas

    t0 = time.perf_counter()
    win.open_path(path, ask=False)
    t1 = time.perf_counter()
    app.processEvents()  # the deferred fit-all
    view.viewport().repaint()
    t2 = time.perf_counter()
    out["nodes"] = len(win.doc.graph)
    out["open"] = t1 - t0
    out["open_paint"] = t2 - t0

    view.fit_all()
    app.processEvents()
    out["fit_frame"] = _median(view.viewport().repaint, repeat)
    bar = view.horizontalScrollBar()
    sign = [1]

    def pan() -> None:
        sign[0] = -sign[0]
        bar.setValue(bar.value() + sign[0])
        view.viewport().repaint()
    out["fit_pan_frame"] = _median(pan, repeat)

    vp = view.viewport()
    settle = getattr(view, "settle_zoom", lambda: None)  # (absent before zoom previews)
    steps: dict[str, list] = {"in": [], "out": [], "settled": []}
    for k in range(repeat + 1):  # the first round is the warm-up
        for name, step in (("in", view.zoom_in), ("out", view.zoom_out)):
            t = time.perf_counter()
            step()
            vp.repaint()
            t1 = time.perf_counter()
            settle()
            vp.repaint()
            t2 = time.perf_counter()
            if k:
                steps[name].append(t1 - t)
                steps["settled"].append(t2 - t1)
    for name, got in steps.items():
        out[f"zoom_{name}"] = statistics.median(got)
    view.fit_all()
    app.processEvents()

    # a click's selection until the inspector shows the node (the derivation is deferred)
    g = win.doc.graph
    ids = g.ids()
    pick = [0]

    def select() -> None:
        pick[0] += 1
        nid = ids[(pick[0] * 7919) % len(ids)]
        win.canvas.select_ids([nid])
        app.processEvents()
        assert win.inspector.name_edit.text() == g.name_of(nid)
    out["select"] = _median(select, repeat)

    # a slider drag of an input leaf: every merged push re-evaluates
    leaf = next(n for n in g.ids() if g.op_of(n) == "input")
    win.canvas.select_ids([leaf])
    app.processEvents()
    step = [0]

    def change() -> None:
        step[0] += 1
        win.doc.set_value(leaf, 0.5 + 0.001 * step[0], merge_id=424242)
    out["change"] = _median(change, repeat)
    out["change_paint_fit"] = _median(lambda: (change(), view.viewport().repaint()), repeat) \
        - out["change"]
    view.resetTransform()
    view.centerOn(QPointF(*g.node(leaf).pos))
    app.processEvents()
    out["change_paint_1"] = _median(lambda: (change(), view.viewport().repaint()), repeat) \
        - out["change"]

    # auto-layout from scrambled positions (x and y swapped), a single run like open
    from gui.commands import MoveNodes
    moves = {n.id: (n.pos, (n.pos[1], n.pos[0])) for n in g.nodes()}
    win.doc._push(MoveNodes(win.doc, moves, text="scramble"))
    app.processEvents()
    t = time.perf_counter()
    win.auto_layout()
    app.processEvents()
    view.viewport().repaint()
    out["layout"] = time.perf_counter() - t
    win.doc.undo_stack.setClean()
    win.hide()
    _KEEP.append(win)  # deleting windows mid-run upsets their late signal handlers
    return out


_KEEP: list = []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication(sys.argv[:1])
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in (int(s) for s in args.sizes.split(",")):
            path = make_file(size, folder)
            r = measure(path, args.repeat, app)
            rows.append(r)
            print(f"  {r['nodes']} nodes measured", file=sys.stderr)
    ms = lambda s: f"{s * 1e3:.0f}" if s >= 0.01 else f"{s * 1e3:.1f}"  # noqa: E731
    print("Editor, offscreen, ms (medians of "
          f"{args.repeat} after a warm-up; open is a single run).\n")
    print("| nodes | open (load + evaluate + build) | open + first paint | fit-all frame "
          "| fit-all frame after a pan "
          "| after a zoom step in / out | settled frame "
          "| select → inspector "
          "| value change → labels updated | + repaint at zoom 1 | + repaint at fit-all "
          "| auto-layout + paint |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['nodes']:,} | {ms(r['open'])} | {ms(r['open_paint'])} | "
              f"{ms(r['fit_frame'])} | {ms(r['fit_pan_frame'])} | "
              f"{ms(r['zoom_in'])} / {ms(r['zoom_out'])} | {ms(r['zoom_settled'])} | "
              f"{ms(r['select'])} | "
              f"{ms(r['change'])} | "
              f"{ms(r['change_paint_1'])} | {ms(r['change_paint_fit'])} | {ms(r['layout'])} |")


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)  # skip tearing down the windows: their late signal handlers only add noise
