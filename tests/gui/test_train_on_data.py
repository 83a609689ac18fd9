"""Training on a dataset as a new user does it: Insert › Network…, Data › Generate moons,
Train N with Adam; then the decision boundary has moved and picking a sample (the
toolbar, or a click on a point) changes the numbers on the edges — without an edit.

Expected numbers come from the reference evaluation of one row at a time
(``engine.evaluate`` on ``one_sample``), averaged by hand over the training rows."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.evaluate import evaluate
from engine.fast.batch import one_sample
from engine.numfmt import fmt
from gui.data_panel import GenerateDialog
from gui.mainwindow import MainWindow
from test_network_dialog import open_dialog, retype


def generate_moons(qtbot, window: MainWindow) -> None:
    """Data dock › Generate…: choose Two moons and press OK in the dialog."""
    window.data_dock.show()
    window.data_dock.raise_()

    def fill() -> None:
        dlg = QApplication.activeModalWidget()
        assert isinstance(dlg, GenerateDialog)
        dlg.kind.setCurrentIndex(dlg.kind.findData("moons"))
        qtbot.mouseClick(dlg.ok_button, Qt.LeftButton)

    QTimer.singleShot(0, fill)
    qtbot.mouseClick(window.data_panel.generate_button, Qt.LeftButton)


def build_and_attach(qtbot, window: MainWindow) -> None:
    dialog = open_dialog(qtbot, window)
    retype(qtbot, dialog.inputs_spin, "2")
    retype(qtbot, dialog.hidden_edit, "4")
    qtbot.mouseClick(dialog.ok_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(window.doc.graph) > 0)
    generate_moons(qtbot, window)
    qtbot.waitUntil(lambda: window.doc.graph.dataset is not None)


def edge_of(window: MainWindow, source: str, target: str) -> tuple[str, str, str]:
    g = window.doc.graph
    s, t = g.id_of(source), g.id_of(target)
    port = next(p for d, p in g.consumers(s) if d == t)
    return s, t, port


def test_build_attach_train_and_pick_samples(qtbot, window: MainWindow) -> None:
    build_and_attach(qtbot, window)
    doc, g = window.doc, window.doc.graph
    ds = g.dataset
    assert ds.name == "moons" and ds.n_rows == 200
    assert doc.undo_stack.count() == 2  # the network, the dataset
    assert doc.result.batch is not None and doc.result.batch.n == int((~ds.test).sum())
    before = np.array(window.data_view.image.image, copy=True)

    # Train N = 200 with Adam at η = 0.05
    t = window.training
    window.training_dock.show()
    qtbot.keyClicks(t.optimizer_box, "a")
    assert t.optimizer_box.currentData() == "adam"
    retype(qtbot, t.lr_edit, "0.05")
    retype(qtbot, t.steps_spin, "200")
    qtbot.mouseClick(t.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not t.is_running(), timeout=60_000)
    assert doc.undo_stack.count() == 3 and doc.undo_stack.undoText() == "Train 200 steps"
    assert t.history["train_acc"][-1] >= 0.85
    after = np.asarray(window.data_view.image.image)
    assert not np.array_equal(before, after), "the decision boundary did not move"
    assert "train acc" in window.data_view.readout_text()

    # the loss node shows the mean loss, a param its batch gradient (by hand)
    rows = ds.rows("train")
    refs = {j: evaluate(one_sample(g, j)) for j in rows}
    loss_id, w = g.output, g.id_of("w1_1_1")
    mean_loss = sum(refs[j].value(loss_id) for j in rows) / len(rows)
    batch_grad = sum(refs[j].grad(w) for j in rows) / len(rows)
    scene = window.canvas.scene()
    assert scene.nodes[loss_id].value_text == fmt(mean_loss)
    assert scene.nodes[w].grad_text == fmt(batch_grad)

    # the sample picker: sample 5 (row 4), then sample 9 (row 8)
    stack_before, modified = doc.undo_stack.count(), doc.is_modified()
    key = edge_of(window, "x1", "wa1_1_1")
    spin = window.sample_picker.spin
    shown = {}
    for sample in (5, 9):
        retype(qtbot, spin, str(sample))
        qtbot.keyClick(spin, Qt.Key_Return)
        qtbot.waitUntil(lambda: doc.live.sample == sample - 1)
        ref = evaluate(one_sample(g, sample - 1)).edges[key]
        text = scene.edge_label_text(*key)
        assert fmt(ref.product) in text, (text, ref.product)
        shown[sample] = text
    assert shown[5] != shown[9]
    assert doc.undo_stack.count() == stack_before and doc.is_modified() == modified

    # a click on a point in the Data view shows that sample
    row = int(rows[17])
    view = window.data_view
    window.data_view_dock.show()
    window.data_view_dock.raise_()
    qtbot.waitExposed(view)
    pos = view.data_plot.mapFromScene(view.scene_pos_of(row))
    qtbot.mouseClick(view.data_plot.viewport(), Qt.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: doc.live.sample == row)
    assert spin.value() == row + 1
    ref = evaluate(one_sample(g, row)).edges[key]
    assert fmt(ref.product) in scene.edge_label_text(*key)

    # Batch mean: every number is its mean over the training rows
    qtbot.mouseClick(window.sample_picker.mean, Qt.LeftButton)
    qtbot.waitUntil(lambda: doc.live.show_means)
    mean_product = sum(refs_j.edges[key].product for refs_j in
                       (evaluate(one_sample(g, j)) for j in rows)) / len(rows)
    assert fmt(mean_product) in scene.edge_label_text(*key)
    assert doc.undo_stack.count() == stack_before


def test_undo_detaches_the_dataset_and_the_graph_is_one_sample_again(
        qtbot, window: MainWindow) -> None:
    build_and_attach(qtbot, window)
    doc = window.doc
    window.act_undo.trigger()
    assert doc.graph.dataset is None and doc.result.batch is None
    assert not window.sample_picker.spin.isEnabled()
    window.act_redo.trigger()
    assert doc.graph.dataset is not None and doc.result.batch is not None


def test_a_bad_csv_says_where_and_changes_nothing(qtbot, window: MainWindow, tmp_path,
                                                  monkeypatch) -> None:
    shown = []
    monkeypatch.setattr(QMessageBox, "warning",
                        lambda parent, title, text, *a, **k: shown.append(text))
    doc = window.doc
    cases = {"ragged.csv": "x1,x2,y\n1,2,0\n3,4\n",
             "word.csv": "x1,x2,y\n1,2,0\n3,abc,1\n",
             "empty.csv": ""}
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        assert window.data_panel.import_dialog(str(path)) is False
    assert doc.graph.dataset is None and doc.undo_stack.count() == 0
    assert "line 3" in shown[0] and "line 3" in shown[1] and "column 2" in shown[1]
    assert "empty" in shown[2].lower()
    good = tmp_path / "good.csv"
    good.write_text("x1,x2,y\n1,2,0\n3,4,1\n", encoding="utf-8")
    assert window.data_panel.import_dialog(str(good)) is True
    assert doc.graph.dataset.n_rows == 2 and doc.undo_stack.count() == 1


def test_drag_a_column_onto_the_canvas_makes_a_bound_data_leaf(qtbot, window) -> None:
    from PySide6.QtCore import QMimeData
    from PySide6.QtGui import QDropEvent
    from gui.mime import COLUMN_MIME
    generate_moons(qtbot, window)
    qtbot.waitUntil(lambda: window.doc.graph.dataset is not None)
    md = QMimeData()
    md.setData(COLUMN_MIME, b"x2")
    view = window.canvas
    pos = QPointF(view.viewport().rect().center())
    drop = QDropEvent(pos, Qt.CopyAction, md, Qt.LeftButton, Qt.NoModifier)
    view.dropEvent(drop)
    g = window.doc.graph
    (nid,) = g.data_leaves()
    assert g.column_of(nid) == "x2" and g.name_of(nid) == "x2"
    assert window.doc.undo_stack.count() == 2


def test_another_dataset_mid_session_is_the_one_trained_on(qtbot, window) -> None:
    """A Step after Data › Generate of another dataset trains on the new rows: the
    panel's optimizer state belongs to the function it was made for."""
    from engine.datasets import generate
    build_and_attach(qtbot, window)
    t = window.training
    qtbot.mouseClick(t.step_button, Qt.LeftButton)
    first = t._trainer
    assert first is not None and first.dataset is window.doc.graph.dataset
    window.doc.set_dataset(generate("circles", 50, 0.05, 2, 0.2))
    qtbot.mouseClick(t.step_button, Qt.LeftButton)
    assert t._trainer is not first and t._trainer.dataset.name == "circles"
    assert len(t._trainer.train_rows) == 40


def test_picking_another_sample_ends_a_pass(qtbot, window) -> None:
    build_and_attach(qtbot, window)
    st = window.stepper
    st.act_backward.trigger()
    st.act_backward.trigger()
    assert st.pass_ is not None
    assert "sample 1 of 200" in st.title()
    retype(qtbot, window.sample_picker.spin, "7")
    qtbot.keyClick(window.sample_picker.spin, Qt.Key_Return)
    qtbot.waitUntil(lambda: st.pass_ is None)
    assert "Another sample" in st.message
    st.act_backward.trigger()
    assert "sample 7 of 200" in st.title()


def test_the_bindings_follow_renames_but_a_value_change_leaves_them_be(qtbot, window) -> None:
    """The Data dock lists each data leaf with its column. A slider tick elsewhere does
    not rebuild that list (it scanned every node on every tick); a rename shows."""
    from PySide6.QtCore import QMimeData
    from PySide6.QtGui import QDropEvent
    from gui.mime import COLUMN_MIME
    generate_moons(qtbot, window)
    qtbot.waitUntil(lambda: window.doc.graph.dataset is not None)
    md = QMimeData()
    md.setData(COLUMN_MIME, b"x1")
    view = window.canvas
    view.dropEvent(QDropEvent(QPointF(view.viewport().rect().center()), Qt.CopyAction, md,
                              Qt.LeftButton, Qt.NoModifier))
    doc, panel = window.doc, window.data_panel
    (leaf,) = doc.graph.data_leaves()
    w = doc.add_node("input", (300.0, 0.0), "w", 0.5)
    qtbot.waitUntil(lambda: panel.bindings.topLevelItemCount() == 1)
    box = panel._combos[leaf]
    assert panel.bindings.topLevelItem(0).text(0) == "x₁" and box.currentData() == "x1"
    for k in range(3):  # a slider drag on w
        doc.set_value(w, 0.6 + 0.1 * k, merge_id=7)
        QApplication.processEvents()
    assert panel._combos[leaf] is box
    assert doc.rename(leaf, "feature") is None
    qtbot.waitUntil(lambda: panel.bindings.topLevelItem(0).text(0) == "feature")
    assert panel._combos[leaf].currentData() == "x1"
