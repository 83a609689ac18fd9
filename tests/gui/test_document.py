"""The Document: numbers come from the engine after every edit; refusals push nothing;
files either load completely or leave the document as it was.

Expected numbers are the tutorial's, worked by hand: x=2, w1=0.5 → h=1; w2=0.3 → ŷ=0.3;
y=1 → L=(1−0.3)²=0.49; ∂L/∂ŷ=−2(1−0.3)=−1.4; ∂L/∂h=−1.4·0.3=−0.42;
∂L/∂w1=−0.42·x=−0.84; ∂L/∂w2=−1.4·h=−1.4; ∂L/∂x=−0.42·w1=−0.21.
"""

from __future__ import annotations

import pytest

from _gui_helpers import two_layer
from engine import fileformat
from engine.graph import Graph
from gui.document import Document


@pytest.fixture
def doc(qtbot):
    return Document()


def test_two_layer_numbers_are_the_tutorials(doc):
    ids = two_layer(doc)
    r = doc.result
    assert r.output == ids["L"]
    assert r.value(ids["h"]) == pytest.approx(1.0)
    assert r.value(ids["yhat"]) == pytest.approx(0.3)
    assert r.value(ids["L"]) == pytest.approx(0.49)
    assert r.grad(ids["yhat"]) == pytest.approx(-1.4)
    assert r.grad(ids["h"]) == pytest.approx(-0.42)
    assert r.grad(ids["w1"]) == pytest.approx(-0.84)
    assert r.grad(ids["w2"]) == pytest.approx(-1.4)
    assert r.grad(ids["x"]) == pytest.approx(-0.21)
    edge = r.edge(ids["w1"], ids["h"], "b")
    assert edge.local == pytest.approx(2.0)
    assert edge.product == pytest.approx(-0.84)


def test_value_change_re_evaluates_and_signals(doc, qtbot):
    ids = two_layer(doc)
    with qtbot.waitSignals([doc.nodeChanged, doc.resultsChanged]):
        doc.set_value(ids["x"], 3.0)
    # h = 1.5, ŷ = 0.45, L = 0.55² = 0.3025, ∂L/∂ŷ = −1.1, ∂L/∂w1 = −1.1·0.3·3 = −0.99
    assert doc.result.value(ids["L"]) == pytest.approx(0.3025)
    assert doc.result.grad(ids["w1"]) == pytest.approx(-0.99)


def test_add_and_connect_signals_carry_ids(doc, qtbot):
    with qtbot.waitSignal(doc.nodeAdded) as added:
        a = doc.add_node("input", (0, 0))
    assert added.args == [a]
    assert doc.graph.name_of(a) == "x1"
    m = doc.add_node("square", (200, 0))
    with qtbot.waitSignal(doc.edgeAdded) as edge:
        assert doc.connect(a, m, "x") is None
    assert edge.args == [a, m, "x"]
    # y = x², d/dx at x = 0 is 0; set x = 3 → dy/dx = 6
    doc.set_value(a, 3.0)
    assert doc.result.grad(a) == pytest.approx(6.0)


def test_refused_connections_push_nothing(doc):
    ids = two_layer(doc)
    count = doc.undo_stack.count()
    before = doc.graph.edges()
    assert "no input port" in doc.connect(ids["h"], ids["x"], "a")  # a leaf has no inputs
    assert "no input port" in doc.connect(ids["x"], ids["L"], "nope")
    assert "already fed" in doc.connect(ids["y"], ids["h"], "a")
    assert not doc.can_connect(ids["y"], ids["h"], "a")
    assert doc.undo_stack.count() == count and doc.graph.edges() == before


def test_cycle_refused_with_reason(doc):
    a = doc.add_node("neg", (0, 0), "a")
    b = doc.add_node("neg", (200, 0), "b")
    assert doc.connect(a, b, "x") is None
    count = doc.undo_stack.count()
    why = doc.connect(b, a, "x")
    assert why is not None and "cycle" in why
    assert doc.connect(a, a, "x") is not None
    assert doc.undo_stack.count() == count
    assert doc.graph.edges() == [(a, b, "x")]


def test_port_already_fed_is_refused(doc):
    ids = two_layer(doc)
    other = doc.add_node("input", (0, 400), "z", 5.0)
    why = doc.connect(other, ids["h"], "a")
    assert why is not None and "already fed" in why


def test_rename_refusals(doc):
    ids = two_layer(doc)
    count = doc.undo_stack.count()
    assert "already used" in doc.rename(ids["x"], "w1")
    assert doc.rename(ids["x"], "2x") is not None
    assert doc.rename(ids["x"], "mul") is not None
    assert doc.rename(ids["x"], "") is not None
    assert doc.undo_stack.count() == count
    assert doc.rename(ids["x"], "x_in") is None
    assert doc.graph.name_of(ids["x"]) == "x_in"


def test_modified_follows_the_undo_stack(doc, qtbot, tmp_path):
    ids = two_layer(doc)
    path = tmp_path / "g.json"
    with qtbot.waitSignal(doc.fileChanged):
        doc.save(str(path))
    assert not doc.is_modified() and doc.path == str(path)
    with qtbot.waitSignal(doc.fileChanged):
        doc.set_value(ids["x"], 4.0)
    assert doc.is_modified()
    doc.undo_stack.undo()
    assert not doc.is_modified()
    assert fileformat.dumps(doc.graph) == path.read_text(encoding="utf-8")


def test_open_reads_a_saved_file_back(doc, tmp_path):
    ids = two_layer(doc)
    path = tmp_path / "g.json"
    doc.save(str(path))
    other = Document()
    other.open(str(path))
    assert fileformat.dumps(other.graph) == fileformat.dumps(doc.graph)
    assert other.result.grad(ids["w1"]) == pytest.approx(-0.84)
    assert not other.is_modified() and other.undo_stack.count() == 0


@pytest.mark.parametrize("content", [
    "{ not json",
    '{"format": "something-else"}',
    '[]',
    "",
])
def test_bad_file_leaves_document_as_it_was(doc, tmp_path, content, qtbot):
    two_layer(doc)
    doc.set_value(doc.graph.id_of("x"), 7.0)
    before = fileformat.dumps(doc.graph)
    count, path = doc.undo_stack.count(), doc.path
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    with qtbot.assertNotEmitted(doc.graphReset):
        with pytest.raises(Exception) as info:
            doc.open(str(bad))
    assert isinstance(info.value, (fileformat_error(), OSError))
    assert fileformat.dumps(doc.graph) == before
    assert doc.undo_stack.count() == count and doc.path == path and doc.is_modified()


def test_missing_file_leaves_document_as_it_was(doc, tmp_path):
    two_layer(doc)
    before = fileformat.dumps(doc.graph)
    with pytest.raises((fileformat_error(), OSError)):
        doc.open(str(tmp_path / "nope.json"))
    assert fileformat.dumps(doc.graph) == before


def fileformat_error():
    from engine import GraphFileError
    return GraphFileError


def test_new_clears_everything(doc, qtbot):
    two_layer(doc)
    with qtbot.waitSignal(doc.graphReset):
        doc.new()
    assert len(doc.graph) == 0 and doc.undo_stack.count() == 0 and doc.path is None
    assert doc.result.output is None and doc.result.output_error is not None


def test_no_output_is_explained_not_raised(doc):
    doc.add_node("input", (0, 0), "a", 1.0)
    doc.add_node("input", (0, 100), "b", 2.0)
    err = doc.result.output_error
    assert err is not None and "mark one as the output" in str(err)
    doc.set_output(doc.graph.id_of("b"))
    assert doc.result.output_error is None and doc.result.grad(doc.graph.id_of("b")) == 1.0


def test_load_graph_shows_a_ready_graph_unmodified(doc, qtbot):
    g = Graph()
    a = g.add_node("input", "a", 3.0)
    s = g.add_node("square", "s")
    g.connect(a, s, "x")
    with qtbot.waitSignal(doc.graphReset):
        doc.load_graph(g)
    assert not doc.is_modified() and doc.undo_stack.count() == 0
    assert doc.result.grad(a) == pytest.approx(6.0)  # d(a²)/da = 2a = 6


def test_copy_data_keeps_only_inner_edges(doc):
    ids = two_layer(doc)
    data = doc.copy_data([ids["x"], ids["w1"], ids["h"]])
    back = fileformat.from_dict(data, "<clipboard>")
    assert len(back) == 3
    assert len(back.edges()) == 2
