"""The small things a user trips over, each replayed as the user met it: the inspector's
fields and undo, "−0", the expression bar after opening another file, where a paste
lands, the quick-add list's width and how a file error reads."""

from __future__ import annotations

import json
import re

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QCursor

from _gui_helpers import two_layer
from gui.mainwindow import EXAMPLES_DIR


def select(window, nid: str) -> None:
    window.canvas.select_ids([nid])


def type_into_field(qtbot, field, text: str) -> None:
    qtbot.mouseClick(field, Qt.LeftButton)
    qtbot.keyClick(field, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key_Return)


def test_the_value_box_follows_an_undo_from_the_toolbar(window, qtbot) -> None:
    ids = two_layer(window.doc)
    select(window, ids["x"])
    box = window.inspector.value_edit
    type_into_field(qtbot, box, "1.5")
    assert window.doc.graph.node(ids["x"]).value == 1.5
    assert box.hasFocus()  # the user is still in the box
    qtbot.mouseClick(window.toolbar.widgetForAction(window.tb_undo), Qt.LeftButton)
    assert window.doc.graph.node(ids["x"]).value == 2.0
    assert box.text() == "2"


def test_ctrl_z_in_a_committed_field_undoes_the_document(window, qtbot) -> None:
    ids = two_layer(window.doc)
    select(window, ids["w1"])
    box = window.inspector.value_edit
    type_into_field(qtbot, box, "0.75")
    assert window.doc.graph.node(ids["w1"]).value == 0.75
    qtbot.keyClick(box, Qt.Key_Z, Qt.ControlModifier)
    assert window.doc.graph.node(ids["w1"]).value == 0.5 and box.text() == "0.5"
    # something typed but not committed: Ctrl+Z undoes the typing, not the document
    qtbot.keyClick(box, Qt.Key_End)
    qtbot.keyClicks(box, "9")
    assert box.text() == "0.59"
    qtbot.keyClick(box, Qt.Key_Z, Qt.ControlModifier)
    assert box.text() == "0.5" and window.doc.undo_stack.canRedo()
    assert window.doc.graph.node(ids["w1"]).value == 0.5


def test_no_minus_zero(window, qtbot) -> None:
    ids = two_layer(window.doc)
    window.doc.set_value(ids["x"], -0.0)
    select(window, ids["x"])
    assert window.inspector.value_edit.text() == "0"
    minus_zero = re.compile(r"−0(?![.\d])")  # −0, but not −0.3
    assert not minus_zero.search(window.inspector.numbers.text())
    assert not minus_zero.search(window.canvas.scene().nodes[ids["x"]].value_text)


def test_opening_another_file_resets_the_expression_bar(window, qtbot) -> None:
    bar = window.expression_bar
    qtbot.mouseClick(bar.edit, Qt.LeftButton)
    qtbot.keyClicks(bar.edit, "y = (3*x")  # a syntax error, shown under the bar
    qtbot.keyClick(bar.edit, Qt.Key_Return)
    assert bar.message.isVisible()
    assert window.open_example(EXAMPLES_DIR / "chain_2x.json", ask=False)
    assert not bar.message.isVisible()
    text = bar.text()
    assert "y = " in text and "x = 3" in text  # the opened graph's own function


def test_pastes_never_land_on_the_original_or_on_each_other(window, qtbot) -> None:
    ids = two_layer(window.doc)
    g = window.doc.graph
    card = window.canvas.scene().nodes[ids["x"]].card_scene_rect()
    # the mouse over the copied node itself: the paste would hide behind it
    QCursor.setPos(window.canvas.viewport().mapToGlobal(
        window.canvas.mapFromScene(card.topLeft()) + QPoint(1, 1)))
    select(window, ids["x"])
    window.act_copy.trigger()
    window.act_paste.trigger()
    window.act_paste.trigger()
    positions = [tuple(round(c) for c in g.node(n).pos) for n in g.ids()
                 if g.op_of(n) == "input" and g.node(n).value == 2.0]
    assert len(positions) == 3 and len(set(positions)) == 3


def test_quick_add_is_as_wide_as_its_longest_entry(window, qtbot) -> None:
    view = window.canvas
    assert view.open_quick_add(view.viewport().rect().center())
    popup = view._quick
    fm = popup.list.fontMetrics()
    longest = max(fm.horizontalAdvance(popup.list.item(i).text())
                  for i in range(popup.list.count()))
    assert popup.list.viewport().width() >= longest
    popup.hide()


def test_a_file_error_says_what_is_wrong_before_where(window, dialogs, tmp_path) -> None:
    data = json.loads((EXAMPLES_DIR / "two_layer.json").read_text(encoding="utf-8"))
    k = next(i for i, n in enumerate(data["nodes"]) if "value" not in n)  # an op node
    data["nodes"][k]["op"] = "foo"
    bad = tmp_path / "g.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    assert not window.open_path(str(bad), ask=False)
    (msg,) = dialogs.errors
    assert msg.startswith(f"Node {k + 1}: unknown op 'foo'"), msg
    assert msg.index("unknown op") < msg.index(f"$.nodes[{k}].op")
