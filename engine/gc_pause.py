"""Pausing Python's cyclic garbage collector around bulk work."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: loading a file or evaluating a graph makes
    hundreds of thousands of small acyclic objects, and on a large heap the collector's
    scans (triggered by those allocations) cost more than the work itself."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
