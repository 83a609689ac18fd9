"""gradient_check's progress callback: called before the first leaf and after
each, and False stops the check with the rows computed so far (what the editor's Stop button relies on)."""

from __future__ import annotations

from engine.check import gradient_check
from engine.expr import parse


def test_progress_is_reported_after_each_leaf_and_false_stops() -> None:
    g = parse("y = " + " + ".join(f"x{i}" for i in range(10)))
    seen: list[tuple[int, int]] = []
    rows = gradient_check(g, progress=lambda done, total: seen.append((done, total)) or True)
    assert seen == [(k, 10) for k in range(0, 11)] and len(rows) == 10
    seen.clear()
    rows = gradient_check(g, progress=lambda done, total: seen.append((done, total)) or done < 4)
    assert seen[-1] == (4, 10) and len(rows) == 4
    # the rows kept are the first leaves', complete: d(sum)/dxᵢ = 1
    assert [r.name for r in rows] == ["x0", "x1", "x2", "x3"]
    assert all(r.analytic == 1.0 and r.status == "ok" for r in rows)
    # stopping before the first leaf checks nothing
    assert gradient_check(g, progress=lambda done, total: False) == []
