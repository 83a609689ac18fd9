"""Keep ``None`` alive under PySide6 6.12 on Python 3.11.

PySide6 6.12 returns ``None`` from every void C++ method without taking a
reference (fine on Python ≥ 3.12, where None is immortal — PEP 683). On 3.11
each such call (``painter.drawText``, ``item.setPos``, ``path.moveTo``…) lowers
None's reference count by one, and after a few thousand calls CPython aborts
with "none_dealloc: deallocating None". Measured here: ``QRectF().adjust(0,0,0,0)``
100 times lowers ``sys.getrefcount(None)`` by exactly 100.

``guard()`` gives None a reference count no session can exhaust, which is what
3.12 does by design. It does nothing on Python ≥ 3.12.
"""

from __future__ import annotations

import ctypes
import sys

#: 2**60 references: at a billion leaked references per second, 36 years
_HEADROOM = 1 << 60
_done = False


def guard() -> None:
    """Make None effectively immortal on Python < 3.12 (idempotent)."""
    global _done
    if _done or sys.version_info >= (3, 12):
        _done = True
        return
    # CPython layout: ob_refcnt (Py_ssize_t) is the first field of every object
    ctypes.c_ssize_t.from_address(id(None)).value += _HEADROOM
    _done = True
