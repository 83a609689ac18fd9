"""Regenerate the README's teaching screenshots from the examples, offscreen.

    python docs/screenshots.py            # writes docs/editor.png, step_through.png,
                                          # derivation.png, training.png, expression_bar.png,
                                          # quiz.png, lessons.png,
                                          # forward_mode.png
    python docs/screenshots.py projector  # on a 1280×720 screen: docs/presentation.png,
                                          # docs/big_graph.png, lessons_720.png

Each shot is the real window driven through its public actions (the same ones the
toolbar, keys and buttons trigger), so the pictures show what a user sees.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PROJECTOR = sys.argv[1:] == ["projector"]
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    # an offscreen screen of a known size (Qt's default is 800×800, and the window keeps
    # itself on its screen); on the projector's, full screen means 1280×720
    import json
    import tempfile
    _w, _h = (1280, 720) if PROJECTOR else (1920, 1200)
    _screen = Path(tempfile.gettempdir()) / f"crs-screen-{_w}x{_h}.json"
    _screen.write_text(json.dumps({"windowFrameMargins": False, "screens": [
        {"name": "screen", "x": 0, "y": 0, "width": _w, "height": _h,
         "logicalDpiX": 96, "logicalDpiY": 96, "dpr": 1}]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_screen}"

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QLineEdit  # noqa: E402

from gui.mainwindow import EXAMPLES_DIR, MainWindow  # noqa: E402

OUT = ROOT / "docs"
SIZE = (1600, 1000)


def fresh_settings() -> None:
    """A first start: no remembered window layout, minimap or UI zoom, recovery copies
    in a scratch folder (the pictures show what a new user sees)."""
    import tempfile
    from PySide6.QtCore import QCoreApplication, QSettings, QStandardPaths
    folder = tempfile.mkdtemp(prefix="crs-shots-")
    os.environ["CHAIN_RULE_STUDIO_DATA_DIR"] = folder
    QStandardPaths.setTestModeEnabled(True)
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, folder)
    QCoreApplication.setOrganizationName("ChainRuleStudioScreenshots")
    QCoreApplication.setApplicationName("ChainRuleStudioScreenshots")


def settle(app: QApplication) -> None:
    for _ in range(5):
        app.processEvents()


def window(app: QApplication, example: str = "two_layer") -> MainWindow:
    w = MainWindow()
    w.resize(*SIZE)
    w.show()
    w.open_example(EXAMPLES_DIR / f"{example}.json", ask=False)
    settle(app)
    return w


def select(w: MainWindow, name: str) -> None:
    w.canvas.select_ids([w.doc.graph.id_of(name)])


def shoot(app: QApplication, w: MainWindow, name: str) -> None:
    settle(app)
    w.grab().save(str(OUT / name))
    print(OUT / name)
    w.doc.undo_stack.setClean()
    w.hide()


def main() -> None:
    fresh_settings()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    keep = []

    w = window(app)  # the editor as it opens, the palette's tab raised, h selected
    w.palette_dock.raise_()
    select(w, "h")
    shoot(app, w, "editor.png")
    keep.append(w)

    w = window(app)  # backward pass: L, then ŷ sends −1.4 × 0.3 = −0.42 to h
    w.stepper.act_backward.trigger()
    w.stepper.act_backward.trigger()
    shoot(app, w, "step_through.png")
    keep.append(w)

    w = window(app)
    select(w, "w1")
    shoot(app, w, "derivation.png")
    keep.append(w)

    w = window(app)
    w.training_dock.toggleViewAction().trigger()  # View › Training
    w.training.step_button.click()
    shoot(app, w, "training.png")
    keep.append(w)

    w = train_on_data(app)
    shoot(app, w, "train_on_data.png")
    keep.append(w)

    w = quiz(app)
    shoot(app, w, "quiz.png")
    keep.append(w)
    keep.append(forward_mode(app))

    w = window(app)  # x = 2 is kept: the new graph reuses the leaf's name
    bar = w.expression_bar.findChild(QLineEdit)
    bar.setFocus()
    bar.setText("y = (3*x + 1)**2")
    from PySide6.QtTest import QTest
    QTest.keyClick(bar, Qt.Key_Return)
    select(w, "x")
    shoot(app, w, "expression_bar.png")
    keep.append(w)

    w = lesson_window(app, SIZE)
    shoot(app, w, "lessons.png")
    keep.append(w)


def lesson_window(app: QApplication, size: tuple[int, int] | None = None) -> MainWindow:
    """File › Lessons… › lesson 3 at its step 2 (the backward pass by hand): ∂L/∂ŷ
    answered right, ∂ŷ/∂h wrong, the last one still open — its hint shown."""
    from chain_rule_studio.examples import lesson_files
    from engine import lesson
    w = MainWindow()
    if size is not None:
        w.resize(*size)
    w.show()
    settle(app)
    les = lesson.load(lesson_files()[2], EXAMPLES_DIR)
    w.lesson_panel.progress.set_step(les.id, 1)
    w.open_lesson(les)
    settle(app)
    for field, text in zip(w.lesson_panel.fields, ("-2*(1 - 0.3)", "0.5", "")):
        field.setText(text)
    w.lesson_panel.check()
    w.canvas.fit_all()
    settle(app)
    return w


def quiz(app: QApplication) -> MainWindow:
    """Passes › Quiz on local derivatives and products: ∂h/∂w₁ wrong twice (the hint
    shows), a product right as −1.4 × 0.3, the cursor in ∂h/∂x."""
    w = window(app)
    m = w.quiz_mode
    m.act_quiz.trigger()
    ids = {w.doc.graph.name_of(n): n for n in w.doc.graph.ids()}

    def key(kind: str, src: str, dst: str, port: str) -> str:
        return m.key_of(kind, (ids[src], ids[dst], port))
    m.submit(key("local", "h", "yhat", "b"), "0.3")
    m.submit(key("product", "h", "yhat", "b"), "-1.4*0.3")
    m.submit(key("local", "yhat", "L", "prediction"), "-2*(1-0.3)")
    m.submit(key("local", "w1", "h", "a"), "0.5")
    m.submit(key("local", "w1", "h", "a"), "1")
    m.focus(key("local", "w1", "h", "a"))
    settle(app)
    return w


def forward_mode(app: QApplication) -> MainWindow:
    """Forward mode from w₁ (the toolbar's list): every node's tangent above its card,
    each edge's share under its label, the Forward vs reverse dock below."""
    w = window(app)
    box = w.forward.box
    i = box.findData(w.doc.graph.id_of("w1"))
    box.setCurrentIndex(i)
    box.activated.emit(i)
    shoot(app, w, "forward_mode.png")
    return w


def train_on_data(app: QApplication) -> MainWindow:
    """The issue's walk-through: File › New, Insert › Network… 2-4-1 (tanh, sigmoid, BCE),
    Data › Generate › moons, Train N = 500 with Adam; then a point near the boundary is
    clicked, so every edge shows that sample's numbers."""
    import time

    from engine.datasets import generate
    from gui.network_dialog import NetworkChoices, insert_network
    w = MainWindow()
    w.resize(*SIZE)
    w.show()
    w.new_file()
    settle(app)
    insert_network(w.doc, NetworkChoices(2, (4,), "tanh", "sigmoid", "binary_cross_entropy", 0))
    w.doc.set_dataset(generate("moons", 200, 0.1, 1, 0.2))
    settle(app)
    t = w.training
    t.optimizer_box.setCurrentIndex(t.optimizer_box.findData("adam"))
    t.lr_edit.setText("0.05")
    t.steps_spin.setValue(500)
    t.train()
    start = time.time()
    while t.is_running() and time.time() - start < 120:
        app.processEvents()
    settle(app)
    ds = w.doc.graph.dataset
    w.doc.pick_sample(int(ds.rows("train")[11]))
    w.canvas.fit_all()
    settle(app)
    return w


def projector() -> None:
    """Presentation mode mid-way through the backward pass, and a 10,000-node network at
    readable zoom with the minimap and Find, both on a 1280×720 screen."""
    fresh_settings()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    keep = []

    w = MainWindow()
    w.show()
    w.open_example(EXAMPLES_DIR / "two_layer.json", ask=False)
    settle(app)
    w.presenter.enter()
    from PySide6.QtTest import QTest
    for _ in range(4):  # L, ŷ, h: the caption says what h receives
        w.stepper.act_backward.trigger()
    QTest.qWait(300)  # the fits that make room for the caption
    settle(app)
    w.grab().save(str(OUT / "presentation.png"))
    print(OUT / "presentation.png")
    keep.append(w)
    w.presenter.leave()
    w.hide()

    import tempfile
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from editor import make_file
    path = make_file(10_000, tempfile.mkdtemp())
    w = MainWindow()
    w.show()
    w.showMaximized()
    w.open_path(path)
    settle(app)
    w.set_minimap(True)
    w.canvas.open_find()
    bar = w.canvas.find_bar.edit
    bar.setText(w.doc.graph.name_of(w.doc.graph.ids()[len(w.doc.graph) // 2]))
    QTest.keyClick(bar, Qt.Key_Return)
    settle(app)
    w.grab().save(str(OUT / "big_graph.png"))
    print(OUT / "big_graph.png")
    w.doc.undo_stack.setClean()
    keep.append(w)
    w.hide()

    w = lesson_window(app)  # the window as it opens on this screen: it fills it
    w.showMaximized()
    settle(app)
    w.canvas.fit_all()
    shoot(app, w, "lessons_720.png")
    keep.append(w)


if __name__ == "__main__":
    projector() if PROJECTOR else main()
    sys.stdout.flush()
    os._exit(0)  # the pictures are written; skip tearing the windows down
