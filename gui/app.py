"""Application start-up: the QApplication, a crash hook, and the first window.

Nothing may raise into the Qt event loop unseen: ``sys.excepthook`` writes the
traceback to a log file in the user's app data folder and shows where it is.
"""

from __future__ import annotations

import datetime
import os
import sys
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

APP_NAME = "Chain Rule Studio"
ORG_NAME = "ChainRuleStudio"
LOG_NAME = "crash.log"


def data_dir() -> Path:
    """Where the crash log lives: $CHAIN_RULE_STUDIO_DATA_DIR, else the platform's app data folder."""
    env = os.environ.get("CHAIN_RULE_STUDIO_DATA_DIR")
    if env:
        return Path(env)
    import platformdirs
    return Path(platformdirs.user_data_dir(APP_NAME, ORG_NAME))


def log_exception(exc_type: type[BaseException], exc: BaseException,
                  tb: TracebackType | None) -> Path | None:
    """Append the traceback to the crash log; returns the log's path (None if unwritable)."""
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    try:
        folder = data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / LOG_NAME
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"--- {datetime.datetime.now().isoformat(timespec='seconds')}\n{text}\n")
        return log
    except OSError:
        return None


_in_hook = False


def excepthook(exc_type: type[BaseException], exc: BaseException,
               tb: TracebackType | None) -> None:
    """Log, print and show the error instead of letting Qt swallow or abort on it."""
    global _in_hook
    log = log_exception(exc_type, exc, tb)
    traceback.print_exception(exc_type, exc, tb)
    if _in_hook or QApplication.instance() is None:
        return
    _in_hook = True
    try:
        where = f"\n\nThe details were written to {log}." if log else ""
        QMessageBox.critical(None, APP_NAME,
                             f"Something went wrong: {exc_type.__name__}: {exc}{where}\n\n"
                             "Your document is still open; saving it under a new name is safest.")
    finally:
        _in_hook = False


def install_excepthook() -> None:
    sys.excepthook = excepthook


def create_window(path: str | None):
    """The first window: FILE if given (a bad FILE still opens, with the loader's message),
    else the tutorial's two-layer network, fitted to the window."""
    from gui.mainwindow import DEFAULT_EXAMPLE, EXAMPLES_DIR, MainWindow
    window = MainWindow()
    window.show()
    if path:
        window.open_path(path, ask=False)
    else:
        example = EXAMPLES_DIR / DEFAULT_EXAMPLE
        if example.is_file():
            window.open_example(example, ask=False)
    QTimer.singleShot(0, window.canvas.fit_all)
    return window


def run(path: str | None = None) -> int:
    """Start the editor; returns the process exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    if not QCoreApplication.organizationName():  # tests set their own names
        QCoreApplication.setOrganizationName(ORG_NAME)
        QCoreApplication.setApplicationName(APP_NAME)
    install_excepthook()
    from gui.mime import hand_over_clipboard
    app.aboutToQuit.connect(hand_over_clipboard)
    window = create_window(path)
    code = app.exec()
    del window
    return code
