"""Application start-up: the QApplication, a crash hook, signals, and the first window.

Nothing may raise into the Qt event loop unseen: ``sys.excepthook`` writes the
traceback to a log file in the user's app data folder and shows where it is.

Signals end a session the way a person would: SIGTERM and SIGHUP (logout, ``kill``,
a closed terminal) autosave every window and quit normally, keeping the copies for the
next start to offer; SIGINT (Ctrl+C in the terminal) is File › Quit, unsaved-changes
question included. Python runs its signal handlers only when the interpreter has
control, and Qt's event loop sleeps in C: ``signal.set_wakeup_fd`` writes each signal's
number to a socket that a QSocketNotifier watches, which wakes the loop at once.
"""

from __future__ import annotations

import datetime
import os
import signal
import socket
import sys
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QCoreApplication, QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

APP_NAME = "Chain Rule Studio"
ORG_NAME = "ChainRuleStudio"
LOG_NAME = "crash.log"


def data_dir() -> Path:
    """Where the crash log and the autosaved copies live: $CHAIN_RULE_STUDIO_DATA_DIR,
    else the platform's per-user app data folder."""
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
    else the tutorial's two-layer network, fitted to the window. Then the autosaved
    copies of sessions that did not end normally are offered (``gui.recovery``)."""
    from gui import recovery
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
    recovery.offer(window)
    return window


def main_windows() -> list:
    """The open main windows (the start-up one and any opened for recovered documents)."""
    from gui.mainwindow import MainWindow
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, MainWindow) and w.isVisible()]


def quit_keeping_copies() -> None:
    """SIGTERM / SIGHUP: autosave every window now, close them without asking, quit."""
    if _busy_retry(quit_keeping_copies):
        return
    for w in main_windows():
        w.close_on_signal()
    _exit_all_loops()


def quit_asking() -> None:
    """SIGINT (Ctrl+C): File › Quit for every window, each asking about unsaved changes;
    a Cancel keeps that window (and the editor) running."""
    if _busy_retry(quit_asking):
        return
    for w in main_windows():
        if not w.close():
            return
    _exit_all_loops()


def _busy_retry(action) -> bool:
    """While a file is being opened or laid out the graph is in flux: act a moment later."""
    from gui import progress
    if progress.busy():
        QTimer.singleShot(100, action)
        return True
    return False


def _exit_all_loops() -> None:
    """Leave the event loop, and any dialog's loop running inside it (the start-up
    recovery prompt): ``exit`` does, where ``quit`` first asks every window and dialog to
    close, and the recovery prompt refuses (it wants a choice)."""
    app = QApplication.instance()
    if app is not None:
        app.exit(0)


#: the wake-up socket pair and its notifier, kept alive for the whole run
_wakeup: tuple | None = None


def install_signal_handlers(app: QApplication) -> None:
    """SIGTERM and SIGHUP quit keeping autosaved copies, SIGINT quits asking; each is
    acted on from the event loop (a handler may interrupt any Python line, so it only
    schedules), woken at once through ``signal.set_wakeup_fd``."""
    global _wakeup
    if _wakeup is None:
        rsock, wsock = socket.socketpair()
        rsock.setblocking(False)
        wsock.setblocking(False)
        notifier = QSocketNotifier(rsock.fileno(), QSocketNotifier.Read, app)

        def drain(*_args) -> None:
            # the handlers themselves run as soon as Python regains control: here
            try:
                while rsock.recv(512):
                    pass
            except OSError:
                pass

        notifier.activated.connect(drain)
        signal.set_wakeup_fd(wsock.fileno(), warn_on_full_buffer=False)
        _wakeup = (rsock, wsock, notifier)

    def on_term(_signum, _frame) -> None:
        QTimer.singleShot(0, quit_keeping_copies)

    def on_int(_signum, _frame) -> None:
        QTimer.singleShot(0, quit_asking)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), on_term)
    signal.signal(signal.SIGINT, on_int)


def run(path: str | None = None) -> int:
    """Start the editor; returns the process exit code (0 also after SIGTERM/SIGHUP/SIGINT,
    which end the session normally)."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    if not QCoreApplication.organizationName():  # tests set their own names
        QCoreApplication.setOrganizationName(ORG_NAME)
        QCoreApplication.setApplicationName(APP_NAME)
    install_excepthook()
    install_signal_handlers(app)
    from gui.mime import hand_over_clipboard
    app.aboutToQuit.connect(hand_over_clipboard)
    window = create_window(path)
    if not main_windows():  # a signal during start-up (the recovery prompt) closed it
        return 0
    code = app.exec()
    del window
    return code
