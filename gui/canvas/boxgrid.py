"""A uniform grid of boxes for "what lies in this area?" without scanning every item.

Label placement asks for the node cards and labels near an edge once per edge and
candidate; on a 10,000-node graph a linear scan per question makes opening a file
quadratic. Boxes are (left, top, right, bottom) in scene coordinates.
"""

from __future__ import annotations

import itertools
import math
from typing import Hashable, Iterator

Box = tuple[float, float, float, float]


#: a box over more cells than this is kept in one list searched every time instead: a
#: curve stretched across the scene (mid-way through an auto-layout) would otherwise be
#: filed in thousands of cells, and then taken out of them, on each move
MAX_CELLS = 64
_SERIALS = itertools.count()


class BoxGrid:
    """Boxes under hashable keys, bucketed in square cells of ``cell`` scene units."""

    def __init__(self, cell: float = 256.0) -> None:
        self.cell = cell
        self._cells: dict[tuple[int, int], set] = {}
        self._boxes: dict[Hashable, Box] = {}
        self._wide: set = set()
        #: (this grid, its contents) change together with these: a cache of answers
        #: keyed on them is valid while they are equal
        self.serial = next(_SERIALS)
        self.version = 0

    def _n_cells(self, b: Box) -> int:
        c = self.cell
        return (math.floor(b[2] / c) - math.floor(b[0] / c) + 1) * \
            (math.floor(b[3] / c) - math.floor(b[1] / c) + 1)

    def __len__(self) -> int:
        return len(self._boxes)

    def _span(self, b: Box) -> Iterator[tuple[int, int]]:
        c = self.cell
        x0, x1 = math.floor(b[0] / c), math.floor(b[2] / c)
        y0, y1 = math.floor(b[1] / c), math.floor(b[3] / c)
        for cx in range(x0, x1 + 1):
            for cy in range(y0, y1 + 1):
                yield cx, cy

    def set(self, key: Hashable, box: Box) -> None:  # noqa: A003 - a grid's verb
        old = self._boxes.get(key)
        if old == box:
            return
        if old is not None:
            self.pop(key)
        self.version += 1
        self._boxes[key] = box
        if self._n_cells(box) > MAX_CELLS:
            self._wide.add(key)
            return
        cells = self._cells
        for cell in self._span(box):
            s = cells.get(cell)
            if s is None:
                cells[cell] = {key}
            else:
                s.add(key)

    def pop(self, key: Hashable) -> None:
        box = self._boxes.pop(key, None)
        if box is None:
            return
        self.version += 1
        if key in self._wide:
            self._wide.discard(key)
            return
        for cell in self._span(box):
            s = self._cells.get(cell)
            if s is not None:
                s.discard(key)
                if not s:
                    del self._cells[cell]

    def clear(self) -> None:
        self.version += 1
        self._cells.clear()
        self._boxes.clear()
        self._wide.clear()

    def get(self, key: Hashable) -> Box | None:
        return self._boxes.get(key)

    def items_in(self, area: Box) -> list[tuple[Hashable, Box]]:
        """(key, box) of every box overlapping ``area`` (open intervals, as ``_hit``)."""
        l, t, r, b = area
        boxes = self._boxes
        if self._n_cells(area) > len(self._cells):
            keys = boxes.keys()
        else:
            keys = set(self._wide)
            cells = self._cells
            for cell in self._span(area):
                s = cells.get(cell)
                if s:
                    keys |= s
        out = []
        for k in keys:
            x = boxes[k]
            if x[0] < r and l < x[2] and x[1] < b and t < x[3]:
                out.append((k, x))
        return out
