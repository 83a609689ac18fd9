"""Exported scripts are run, and what they print is held to the engine.

The NumPy script is executed (a subprocess of this interpreter) on every shipped example
and on random graphs; its printed loss and gradients must agree with the reference
evaluation (or, on a dataset, the batch engine's mean loss and batch gradients) within
a few units in the last place. The tutorial's hand calculation pins one number:
∂L/∂w₁ = 2·(y − ŷ)·(−1)·w₂·x = 2·0.7·(−1)·0.3·2 = −0.84. Hostile node names must not
change what a script does.
"""

from __future__ import annotations

import ast
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

from agreement import ulps
from engine import fileformat
from engine.errors import OutputError
from engine.evaluate import evaluate
from engine.export import ExportError, identifier, one_line, to_latex, to_numpy, to_torch
from engine.expr import parse
from engine.graph import Graph
from engine.ops import CODE_HELPERS, OPS, TORCH_HELPERS, OpSpec, register, unregister
from test_fast_engine import graphs

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "assets" / "examples").glob("*.json"))
#: how far (units in the last place) a script's number may be from the engine's
MAX_ULP = 8


def run_script(text: str, tmp_path: Path) -> dict[str, float]:
    """Run an exported script; its printed ``name = number`` lines, by name."""
    path = tmp_path / "exported.py"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300, encoding="utf-8",
                          env={"PYTHONIOENCODING": "utf-8", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    out = {}
    for line in done.stdout.splitlines():
        label, sep, value = line.rpartition(" = ")
        assert sep, line
        out[label] = float(value)
    return out


def engine_numbers(g: Graph) -> dict[str, float]:
    """The engine's loss and each leaf's gradient, labelled as the scripts print them."""
    out = g.resolve_output()
    L = g.name_of(out)
    if g.dataset is not None and g.data_leaves():
        from engine.fast.batch import compile_batch
        ds = g.dataset
        rows = ds.rows("train") if len(ds.rows("train")) else ds.rows("all")
        r = compile_batch(g, ds, rows).evaluate()
        leaves = [n for n in g.ids() if g.op_of(n) in ("input", "param")]
        nums = {L: r.mean_loss}
        nums.update({f"d{L}/d{g.name_of(n)}": r.batch_grad(n) for n in leaves})
        return nums
    r = evaluate(g)
    nums = {L: r.value(out)}
    for n in g.ids():
        if g.op_of(n) in ("input", "param", "data"):
            nums[f"d{L}/d{g.name_of(n)}"] = r.grad(n)
    return nums


def assert_same(got: dict[str, float], want: dict[str, float], rel: float = 0.0) -> None:
    """Within MAX_ULP, or within ``rel`` (a mean over rows of terms of both signs loses
    relative precision as it cancels, differently in a different summation order)."""
    assert got.keys() == want.keys()
    for k, w in want.items():
        assert ulps(got[k], w) <= MAX_ULP or math.isclose(got[k], w, rel_tol=rel), \
            (k, got[k], w)


# ------------------------------------------------------------------ the registry

def test_every_op_declares_its_code() -> None:
    """Each op's one declaration carries its numpy and torch forward and one numpy local
    derivative per port; the templates fill with the op's own ports, and every function
    they call is numpy's, torch's, or a helper the registry defines."""
    for name, spec in OPS.items():
        if spec.is_leaf:
            continue
        assert spec.has_code, name
        n = 1 if spec.variadic else len(spec.ports)
        assert len(spec.np_derivs) == n, name
        names = {p: f"v_{p}" for p in spec.ports}
        texts = [spec.code_text("numpy"), spec.code_text("torch")]
        texts += [spec.code_deriv_text(p) for p in (spec.ports or ("x1",))]
        for t in texts:
            if spec.variadic:
                continue
            filled = t.format(**names, out="v_out")
            ast.parse(filled, mode="eval")  # a Python expression
            for call in re.findall(r"(?<![\w.])([A-Za-z_]\w*)\(", filled):
                assert call in CODE_HELPERS or call in ("float",), (name, call)
            for helper in re.findall(r"(?<![\w.])([A-Za-z_]\w*)\.apply\(", filled):
                assert helper in TORCH_HELPERS, (name, helper)


def test_an_op_without_code_cannot_be_exported() -> None:
    spec = register(OpSpec(
        "twice", "2x", "arithmetic", "Twice", ("x",), ("x",), lambda x: 2.0 * x,
        (lambda y, x: 2.0,), "2·{x}", ("2",), r"2 {x}", ("2",)))
    try:
        assert not spec.has_code
        g = parse("y = twice(w)", params=["w"])
        for export in (to_numpy, to_torch, to_latex):
            with pytest.raises(ExportError, match="twice"):
                export(g)
    finally:
        unregister("twice")


# ------------------------------------------------------------------ NumPy scripts

def two_layer() -> Graph:
    return fileformat.load(str(next(p for p in EXAMPLES if p.stem == "two_layer")))


def test_the_tutorial_numbers_by_hand(tmp_path) -> None:
    got = run_script(to_numpy(two_layer()), tmp_path)
    # L = (1 − 0.3·0.5·2)² = 0.49; ∂L/∂w₁ = −2(y − ŷ)·w₂·x = −2·0.7·0.3·2 = −0.84
    assert math.isclose(got["L"], 0.49, rel_tol=1e-15)
    assert math.isclose(got["dL/dw1"], -0.84, rel_tol=1e-15)
    assert math.isclose(got["dL/dw2"], -2 * 0.7 * 1.0, rel_tol=1e-15)   # −2(y − ŷ)·h
    assert math.isclose(got["dL/dx"], -2 * 0.7 * 0.3 * 0.5, rel_tol=1e-15)
    assert math.isclose(got["dL/dy"], 1.4, rel_tol=1e-15)


def test_the_backward_pass_is_one_line_per_edge() -> None:
    text = to_numpy(two_layer())
    back = text.split("# Backward pass")[1].split("\n\n")[0].splitlines()[1:]
    assert back[0].startswith("dL_dL = 1.0")
    edges = [ln for ln in back[1:] if re.match(r"dL_d\w+ \+?= dL_d\w+ \* ", ln)]
    assert len(edges) == 6 == two_layer().nx.number_of_edges()
    assert any(ln.startswith("dL_dh = dL_dyhat * w2") and "∂L/∂y\u0302 · ∂y\u0302/∂h" in ln
               for ln in edges)
    assert any(ln.startswith("dL_dw1 = dL_dh * x") for ln in edges)
    fwd = text.split("# Forward pass")[1].split("\n\n")[0].splitlines()[1:]
    assert [ln.split(" =")[0] for ln in fwd] == ["h", "yhat", "L"]  # topological order


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_agrees_with_the_engine(path, tmp_path) -> None:
    g = fileformat.load(str(path))
    got = run_script(to_numpy(g, path.stem), tmp_path)
    assert_same(got, engine_numbers(g), rel=1e-12 if g.dataset is not None else 0.0)


def test_a_node_used_twice_sums_its_paths(tmp_path) -> None:
    # y = x·x + sin x at x = 0.7: dy/dx = 2x + cos x (both ports of x·x get a line)
    g = parse("y = x * x + sin(x)")
    g.set_value(g.id_of("x"), 0.7)
    text = to_numpy(g)
    assert len(re.findall(r"^dL_dx \+?= ", text, re.M)) == 3
    got = run_script(text, tmp_path)
    assert math.isclose(got["dy/dx"], 2 * 0.7 + math.cos(0.7), rel_tol=1e-14)


def _undefined_somewhere(g: Graph, r) -> bool:
    """A node whose value is NaN although its inputs are finite: the engine then marks
    its local derivatives undefined, where the script computes the plain formula."""
    for nid in g.ids():
        spec = OPS[g.op_of(nid)]
        ins = g.inputs(nid)
        if spec.is_leaf or (not spec.variadic and len(ins) < len(spec.ports)):
            continue
        if math.isnan(r.value(nid)) and all(math.isfinite(r.value(s)) for _, s in ins):
            return True
    return False


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture,
                                 HealthCheck.filter_too_much])
@given(graphs(max_ops=25))
def test_random_graphs_agree_with_the_engine(tmp_path, g) -> None:
    """Every op, fan-out, repeated operands, constants, open ports, NaN and infinite
    leaves, outputs that leave part of the graph off the path."""
    try:
        g.resolve_output()
    except OutputError:
        with pytest.raises(OutputError):
            to_numpy(g)
        return
    assume(not _undefined_somewhere(g, evaluate(g)))
    assert_same(run_script(to_numpy(g), tmp_path), engine_numbers(g))


# ------------------------------------------------------------------ hostile names

HOSTILE = ['w1"); __import__("os").system("touch PWNED")  #\nx', "__import__", "print",
           "np", "dL_dh", "yhat\u202e = 0 #"]


def hostile_two_layer() -> tuple[Graph, dict[str, str]]:
    """The tutorial's network with names no file could hold, set behind the graph's back."""
    g = two_layer()
    renames = dict(zip(["w1", "x", "y", "w2", "h", "yhat"], HOSTILE))
    for old, new in renames.items():
        g.nx.nodes[g.id_of(old)]["name"] = new
    return g, renames


def test_hostile_names_cannot_inject_code(tmp_path) -> None:
    g, renames = hostile_two_layer()
    text = to_numpy(g)
    tree = ast.parse(text)  # one line of code per statement: nothing broke out of a comment
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert calls <= {"np.float64", "np.seterr", "print", "repr", "float"}, calls
    got = run_script(text, tmp_path)
    assert not (tmp_path / "PWNED").exists()
    want = {"L": 0.49, "dL/dw1": -0.84, "dL/dx": -0.21, "dL/dy": 1.4, "dL/dw2": -1.4}
    for old, value in want.items():
        label = old
        for o, n in renames.items():
            label = label.replace(f"d{o}", f"d{one_line(n)}") if label != "L" else label
        assert math.isclose(got[label], value, rel_tol=1e-15), (label, got)


def test_identifiers_are_safe_and_readable() -> None:
    assert identifier("w1") == "w1" and identifier("yhat") == "yhat"
    for name in ["class", "match", "__import__", "print", "np", "torch", "1x", "a b", "", "_",
                 "x\n= 1", "é", "ﬁ"]:
        v = identifier(name)
        assert v.isidentifier() and not v.startswith("__"), (name, v)
        assert v not in ("class", "match", "print", "np", "torch", "__import__")
    assert "\n" not in one_line("a\nb\r\u2028c\u202ed") and "\u202e" not in one_line("a\u202e")


# ------------------------------------------------------------------ PyTorch

def _torch():
    try:
        import torch  # noqa: F401
    except ImportError as e:
        pytest.skip(f"PyTorch is not installed: {e} (it is not a dependency; "
                    "pip install torch runs these)")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_in_pytorch(path, tmp_path) -> None:
    text = to_torch(fileformat.load(str(path)), path.stem)
    ast.parse(text)
    assert "requires_grad=True" in text and "backward()" in text
    _torch()
    got = run_script(text, tmp_path)
    want = engine_numbers(fileformat.load(str(path)))
    assert got.keys() == want.keys()
    for k, w in want.items():  # torch's own kernels: the same to 1e-12
        assert math.isclose(got[k], w, rel_tol=1e-12, abs_tol=1e-300), (k, got[k], w)


def test_hostile_names_in_pytorch(tmp_path) -> None:
    g, _ = hostile_two_layer()
    text = to_torch(g)
    calls = {ast.unparse(n.func) for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Call)}
    assert calls <= {"torch.tensor", "print", "repr", "grad_of", "L.item", "L.backward",
                     "t.grad.item"}, calls
    _torch()
    got = run_script(text, tmp_path)
    assert math.isclose(got["dL/d" + one_line(HOSTILE[0])], -0.84, rel_tol=1e-15)


# ------------------------------------------------------------------ LaTeX

def _balanced(tex: str) -> bool:
    depth = 0
    for c in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


def test_latex_of_the_two_layer_network() -> None:
    tex = to_latex(two_layer(), "two_layer")
    assert tex.splitlines()[1] == r"\documentclass{article}"
    assert r"\usepackage{amsmath}" in tex and tex.rstrip().endswith(r"\end{document}")
    assert _balanced(tex) and tex.isascii()
    # the forward function as one formula of the leaves
    assert r"L = (y - w_2 \cdot w_1 \cdot x)^{2}" in tex
    # ∂L/∂w₁ along its one path: symbols, formulas, numbers, value
    assert r"\frac{\partial L}{\partial w_1}" in tex
    assert r"-2(y - \hat{y}) \cdot w_2 \cdot x" in tex
    assert r"(-1.4) \times 0.3 \times 2" in tex and "-0.84" in tex


def test_latex_on_a_dataset_gives_the_mean_gradient() -> None:
    path = next(p for p in EXAMPLES if p.stem == "xor")
    g = fileformat.load(str(path))
    tex = to_latex(g, "xor")
    assert _balanced(tex) and r"\bar{L}" in tex and "N = 4" in tex
    want = engine_numbers(g)["dloss/dw1_1_1"]
    assert f"= {want:.4g}" in tex.replace("−", "-")


def test_latex_with_hostile_names_stays_plain() -> None:
    g, _ = hostile_two_layer()
    g.nx.nodes[g.id_of("L")]["name"] = r"}\input{/etc/passwd}"
    tex = to_latex(g)
    assert r"\input" not in tex
    assert _balanced(tex) and tex.isascii()
    assert "/etc/passwd" not in tex


@pytest.mark.skipif(shutil.which("pdflatex") is None,
                    reason="pdflatex is not installed: the structure is checked above")
@pytest.mark.parametrize("name", ["two_layer", "two_paths", "xor", "vanishing"])
def test_latex_compiles(name, tmp_path) -> None:
    g = fileformat.load(str(next(p for p in EXAMPLES if p.stem == name)))
    (tmp_path / "g.tex").write_text(to_latex(g, name), encoding="utf-8")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-no-shell-escape",
                           "g.tex"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]
    assert (tmp_path / "g.pdf").stat().st_size > 1000


def test_numbers_round_trip_exactly() -> None:
    g = two_layer()
    g.set_value(g.id_of("w1"), 0.1 + 0.2)
    text = to_numpy(g)
    assert f"np.float64({0.1 + 0.2!r})" in text
    assert np.float64(float(repr(0.1 + 0.2))) == 0.1 + 0.2


def test_the_readme_sample_is_what_the_export_writes() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    sample = readme.split("## Export", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    text = to_numpy(two_layer())
    for line in sample.splitlines():
        assert line in text.splitlines(), line
