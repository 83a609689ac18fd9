"""Long work on the GUI thread shows progress: opening a large file and auto-layout.

The delays before the dialog appears are set to zero here so that a graph of a couple of
thousand nodes is "long"; what is checked is what a user sees — a progress dialog over
the window whose value grows to its maximum, the window repainting meanwhile, and no
dialog left behind — and that the graph arrives whole.
"""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QProgressDialog

from engine import fileformat
from engine.graph import Graph
from gui import progress


def ladder(n: int) -> Graph:
    """x → s₁ = sin(x), sᵢ = sᵢ₋₁ + sin(sᵢ₋₁): 2n + 1 nodes, 3n edges."""
    g = Graph()
    prev = g.add_node("input", name="x", value=0.5, pos=(0.0, 0.0))
    for i in range(n):
        s = g.add_node("sin", pos=(200.0 * i, 120.0))
        g.connect(prev, s, "x")
        a = g.add_node("add", pos=(200.0 * i + 100, 0.0))
        g.connect(prev, a, "a")
        g.connect(s, a, "b")
        prev = a
    g.output = prev
    return g


building: list = []  # scene.building at each report while items are made


def watch(monkeypatch) -> list[tuple[bool, int, int, str]]:
    """Record, at each report, what the dialog on screen shows."""
    seen: list[tuple[bool, int, int, str]] = []
    building.clear()
    monkeypatch.setattr(progress, "SHOW_AFTER", 0.0)
    monkeypatch.setattr(progress, "REPAINT_EVERY", 0.0)
    original = progress._Scope.step

    def step(self, done, total, label):
        original(self, done, total, label)
        d = self.dialog
        seen.append((d.isVisible(), d.value(), d.maximum(), d.labelText()))
        building.append(d.parent().canvas.scene().building if d.parent() else None)
    monkeypatch.setattr(progress._Scope, "step", step)
    return seen


def no_dialog_left() -> bool:
    QApplication.processEvents()
    return not any(isinstance(w, QProgressDialog) and w.isVisible()
                   for w in QApplication.topLevelWidgets())


def test_opening_a_large_file_shows_progress(window, qtbot, monkeypatch, tmp_path):
    g = ladder(1500)
    path = tmp_path / "ladder.json"
    fileformat.save(g, str(path))
    seen = watch(monkeypatch)
    assert window.open_path(str(path), ask=False)
    assert seen, "no progress was reported"
    assert all(visible for visible, *_ in seen)
    assert any(building) and all(b for b, (*_, label) in zip(building, seen) if "canvas" in label)
    values = [v for _, v, _, _ in seen]
    assert values == sorted(values) and values[-1] > values[0]
    # nodes + two passes over the edges (create, then draw)
    assert seen[-1][2] == len(g) + 2 * len(g.edges())
    assert any("canvas" in label for *_, label in seen)
    assert no_dialog_left()
    # the view showed a blank canvas while items were built, the graph once built
    scene = window.canvas.scene()
    assert not scene.building
    image = window.canvas.viewport().grab().toImage()
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7)
               for y in range(0, image.height(), 7)}
    assert len(colours) > 3  # nodes and edges drawn, not one flat fill
    assert len(window.doc.graph) == len(g) == len(window.canvas.scene().nodes)
    assert not progress.busy()


def test_auto_layout_of_a_large_graph_shows_progress_and_undoes(window, qtbot, monkeypatch):
    g = ladder(1000)
    window.doc.load_graph(g)
    before = {n.id: n.pos for n in window.doc.graph.nodes()}
    seen = watch(monkeypatch)
    window.act_layout.trigger()
    assert any("Moving" in label for *_, label in seen)
    assert seen[-1][2] == len(g)
    # a bulk move: the scene was not re-indexed item by item while the nodes moved
    assert all(b for b, (*_, label) in zip(building, seen) if "Moving" in label)
    assert not window.canvas.scene().building
    assert no_dialog_left()
    after = {n.id: n.pos for n in window.doc.graph.nodes()}
    assert after != before
    # every node item sits where its node now is
    scene = window.canvas.scene()
    assert all((item.pos().x(), item.pos().y()) == after[nid] for nid, item in scene.nodes.items())
    window.doc.undo_stack.undo()
    assert {n.id: n.pos for n in window.doc.graph.nodes()} == before
    assert all((item.pos().x(), item.pos().y()) == before[nid]
               for nid, item in scene.nodes.items())


def test_the_dialog_waits_before_showing(window, qtbot, monkeypatch):
    """Work shorter than SHOW_AFTER never flashes a dialog; longer work shows one."""
    clock = [100.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: clock[0])
    with progress.scope(window, "test"):
        window.doc.load_graph(ladder(200))  # reports, but no time passes on this clock
        assert progress.busy()
        assert progress._current.dialog is None
        clock[0] += progress.SHOW_AFTER * 0.9
        progress.step(1, 10)
        assert progress._current.dialog is None
        clock[0] += max(progress.SHOW_AFTER * 0.2, progress.REPAINT_EVERY * 1.5)
        progress.step(2, 10, "half-way")
        dialog = progress._current.dialog
        assert dialog is not None and dialog.isVisible()
        assert (dialog.value(), dialog.maximum(), dialog.labelText()) == (2, 10, "half-way")
    assert not progress.busy()
    assert no_dialog_left()
