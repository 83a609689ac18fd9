"""A dataset: named numeric columns of equal length, and which rows are held out.

A graph with a dataset attached evaluates every node once per row (``engine.fast.batch``):
``data`` leaves read their bound column, and the loss becomes the mean over the rows.
A dataset is immutable: the editor replaces it as a whole (one undo step), so an undo
never has to remember what was changed inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from engine.errors import EngineError

#: the column a generator writes its target into, and the one training reads by default
TARGET = "y"


class DataError(EngineError):
    """A dataset that cannot be made or read; the message says where (line, column)."""


@dataclass(frozen=True, eq=False)
class Dataset:
    #: column name → float64 values, one per row, all the same length (read-only arrays)
    columns: Mapping[str, np.ndarray]
    #: True for the rows held out for testing (never trained on)
    test: np.ndarray
    #: a short name to show ("moons", "points.csv")
    name: str = ""
    #: how it was made, so a file can say so: {"generator": "moons", "n": 200, ...} or
    #: {"csv": "points.csv"}; empty when it was given as numbers
    origin: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cols: dict[str, np.ndarray] = {}
        n = None
        for k, v in self.columns.items():
            a = np.array(v, dtype=np.float64, copy=True).reshape(-1)
            if n is None:
                n = len(a)
            elif len(a) != n:
                raise DataError(f"column {k!r} has {len(a)} rows, the others {n}")
            if not np.isfinite(a).all():
                bad = int(np.flatnonzero(~np.isfinite(a))[0])
                raise DataError(f"column {k!r} holds {a[bad]!r} in row {bad + 1}: every "
                                "value must be a finite number")
            a.setflags(write=False)
            cols[k] = a
        if not cols:
            raise DataError("a dataset needs at least one column")
        t = np.zeros(n, dtype=bool) if self.test is None else \
            np.array(self.test, dtype=bool, copy=True).reshape(-1)
        if len(t) != n:
            raise DataError(f"the test mask has {len(t)} rows, the columns {n}")
        t.setflags(write=False)
        object.__setattr__(self, "columns", cols)
        object.__setattr__(self, "test", t)
        object.__setattr__(self, "origin", dict(self.origin))

    @property
    def n_rows(self) -> int:
        return len(self.test)

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def rows(self, which: str = "train") -> np.ndarray:
        """Row indices of "train", "test" or "all" rows."""
        if which == "all":
            return np.arange(self.n_rows)
        if which == "train":
            return np.flatnonzero(~self.test)
        if which == "test":
            return np.flatnonzero(self.test)
        raise ValueError(f"which must be train, test or all, not {which!r}")

    def column(self, name: str, which: str = "all") -> np.ndarray:
        return self.columns[name][self.rows(which)]

    def is_binary(self, name: str = TARGET) -> bool:
        """Whether a column holds only 0 and 1 (a classification target)."""
        c = self.columns.get(name)
        return c is not None and len(c) > 0 and bool(np.all((c == 0) | (c == 1)))

    def input_names(self, target: str = TARGET) -> list[str]:
        """Every column except the target, in order."""
        return [c for c in self.columns if c != target]
