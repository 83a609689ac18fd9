"""Every kind of edit is one undo step, and undoing it restores the saved file exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from _gui_helpers import two_layer
from engine import fileformat
from engine.graph import Graph
from gui.commands import SetValue
from gui.document import Document


@pytest.fixture
def saved(qtbot, tmp_path):
    """A two-layer document saved to disk: (document, ids, file path)."""
    doc = Document()
    ids = two_layer(doc)
    doc.set_output(ids["L"])
    path = tmp_path / "two_layer.json"
    doc.save(str(path))
    return doc, ids, path


def _edits(doc: Document, ids: dict[str, str]) -> dict:
    """One callable per command kind, each changing the saved document."""
    def paste():
        data = doc.copy_data([ids["x"], ids["w1"], ids["h"]])
        new = doc.paste(data, (40.0, 300.0))
        assert len(new) == 3 and not set(new) & set(ids.values())

    def replace():
        g = Graph()
        a = g.add_node("input", "a", 3.0)
        s = g.add_node("square", "s")
        g.connect(a, s, "x")
        doc.replace_graph(g, "s = a**2")

    return {
        "add": lambda: doc.add_node("mul", (900, 0)),
        "delete one": lambda: doc.delete([ids["h"]]),
        "delete many": lambda: doc.delete([ids["h"], ids["yhat"], ids["w2"]]),
        "delete output": lambda: doc.delete([ids["L"]]),
        "move": lambda: doc.move({ids["x"]: ((0.0, 0.0), (15.0, -30.0)),
                                  ids["h"]: ((260.0, 40.0), (300.0, 60.0))}),
        "connect": lambda: doc.connect(ids["h"], doc.add_node("neg", (900, 0)), "x"),
        "disconnect": lambda: doc.disconnect(ids["yhat"], "a"),
        "reconnect": lambda: doc.reconnect(ids["h"], "a", ids["yhat"], "a")
        if doc.disconnect(ids["yhat"], "a") is None else None,
        "reroute in place": lambda: doc.reconnect(ids["h"], "a", ids["h"], "b")
        if doc.disconnect(ids["h"], "b") is None else None,
        "rename": lambda: doc.rename(ids["h"], "hidden"),
        "set value": lambda: doc.set_value(ids["w1"], 0.75),
        "slider drag": lambda: [doc.set_value(ids["w2"], v, merge_id=77) for v in (0.4, 0.5, 0.6)],
        "set kind": lambda: doc.set_kind(ids["x"], "const"),
        "mark output": lambda: doc.set_output(ids["yhat"]),
        "clear output": lambda: doc.set_output(None),
        "paste": paste,
        "layout": doc.auto_layout,
        "replace graph": replace,
    }


KINDS = ["add", "delete one", "delete many", "delete output", "move", "connect", "disconnect",
         "reconnect", "reroute in place", "rename", "set value", "slider drag", "set kind",
         "mark output", "clear output", "paste", "layout", "replace graph"]


def test_every_kind_is_listed(saved):
    doc, ids, _ = saved
    assert sorted(_edits(doc, ids)) == sorted(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_undo_restores_the_saved_file_exactly(saved, kind):
    doc, ids, path = saved
    text = path.read_text(encoding="utf-8")
    assert fileformat.dumps(doc.graph) == text
    _edits(doc, ids)[kind]()
    assert doc.is_modified(), kind
    changed = fileformat.dumps(doc.graph)
    assert changed != text
    while doc.undo_stack.canUndo() and not doc.undo_stack.isClean():
        doc.undo_stack.undo()
    assert not doc.is_modified()
    assert fileformat.dumps(doc.graph) == text
    # the numbers are the file's again, not stale ones
    assert doc.result.grad(ids["w1"]) == pytest.approx(-0.84)
    # and redo replays the edit exactly
    while doc.undo_stack.canRedo():
        doc.undo_stack.redo()
    assert fileformat.dumps(doc.graph) == changed


def test_each_edit_is_one_step(saved):
    doc, ids, _ = saved
    for kind, edit in _edits(doc, ids).items():
        if kind in ("connect", "reconnect", "reroute in place"):
            continue  # these first add a node or free a port, on purpose, as a separate step
        start = doc.undo_stack.index()
        edit()
        assert doc.undo_stack.index() == start + 1, kind
        doc.undo_stack.setIndex(start)


def test_delete_is_a_parent_with_edge_children(saved):
    doc, ids, path = saved
    doc.delete([ids["h"]])  # h has edges x→h, w1→h, h→ŷ
    cmd = doc.undo_stack.command(doc.undo_stack.index() - 1)
    assert cmd.text() == "Delete h"
    assert len(cmd.kids) == 4  # three edges, then the node
    assert [k.text() for k in cmd.kids[:3]] == [
        "Disconnect x → h", "Disconnect w₁ → h", "Disconnect h → y\u0302"]
    assert ids["h"] not in doc.graph and len(doc.graph.edges()) == 3
    doc.undo_stack.undo()
    assert fileformat.dumps(doc.graph) == path.read_text(encoding="utf-8")


def test_command_texts(saved):
    doc, ids, _ = saved
    stack = doc.undo_stack
    doc.add_node("mul", (900, 0))
    assert stack.undoText() == "Add mul₁"
    doc.disconnect(ids["h"], "a")
    assert stack.undoText() == "Disconnect x → h"
    doc.connect(ids["x"], ids["h"], "a")
    assert stack.undoText() == "Connect x → h"
    doc.delete([ids["y"], ids["w2"], ids["x"]])
    assert stack.undoText() == "Delete 3 nodes"
    doc.rename(ids["h"], "hidden")
    assert stack.undoText() == "Rename h to hidden"
    doc.set_output(ids["h"])
    assert stack.undoText() == "Mark hidden as output"


def test_slider_drag_merges_into_one_step(saved):
    doc, ids, path = saved
    start = doc.undo_stack.count()
    for v in (0.31, 0.35, 0.4, 0.6):
        doc.set_value(ids["w2"], v, merge_id=5)
        # every intermediate value is evaluated at once: ∂L/∂w2 = −2(1 − 1·w2)·h with h = 1
        assert doc.result.grad(ids["w2"]) == pytest.approx(-2 * (1 - v))
    assert doc.undo_stack.count() == start + 1
    assert doc.undo_stack.undoText() == "Set w₂ = 0.6"
    doc.set_value(ids["w2"], 0.7, merge_id=6)  # a new drag: a new step
    assert doc.undo_stack.count() == start + 2
    doc.undo_stack.undo()
    assert doc.graph.node(ids["w2"]).value == 0.6
    doc.undo_stack.undo()
    assert doc.graph.node(ids["w2"]).value == 0.3
    assert fileformat.dumps(doc.graph) == path.read_text(encoding="utf-8")


def test_typed_values_do_not_merge(saved):
    doc, ids, _ = saved
    start = doc.undo_stack.count()
    doc.set_value(ids["w2"], 0.4)
    doc.set_value(ids["w2"], 0.5)
    assert doc.undo_stack.count() == start + 2
    assert isinstance(doc.undo_stack.command(start), SetValue)


def test_delete_output_restores_output_mark(saved):
    doc, ids, _ = saved
    doc.delete([ids["L"]])
    assert doc.graph.output is None
    doc.undo_stack.undo()
    assert doc.graph.output == ids["L"]


def test_reconnect_refusal_pushes_nothing(saved):
    doc, ids, _ = saved
    count = doc.undo_stack.count()
    # moving x's edge from h.a to h.b: h.b is fed by w1
    why = doc.reconnect(ids["h"], "a", ids["h"], "b")
    assert why is not None and "already fed" in why
    # moving h's edge (h → ŷ.a) onto h itself would be a self-loop
    assert doc.reconnect(ids["yhat"], "a", ids["h"], "a") is not None
    assert doc.undo_stack.count() == count


def test_replace_graph_is_one_step_with_new_numbers(saved):
    doc, ids, path = saved
    g = Graph()
    x = g.add_node("input", "x", 3.0)
    two = g.add_node("const", "c", 2.0)
    m = g.add_node("mul", "m")
    s = g.add_node("square", "y")
    g.connect(two, m, "a")
    g.connect(x, m, "b")
    g.connect(m, s, "x")
    doc.replace_graph(g, "y = (2*x)**2")
    # y = (2x)² at x = 3: dy/dx = 8x = 24 (the tutorial's first exercise)
    assert doc.result.grad(x) == pytest.approx(24.0)
    assert doc.undo_stack.undoText().startswith("Replace with y = (2*x)**2")
    doc.undo_stack.undo()
    assert fileformat.dumps(doc.graph) == path.read_text(encoding="utf-8")


def test_examples_load_save_reload_equal(qtbot, tmp_path):
    examples = sorted((Path(__file__).resolve().parents[2] / "assets" / "examples").glob("*.json"))
    assert examples, "no examples shipped"
    for ex in examples:
        doc = Document()
        doc.open(str(ex))
        out = tmp_path / ex.name
        doc.save(str(out))
        again = Document()
        again.open(str(out))
        assert fileformat.dumps(again.graph) == fileformat.dumps(doc.graph)
        assert fileformat.to_dict(again.graph) == fileformat.to_dict(doc.graph)
        assert out.read_text(encoding="utf-8") == fileformat.dumps(doc.graph)


def test_replace_graph_never_shows_views_a_result_for_removed_nodes(qtbot):
    """A view syncing each added node reads doc.result: mid-replace its output must be a
    node that exists (or none), on redo and on undo."""
    from engine.expr import parse
    doc = Document()
    two_layer(doc)
    doc.set_output(doc.graph.id_of("L"))
    seen: list[str | None] = []

    def on_added(nid: str) -> None:
        out = doc.result.output
        seen.append(out)
        assert out is None or out in doc.graph

    doc.nodeAdded.connect(on_added)
    with qtbot.captureExceptions() as errors:
        doc.replace_graph(parse("x = 2; y = (3*x + 1)**2"), "y = (3*x + 1)**2")
        doc.undo_stack.undo()
        doc.undo_stack.redo()
    assert not errors, errors
    # x, 3, 3·x, 1, 3·x + 1 and (3·x + 1)² (the exponent is the power node's own), the
    # two-layer network's 7 on undo, the 6 again on redo
    assert len(seen) == 6 + 7 + 6
    assert doc.result.grad(doc.graph.id_of("x")) == 42.0   # 2·(3·2 + 1)·3
