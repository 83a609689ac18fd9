"""Insert › Network… as a user meets it: open the menu item, fill the dialog with the
keyboard, press Insert; then read the document and undo it in one step.

Counts are worked by hand: a 3-4-2-1 network has 3·4+4 + 4·2+2 + 2·1+1 = 29 params,
3·4 + 4·2 + 2·1 = 22 products, 4 + 2 + 1 = 7 sums and 4 + 2 = 6 hidden activations.
"""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from engine.dataset import Dataset
from gui.mainwindow import MainWindow
from gui.network_dialog import NetworkDialog


def open_dialog(qtbot, window: MainWindow) -> NetworkDialog:
    """Insert › Network… from the menu bar's Insert menu."""
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Insert")
    action = next(a for a in menu.actions() if a.text() == "&Network…")
    action.trigger()
    dialog = window.findChild(NetworkDialog)
    assert dialog is not None
    qtbot.waitExposed(dialog)
    return dialog


def retype(qtbot, widget, text: str) -> None:
    """Click into a field, select all of it and type over it."""
    qtbot.mouseClick(widget, Qt.LeftButton)
    qtbot.keyClick(widget, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClicks(widget, text)


def ops(window: MainWindow) -> Counter:
    g = window.doc.graph
    return Counter(g.op_of(n) for n in g.ids())


def state(window: MainWindow) -> dict:
    g = window.doc.graph
    return {n: (g.name_of(n), g.op_of(n), g.node(n).value, g.node(n).pos, g.column_of(n),
                tuple(g.inputs(n))) for n in g.ids()}


def test_insert_menu_follows_edit(window: MainWindow) -> None:
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles.index("&Insert") == titles.index("&Edit") + 1


def test_fill_the_dialog_and_insert_then_undo_and_redo(qtbot, window: MainWindow) -> None:
    stack = window.doc.undo_stack
    dialog = open_dialog(qtbot, window)
    retype(qtbot, dialog.inputs_spin, "3")
    retype(qtbot, dialog.hidden_edit, "4, 2")
    qtbot.keyClicks(dialog.activation_box, "r")        # ReLU
    qtbot.keyClicks(dialog.output_box, "n")            # none (identity)
    qtbot.keyClicks(dialog.loss_box, "s")              # squared error
    retype(qtbot, dialog.seed_spin, "7")
    assert dialog.summary.text().startswith("3-4-2-1: 29 parameters, 69 nodes")
    qtbot.mouseClick(dialog.ok_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(window.doc.graph) > 0)
    assert ops(window) == Counter(data=4, param=29, mul=22, sum=7, relu=6, squared_error=1)
    g = window.doc.graph
    assert g.output == g.id_of("loss")
    assert [g.column_of(g.id_of(n)) for n in ("x1", "x2", "x3", "y")] == ["x1", "x2", "x3", "y"]
    assert stack.count() == 1 and stack.undoText() == "Insert network 3-4-2-1"
    # the view shows the whole network
    shown = window.canvas.mapToScene(window.canvas.viewport().rect()).boundingRect()
    for item in window.canvas.scene().nodes.values():
        assert shown.contains(item.sceneBoundingRect().center())
    after = state(window)
    window.act_undo.trigger()
    assert len(window.doc.graph) == 0 and window.doc.graph.output is None
    assert window.canvas.scene().nodes == {}
    window.act_redo.trigger()
    assert state(window) == after and window.doc.graph.output == g.id_of("loss")


def test_the_same_seed_gives_the_same_weights(qtbot, window: MainWindow) -> None:
    values = []
    for _ in range(2):
        dialog = open_dialog(qtbot, window)
        retype(qtbot, dialog.seed_spin, "3")
        qtbot.mouseClick(dialog.ok_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: len(window.doc.graph) > 0)
        g = window.doc.graph
        values.append({g.name_of(n): g.node(n).value for n in g.ids() if g.op_of(n) == "param"})
        window.act_undo.trigger()
    assert values[0] == values[1] and len(values[0]) == 2 * 4 + 4 + 4 + 1


def test_a_bad_hidden_size_says_why_and_inserts_nothing(qtbot, window: MainWindow) -> None:
    dialog = open_dialog(qtbot, window)
    retype(qtbot, dialog.hidden_edit, "4, x")
    assert dialog.hidden_message.isVisible()
    assert "'x' is not a layer size" in dialog.hidden_message.text()
    assert not dialog.ok_button.isEnabled()
    qtbot.mouseClick(dialog.ok_button, Qt.LeftButton)    # disabled: nothing happens
    qtbot.keyClick(dialog.hidden_edit, Qt.Key_Return)    # Enter neither
    assert dialog.isVisible() and len(window.doc.graph) == 0
    assert window.doc.undo_stack.count() == 0
    retype(qtbot, dialog.hidden_edit, "0")
    assert "at least 1 neuron" in dialog.hidden_message.text()
    retype(qtbot, dialog.hidden_edit, "70, 70")
    # 3 data + 5,251 params + 5,110 products + 141 sums + 141 activations + the loss
    assert "10,647 nodes" in dialog.hidden_message.text() and not dialog.ok_button.isEnabled()
    retype(qtbot, dialog.hidden_edit, "2")
    assert not dialog.hidden_message.isVisible() and dialog.ok_button.isEnabled()
    qtbot.keyClick(dialog.hidden_edit, Qt.Key_Return)
    qtbot.waitUntil(lambda: len(window.doc.graph) == 25)


def test_cancel_inserts_nothing(qtbot, window: MainWindow) -> None:
    dialog = open_dialog(qtbot, window)
    qtbot.keyClick(dialog.hidden_edit, Qt.Key_Escape)
    assert not dialog.isVisible()
    QApplication.processEvents()
    assert len(window.doc.graph) == 0 and window.doc.undo_stack.count() == 0


def test_inserted_beside_an_open_graph(qtbot, two_layer_window: MainWindow) -> None:
    window = two_layer_window
    g = window.doc.graph
    before = state(window)
    old_output = g.output
    right = max(g.node(n).pos[0] for n in g.ids())
    dialog = open_dialog(qtbot, window)
    qtbot.mouseClick(dialog.ok_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(window.doc.graph) > len(before))
    new = [n for n in g.ids() if n not in before]
    assert len(new) == 43  # the defaults: 2-4-1 with a sigmoid output
    # the example has y and yhat: every name of the network gets a prefix, no clash
    assert all(g.name_of(n).startswith("net2_") for n in new)
    assert g.column_of(g.id_of("net2_y")) == "y"
    assert min(g.node(n).pos[0] for n in new) > right
    assert g.output == g.id_of("net2_loss")
    # a data leaf deleted and brought back keeps its column (net2_y reads y)
    leaf = g.id_of("net2_y")
    window.canvas.select_ids([leaf])
    window.act_delete.trigger()
    assert leaf not in g
    window.act_undo.trigger()
    assert g.column_of(leaf) == "y"
    window.act_undo.trigger()
    assert state(window) == before and g.output == old_output


def test_with_a_dataset_the_columns_are_offered(qtbot, window: MainWindow) -> None:
    window.doc.graph.dataset = Dataset(
        {"a": [0.0, 1.0], "b": [1.0, 2.0], "c": [3.0, 4.0], "y": [0.0, 1.0]}, test=None)
    dialog = open_dialog(qtbot, window)
    lst = dialog.columns_list
    checked = [lst.item(i).text() for i in range(lst.count())
               if lst.item(i).checkState() == Qt.Checked]
    assert checked == ["a", "b", "c"] and dialog.target_box.currentText() == "y"
    assert dialog.output_box.currentData() == "sigmoid"   # a 0/1 target
    assert dialog.loss_box.currentData() == "binary_cross_entropy"
    lst.setFocus()
    lst.setCurrentRow(1)
    qtbot.keyClick(lst.viewport(), Qt.Key_Space)          # untick b
    assert lst.item(1).checkState() == Qt.Unchecked
    assert dialog.summary.text().startswith("2-4-1:")
    qtbot.mouseClick(dialog.ok_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(window.doc.graph) > 0)
    g = window.doc.graph
    leaves = {g.name_of(n): g.column_of(n) for n in g.data_leaves()}
    assert leaves == {"a": "a", "c": "c", "y": "y"}
    assert g.node(g.id_of("c")).value == 3.0   # the first row, shown without the dataset


def test_ticking_the_target_as_an_input_is_refused(qtbot, window: MainWindow) -> None:
    window.doc.graph.dataset = Dataset({"a": [0.5, 1.0], "t": [0.2, 0.7]}, test=None)
    dialog = open_dialog(qtbot, window)
    assert dialog.target_box.currentText() == "t"          # no y: the last column
    assert dialog.output_box.currentData() == "none"       # not a 0/1 target
    assert dialog.loss_box.currentData() == "squared_error"
    lst = dialog.columns_list
    lst.setFocus()
    lst.setCurrentRow(1)
    qtbot.keyClick(lst.viewport(), Qt.Key_Space)           # tick t
    assert "cannot also be an input" in dialog.hidden_message.text()
    assert not dialog.ok_button.isEnabled()


def test_a_large_network_is_drawn_whole_and_undone_whole(qtbot, window: MainWindow) -> None:
    """2-8-8-1 (231 nodes) is inserted as a bulk edit: each sum's ports are drawn once,
    at the end, and every curve still ends on its port."""
    dialog = open_dialog(qtbot, window)
    retype(qtbot, dialog.hidden_edit, "8, 8")
    qtbot.mouseClick(dialog.ok_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(window.doc.graph) > 0)
    g, scene = window.doc.graph, window.canvas.scene()

    def drawn_as_modelled() -> None:
        assert set(scene.nodes) == set(g.ids())
        assert set(scene.edges) == set(g.edges())
        for (src, dst, port), e in scene.edges.items():
            p0, p1 = e.endpoints()
            assert e._ends == (p0, p1)  # the curve was routed after the ports settled
        z = g.id_of("z2_1")  # 8 inputs and a bias: 9 fed ports and a free one
        assert [p.port for p in scene.nodes[z].in_ports] == [f"x{i}" for i in range(1, 11)]

    assert len(g) == 231 and not scene.building
    drawn_as_modelled()
    window.act_undo.trigger()
    assert len(g) == 0 and scene.nodes == {} and scene.edges == {}
    window.act_redo.trigger()
    drawn_as_modelled()
