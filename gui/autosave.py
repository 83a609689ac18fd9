"""Autosave: every edit schedules a copy of the open document in the app-data folder.

A crash, a kill or a logout must not cost more than the last few seconds of work. Each
window is one *session* with its own key, so two windows or two running editors never
write over each other's copy. In ``data_dir()/recovery/`` a session has three files:

    <key>.session.json  the sidecar: which file the document belongs to (or null),
                        its untitled name, how many unsaved changes, when, pid and host
    <key>.json          the graph as it is now (the undo position's state): a normal
                        graph file, which File › Open reads too
    <key>.lock          locked while the session runs; the OS drops the lock when the
                        process ends, however it ends (also after SIGKILL)

Each file is written atomically (temp file, fsync, rename), the sidecar first, so a
session's graph file, once it exists, is always whole. A document without unsaved
changes has nothing to recover: its files go as soon as it is saved, undone back to
its saved state, or closed normally. ``pending()`` lists the copies of sessions that
ended without that (what ``gui.recovery`` offers at start). Autosave only reads the
document: it never touches the undo stack or the modified marker.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal

from engine.files import write_atomic
from gui import progress
from gui.document import Document

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

#: the debounce: an autosave follows this long after the last edit...
DELAY_MS = 3000
#: ...or, while edits keep coming, at most this long after the first unsaved one
MAX_DELAY_S = 30.0
FOLDER = "recovery"
SIDECAR = ".session.json"
LOCK = ".lock"
FORMAT = "chain-rule-studio-recovery"


def recovery_dir() -> Path:
    """Where the copies live: beside the crash log, in the per-user app-data folder."""
    from gui.app import data_dir
    return data_dir() / FOLDER


def _new_key() -> str:
    """Unique per window and process: start time, pid and a random part (pids are reused)."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"


def _write_atomically(path: Path, text: str) -> None:
    """The old copy or the new, never half (the same write as a saved file)."""
    write_atomic(path, text.encode("utf-8"))


# ------------------------------------------------------------------ locks
def _try_lock(f: IO[bytes]) -> bool | None:
    """Take an exclusive lock without waiting: True taken, False held by another open
    file (another process, or another session of this one), None locks unsupported here."""
    try:
        if fcntl is not None:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # pragma: no cover - Windows
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        return True
    except (BlockingIOError, PermissionError):
        return False
    except OSError:
        return None if fcntl is not None else False


def _pid_alive(pid: Any, host: Any) -> bool:
    """Fallback where file locks do not work: is that process still running here?"""
    if host != socket.gethostname():
        return True  # another machine's session: it cannot be asked, so leave it alone
    if not isinstance(pid, int) or pid <= 0 or os.name == "nt":
        return False  # (os.kill would end a process on Windows, not test it)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


class SessionLock:
    """The lock a session holds for its whole life; a start-up holds a dead session's lock
    while it offers that copy, so two editors starting at once never both offer it."""

    def __init__(self, path: Path, file: IO[bytes] | None) -> None:
        self.path, self.file = path, file

    @classmethod
    def take(cls, path: Path, info: dict | None = None) -> "SessionLock | None":
        """The lock, or None when a running session holds it. Where locks cannot be had
        (a read-only folder, a file system without them) the recorded pid decides."""
        info = info or {}
        try:
            f = open(path, "a+b")
        except OSError:
            alive = _pid_alive(info.get("pid"), info.get("host")) if info else False
            return None if alive else cls(path, None)
        got = _try_lock(f)
        if got is None:
            got = not (info and _pid_alive(info.get("pid"), info.get("host")))
        if not got:
            f.close()
            return None
        return cls(path, f)

    def release(self, remove: bool = False) -> None:
        """Let go (closing the file drops the lock); ``remove`` deletes the lock file first."""
        if remove:
            try:
                self.path.unlink()
            except OSError:
                pass
        if self.file is not None and not self.file.closed:
            self.file.close()


# ------------------------------------------------------------------ sessions
@dataclass
class Recovery:
    """The copy of a session that did not end normally, as ``pending()`` finds it."""

    key: str
    graph_file: Path
    #: the document's own file, or None when it was never saved
    path: str | None
    title: str
    changes: int
    nodes: int
    #: when the copy was written (seconds since the epoch)
    saved_at: float
    info: dict = field(default_factory=dict)
    #: held from ``pending()`` until ``release()``: no other editor offers this copy meanwhile
    lock: SessionLock | None = None

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def remove(self) -> None:
        """Delete the copy (after Recover, Open saved or Discard) and let go of it."""
        remove_files(self.graph_file.parent, self.key)
        self.release()

    @property
    def name(self) -> str:
        """The document's name as its title showed it: its file's, else its untitled name."""
        return os.path.basename(self.path) if self.path else self.title


def remove_files(folder: Path, key: str) -> None:
    """Remove one session's files (sidecar first: without it the graph is not offered)."""
    for suffix in (SIDECAR, ".json", LOCK):
        try:
            (folder / (key + suffix)).unlink()
        except FileNotFoundError:
            pass


def _read_sidecar(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("format") == FORMAT else {}


def _document_mtime(path: str | None) -> float | None:
    try:
        return os.stat(path).st_mtime if path else None
    except OSError:
        return None


def pending(folder: Path | None = None) -> list[Recovery]:
    """Copies left by sessions that are no longer running, newest first, each claimed
    (locked) until its ``release()`` or ``remove()``.

    A copy older than its document's file (saved since, by another session) is out of
    date and removed, as are the leftovers of sessions that had nothing to recover."""
    folder = folder or recovery_dir()
    if not folder.is_dir():
        return []
    keys = {p.name[:-len(SIDECAR)] if p.name.endswith(SIDECAR) else p.name.rsplit(".", 1)[0]
            for p in folder.iterdir() if not p.name.startswith(".")}
    found: list[Recovery] = []
    for key in sorted(keys):
        info = _read_sidecar(folder / (key + SIDECAR))
        lock = SessionLock.take(folder / (key + LOCK), info)
        if lock is None:
            continue  # still running (this process's other windows too)
        try:
            graph_file = folder / (key + ".json")
            try:
                saved_at = graph_file.stat().st_mtime
            except OSError:
                remove_files(folder, key)  # nothing was ever written to recover
                continue
            path = info.get("path") if isinstance(info.get("path"), str) else None
            doc_time = _document_mtime(path)
            if doc_time is not None and doc_time > saved_at:
                remove_files(folder, key)  # the file was saved after this copy
                continue
            changes, nodes = info.get("changes"), info.get("nodes")
            found.append(Recovery(
                key, graph_file, path, str(info.get("title") or "Untitled"),
                changes if isinstance(changes, int) else 0,
                nodes if isinstance(nodes, int) else 0, saved_at, info, lock))
            lock = None  # the Recovery holds it now
        finally:
            if lock is not None:
                lock.release()
    _tidy_temp_files(folder)
    return sorted(found, key=lambda r: r.saved_at, reverse=True)


def _tidy_temp_files(folder: Path, older_than: float = 3600.0) -> None:
    """Temp files of writes cut short by a crash (never those of a write going on now)."""
    now = time.time()
    for p in folder.glob(".*.tmp"):
        try:
            if now - p.stat().st_mtime > older_than:
                p.unlink()
        except OSError:
            pass


class Session:
    """One window's copy on disk: created at its first write, holding its lock till the end."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or recovery_dir()
        self.key = _new_key()
        self.lock: SessionLock | None = None
        self.started = time.time()

    @property
    def graph_file(self) -> Path:
        return self.folder / (self.key + ".json")

    @property
    def sidecar(self) -> Path:
        return self.folder / (self.key + SIDECAR)

    def write(self, doc: Document, title: str, changes: int) -> None:
        """Write the sidecar, then the graph; raises what the writing raised."""
        from engine import fileformat
        text = fileformat.dumps(doc.graph)  # fails before any file is touched
        if self.lock is None:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.lock = SessionLock.take(self.folder / (self.key + LOCK))
            if self.lock is None:  # a start-up probing this very name: take another
                self.key = _new_key()
                self.lock = SessionLock.take(self.folder / (self.key + LOCK))
            if self.lock is None:
                raise OSError(f"the lock {self.key + LOCK} is held by another session")
        info = {
            "format": FORMAT, "version": 1,
            "path": os.path.abspath(doc.path) if doc.path else None,
            "title": title, "changes": int(changes), "nodes": len(doc.graph),
            "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.started)),
            "pid": os.getpid(), "host": socket.gethostname(), "graph": self.graph_file.name,
        }
        _write_atomically(self.sidecar, json.dumps(info, ensure_ascii=False, indent=1) + "\n")
        _write_atomically(self.graph_file, text)

    def clear(self) -> None:
        """Nothing to recover (saved, or back at the saved state): remove the copy, keep the lock."""
        for p in (self.sidecar, self.graph_file):
            try:
                p.unlink()
            except FileNotFoundError:
                pass

    def end(self, keep: bool) -> None:
        """The session is over: keep the copy for the next start (a signal) or remove it."""
        if not keep:
            self.clear()
        if self.lock is not None:
            self.lock.release(remove=not keep)
            self.lock = None


def changes_since_saved(doc: Document, base: int = 0) -> int:
    """Undo steps between the document and its saved state (``base`` more for a recovered
    document, whose earlier steps are gone)."""
    stack = doc.undo_stack
    clean = stack.cleanIndex()
    if clean >= 0:
        return abs(stack.index() - clean)
    return base + stack.index()


class Autosaver(QObject):
    """Keeps one window's session file in step with its document, a few seconds behind."""

    #: the graph file just written
    saved = Signal(str)
    #: why an autosave could not be written (said once per reason)
    failed = Signal(str)

    def __init__(self, doc: Document, title: Callable[[], str] = lambda: "Untitled",
                 parent: QObject | None = None, folder: Path | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.title = title
        self._folder = folder
        self.session: Session | None = None
        #: changes a recovered document carried over from the session it came from
        self.base_changes = 0
        self._first_unsaved: float | None = None
        self._ended = False
        self._last_error = ""
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DELAY_MS)
        self.timer.timeout.connect(self.save_now)
        doc.undo_stack.indexChanged.connect(self._changed)
        doc.undo_stack.cleanChanged.connect(self._changed)
        doc.fileChanged.connect(self._changed)
        doc.graphReset.connect(self._graph_reset)

    def _graph_reset(self) -> None:
        self.base_changes = 0  # another document: its own count (a recovery sets it after)

    def _changed(self, *_args) -> None:
        if self._ended:
            return
        try:
            modified = self.doc.is_modified()
        except RuntimeError:  # the undo stack is being destroyed with its window
            self._ended = True
            return
        if not modified:
            self.timer.stop()
            self._first_unsaved = None
            if self.session is not None:
                self.session.clear()  # saved, or undone back to the saved state
            return
        now = time.monotonic()
        if self._first_unsaved is None:
            self._first_unsaved = now
        if now - self._first_unsaved >= MAX_DELAY_S:
            self.timer.start(0)  # edits keep coming: do not wait for a pause any longer
        else:
            self.timer.start(DELAY_MS)

    def pending_write(self) -> bool:
        """True while an edit waits for its autosave."""
        return self.timer.isActive()

    def save_now(self) -> bool:
        """Write the copy now (or remove it when there is nothing unsaved); False on failure,
        which is reported through ``failed`` and never raised."""
        self.timer.stop()
        if self._ended:
            return False
        if progress.busy():  # a file is being opened or laid out: the graph is in flux
            self.timer.start(DELAY_MS // 3 or 1)
            return False
        if not self.doc.is_modified():
            if self.session is not None:
                self.session.clear()
            return True
        if self.session is None:
            self.session = Session(self._folder)
        try:
            self.session.write(self.doc, self.title(),
                               changes_since_saved(self.doc, self.base_changes))
        except Exception as e:  # noqa: BLE001 - an autosave must never disturb the editor
            why = f"{type(e).__name__}: {e}" if not isinstance(e, OSError) else \
                f"{e.strerror or e}"
            if why != self._last_error:
                self._last_error = why
                self.failed.emit(f"Autosave failed: {why}")
            return False
        self._last_error = ""
        self._first_unsaved = None
        self.saved.emit(str(self.session.graph_file))
        return True

    def end(self, keep: bool) -> None:
        """Stop for good. ``keep``: write the copy now and leave it for the next start
        (quitting on a signal); else remove it (a normal close: nothing left to recover)."""
        if self._ended:
            return
        if keep:
            self.save_now()
        self._ended = True
        self.timer.stop()
        if self.session is not None:
            self.session.end(keep=keep and self.doc.is_modified())


__all__ = ["Autosaver", "Session", "Recovery", "pending", "remove_files", "recovery_dir",
           "changes_since_saved", "SessionLock", "DELAY_MS"]
