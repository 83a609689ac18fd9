"""Every edge label belongs to its own edge and covers nothing a learner must read.

On every shipped example (as saved) and on random expression graphs (laid out as the
expression bar and ``convert`` lay them out): each label is anchored at a point of its
own edge's curve — the curve runs through the label or a leader line joins them — no
two labels overlap, and no label covers a node card.
"""

from __future__ import annotations

import math
import random

import pytest
from PySide6.QtCore import QPointF

from engine import fileformat
from engine.expr import parse
from gui.mainwindow import EXAMPLES_DIR

EXAMPLES = sorted(EXAMPLES_DIR.glob("*.json"))


def _dist_to_path(edge, x: float, y: float) -> float:
    """Distance from (x, y) to the edge's curve, sampled finely."""
    path = edge.path()
    return min(math.hypot(p.x() - x, p.y() - y)
               for p in (path.pointAtPercent(i / 400) for i in range(401)))


def _overlap(a, b) -> bool:
    return a.intersects(b) and a.intersected(b).width() > 0.5 and \
        a.intersected(b).height() > 0.5


def assert_labels_anchored(scene) -> None:
    labels = [e for e in scene.edges.values() if e.label.lines]
    assert labels, "nothing to check"
    cards = [n.card_scene_rect() for n in scene.nodes.values()]
    boxes = []
    for e in labels:
        lab = e.label
        box = lab.box_rect()
        assert lab.anchor is not None, e.key
        ax, ay = lab.anchor
        assert _dist_to_path(e, ax, ay) < 1.0, (e.key, "anchor off its own curve")
        line = lab.leader()
        if line is None:  # the curve runs through the label
            assert box.contains(QPointF(ax, ay)), e.key
        else:  # a leader from the anchor to the box's edge
            assert line.length() <= 130.0, (e.key, line.length())
            end = line.p2() + lab.pos()
            assert box.adjusted(-0.5, -0.5, 0.5, 0.5).contains(end), e.key
        for c in cards:
            assert not _overlap(box, c), (e.key, "covers a node")
        boxes.append((e.key, box))
    for i, (k1, b1) in enumerate(boxes):
        for k2, b2 in boxes[i + 1:]:
            assert not _overlap(b1, b2), (k1, k2, "labels overlap")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_labels_on_every_example(qtbot, canvas, path) -> None:
    doc, view = canvas(fileformat.load(path))
    view.fit_all()
    assert_labels_anchored(view.scene())


def _random_expression(rnd: random.Random, n_ops: int) -> str:
    names = ["a", "b", "c"]
    lines = ["a = 0.5", "b = -1.25", "c = 2"]
    forms = ["{x} * {y}", "{x} + {y}", "tanh({x})", "({x} - {y})**2", "sigmoid({x}) * {y}",
             "{x} / ({y}**2 + 1)", "sin({x}) + {y}", "exp(-{x}**2)", "{x} - 3 * {y}"]
    for i in range(n_ops):
        x, y = rnd.choice(names[-4:]), rnd.choice(names)
        lines.append(f"t{i} = " + rnd.choice(forms).format(x=x, y=y))
        names.append(f"t{i}")
    unused = [n for n in names[3:] if not any(n in ln.split("=", 1)[1]
                                              for ln in lines if "=" in ln)]
    lines.append("L = " + " + ".join(unused[-3:] or [names[-1]]))
    return "\n".join(lines)


@pytest.mark.parametrize("seed", range(6))
def test_labels_on_random_expression_graphs(qtbot, canvas, seed: int) -> None:
    rnd = random.Random(seed)
    g = parse(_random_expression(rnd, rnd.randint(6, 18)))
    doc, view = canvas(g)
    view.fit_all()
    assert_labels_anchored(view.scene())


def test_hovering_a_label_lights_its_edge_and_leaving_clears_it(qtbot, canvas) -> None:
    g = parse("h = w1*x; yhat = w2*h; L = (yhat - y)**2")
    doc, view = canvas(g)
    view.fit_all()
    scene = view.scene()
    key = next(k for k, e in scene.edges.items() if e.label.lines)
    e = scene.edges[key]
    centre = view.mapFromScene(e.label.box_rect().center())
    qtbot.mouseMove(view.viewport(), centre)
    qtbot.waitUntil(lambda: e.highlighted)
    assert scene.highlighted()[1] == {key}
    qtbot.mouseMove(view.viewport(), view.mapFromScene(QPointF(-5000, -5000)))
    corner = view.viewport().rect().topLeft()
    qtbot.mouseMove(view.viewport(), corner)
    qtbot.waitUntil(lambda: not e.highlighted)


def test_labels_after_a_bulk_auto_layout_at_readable_zoom(qtbot, window) -> None:
    """Auto-layout of a graph big enough to move its nodes in bulk places each label
    once, at the end, against the finished picture: every label shown is on its own
    curve and clear of cards and other labels."""
    from PySide6.QtCore import Qt
    lines = ["x = 0.5"] + [f"s{i} = sin({'x' if i == 0 else f'a{i - 1}'})\n"
                           f"a{i} = {'x' if i == 0 else f'a{i - 1}'} + s{i}" for i in range(520)]
    g = parse("\n".join(lines))
    assert len(g) >= 1000  # the bulk path (gui.commands.BULK_MOVES)
    for n in g.nodes():  # start from a scramble, as a hand-made graph would
        g.set_pos(n.id, (n.pos[1] * 3.0, n.pos[0] / 3.0))
    window.doc.load_graph(g)
    view = window.canvas
    view.resetTransform()  # zoom 1: labels are drawn while the nodes move
    view.centerOn(*g.node(g.id_of("x")).pos)
    qtbot.wait(50)
    qtbot.keyClick(view, Qt.Key_L)
    assert not view.scene().building and not view.scene().labels_pending
    view.resetTransform()
    view.centerOn(*window.doc.graph.node(window.doc.graph.id_of("a3")).pos)
    qtbot.wait(100)
    assert_labels_anchored(view.scene())
