"""One training step on a dataset, against PyTorch tensors on the same network.

The network is 2-16-16-1 (tanh hidden layers, a sigmoid output, binary cross-entropy)
written out as a scalar graph — one variadic sum per neuron, 337 params, about 700
nodes — over 10,000 samples of two moons. A step is what the editor's Train does:
forward and backward over every sample (``BatchPlan.gradients``, 128-row chunks), the
picked sample's per-edge numbers (``evaluate`` on one row), and the update of every
param. PyTorch does forward, backward and an SGD update on the same tensors.

    python benchmarks/train.py [--samples 10000] [--repeat 7]

Prints the median of each and the ratio, and checks the two gradients agree.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.datasets import generate  # noqa: E402
from engine.expr import parse  # noqa: E402
from engine.fast.batch import compile_batch  # noqa: E402
from engine.train import TrainConfig, Trainer  # noqa: E402


def network_text(sizes: list[int]) -> tuple[str, list[str]]:
    lines, params = [], []
    prev = [f"x{i + 1}" for i in range(sizes[0])]
    for layer, (_, width) in enumerate(zip(sizes, sizes[1:]), 1):
        act = "tanh" if layer < len(sizes) - 1 else "sigmoid"
        cur = []
        for j in range(width):
            terms = []
            for i, p in enumerate(prev):
                w = f"w{layer}_{j + 1}_{i + 1}"
                params.append(w)
                terms.append(f"{w}*{p}")
            b = f"b{layer}_{j + 1}"
            params.append(b)
            lines.append(f"h{layer}_{j + 1} = {act}(sum({', '.join(terms)}, {b}))")
            cur.append(f"h{layer}_{j + 1}")
        prev = cur
    lines.append(f"L = bce(y, {prev[0]})")
    return "\n".join(lines), params


def weights(sizes: list[int], seed: int = 0) -> list[np.ndarray]:
    """Glorot-scaled weights per layer (to, from) and zero biases, in text order."""
    rng = np.random.default_rng(seed)
    out = []
    for a, b in zip(sizes, sizes[1:]):
        out.append(rng.normal(0, np.sqrt(2 / (a + b)), size=(b, a)))
    return out


def ours(sizes: list[int], n: int, repeat: int) -> tuple[float, int, dict[str, float]]:
    text, params = network_text(sizes)
    g = parse(text, params=params, columns=["x1", "x2", "y"])
    ws = weights(sizes)
    for layer, W in enumerate(ws, 1):
        for j in range(W.shape[0]):
            for i in range(W.shape[1]):
                g.set_value(g.id_of(f"w{layer}_{j + 1}_{i + 1}"), float(W[j, i]))
    g.dataset = generate("moons", n, 0.1, 1)
    trainer = Trainer(g, TrainConfig("sgd", 0.1))
    show = compile_batch(g, g.dataset, np.array([7]))  # the picked sample's edge numbers
    times, first = [], None
    for k in range(repeat):
        t0 = time.perf_counter()
        if k == 0:
            trainer._load(trainer.train_rows[:1])
            first = trainer.plan.gradients(g.dataset, trainer.train_rows)[1]
        step = trainer.step()
        for u in step.updates:
            show.set_leaf(u.id, u.new)
        show.evaluate().sample(0)
        times.append(time.perf_counter() - t0)
    grads = {g.name_of(p): v for p, v in first.items()}
    return statistics.median(times[1:]), len(g), grads


def torch_step(sizes: list[int], n: int, repeat: int) -> tuple[float | None, dict[str, float]]:
    try:
        import torch
    except ImportError:
        return None, {}
    torch.set_num_threads(1)
    ds = generate("moons", n, 0.1, 1)
    X = torch.tensor(np.stack([ds.columns["x1"], ds.columns["x2"]], 1), dtype=torch.float64)
    Y = torch.tensor(ds.columns["y"], dtype=torch.float64)
    Ws = [torch.tensor(W, dtype=torch.float64, requires_grad=True) for W in weights(sizes)]
    bs = [torch.zeros(W.shape[0], dtype=torch.float64, requires_grad=True) for W in Ws]
    times, grads = [], {}
    for k in range(repeat):
        t0 = time.perf_counter()
        h = X
        for i, (W, b) in enumerate(zip(Ws, bs)):
            z = h @ W.T + b
            h = torch.tanh(z) if i < len(Ws) - 1 else torch.sigmoid(z)
        p = h[:, 0]
        loss = torch.nn.functional.binary_cross_entropy(p, Y)
        for t in Ws + bs:
            t.grad = None
        loss.backward()
        if k == 0:
            for layer, W in enumerate(Ws, 1):
                for j in range(W.shape[0]):
                    for i in range(W.shape[1]):
                        grads[f"w{layer}_{j + 1}_{i + 1}"] = float(W.grad[j, i])
        with torch.no_grad():
            for t in Ws + bs:
                t -= 0.1 * t.grad
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:]), grads


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    sizes = [2, 16, 16, 1]
    t_ours, nodes, g_ours = ours(sizes, args.samples, args.repeat)
    t_torch, g_torch = torch_step(sizes, args.samples, args.repeat)
    print(f"2-16-16-1 ({nodes} nodes) over {args.samples:,} samples, one training step")
    print(f"  Chain Rule Studio : {t_ours * 1e3:8.1f} ms")
    if t_torch is not None:
        print(f"  PyTorch tensors   : {t_torch * 1e3:8.1f} ms   (1 thread, float64)")
        print(f"  ratio             : {t_ours / t_torch:8.1f}×")
        worst = max(abs(g_ours[k] - g_torch[k]) / max(1.0, abs(g_torch[k])) for k in g_torch)
        print(f"  gradients agree to: {worst:.1e} (largest relative difference)")
    else:
        print("  PyTorch is not installed: no comparison")


if __name__ == "__main__":
    main()
