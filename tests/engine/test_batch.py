"""Many samples at once: the batch engine against one sample at a time, against finite
differences of the mean loss, and the optimizers against their update rules by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement import close_ulp
from engine.dataset import DataError, Dataset
from engine.evaluate import evaluate
from engine.expr import parse
from engine.fast.batch import compile_batch, one_sample
from engine.graph import Graph
from engine.train import TrainConfig, Trainer, TrainingError

# ops defined everywhere, so any sample is inside every op's domain
UNARY = ["tanh", "sigmoid", "sin", "cos", "square", "neg"]
BINARY = ["add", "sub", "mul"]


@st.composite
def data_graphs(draw) -> tuple[Graph, Dataset]:
    """A random graph over 1–3 data leaves, 1–3 params and maybe a constant, and a
    dataset of 1–12 rows for it (some held out)."""
    g = Graph()
    cols = [f"c{i}" for i in range(draw(st.integers(1, 3)))]
    nodes = [g.add_node("data", c, 0.0) for c in cols]
    for i in range(draw(st.integers(1, 3))):
        nodes.append(g.add_node("param", f"w{i}", draw(st.floats(-1.5, 1.5))))
    if draw(st.booleans()):
        nodes.append(g.add_node("const", "k", draw(st.floats(-1, 1))))
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["unary", "binary", "sum"]))
        pick = st.integers(0, len(nodes) - 1)
        if kind == "unary":
            op, args = draw(st.sampled_from(UNARY)), [nodes[draw(pick)]]
        elif kind == "binary":
            op, args = draw(st.sampled_from(BINARY)), [nodes[draw(pick)], nodes[draw(pick)]]
        else:
            op, args = "sum", [nodes[draw(pick)] for _ in range(draw(st.integers(1, 4)))]
        nid = g.add_node(op)
        ports = [f"x{i + 1}" for i in range(len(args))] if op == "sum" else \
            {"unary": ["x"], "binary": ["a", "b"]}[kind]
        for p, a in zip(ports, args):
            g.connect(a, nid, p)
        nodes.append(nid)
    # the output: a squared error of the last node against the first column
    t = g.add_node("data", "target", 0.0, column=cols[0])
    out = g.add_node("squared_error", "L")
    g.connect(t, out, "target")
    g.connect(nodes[-1], out, "prediction")
    g.set_output(out)
    n = draw(st.integers(1, 12))
    values = st.floats(-2, 2, allow_nan=False).map(lambda v: round(v, 4))
    columns = {c: [draw(values) for _ in range(n)] for c in cols}
    test = [draw(st.booleans()) and i > 0 for i in range(n)]
    return g, Dataset(columns, test, "random")


def _per_sample(g: Graph, ds: Dataset):
    """The reference evaluation of each row on its own."""
    return [evaluate(one_sample(g, j, ds)) for j in range(ds.n_rows)]


@settings(max_examples=60, deadline=None)
@given(data_graphs())
def test_batch_numbers_equal_one_sample_at_a_time(case) -> None:
    g, ds = case
    plan = compile_batch(g, ds)
    r = plan.evaluate()
    refs = _per_sample(g, ds)
    train = ~ds.test if (~ds.test).any() else np.ones(ds.n_rows, bool)
    for j, ref in enumerate(refs):
        s = r.sample(j)
        for nid, nr in ref.nodes.items():
            assert close_ulp(s.value(nid), nr.value, 64) or \
                math.isclose(s.value(nid), nr.value, rel_tol=1e-12, abs_tol=1e-300), nid
            if nr.grad is None:
                assert s.grad(nid) is None
            else:
                assert math.isclose(s.grad(nid), nr.grad, rel_tol=1e-9, abs_tol=1e-12), nid
        for key, er in ref.edges.items():
            local, product = s.edge(*key)
            if er.local is None:
                assert local is None
            else:
                assert math.isclose(local, er.local, rel_tol=1e-9, abs_tol=1e-12)
                assert math.isclose(product, er.product, rel_tol=1e-9, abs_tol=1e-12)
    # the mean loss and each param's batch gradient: means over the training rows
    rows = [j for j in range(ds.n_rows) if train[j]]
    assert math.isclose(r.mean_loss, sum(refs[j].value(g.output) for j in rows) / len(rows),
                        rel_tol=1e-12, abs_tol=1e-14)
    for p, grad in r.batch_grads().items():
        want = sum(refs[j].grad(p) for j in rows) / len(rows)
        assert math.isclose(grad, want, rel_tol=1e-9, abs_tol=1e-12), p
    # the chunked pass a training step uses gives the same numbers
    loss, grads, _ = plan.gradients(ds, np.array(rows), chunk=3)
    assert math.isclose(loss, r.mean_loss, rel_tol=1e-12, abs_tol=1e-14)
    for p in grads:
        assert math.isclose(grads[p], r.batch_grads()[p], rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=40, deadline=None)
@given(data_graphs())
def test_batch_gradient_matches_finite_differences_of_the_mean_loss(case) -> None:
    g, ds = case
    rows = ds.rows("train")
    if not len(rows):
        rows = ds.rows("all")

    def mean_loss(p: str, v: float) -> float:
        h = g.copy()
        h.set_value(p, v)
        plan = compile_batch(h, ds, rows)
        return plan.evaluate().mean_loss

    plan = compile_batch(g, ds, rows)
    grads = plan.evaluate().batch_grads()
    for p, grad in grads.items():
        x = g.node(p).value
        eps = 1e-5 * max(1.0, abs(x))
        fd = (mean_loss(p, x + eps) - mean_loss(p, x - eps)) / (2 * eps)
        assert math.isclose(grad, fd, rel_tol=1e-5, abs_tol=1e-6), p


def test_the_tutorial_network_on_one_row_gives_the_tutorial_numbers() -> None:
    """x = 2, y = 1, w₁ = 0.5, w₂ = 0.3 as a one-row dataset: ∂L/∂w₁ = −0.84."""
    g = parse("h = w1*x\nyhat = w2*h\nL = (y - yhat)**2", params=["w1", "w2"],
              columns=["x", "y"])
    g.set_value(g.id_of("w1"), 0.5)
    g.set_value(g.id_of("w2"), 0.3)
    r = compile_batch(g, Dataset({"x": [2.0], "y": [1.0]}, None)).evaluate()
    assert r.batch_grad(g.id_of("w1")) == pytest.approx(-0.84, rel=1e-12)
    assert r.batch_grad(g.id_of("w2")) == pytest.approx(-1.4, rel=1e-12)
    assert r.mean_loss == pytest.approx(0.49, rel=1e-12)


def test_two_rows_average_their_gradients() -> None:
    """L = (y − w·x)², rows (1, 2) and (3, 0), w = 1: per-row ∂L/∂w = −2x(y − wx) is −2
    and 18, so the batch gradient is 8 and the mean loss (1 + 9)/2 = 5."""
    g = parse("L = (y - w*x)**2", params=["w"], columns=["x", "y"])
    g.set_value(g.id_of("w"), 1.0)
    r = compile_batch(g, Dataset({"x": [1.0, 3.0], "y": [2.0, 0.0]}, None)).evaluate()
    assert r.batch_grad(g.id_of("w")) == 8.0
    assert r.mean_loss == 5.0
    assert r.sample(0).grad(g.id_of("w")) == -2.0
    assert r.sample(1).grad(g.id_of("w")) == 18.0


def test_a_missing_column_is_named() -> None:
    g = parse("L = (y - w*x)**2", params=["w"], columns=["x", "y"])
    with pytest.raises(DataError, match="'x'.*columns: y"):
        compile_batch(g, Dataset({"y": [1.0]}, None))


# ------------------------------------------------------------------ optimizers

def _line() -> Graph:
    g = parse("L = (y - w*x)**2", params=["w"], columns=["x", "y"])
    g.set_value(g.id_of("w"), 1.0)
    g.dataset = Dataset({"x": [1.0, 3.0], "y": [2.0, 0.0]}, None)
    return g


def _grad(w: float) -> float:
    """mean over the two rows of −2x(y − wx), by hand: (−2(2 − w) − 6(0 − 3w))/2."""
    return (-2 * (2 - w) - 6 * (0 - 3 * w)) / 2


def test_sgd_momentum_and_adam_follow_their_update_rules() -> None:
    lr = 0.01
    # SGD: w ← w − η·g
    t = Trainer(_line(), TrainConfig("sgd", lr))
    w = 1.0
    for _ in range(3):
        step = t.step()
        w_new = w - lr * _grad(w)
        assert step.updates[0].new == pytest.approx(w_new, rel=1e-14)
        w = w_new
    # momentum: v ← μv + g, w ← w − η·v
    t = Trainer(_line(), TrainConfig("momentum", lr, momentum=0.9))
    w, v = 1.0, 0.0
    for _ in range(3):
        t.step()
        v = 0.9 * v + _grad(w)
        w = w - lr * v
        assert t.values[t.params[0]] == pytest.approx(w, rel=1e-14)
    # Adam with bias correction
    t = Trainer(_line(), TrainConfig("adam", lr))
    w, m, s = 1.0, 0.0, 0.0
    for k in range(1, 4):
        t.step()
        gk = _grad(w)
        m = 0.9 * m + 0.1 * gk
        s = 0.999 * s + 0.001 * gk * gk
        w = w - lr * (m / (1 - 0.9 ** k)) / (math.sqrt(s / (1 - 0.999 ** k)) + 1e-8)
        assert t.values[t.params[0]] == pytest.approx(w, rel=1e-13)


def test_weight_decay_adds_lambda_w() -> None:
    t = Trainer(_line(), TrainConfig("sgd", 0.01, weight_decay=0.5))
    t.step()
    assert t.values[t.params[0]] == pytest.approx(1.0 - 0.01 * (_grad(1.0) + 0.5 * 1.0))


def test_minibatches_cover_every_row_once_per_epoch() -> None:
    g = parse("L = (y - w*x)**2", params=["w"], columns=["x", "y"])
    g.dataset = Dataset({"x": np.arange(10.0), "y": np.zeros(10)}, None)
    t = Trainer(g, TrainConfig("sgd", 0.0, batch=2, seed=3))
    seen = []
    for _ in range(5):
        seen.extend(t._next_rows().tolist())
    assert sorted(seen) == list(range(10))
    again = Trainer(g, TrainConfig("sgd", 0.0, batch=2, seed=3))
    assert [again._next_rows().tolist() for _ in range(5)] == \
        [seen[i:i + 2] for i in range(0, 10, 2)]


def test_training_refuses_bad_settings() -> None:
    with pytest.raises(TrainingError):
        TrainConfig("rmsprop")
    with pytest.raises(TrainingError):
        TrainConfig("sgd", lr=math.nan)
    with pytest.raises(TrainingError):
        TrainConfig("sgd", batch=-1)


def test_xor_2_2_1_trains_below_0_05() -> None:
    """The four XOR points, a 2-2-1 tanh network with a sigmoid output and binary
    cross-entropy, Adam at η = 0.1 from a fixed start."""
    from engine.datasets import generate
    text = ("h1 = tanh(a1*x1 + a2*x2 + c1)\nh2 = tanh(b1*x1 + b2*x2 + c2)\n"
            "p = sigmoid(v1*h1 + v2*h2 + c3)\nL = bce(y, p)")
    params = "a1 a2 b1 b2 c1 c2 v1 v2 c3".split()
    g = parse(text, params=params, columns=["x1", "x2", "y"])
    rng = np.random.default_rng(0)
    for p in params:
        g.set_value(g.id_of(p), float(rng.normal()))
    g.dataset = generate("xor")
    t = Trainer(g, TrainConfig("adam", 0.1))
    for _ in range(500):
        t.step()
    m = t.metrics()
    assert m.loss < 0.05 and m.accuracy == 1.0


def test_a_large_dataset_is_evaluated_in_chunks_with_the_same_numbers(monkeypatch) -> None:
    """Beyond BIG_BATCH_CELLS the editor's evaluation holds one chunk's buffers, not
    every row's: the mean loss, batch gradients, a sample's numbers and the means are
    those of evaluating every row at once."""
    import engine.live as live_mod
    from engine.live import LiveEvaluation
    g = parse("h = tanh(w1*x1 + w2*x2 + b)\nL = (y - h)**2", params=["w1", "w2", "b"],
              columns=["x1", "x2", "y"])
    for n, v in (("w1", 0.7), ("w2", -0.4), ("b", 0.1)):
        g.set_value(g.id_of(n), v)
    rng = np.random.default_rng(5)
    rows = 3000
    g.dataset = Dataset({"x1": rng.normal(size=rows), "x2": rng.normal(size=rows),
                         "y": rng.normal(size=rows)}, rng.random(rows) < 0.2, "big")
    whole = LiveEvaluation()
    r_all, _ = whole.structure(g)
    assert isinstance(whole.batch, type(compile_batch(g, g.dataset).evaluate()))
    monkeypatch.setattr(live_mod, "BIG_BATCH_CELLS", 100)
    chunked = LiveEvaluation()
    r_big, _ = chunked.structure(g)
    assert type(chunked.batch).__name__ == "ChunkedBatch"
    b1, b2 = r_all.batch, r_big.batch
    assert (b1.n, b1.rows) == (b2.n, b2.rows)
    assert math.isclose(b1.mean_loss, b2.mean_loss, rel_tol=1e-12)
    for p, grad in b1.param_grads.items():
        assert math.isclose(grad, b2.param_grads[p], rel_tol=1e-9, abs_tol=1e-15)
    for sample in (0, 1234, rows - 1):
        a, _ = whole.pick(g, sample)
        c, _ = chunked.pick(g, sample)
        for nid in g.ids():
            assert a.value(nid) == c.value(nid) or close_ulp(a.value(nid), c.value(nid))
            ga, gc = a.grad(nid), c.grad(nid)
            assert (ga is None) == (gc is None)
            if ga is not None:
                assert math.isclose(ga, gc, rel_tol=1e-12, abs_tol=1e-15)
    a, _ = whole.pick(g, means=True)
    c, _ = chunked.pick(g, means=True)
    for key, er in a.edges.items():
        ec = c.edges[key]
        if er.local is not None:
            assert math.isclose(er.local, ec.local, rel_tol=1e-9, abs_tol=1e-12)
            assert math.isclose(er.product, ec.product, rel_tol=1e-9, abs_tol=1e-12)


def test_a_param_that_is_the_output_has_batch_gradient_one() -> None:
    """L = w alone (a leaf output): ∂L/∂w = 1 for every sample, so 1 on average, both
    through a full evaluation and through a training step's chunked pass."""
    g = Graph()
    w = g.add_node("param", "w", 0.25)
    g.add_node("data", "x", 0.0)  # a data leaf that feeds nothing
    g.set_output(w)
    ds = Dataset({"x": np.arange(5.0)}, None)
    plan = compile_batch(g, ds)
    assert plan.evaluate().batch_grad(w) == 1.0
    loss, grads, _ = plan.gradients(ds, np.arange(5), chunk=2)
    assert loss == 0.25 and grads[w] == 1.0
