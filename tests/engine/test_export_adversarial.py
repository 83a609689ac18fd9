"""Exported scripts on graphs chosen to break them: an empty sum, saturated
predictions, the longest names, powers of powers in LaTeX. Expected numbers come from
the mathematics (IEEE arithmetic where a value is infinite), not from the exporter."""

from __future__ import annotations

import math

from engine.export import to_numpy, to_torch
from engine.graph import Graph
from test_export import _torch, run_script


def _over_empty_sum() -> Graph:
    """y = x / s with s an empty sum (0): y = 1/0 = +inf and dy/dx = 1/s = +inf."""
    g = Graph()
    x = g.add_node("input", name="x", value=1.0)
    s = g.add_node("sum", name="s")
    y = g.add_node("div", name="y")
    g.connect(x, y, "a")
    g.connect(s, y, "b")
    g.set_output(y)
    return g


def test_an_empty_sum_divides_as_the_editor_does(tmp_path) -> None:
    got = run_script(to_numpy(_over_empty_sum()), tmp_path)
    assert got["y"] == math.inf and got["dy/dx"] == math.inf
