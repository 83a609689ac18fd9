"""The editor's fast evaluation path against the reference (engine.evaluate), its oracle.

The Document recompiles only on structural edits and updates incrementally on value
edits (engine.live); after any sequence of random edits, undos and redos its Result must
equal a fresh reference evaluation bit for bit — values, gradients, local derivatives,
products, on-path flags, fault reasons, insertion order — and ``doc.changes`` must name
every node and edge whose numbers differ from the previous Result. On a graph with more
labels than are worded eagerly, labels a value change left stale show the reference's
numbers as soon as they are read or painted. No timings here (see benchmarks/editor.py).
"""

from __future__ import annotations

import math
import random

import pytest
from PySide6.QtCore import Qt

from agreement import assert_agrees
from engine.evaluate import evaluate
from engine.labels import edge_label
from engine.ops import OPS
from gui.canvas.scene import EAGER_LABELS
from gui.document import Document

OP_NAMES = sorted(n for n, s in OPS.items() if not s.is_leaf)
LEAVES = ("input", "param", "const")
SPECIAL = [0.0, -0.0, -1.0, 2.0, 0.5, -3.0, 1e308, -1e308, 710.0]


def same(a: float | None, b: float | None) -> bool:
    """Bit for bit (both None for a constant's gradient), and every NaN equals every NaN:
    for two copies of the same numbers, never for two evaluators."""
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def node_numbers(nr) -> tuple:
    return (nr.value, nr.grad, nr.on_path, nr.reason, nr.origin, nr.grad_reason)


def edge_numbers(er) -> tuple:
    return (er.local, er.product, er.on_path, er.reason)


def assert_equals_reference(doc: Document) -> None:
    """The document's Result, however it was patched together, is what the fast engine
    computed for the current graph (exactly: the same numbers, copied), the fast engine
    agrees with the registry step by step (within a few ulp), and everything else —
    order, output, on-path flags, constants, reasons — is the reference's."""
    r, ref = doc.result, evaluate(doc.graph, allow_no_output=True)
    live = doc.live
    assert_agrees(doc.graph, live.compiled, ref)
    numbers = ref if live.from_reference else live.compiled.to_result(doc.graph)
    assert r.output == ref.output and r.order == ref.order
    assert str(r.output_error) == str(ref.output_error)
    assert list(r.nodes) == list(ref.nodes)
    assert list(r.edges) == list(ref.edges)
    for nid, nr in ref.nodes.items():
        got, want = r.nodes[nid], numbers.nodes[nid]
        assert same(got.value, want.value) and same(got.grad, want.grad), (nid, got, want)
        assert node_numbers(got)[2:] == node_numbers(nr)[2:], (nid, got, nr)
    for key, er in ref.edges.items():
        got, want = r.edges[key], numbers.edges[key]
        assert same(got.local, want.local) and same(got.product, want.product), (key, got)
        assert (got.on_path, got.reason) == (er.on_path, er.reason), (key, got, er)


def differs(a: tuple, b: tuple) -> bool:
    return any(not same(x, y) if isinstance(x, float) and isinstance(y, float) else x != y
               for x, y in zip(a, b))


def assert_changes_cover(doc: Document, before) -> None:
    """Every number that moved is reported (None means: assume everything)."""
    ch, after = doc.changes, doc.result
    if ch is None:
        return
    assert list(after.nodes) == list(before.nodes) and list(after.edges) == list(before.edges)
    for nid, nr in after.nodes.items():
        if differs(node_numbers(nr), node_numbers(before.nodes[nid])):
            assert nid in ch.nodes, nid
    for key, er in after.edges.items():
        if differs(edge_numbers(er), edge_numbers(before.edges[key])):
            assert key in ch.edges, key


def random_edit(doc: Document, rnd: random.Random, merge: list[int]) -> None:
    g = doc.graph
    ids = g.ids()
    leaves = [n for n in ids if OPS[g.op_of(n)].is_leaf]
    kind = rnd.choices(
        ["leaf", "op", "connect", "value", "drag", "rename", "kind", "output", "delete",
         "undo", "redo", "move"],
        weights=[3, 3, 8, 6, 6, 1, 1, 1, 1, 2, 1, 1])[0]
    value = rnd.choice(SPECIAL) if rnd.random() < 0.3 else round(rnd.uniform(-3, 3), 3)
    if kind == "leaf" or not ids:
        doc.add_node(rnd.choice(LEAVES), (rnd.uniform(0, 900), rnd.uniform(0, 600)),
                     value=value)
    elif kind == "op":
        doc.add_node(rnd.choice(OP_NAMES), (rnd.uniform(0, 900), rnd.uniform(0, 600)))
    elif kind == "connect":
        dst = rnd.choice(ids)
        if not OPS[g.op_of(dst)].is_leaf:
            doc.connect(rnd.choice(ids), dst, rnd.choice(g.ports(dst)))
    elif kind == "value" and leaves:
        doc.set_value(rnd.choice(leaves), value)
    elif kind == "drag" and leaves:  # a slider drag: several merged pushes
        leaf, merge[0] = rnd.choice(leaves), merge[0] + 1
        for _ in range(3):
            doc.set_value(leaf, round(rnd.uniform(-2, 2), 2), merge_id=merge[0])
    elif kind == "rename":
        doc.rename(rnd.choice(ids), f"v{rnd.randrange(1000)}")
    elif kind == "kind" and leaves:
        doc.set_kind(rnd.choice(leaves), rnd.choice(LEAVES))
    elif kind == "output":
        doc.set_output(rnd.choice(ids + [None]))
    elif kind == "delete":
        doc.delete([rnd.choice(ids)])
    elif kind == "undo" and doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    elif kind == "redo" and doc.undo_stack.canRedo():
        doc.undo_stack.redo()
    elif kind == "move":
        nid = rnd.choice(ids)
        doc.move({nid: (g.node(nid).pos, (rnd.uniform(0, 900), rnd.uniform(0, 600)))})


@pytest.mark.parametrize("seed", range(8))
def test_document_result_equals_reference_after_random_edits(qtbot, seed):
    doc = Document()
    rnd = random.Random(seed)
    merge = [0]
    shown, problems = [doc.result], []

    def check() -> None:  # what each refresh reports, against the one before it
        try:
            assert_changes_cover(doc, shown[0])
        except AssertionError as e:
            problems.append(e)
        shown[0] = doc.result
    doc.resultsChanged.connect(check)
    for _ in range(90):
        random_edit(doc, rnd, merge)
        assert_equals_reference(doc)
    while doc.undo_stack.canUndo():  # all the way back, then forward again
        doc.undo_stack.undo()
        assert_equals_reference(doc)
    while doc.undo_stack.canRedo():
        doc.undo_stack.redo()
        assert_equals_reference(doc)
    assert not problems, problems[0]


def test_a_value_change_reports_only_what_moved(qtbot):
    """Off-path numbers do not move when an on-path leaf changes, and are not reported."""
    doc = Document()
    x = doc.add_node("input", (0, 0), "x", 2.0)
    w = doc.add_node("param", (0, 100), "w", 0.5)
    h = doc.add_node("mul", (200, 0), "h")
    doc.connect(x, h, "a")
    doc.connect(w, h, "b")
    z = doc.add_node("input", (0, 300), "z", 1.0)
    t = doc.add_node("tanh", (200, 300), "t")
    doc.connect(z, t, "x")
    doc.set_output(h)
    doc.set_value(x, 3.0)
    # h = x·w: only x, h (value 1.5) and w (∂h/∂w = x = 3) change; so do both edges
    assert doc.changes is not None
    assert doc.changes.nodes == {x, h, w}
    # ∂h/∂x = w and ∂L/∂h = 1 did not change: the x → h edge keeps its numbers
    assert doc.changes.edges == {(w, h, "b")}
    assert (z, t, "x") not in doc.changes.edges and z not in doc.changes.nodes
    assert doc.result.grad(w) == 3.0 and doc.result.value(h) == 1.5
    assert_equals_reference(doc)


def test_a_fault_and_back_gives_the_references_reasons(qtbot):
    doc = Document()
    a = doc.add_node("param", (0, 0), "a", 2.0)
    lg = doc.add_node("log", (200, 0), "lg")
    doc.connect(a, lg, "x")
    doc.set_value(a, -1.0)
    assert doc.result.nodes[lg].reason == "log is undefined for −1"
    assert_equals_reference(doc)
    doc.rename(a, "alpha")  # reasons quote names: they follow a rename
    assert_equals_reference(doc)
    doc.set_value(a, math.e)
    assert doc.result.nodes[lg].reason is None and doc.result.value(lg) == 1.0
    assert_equals_reference(doc)


def _wide_sum(doc: Document, n: int) -> tuple[str, list[str], str]:
    """s = Σ tanh(wᵢ·x): every label depends on x, more than EAGER_LABELS of them."""
    from engine.graph import Graph
    from engine.layout import apply_layout
    g = Graph()
    x = g.add_node("input", "x", 0.5)
    s = g.add_node("sum", "s")
    for i in range(n):
        w = g.add_node("param", f"w{i}", 0.01 * (i + 1))
        m = g.add_node("mul", f"m{i}")
        g.connect_trusted(w, m, "a")
        g.connect_trusted(x, m, "b")
        g.connect_trusted(m, s, f"x{i + 1}")
    g.set_output(s)
    apply_layout(g)
    doc.load_graph(g)
    return x, [n for n in g.ids() if g.op_of(n) == "mul"], s


def test_stale_labels_show_the_new_numbers_when_seen(window, qtbot):
    """Typing a new value for x on a graph with hundreds of labels: the labels in view
    are rewritten before they are painted, the others as soon as they are read."""
    doc = window.doc
    x, muls, s = _wide_sum(doc, EAGER_LABELS)
    view, scene = window.canvas, window.canvas.scene()
    qtbot.wait(20)  # the deferred fit-all after opening
    assert len(scene.edges) > EAGER_LABELS
    view.resetTransform()  # zoom 1: labels readable
    first = muls[0]
    view.centerOn(*doc.graph.node(first).pos)
    window.inspector.set_selection([x])
    edit = window.inspector.value_edit
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "2")
    qtbot.keyClick(edit, Qt.Key_Return)
    assert doc.graph.node(x).value == 2.0
    # the short w₀ → m₀ edge is in view: ∂m₀/∂w₀ = x = 2 and ∂s/∂m₀ = 1, product 2
    w0 = doc.graph.source_of(first, "a")
    key = (w0, first, "a")
    assert doc.result.edges[key].product == 2.0
    assert scene.label_is_stale(key)
    view.viewport().repaint()
    label = scene.edges[key].label
    assert not scene.label_is_stale(key)
    want = edge_label(doc.graph, evaluate(doc.graph), *key, mode=scene.label_mode)
    assert label.lines[-1] == want[-1] == "∂s/∂m₀ × 2 = 2"
    # a far-away label is rewritten when read
    far = (x, muls[-1], "b")
    want = edge_label(doc.graph, evaluate(doc.graph), *far, mode=scene.label_mode)
    text = scene.edge_label_text(*far)
    assert text.split("\n")[-1] == want[-1]
    assert not scene.label_is_stale(far)
    for key, e in scene.edges.items():  # every edge's colour follows the new product
        assert e.product == doc.result.edges[key].product
