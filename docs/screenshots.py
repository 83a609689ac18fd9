"""Regenerate the README's teaching screenshots from the examples, offscreen.

    python docs/screenshots.py            # writes docs/step_through.png, derivation.png,
                                          # training.png, expression_bar.png

Each shot is the real window driven through its public actions (the same ones the
toolbar, keys and buttons trigger), so the pictures show what a user sees.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QLineEdit  # noqa: E402

from gui.mainwindow import EXAMPLES_DIR, MainWindow  # noqa: E402

OUT = ROOT / "docs"
SIZE = (1600, 1000)


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
    app = QApplication.instance() or QApplication(sys.argv[:1])
    keep = []

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
    w.training.step_button.click()
    shoot(app, w, "training.png")
    keep.append(w)

    w = window(app)  # x = 2 is kept: the new graph reuses the leaf's name
    bar = w.expression_bar.findChild(QLineEdit)
    bar.setFocus()
    bar.setText("y = (3*x + 1)**2")
    from PySide6.QtTest import QTest
    QTest.keyClick(bar, Qt.Key_Return)
    select(w, "x")
    shoot(app, w, "expression_bar.png")
    keep.append(w)


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)  # the pictures are written; skip tearing the windows down
