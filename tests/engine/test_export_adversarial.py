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


def _saturated_logistic() -> Graph:
    """L = bce(t, σ(w·x)) at w = 40, x = 1, t = 0: σ(40) = 1 − 4e-18 rounds to 1, so
    L = −ln(1 − p) clamped = 100, ∂L/∂t = ln(1 − p) − ln p = −100 − 0, and
    ∂L/∂p = (p − t) / max(p(1 − p), 1e-12) = 1e12 (BCELoss's convention, the
    registry's) meets σ′ = p(1 − p) = 0: ∂L/∂w = ∂L/∂x = 0."""
    from engine.expr import parse
    g = parse("L = bce(t, sigmoid(w * x))", params=["w"])
    for name, v in (("w", 40.0), ("x", 1.0), ("t", 0.0)):
        g.set_value(g.id_of(name), v)
    return g


def test_a_saturated_prediction_keeps_bce_finite_in_both_scripts(tmp_path) -> None:
    want = {"L": 100.0, "dL/dt": -100.0, "dL/dw": 0.0, "dL/dx": 0.0}
    assert run_script(to_numpy(_saturated_logistic()), tmp_path) == want
    _torch()
    assert run_script(to_torch(_saturated_logistic()), tmp_path) == want


def test_bce_of_a_saturated_param_has_the_clamped_slope(tmp_path) -> None:
    # p = 1, t = 0: ∂L/∂p = (1 − 0) / max(0, 1e-12) = 1e12; p = 0, t = 1: −1e12
    from engine.expr import parse
    for p, t, slope, dt in ((1.0, 0.0, 1e12, -100.0), (0.0, 1.0, -1e12, 100.0)):
        g = parse("L = bce(t, p)", params=["p"])
        g.set_value(g.id_of("p"), p)
        g.set_value(g.id_of("t"), t)
        want = {"L": 100.0, "dL/dp": slope, "dL/dt": dt}
        assert run_script(to_numpy(g), tmp_path) == want
        _torch()
        assert run_script(to_torch(g), tmp_path) == want


def test_an_open_port_on_the_path_gives_nan_in_pytorch_too(tmp_path) -> None:
    """y = x + (nothing): a half-built node has no value and so no slope; both scripts
    run and print NaN for y and for ∂y/∂x, as the editor shows."""
    g = Graph()
    x = g.add_node("input", name="x", value=2.0)
    y = g.add_node("add", name="y")
    g.connect(x, y, "b")
    g.set_output(y)
    for export in (to_numpy, to_torch):
        if export is to_torch:
            _torch()
        got = run_script(export(g), tmp_path)
        assert math.isnan(got["y"]) and math.isnan(got["dy/dx"]), export.__name__


def test_the_longest_names_print_whole_labels(tmp_path) -> None:
    """Two params of 200 characters (the most a name may have) that differ only in the
    last: y = a·b at a = 2, b = 3 prints ∂y/∂a = b = 3 and ∂y/∂b = a = 2, each under
    its own full name."""
    a, b, y = "w" * 199 + "a", "w" * 199 + "b", "y" * 200
    g = Graph()
    na = g.add_node("param", name=a, value=2.0)
    nb = g.add_node("param", name=b, value=3.0)
    ny = g.add_node("mul", name=y)
    g.connect(na, ny, "a")
    g.connect(nb, ny, "b")
    want = {y: 6.0, f"d{y}/d{a}": 3.0, f"d{y}/d{b}": 2.0}
    assert run_script(to_numpy(g), tmp_path) == want
    _torch()
    assert run_script(to_torch(g), tmp_path) == want


# ------------------------------------------------------------------ LaTeX

def _double_superscript(tex: str) -> bool:
    """Whether some superscript is followed by another (TeX stops: "Double superscript")."""
    i = 0
    while (i := tex.find("^", i)) >= 0:
        j = i + 1
        if tex[j:j + 1] == "{":
            depth = 0
            while j < len(tex):
                depth += {"{": 1, "}": -1}.get(tex[j], 0)
                j += 1
                if depth == 0:
                    break
        else:
            j += 1
        if tex[j:].lstrip().startswith("^"):
            return True
        i = j
    return False


def test_a_power_of_a_power_is_bracketed_in_latex() -> None:
    """(a²)³ and (aᵇ)ᶜ need brackets round the inner power — a^{2}^{3} is no formula
    TeX typesets — and (a/b)² round the fraction."""
    from engine.export import to_latex
    from engine.expr import parse
    cases = {"y = (a**2)**3": r"\left(a^{2}\right)^{3}",
             "y = (a**b)**c": r"\left(a^{b}\right)^{c}",
             "y = (a**0.5)**b": r"\left(a^{0.5}\right)^{b}",
             "y = (a/b)**2": r"\left(\frac{a}{b}\right)^{2}"}
    for text, want in cases.items():
        tex = to_latex(parse(text))
        assert not _double_superscript(tex), text
        assert rf"\[ y = {want} \]" in tex, (text, tex)
    assert _double_superscript("a^{2}^{3}") and _double_superscript("a^2 ^3")
    assert not _double_superscript(r"a^{b^{c}} + \left(a^{2}\right)^{3}")


def test_a_dataset_without_rows_is_refused_by_every_format() -> None:
    """The mean over no rows is undefined: the editor says so ("no rows to evaluate
    on"), and so does every export instead of writing a script that prints NaN."""
    import pytest
    from engine.dataset import DataError, Dataset
    from engine.export import to_latex
    from engine.expr import parse
    g = parse("L = w * x", params=["w"])
    g.set_kind(g.id_of("x"), "data")
    g.dataset = Dataset({"x": []}, None)
    for export in (to_numpy, to_torch, to_latex):
        with pytest.raises(DataError, match="no rows"):
            export(g)
