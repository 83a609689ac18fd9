"""The label placer's spatial index answers "what overlaps this area?" exactly as a scan
of every box would, for small boxes, boxes stretched across the scene (kept aside, not
filed in thousands of cells) and boxes that move between the two."""

from __future__ import annotations

import random

import pytest

from gui.canvas.boxgrid import MAX_CELLS, BoxGrid


def overlapping(boxes: dict, area) -> set:
    l, t, r, b = area
    return {k for k, x in boxes.items() if x[0] < r and l < x[2] and x[1] < b and t < x[3]}


def random_box(rnd: random.Random, span: float):
    x, y = rnd.uniform(-5000, 5000), rnd.uniform(-5000, 5000)
    w = rnd.choice([rnd.uniform(1, 300), rnd.uniform(1, span)])
    h = rnd.choice([rnd.uniform(1, 300), rnd.uniform(1, span)])
    return (x, y, x + w, y + h)


@pytest.mark.parametrize("seed", range(5))
def test_queries_agree_with_a_scan_through_moves_and_removals(seed: int) -> None:
    rnd = random.Random(seed)
    grid, truth = BoxGrid(cell=100.0), {}
    for step in range(3000):
        key = rnd.randrange(200)
        if rnd.random() < 0.15:
            grid.pop(key)
            truth.pop(key, None)
        else:
            box = random_box(rnd, 20000.0)  # some span far more than MAX_CELLS cells
            grid.set(key, box)
            truth[key] = box
        if step % 50 == 0:
            area = random_box(rnd, 3000.0)
            assert {k for k, _ in grid.items_in(area)} == overlapping(truth, area)
            assert {grid.get(k) for k in truth} == set(truth.values())
    assert len(grid) == len(truth)


def test_a_stretched_box_is_not_filed_cell_by_cell() -> None:
    grid = BoxGrid(cell=10.0)
    grid.set("long", (0.0, 0.0, 100_000.0, 5.0))   # 10,000 cells wide
    assert len(grid._cells) == 0
    assert [k for k, _ in grid.items_in((50_000, 0, 50_010, 10))] == ["long"]
    grid.set("long", (0.0, 0.0, 10.0, 5.0))          # back to a few cells
    assert 0 < len(grid._cells) <= MAX_CELLS
    assert grid.items_in((50_000, 0, 50_010, 10)) == []
