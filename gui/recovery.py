"""At start-up: offer the autosaved copies of sessions that did not end normally.

For each copy (newest first; see ``gui.autosave`` for what is kept and where) the person
chooses, seeing the document's name, when it was autosaved and how many changes it
holds that its file does not:

- **Recover** opens the copy, marked modified (its changes are not in its file yet), with
  the file's name and path, so Save writes it where it belongs;
- **Open saved** opens the document's file as it was last saved (only when it has one);
- **Discard** deletes the copy.

Recover and Open saved delete the copy only once the document is open (a recovered one
is first autosaved again under the new session), so a failure loses nothing. The first
document goes into the start-up window; any further one gets a window of its own.
"""

from __future__ import annotations

import datetime
import os
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QGridLayout, QMessageBox, QSizePolicy, QSpacerItem, QWidget

from gui import autosave
from gui.autosave import Recovery

if TYPE_CHECKING:
    from gui.mainwindow import MainWindow

RECOVER, OPEN_SAVED, DISCARD = "recover", "open saved", "discard"
#: no answer (the dialog was closed by a quit): the copy stays for the next start
LATER = None
#: the windows opened for second and further recovered documents (kept alive here)
extra_windows: list["MainWindow"] = []


def when(t: float, now: datetime.datetime | None = None) -> str:
    """'today at 14:03:12', 'yesterday at 09:00:00' or '2025-03-01 at 17:30:00'."""
    at = datetime.datetime.fromtimestamp(t)
    today = (now or datetime.datetime.now()).date()
    day = ("today" if at.date() == today else
           "yesterday" if at.date() == today - datetime.timedelta(days=1) else
           at.strftime("%Y-%m-%d"))
    return f"{day} at {at.strftime('%H:%M:%S')}"


def describe(rec: Recovery) -> str:
    """What will be recovered, in a sentence (the dialog's text)."""
    changes = (f"{rec.changes} unsaved change{'' if rec.changes == 1 else 's'}"
               if rec.changes else "unsaved changes")
    nodes = f"{rec.nodes} node{'' if rec.nodes == 1 else 's'}"
    return (f"Chain Rule Studio did not close normally. An autosaved copy of "
            f"“{rec.name}” holds {changes} ({nodes}), saved {when(rec.saved_at)}.")


def choices(rec: Recovery) -> str:
    """What each button does, with the file the document belongs to."""
    if rec.path and os.path.exists(rec.path):
        return (f"Recover opens the copy with its changes, not yet saved to {rec.path}.\n"
                "Open saved opens that file as it was last saved and deletes the copy.\n"
                "Discard deletes the copy.")
    gone = (f"Its file {rec.path} is no longer there. " if rec.path else
            "It was never saved to a file. ")
    return (gone + "Recover opens the copy with its changes, to save when you are ready.\n"
            "Discard deletes the copy.")


def ask(parent: QWidget | None, rec: Recovery) -> str | None:
    """Ask Recover / Open saved / Discard for one copy; returns RECOVER, OPEN_SAVED,
    DISCARD or LATER (no button was pressed). Tests replace this function (see
    tests/gui/conftest.py)."""
    box = QMessageBox(parent)
    box.setObjectName("recovery_dialog")
    box.setWindowTitle("Recover unsaved work — Chain Rule Studio")
    box.setIcon(QMessageBox.Warning)
    box.setText(describe(rec))
    box.setInformativeText(choices(rec) + f"\n\nThe copy: {rec.graph_file}")
    # in the order read: Recover, Open saved, Discard
    recover = box.addButton("Recover", QMessageBox.ActionRole)
    saved = (box.addButton("Open saved", QMessageBox.ActionRole)
             if _can_open_saved(rec) else None)
    discard = box.addButton("Discard", QMessageBox.ActionRole)
    box.setDefaultButton(recover)
    box.setEscapeButton(None)  # a choice must be made: Escape does not throw the copy away
    lay = box.layout()
    if isinstance(lay, QGridLayout):  # room for the path: QMessageBox keeps itself narrow
        lay.addItem(QSpacerItem(560, 0, QSizePolicy.Minimum, QSizePolicy.Expanding),
                    lay.rowCount(), 0, 1, lay.columnCount())
    box.exec()
    clicked = box.clickedButton()
    box.deleteLater()
    if clicked is recover:
        return RECOVER
    if saved is not None and clicked is saved:
        return OPEN_SAVED
    return DISCARD if clicked is discard else LATER


def _can_open_saved(rec: Recovery) -> bool:
    return bool(rec.path) and os.path.isfile(rec.path)


def offer(window: "MainWindow") -> list["MainWindow"]:
    """Offer every pending copy; returns the windows that now show a recovered or a saved
    document (``window`` first when it took one)."""
    shown: list[MainWindow] = []
    for rec in autosave.pending():
        if not window.isVisible():  # quit on a signal meanwhile: keep the rest for next time
            rec.release()
            continue
        try:
            choice = ask(window, rec)
            if choice == DISCARD:
                rec.remove()
            if choice not in (RECOVER, OPEN_SAVED):
                continue
            target = window if _fits(window, rec, shown) else _new_window(window)
            if choice == OPEN_SAVED and _can_open_saved(rec):
                ok = target.open_path(rec.path, ask=False)
                if ok:
                    rec.remove()
            else:
                ok = recover_into(target, rec)
            if ok:
                shown.append(target)
            elif target is not window:
                target.close()
                extra_windows.remove(target)
        finally:
            rec.release()
    return shown


def _fits(window: "MainWindow", rec: Recovery, shown: list["MainWindow"]) -> bool:
    """The start-up window takes the first document, unless it shows another file that
    was asked for on the command line (or already took a recovered one)."""
    if window in shown or window.doc.is_modified():
        return False
    return window.doc.path is None or os.path.abspath(window.doc.path) == rec.path


def _new_window(like: "MainWindow") -> "MainWindow":
    from gui.mainwindow import MainWindow
    w = MainWindow()
    w.resize(like.size())
    w.show()
    extra_windows.append(w)
    return w


def recover_into(window: "MainWindow", rec: Recovery) -> bool:
    """Open the copy in ``window``, modified, with its file's path and title; the old copy
    is deleted once the window's own autosave holds it. False (copy kept) on failure."""
    from engine import fileformat
    from gui.document import check_regular_file
    try:
        check_regular_file(rec.graph_file)
        graph = fileformat.load(rec.graph_file)
        window.doc.recover(graph, rec.path)
    except Exception as e:  # noqa: BLE001 - a broken copy must not stop the editor
        window.show_error("Could not recover", f"The autosaved copy of “{rec.name}” could not "
                          f"be opened: {e}\n\nIt is kept as {rec.graph_file}; File › Open "
                          "can try it again.")
        return False
    if not rec.path:
        window.set_untitled_name(rec.title)
    window.autosaver.base_changes = rec.changes
    if window.autosaver.save_now():  # safe under this session before the old copy goes
        rec.remove()
    window.show_message(f"Recovered {rec.name}: its changes are not saved to its file yet")
    return True


__all__ = ["offer", "ask", "describe", "choices", "recover_into", "RECOVER", "OPEN_SAVED", "DISCARD",
           "LATER"]
