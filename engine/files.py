"""Reading and writing the files a person names, safely.

Reading refuses what is not a regular file (a FIFO would block forever, ``/dev/zero``
never ends) and anything over ``MAX_FILE_BYTES``, and never blocks: the file is opened
non-blocking and checked with ``fstat`` on the open descriptor, so what is checked is
what is read. Writing is atomic: a temporary file beside the target (``.NAME.XXXXXXXX.tmp``),
flushed and fsynced, then ``os.replace``d over it; a symlink is written through to its
target; the temporary file is removed on every failure, and stale ones of the same
pattern left by a killed process are removed on the next save.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import Sequence

from engine.errors import EngineError

#: the largest graph or expression file read (a 1,000,000-node graph is ~130 MB)
MAX_FILE_BYTES = 512 * 1024 * 1024
#: temporary files of our own pattern older than this are removed beside the target
STALE_SECONDS = 24 * 3600
_TEMP_SUFFIX = ".tmp"


class UnreadableFileError(EngineError):
    """A file that cannot or must not be read; ``reason`` says why in a few words."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def kind_of(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _mib(n: int) -> str:
    return f"{n // (1024 * 1024)} MB"


def read_file(path: str | os.PathLike, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; UnreadableFileError
    otherwise (missing, a folder, a FIFO, a device, too large, no permission)."""
    name = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise UnreadableFileError(name, "no such file") from None
    except IsADirectoryError:
        raise UnreadableFileError(name, "is a folder, not a file") from None
    except OSError as e:
        raise UnreadableFileError(name, f"cannot be read: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        what = kind_of(st.st_mode)
        if what == "a folder":
            raise UnreadableFileError(name, "is a folder, not a file")
        if what is not None:
            raise UnreadableFileError(name, f"is {what}, not a regular file")
        if st.st_size > limit:
            raise UnreadableFileError(
                name, f"is too large ({st.st_size:,} bytes; at most {_mib(limit)})")
        chunks, total = [], 0
        while True:  # the file may grow while it is read: never past the limit
            chunk = os.read(fd, min(1 << 24, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise UnreadableFileError(name, f"is too large (more than {_mib(limit)})")
        return b"".join(chunks)
    except OSError as e:
        raise UnreadableFileError(name, f"cannot be read: {e.strerror or e}") from None
    finally:
        os.close(fd)


def resolve_target(path: str | os.PathLike) -> Path:
    """Where writing ``path`` lands: a symlink (or a chain of them) is followed to its
    target, so saving keeps the link and replaces what it points at."""
    p = Path(path)
    if p.is_symlink():
        return Path(os.path.realpath(p))
    return p


def _temp_pattern(name: str) -> re.Pattern[str]:
    # mkstemp's random part: 8 characters of letters, digits and _
    return re.compile(re.escape(f".{name}.") + r"[A-Za-z0-9_]{8}" + re.escape(_TEMP_SUFFIX))


def remove_stale_temps(target: Path, now: float | None = None) -> list[Path]:
    """Remove ``.NAME.XXXXXXXX.tmp`` files beside ``target`` older than a day (left by a
    killed save); returns those removed. Failures are ignored: this only tidies up."""
    folder = target.parent if str(target.parent) else Path(".")
    pattern = _temp_pattern(target.name)
    cutoff = (time.time() if now is None else now) - STALE_SECONDS
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and st.st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def write_target(path: str | os.PathLike) -> tuple[Path, os.stat_result | None]:
    """Where a write to ``path`` lands (a symlink's target) and what is there now (None:
    nothing yet). An OSError other than "not found" names ``path``, as the user typed it."""
    target = resolve_target(path)
    try:
        return target, os.stat(target)
    except FileNotFoundError:
        return target, None
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(path)) from None


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a failure at any point (an OSError, a full
    disk, KeyboardInterrupt, SystemExit from a signal handler) leaves the old file as it
    was and removes the temporary file. Refuses to replace a folder, FIFO or device."""
    write_atomic_all([(path, data)])


def write_atomic_all(items: Sequence[tuple[str | os.PathLike, bytes]]) -> None:
    """Write several files as ``write_atomic`` writes one (a graph and the CSV file beside
    it): every temporary file is written and fsynced before the first ``os.replace``, so
    a failure while writing (a full disk, an interrupt) leaves every file as it was; the
    renames follow in order, and only a failure between two of them could leave the
    earlier files replaced and the later ones old."""
    targets = []
    for path, _ in items:
        target, st = write_target(path)
        what = None if st is None else kind_of(st.st_mode)
        if what is not None:
            code = errno.EISDIR if what == "a folder" else errno.EINVAL
            raise OSError(code, f"is {what}, not a regular file", str(path))
        targets.append((target, st))
    temps: list[str] = []
    try:
        for (target, st), (_, data) in zip(targets, items):
            folder = target.parent if str(target.parent) else Path(".")
            remove_stale_temps(target)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=_TEMP_SUFFIX,
                                       dir=folder)
            temps.append(tmp)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, (st.st_mode & 0o777) if st is not None else 0o644)
        for i, (target, _) in enumerate(targets):
            os.replace(temps[i], target)
            temps[i] = ""
    except BaseException:
        for tmp in temps:
            if tmp:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
        raise
    for folder in dict.fromkeys(t.parent if str(t.parent) else Path(".") for t, _ in targets):
        try:  # make the renames themselves durable where the platform allows it
            dfd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass
