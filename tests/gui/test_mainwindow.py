"""The main window as a user meets it: keys, menu actions, dialogs (monkeypatched so
nothing blocks), files that fail to load or save, and the docks."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox, QStyle, QStyleOptionSlider, QTabBar

from _gui_helpers import two_layer, type_text
from engine import fileformat
from gui import app as app_module
from gui.mainwindow import EXAMPLES_DIR, MainWindow
from gui.mime import OP_MIME
from gui.quickadd import QuickAddPopup


def press(qtbot, widget, seq: QKeySequence.StandardKey | str) -> None:
    """Type a key sequence's first chord as the user would."""
    combo = QKeySequence(seq)[0]
    qtbot.keyClick(widget, combo.key(), combo.keyboardModifiers())


@contextlib.contextmanager
def read_only_folder(folder: Path):
    """Make ``folder`` unwritable, even when the tests run as root (drop the effective uid)."""
    os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP
             | stat.S_IROTH | stat.S_IXOTH)
    dropped = False
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.seteuid(65534)
        dropped = True
    try:
        yield
    finally:
        if dropped:
            os.seteuid(0)
        os.chmod(folder, 0o755)


def test_title_shows_file_name_and_modified_marker(window, dialogs, tmp_path):
    assert window.windowTitle().startswith("Untitled")
    assert not window.isWindowModified()
    ids = two_layer(window.doc)
    assert window.isWindowModified()
    dialogs.save_name = str(tmp_path / "net")
    window.act_save.trigger()  # untitled: Save asks for a name
    assert (tmp_path / "net.json").is_file()
    assert window.windowTitle().startswith("net.json[*]")
    assert not window.isWindowModified()
    window.doc.set_value(ids["x"], 5.0)
    assert window.isWindowModified()


def test_undo_redo_keys_and_menu_text(window, qtbot):
    ids = two_layer(window.doc)
    assert window.act_undo.text().replace("&", "") == "Undo Connect y\u0302 → L"
    window.doc.disconnect(ids["h"], "a")
    window.doc.connect(ids["x"], ids["h"], "a")
    assert window.act_undo.text().replace("&", "") == "Undo Connect x → h"
    edges = len(window.doc.graph.edges())
    press(qtbot, window.canvas, QKeySequence.Undo)
    assert len(window.doc.graph.edges()) == edges - 1
    assert window.act_redo.text().replace("&", "") == "Redo Connect x → h"
    press(qtbot, window.canvas, QKeySequence.Redo)
    assert len(window.doc.graph.edges()) == edges
    # ∂L/∂w1 is the tutorial's again after the round trip
    assert window.doc.result.grad(ids["w1"]) == pytest.approx(-0.84)


def test_new_with_unsaved_changes_asks(window, dialogs):
    two_layer(window.doc)
    dialogs.answer = QMessageBox.Cancel
    window.act_new.trigger()
    assert dialogs.questions and len(window.doc.graph) == 7  # cancelled: nothing lost
    dialogs.answer = QMessageBox.Discard
    window.act_new.trigger()
    assert len(window.doc.graph) == 0 and not window.doc.is_modified()


def test_save_answer_saves_before_new(window, dialogs, tmp_path):
    two_layer(window.doc)
    dialogs.answer = QMessageBox.Save
    dialogs.save_name = str(tmp_path / "kept.json")
    window.act_new.trigger()
    assert len(window.doc.graph) == 0
    kept = fileformat.load(str(tmp_path / "kept.json"))
    assert len(kept) == 7


def test_close_with_unsaved_changes_can_be_cancelled(window, dialogs):
    two_layer(window.doc)
    dialogs.answer = QMessageBox.Cancel
    assert not window.close()
    assert window.isVisible()
    dialogs.answer = QMessageBox.Discard
    assert window.close()


def test_open_bad_file_shows_loader_message_and_keeps_document(window, dialogs, tmp_path):
    two_layer(window.doc)
    before = fileformat.dumps(window.doc.graph)
    bad = tmp_path / "broken.json"
    bad.write_text("{ this is not json", encoding="utf-8")
    dialogs.answer = QMessageBox.Discard
    dialogs.open_name = str(bad)
    window.act_open.trigger()
    assert len(dialogs.errors) == 1 and "broken.json" in dialogs.errors[0]
    assert fileformat.dumps(window.doc.graph) == before
    assert window.doc.is_modified()


def test_open_via_menu_and_recent(window, dialogs, tmp_path):
    other = MainWindow()
    ids = two_layer(other.doc)
    path = tmp_path / "saved.json"
    other.doc.save(str(path))
    other.deleteLater()
    dialogs.open_name = str(path)
    window.act_open.trigger()
    assert window.doc.path == str(path) and window.windowTitle().startswith("saved.json")
    assert window.doc.result.grad(ids["w1"]) == pytest.approx(-0.84)
    window._fill_recent()
    names = [a.text() for a in window.recent_menu.actions()]
    assert "saved.json" in names


def test_failed_save_keeps_modified_and_old_file(window, dialogs, tmp_path):
    folder = Path(tempfile.mkdtemp(prefix="crs-ro-"))
    os.chmod(folder, 0o755)
    try:
        ids = two_layer(window.doc)
        path = folder / "g.json"
        window.doc.save(str(path))
        old = path.read_bytes()
        window.doc.set_value(ids["x"], 9.0)
        with read_only_folder(folder):
            window.act_save.trigger()
        assert len(dialogs.errors) == 1 and "not saved" in dialogs.errors[0]
        assert window.doc.is_modified() and window.isWindowModified()
        assert path.read_bytes() == old
        assert sorted(p.name for p in folder.iterdir()) == ["g.json"]  # no temp file left
    finally:
        os.chmod(folder, 0o755)
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()


def test_examples_menu_lists_every_example(window):
    window._fill_examples()
    listed = {a.data() for a in window.examples_menu.actions() if a.data()}
    assert listed == {str(p) for p in EXAMPLES_DIR.glob("*.json")}
    assert any(p.endswith("two_layer.json") for p in listed)


def test_example_opens_untitled_so_save_never_overwrites_it(window, dialogs):
    window._fill_examples()
    act = next(a for a in window.examples_menu.actions()
               if a.data() and a.data().endswith("two_layer.json"))
    original = Path(act.data()).read_bytes()
    act.trigger()
    assert window.doc.path is None and len(window.doc.graph) > 0
    assert "two_layer" in window.windowTitle()
    # the tutorial network: L = 0.49 and ∂L/∂w1 = −0.84
    g, r = window.doc.graph, window.doc.result
    assert r.value(r.output) == pytest.approx(0.49)
    assert r.grad(g.id_of("w1")) == pytest.approx(-0.84)
    assert Path(act.data()).read_bytes() == original


def test_startup_without_file_opens_two_layer(qtbot, dialogs):
    w = app_module.create_window(None)
    qtbot.addWidget(w)
    assert len(w.doc.graph) > 0 and not w.doc.is_modified()
    assert w.doc.result.value(w.doc.result.output) == pytest.approx(0.49)


def test_startup_with_bad_file_still_opens_window(qtbot, dialogs, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2", encoding="utf-8")
    w = app_module.create_window(str(bad))
    qtbot.addWidget(w)
    assert w.isVisible()
    assert len(dialogs.errors) == 1 and "bad.json" in dialogs.errors[0]


def test_copy_paste_duplicate_and_cut(window):
    ids = two_layer(window.doc)
    window.canvas.select_ids([ids["x"], ids["w1"], ids["h"]])
    window.act_copy.trigger()
    md = QApplication.clipboard().mimeData()
    assert md.hasFormat("application/x-chain-rule-studio") and md.hasText()
    window.act_paste.trigger()
    g = window.doc.graph
    assert len(g) == 10 and len(g.edges()) == 8  # 3 nodes and the 2 edges inside them
    assert len(g.names()) == 10  # names stay unique
    assert window.act_undo.text().replace("&", "").startswith("Undo Paste")
    window.doc.undo_stack.undo()
    assert len(g) == 7
    window.canvas.select_ids([ids["w2"]])
    window.act_duplicate.trigger()
    assert len(window.doc.graph) == 8
    window.doc.undo_stack.undo()
    window.canvas.select_ids([ids["y"]])
    window.act_cut.trigger()
    assert ids["y"] not in window.doc.graph
    window.act_paste.trigger()
    assert len(window.doc.graph) == 7


def test_delete_action_removes_selection_with_edges(window):
    ids = two_layer(window.doc)
    window.canvas.select_ids([ids["h"]])
    window.act_delete.trigger()
    assert ids["h"] not in window.doc.graph and len(window.doc.graph.edges()) == 3
    assert window.doc.undo_stack.undoText() == "Delete h"


def test_status_bar_explains_missing_output(window):
    window.doc.add_node("input", (0, 0), "a", 1.0)
    window.doc.add_node("input", (0, 200), "b", 1.0)
    assert "mark one as the output" in window.output_label.text()
    window.doc.set_output(window.doc.graph.id_of("a"))
    assert "mark one" not in window.output_label.text()


def test_label_mode_and_theme_actions(window):
    window.label_actions["local"].trigger()
    assert window.label_mode == "local" and window.settings.value("labelMode") == "local"
    window.theme_actions["dark"].trigger()
    dark_bg = QApplication.palette().window().color().lightness()
    window.theme_actions["light"].trigger()
    assert QApplication.palette().window().color().lightness() > dark_bg


# ----------------------------------------------------------------- inspector
def test_inspector_typed_value_is_exact_and_one_step(window, qtbot):
    ids = two_layer(window.doc)
    window.inspector.set_selection([ids["x"]])
    edit = window.inspector.value_edit
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "3")
    qtbot.keyClick(edit, Qt.Key_Return)
    assert window.doc.graph.node(ids["x"]).value == 3.0
    # x = 3: h = 1.5, ŷ = 0.45, ∂L/∂ŷ = −1.1, ∂L/∂h = −0.33, ∂L/∂w1 = −0.33·3 = −0.99,
    # ∂L/∂x = −0.33·w1 = −0.165
    assert window.doc.result.grad(ids["w1"]) == pytest.approx(-0.99)
    value_line, grad_line = window.inspector.numbers.text().splitlines()[:2]
    assert value_line == "value = 3"
    assert grad_line.startswith("∂L/∂x = ")
    assert float(grad_line.split(" = ")[1].replace("−", "-")) == pytest.approx(-0.165)
    assert window.doc.undo_stack.undoText() == "Set x = 3"


def _slider_handle_centre(slider) -> QPoint:
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    return slider.style().subControlRect(QStyle.CC_Slider, opt, QStyle.SC_SliderHandle,
                                         slider).center()


def test_slider_drag_updates_live_and_is_one_undo_step(window, qtbot):
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent
    ids = two_layer(window.doc)
    window.inspector.set_selection([ids["w2"]])
    slider = window.inspector.slider
    start = window.doc.undo_stack.count()
    a = _slider_handle_centre(slider)
    qtbot.mousePress(slider, Qt.LeftButton, Qt.NoModifier, a)
    seen = []
    for dx in (10, 20, 40):
        p = QPointF(a.x() + dx, a.y())
        ev = QMouseEvent(QEvent.MouseMove, p, slider.mapToGlobal(p), Qt.NoButton,
                         Qt.LeftButton, Qt.NoModifier)
        QApplication.sendEvent(slider, ev)
        seen.append(window.doc.graph.node(ids["w2"]).value)
    qtbot.mouseRelease(slider, Qt.LeftButton, Qt.NoModifier, QPoint(a.x() + 40, a.y()))
    assert seen[0] > 0.3 and seen == sorted(seen) and len(set(seen)) == 3  # live, increasing
    w2 = window.doc.graph.node(ids["w2"]).value
    # with h = 1: ∂L/∂w2 = −2(1 − w2)
    assert window.doc.result.grad(ids["w2"]) == pytest.approx(-2 * (1 - w2))
    assert window.doc.undo_stack.count() == start + 1
    window.doc.undo_stack.undo()
    assert window.doc.graph.node(ids["w2"]).value == 0.3


def test_inspector_kind_rename_and_output(window, qtbot):
    ids = two_layer(window.doc)
    ins = window.inspector
    ins.set_selection([ids["x"]])
    ins.kind_combo.setFocus()
    qtbot.keyClick(ins.kind_combo, Qt.Key_Down)  # Input → Parameter
    assert window.doc.graph.op_of(ids["x"]) == "param"
    ins.name_edit.setFocus()
    ins.name_edit.selectAll()
    qtbot.keyClicks(ins.name_edit, "w1")
    qtbot.keyClick(ins.name_edit, Qt.Key_Return)
    assert "already used" in ins.problem.text()
    assert window.doc.graph.name_of(ids["x"]) == "x"
    ins.set_selection([ids["yhat"]])
    assert "w₂" in ins.derivs.text() and "0.3" in ins.derivs.text()  # ∂ŷ/∂h = w₂ = 0.3
    qtbot.mouseClick(ins.output_button, Qt.LeftButton)
    assert window.doc.graph.output == ids["yhat"]
    assert window.doc.undo_stack.undoText().startswith("Mark")


# ----------------------------------------------------------------- palette and quick-add
def test_palette_lists_every_op_with_derivative_tooltips(window):
    from engine.ops import OPS
    pal = window.palette
    assert sorted(pal.ops()) == sorted(OPS)
    tip = pal.item_for("mul").toolTip(0)
    assert "∂(a·b)/∂a = b" in tip and "∂(a·b)/∂b = a" in tip
    md = pal.mimeData([pal.item_for("sigmoid")])
    assert bytes(md.data(OP_MIME)).decode() == "sigmoid"


def click_dock_tab(qtbot, window, title: str) -> None:
    """Click the tab that brings a tabbed dock to the front, as a user does."""
    for bar in window.findChildren(QTabBar):
        for i in range(bar.count()):
            if bar.tabText(i).replace("&", "") == title and bar.isVisible():
                qtbot.mouseClick(bar, Qt.LeftButton, Qt.NoModifier, bar.tabRect(i).center())
                return
    raise AssertionError(f"no tab {title!r}")


def test_palette_double_click_adds_node(window, qtbot):
    click_dock_tab(qtbot, window, "Palette")  # it shares the column with the Inspector
    assert window.palette.isVisible()
    item = window.palette.item_for("exp")
    rect = window.palette.visualItemRect(item)
    vp = window.palette.viewport()
    qtbot.mouseClick(vp, Qt.LeftButton, Qt.NoModifier, rect.center())
    qtbot.mouseDClick(vp, Qt.LeftButton, Qt.NoModifier, rect.center())
    assert [n.op for n in window.doc.graph.nodes()] == ["exp"]


def test_quick_add_filters_and_enter_chooses(qtbot):
    popup = QuickAddPopup()
    qtbot.addWidget(popup)
    popup.open_at(QPoint(100, 100))
    qtbot.keyClicks(popup.edit, "sig")
    assert popup.visible_ops() == ["sigmoid"]
    with qtbot.waitSignal(popup.opChosen) as chosen:
        qtbot.keyClick(popup.edit, Qt.Key_Return)
    assert chosen.args == ["sigmoid"]
    popup.open_at(QPoint(100, 100), ops=["add", "mul"])
    assert popup.visible_ops() == ["add", "mul"]


# ----------------------------------------------------------------- crash hook
def test_excepthook_logs_and_shows_dialog(dialogs):
    try:
        raise ZeroDivisionError("boom in a slot")
    except ZeroDivisionError:
        app_module.excepthook(*sys.exc_info())
    log = Path(os.environ["CHAIN_RULE_STUDIO_DATA_DIR"]) / app_module.LOG_NAME
    assert "ZeroDivisionError: boom in a slot" in log.read_text(encoding="utf-8")
    assert dialogs.errors and "boom in a slot" in dialogs.errors[-1]


def test_inspector_shows_why_a_value_is_nan(window):
    doc = window.doc
    a = doc.add_node("input", (0, 0), "a", -1.0)
    ln = doc.add_node("log", (250, 0), "l")
    doc.connect(a, ln, "x")
    window.inspector.set_selection([ln])
    # ln(−1) is not a real number: the engine says why, the inspector repeats it
    assert "log is undefined for −1" in window.inspector.problem.text()
    assert "NaN" in window.inspector.numbers.text()


def test_build_save_reopen_and_undo_to_empty(window, dialogs, tmp_path, qtbot):
    window.act_new.trigger()
    ids = two_layer(window.doc)
    scene = window.canvas.scene()
    label = scene.edge_label_text(ids["w1"], ids["h"], "b")
    assert "2" in label and "−0.84" in label  # local 2, product −0.84
    dialogs.save_name = str(tmp_path / "mine.json")
    window.act_save.trigger()
    text = (tmp_path / "mine.json").read_text(encoding="utf-8")
    while window.doc.undo_stack.canUndo():
        press(qtbot, window.canvas, QKeySequence.Undo)
    assert len(window.doc.graph) == 0 and not scene.nodes
    dialogs.answer = QMessageBox.Discard
    window._fill_recent()
    next(a for a in window.recent_menu.actions() if a.text() == "mine.json").trigger()
    assert fileformat.dumps(window.doc.graph) == text
    assert "−0.84" in scene.edge_label_text(ids["w1"], ids["h"], "b")
    assert window.doc.result.value(window.doc.result.output) == pytest.approx(0.49)


# ------------------------------------------------ found by using it in a real window

def test_delete_and_f_in_the_palette_leave_the_canvas_alone(window, qtbot):
    ids = two_layer(window.doc)
    window.canvas.select_ids([ids["h"]])
    window.palette.setFocus()
    qtbot.keyClick(window.palette, Qt.Key_Delete)
    assert ids["h"] in window.doc.graph
    before = window.canvas.transform()
    qtbot.keyClick(window.palette, Qt.Key_F)
    qtbot.keyClick(window.palette, Qt.Key_L)
    assert window.canvas.transform() == before
    assert window.doc.undo_stack.undoText() != "Auto-layout"
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas.viewport(), Qt.Key_Delete)
    assert ids["h"] not in window.doc.graph


def test_letters_typed_in_a_rename_are_not_shortcuts(window, qtbot):
    ids = two_layer(window.doc)
    view = window.canvas
    view.resetTransform()
    view.centerOn(400, 150)
    before_moves = window.doc.undo_stack.count()
    view.start_rename(ids["h"])
    qtbot.keyClick(view.viewport(), Qt.Key_A, Qt.ControlModifier)
    for ch in "lfl":
        qtbot.keyClick(view.viewport(), ch)
    qtbot.keyClick(view.viewport(), Qt.Key_Return)
    assert window.doc.graph.name_of(ids["h"]) == "lfl"
    assert window.doc.undo_stack.count() == before_moves + 1  # the rename only


def test_l_lays_out_and_keeps_the_whole_graph_in_sight(window, qtbot):
    ids = two_layer(window.doc)
    # spread the nodes far apart, then zoom in on one corner
    window.doc.move({ids["L"]: (window.doc.graph.node(ids["L"]).pos, (3000.0, 2000.0))})
    view = window.canvas
    view.resetTransform()
    view.scale(1.5, 1.5)
    view.centerOn(0, 0)
    qtbot.keyClick(view.viewport(), Qt.Key_L)
    assert window.doc.undo_stack.undoText() == "Auto-layout"
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    assert shown.contains(view.scene().items_rect())


def test_output_tooltip_names_the_real_output_and_inspector_without_output(window):
    """The tooltip said "the output L" whatever the output was called; the inspector
    showed a bare "∂L/∂ = —" when nothing was marked as the output."""
    doc = window.doc
    x = doc.add_node("input", (0, 0), "x", -1.0)
    lg = doc.add_node("log", (260, 0), "lg")
    assert doc.connect(x, lg, "x") is None
    doc.add_node("input", (0, 200), "z", 1.0)  # two sinks: no output is chosen
    window.canvas.select_ids([lg])
    assert "∂L/∂ =" not in window.inspector.numbers.text()
    assert "mark a node as the output" in window.inspector.numbers.text()
    doc.set_output(lg)
    tip = window.canvas.scene().nodes[lg].toolTip()
    assert "output L" not in tip and "lg" in tip
    # the NaN badge's reason is the engine's: log of a negative number
    assert "log is undefined for" in tip


# ------------------------------------------------ the document is never lost or half-changed

@pytest.mark.parametrize("typed", ["nan", "NaN", "inf", "-inf", "∞", "−∞", "1e999"])
def test_typing_nan_or_infinity_as_a_value_is_refused(window, qtbot, typed):
    ids = two_layer(window.doc)
    window.canvas.select_ids([ids["x"]])
    stack = window.doc.undo_stack
    steps, index = stack.count(), stack.index()
    before = fileformat.dumps(window.doc.graph)
    edit = window.inspector.value_edit
    qtbot.mouseClick(edit, Qt.LeftButton)
    edit.selectAll()
    type_text(qtbot, edit, typed)
    qtbot.keyClick(edit, Qt.Key_Return)
    problem = window.inspector.problem.text()
    assert "a value must be a finite number" in problem and repr(typed) in problem
    assert window.statusBar().currentMessage().startswith("A value must be a finite number")
    assert window.doc.graph.node(ids["x"]).value == 2.0
    assert fileformat.dumps(window.doc.graph) == before
    assert (stack.count(), stack.index()) == (steps, index)  # no undo step either
    assert edit.text() == "2"  # the field shows the value kept
    assert window.canvas.scene().nodes[ids["x"]].value_text == "2"
    # a finite number typed next is taken as usual
    qtbot.mouseClick(edit, Qt.LeftButton)
    edit.selectAll()
    type_text(qtbot, edit, "−1.5")
    qtbot.keyClick(edit, Qt.Key_Return)
    assert window.doc.graph.node(ids["x"]).value == -1.5


def test_the_document_api_refuses_a_non_finite_value(window):
    ids = two_layer(window.doc)
    with pytest.raises(ValueError, match="a value must be a finite number"):
        window.doc.set_value(ids["x"], float("nan"))
    assert window.doc.graph.node(ids["x"]).value == 2.0


def _saved_two_layer(window, folder: Path) -> tuple[dict[str, str], Path]:
    """The two-layer net saved to folder/g.json, then x set to 9 (unsaved)."""
    ids = two_layer(window.doc)
    path = folder / "g.json"
    window.doc.save(str(path))
    window.doc.set_value(ids["x"], 9.0)
    return ids, path


@pytest.mark.parametrize("failure, words", [
    (OSError(28, "No space left on device"), "No space left on device"),
    (ValueError("Out of range float values are not JSON compliant"), "not finite"),
    (UnicodeEncodeError("utf-8", "\udc80", 0, 1, "surrogates not allowed"),
     "cannot be written"),
    (RuntimeError("disk controller on fire"), "disk controller on fire"),
])
def test_close_keeps_the_window_when_the_save_fails(window, dialogs, qtbot, tmp_path,
                                                    monkeypatch, failure, words):
    ids, path = _saved_two_layer(window, tmp_path)
    old = path.read_bytes()
    edited = fileformat.dumps(window.doc.graph)

    def fail(*_a, **_k):
        raise failure
    monkeypatch.setattr(fileformat, "save", fail)
    dialogs.answer = QMessageBox.Save  # "Save the changes?" — Save
    window.act_quit.trigger()          # File › Quit
    assert window.isVisible()
    assert len(dialogs.questions) == 1 and len(dialogs.errors) == 1
    assert "g.json was not saved" in dialogs.errors[0] and words in dialogs.errors[0]
    assert "Your changes are still here" in dialogs.errors[0]
    assert window.doc.is_modified() and window.isWindowModified()
    assert window.doc.path == str(path) and fileformat.dumps(window.doc.graph) == edited
    assert path.read_bytes() == old
    # Ctrl+S fails the same way, in words, and raises nothing into the event loop
    press(qtbot, window.canvas, QKeySequence.Save)
    assert len(dialogs.errors) == 2 and words in dialogs.errors[1]
    assert window.isVisible() and window.doc.is_modified()


def test_close_into_a_read_only_folder_keeps_the_window(window, dialogs):
    folder = Path(tempfile.mkdtemp(prefix="crs-ro-"))
    os.chmod(folder, 0o755)
    try:
        _ids, path = _saved_two_layer(window, folder)
        dialogs.answer = QMessageBox.Save
        with read_only_folder(folder):
            closed = window.close()
        assert not closed and window.isVisible()
        assert len(dialogs.errors) == 1 and "not saved" in dialogs.errors[0]
        assert window.doc.is_modified()
    finally:
        os.chmod(folder, 0o755)
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()


def _state(window) -> tuple:
    """Everything a failed open must leave as it was."""
    stack = window.doc.undo_stack
    return (fileformat.dumps(window.doc.graph), window.doc.path, window.windowTitle(),
            window.isWindowModified(), stack.count(), stack.index(), stack.undoText(),
            len(window.canvas.scene().nodes))


def _open_and_expect_refusal(window, dialogs, path) -> str:
    before = _state(window)
    dialogs.open_name = str(path)
    window.act_open.trigger()  # File › Open…; unsaved changes: Discard
    assert len(dialogs.errors) == 1, dialogs.errors
    assert _state(window) == before
    assert window.doc.is_modified()
    window.doc.undo_stack.undo()  # and the undo stack still works
    assert window.doc.graph.node(window.doc.graph.id_of("x")).value == 2.0
    return dialogs.errors[0]


def test_a_malformed_file_leaves_document_title_path_and_undo_stack(window, dialogs, tmp_path):
    _saved_two_layer(window, tmp_path)
    bad = tmp_path / "broken.json"
    bad.write_text('{"format": "chain-rule-studio", "version": 1, "nodes": [', encoding="utf-8")
    text = _open_and_expect_refusal(window, dialogs, bad)
    assert "broken.json" in text and "unchanged" in text


@pytest.mark.parametrize("failure", [MemoryError(), OverflowError("math range error"),
                                     ValueError("array is too big")])
def test_a_file_that_cannot_be_evaluated_leaves_everything(window, dialogs, tmp_path,
                                                           monkeypatch, failure):
    """The file reads fine but compiling or evaluating it fails: nothing was replaced."""
    import engine.live
    _saved_two_layer(window, tmp_path)
    good = tmp_path / "other.json"
    fileformat.save(fileformat.load(str(EXAMPLES_DIR / "xor.json")), str(good))

    def fail(_graph, *args):
        raise failure
    monkeypatch.setattr(engine.live, "compile_graph", fail)
    monkeypatch.setattr(engine.live, "compile_batch", fail)  # xor.json has a dataset
    text = _open_and_expect_refusal(window, dialogs, good)
    assert "other.json" in text
    if isinstance(failure, MemoryError):
        assert "too large" in text


def test_a_fifo_is_refused_without_blocking(window, dialogs, tmp_path):
    import threading
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    _saved_two_layer(window, tmp_path)
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)

    def unblock():  # only if the editor wrongly waits on the pipe: let it read and fail
        with open(fifo, "w", encoding="utf-8") as f:
            f.write("{}")
    rescue = threading.Timer(15.0, unblock)
    rescue.daemon = True
    rescue.start()
    try:
        text = _open_and_expect_refusal(window, dialogs, fifo)
    finally:
        rescue.cancel()
    assert "pipe.json" in text and "named pipe" in text


def test_a_device_is_refused(window, dialogs, tmp_path):
    if not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null here")
    _saved_two_layer(window, tmp_path)
    text = _open_and_expect_refusal(window, dialogs, "/dev/null")
    assert "device" in text


def test_startup_with_a_fifo_still_opens_the_window(qtbot, dialogs, tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    w = app_module.create_window(str(fifo))
    qtbot.addWidget(w)
    assert w.isVisible() and len(w.doc.graph) == 0
    assert len(dialogs.errors) == 1 and "named pipe" in dialogs.errors[0]
