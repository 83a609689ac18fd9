"""Regenerate the tutorial's examples: ``python assets/examples/make_examples.py``.

The numbers are the tutorial's (shared/seeds, "The Chain Rule"); tests check that the
files reproduce its results, so this script is a convenience, not a source of truth.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "examples"
sys.path.insert(0, str(HERE.parent.parent))

from engine import fileformat  # noqa: E402
from engine.expr import parse  # noqa: E402

EXAMPLES = {
    "two_layer": (
        "x = 2\ny = 1\nw1 = param(0.5)\nw2 = param(0.3)\n"
        "h = w1 * x\nyhat = w2 * h\nL = squared_error(y, yhat)\n",
        "The tutorial's two-layer network (Section 6): h = w₁·x, ŷ = w₂·h, L = (y − ŷ)². "
        "With x = 2, y = 1, w₁ = 0.5, w₂ = 0.3: L = 0.49, ∂L/∂ŷ = −1.4, ∂L/∂h = −0.42 and "
        "∂L/∂w₁ = −0.84, the product of the local derivatives along the path. One step of "
        "gradient descent with η = 0.1 moves w₁ to 0.584.",
    ),
    "chain_2x": (
        "x = 3\nu = 2 * x\ny = square(u)\n",
        "y = f(g(x)) with g(x) = 2x and f(u) = u² (Section 4). The chain rule gives "
        "dy/dx = dy/du · du/dx = 2u · 2 = 8x, which is 24 at x = 3.",
    ),
    "exercise1": (
        "x = 2\nu = 3 * x + 1\ny = square(u)\n",
        "Exercise 1: y = (3x + 1)². With u = 3x + 1: du/dx = 3 and dy/du = 2u, so "
        "dy/dx = 6(3x + 1) = 42 at x = 2.",
    ),
    "exercise2": (
        "x = 3\ny = 6\nw = param(1)\nyhat = w * x\nu = y - yhat\nL = square(u)\n",
        "Exercise 2: a one-layer network ŷ = w·x with L = (y − ŷ)². With u = y − wx: "
        "dL/dw = 2u · (−x) = −2x(y − wx) = −18 at x = 3, y = 6, w = 1; one step with "
        "η = 0.1 gives w = 2.8.",
    ),
    "exercise3": (
        "x = 2\ny = 1\nw1 = param(0.5)\nw2 = param(0.3)\n"
        "h = w1 * x\nyhat = w2 * h\nL = squared_error(y, yhat)\n",
        "Exercise 3: the two-layer network again, now for w₂: dL/dw₂ = dL/dŷ · dŷ/dw₂ = "
        "−1.4 × h = −1.4 (h = 1). One step with η = 0.1 gives w₂ = 0.44.",
    ),
}




def _chains(n: int = 10) -> str:
    """Ten sigmoids from a, ten tanh from b; L adds the two ends."""
    lines = ["a = 1", "b = 1"]
    for i in range(1, n + 1):
        lines.append(f"s{i} = sigmoid({'a' if i == 1 else f's{i - 1}'})")
    for i in range(1, n + 1):
        lines.append(f"t{i} = tanh({'b' if i == 1 else f't{i - 1}'})")
    lines.append(f"L = s{n} + t{n}")
    return "\n".join(lines) + "\n"


#: XOR initial weights (hidden unit 1: w11, w12, b1; unit 2: w21, w22, b2; output: v1, v2, c)
MORE_EXAMPLES = {
    "two_paths": (
        "x = 2\ny = 3\nu = x * y\nv = sin(x)\nf = u + v\n",
        "The multivariate chain rule: f = x·y + sin x, where x reaches f along two paths, "
        "through u = x·y and through v = sin x. Its gradient is the sum over the paths: "
        "∂f/∂x = ∂f/∂u · ∂u/∂x + ∂f/∂v · ∂v/∂x = 1 · y + 1 · cos x = 3 + cos 2 ≈ 2.584 at "
        "x = 2, y = 3, while ∂f/∂y = x = 2. On the canvas, x's gradient is the sum of the "
        "products on its two outgoing edges.",
    ),
    "square_by_mul": (
        "x = 3\nf = x * x\n",
        "One node feeding both ports of one op: f = x·x. Each port has its own edge and its "
        "own local derivative, ∂f/∂a = b = x and ∂f/∂b = a = x, so x collects two "
        "contributions: df/dx = x + x = 2x = 6 at x = 3, the same as the power rule gives "
        "for x².",
    ),
    "vanishing": (
        _chains(),
        "Vanishing gradients: ten sigmoids in a chain from a = 1 beside ten tanh in a chain "
        "from b = 1, with L = s₁₀ + t₁₀. Backpropagation multiplies one local derivative per "
        "link. σ′ is at most 1/4 (here about 0.2 at every link), so ∂L/∂a ≈ 2.8e−7: the "
        "signal all but disappears. tanh′ is at most 1 and grows towards 1 as the values "
        "shrink, so ∂L/∂b ≈ 0.041 survives. Follow ∂L/∂ along each chain to watch the "
        "product shrink.",
    ),
    "sigmoid_neuron": (
        "x = 2\ny = 1\nw = param(0.5)\nb = param(0)\nwx = w * x\nz = wx + b\n"
        "yhat = sigmoid(z)\nL = squared_error(y, yhat)\n",
        "A single sigmoid neuron with squared error: z = w·x + b, ŷ = σ(z), L = (y − ŷ)². "
        "With x = 2, y = 1, w = 0.5, b = 0: z = 1, ŷ = σ(1) ≈ 0.7311 and L ≈ 0.0723. "
        "Backward: ∂L/∂ŷ = −2(y − ŷ) ≈ −0.5379, σ′(z) = ŷ(1 − ŷ) ≈ 0.1966, so ∂L/∂z ≈ −0.1058, "
        "∂L/∂w = ∂L/∂z · x ≈ −0.2115 and ∂L/∂b = ∂L/∂z ≈ −0.1058. Press Step in the Training "
        "panel to watch ŷ move towards 1.",
    ),
}
EXAMPLES.update(MORE_EXAMPLES)


#: networks trained on a dataset: (inputs, hidden, activation, output activation, loss,
#: seed, dataset spec, note)
NETWORKS = {
    "xor": (
        2, [2], "tanh", "sigmoid", "binary_cross_entropy", 3, "xor",
        "A 2-2-1 network learning XOR from its four points (Data dock: x1, x2 → y). Every "
        "node holds one value per sample; the loss node shows the mean of the four losses, "
        "and each param its batch gradient — the mean of its four per-sample gradients. Pick "
        "a sample in the toolbar (or click a point in the Data view) and every edge shows "
        "that sample's own chain rule. In Training choose Adam, η = 0.1 and Train N = 500: "
        "the mean loss falls below 0.01, and the decision boundary in the Data view folds "
        "to separate (0, 1) and (1, 0) from (0, 0) and (1, 1).",
    ),
    "moons": (
        2, [8, 8], "tanh", "sigmoid", "binary_cross_entropy", 1,
        "moons:n=200,noise=0.15,seed=1,test=0.2",
        "Two moons, 200 points (40 held out for testing, drawn hollow), a 2-8-8-1 tanh "
        "network with a sigmoid output and binary cross-entropy: 105 params. In Training "
        "choose Adam, η = 0.01 and Train N = 500. Watch the Data view: the background is the "
        "model's p(y = 1) and the line p = ½; it starts as a tilted straight boundary and "
        "bends around the moons while the accuracy climbs past 95%. Then click a point near "
        "the boundary: its edges show small products (σ′ near ½ is large, but the loss is "
        "already low), while a misclassified point's products are large — the samples the "
        "batch gradient is mostly made of.",
    ),
    "sine": (
        ["x"], [16], "tanh", "none", "squared_error", 1, "sine:n=100,noise=0.1,seed=1,test=0.2",
        "Regression: y = sin(πx) plus noise, 100 points, fitted by a 1-16-1 tanh network "
        "with a linear output and squared error. In Training choose Adam, η = 0.01 and "
        "Train N = 1000: the fitted curve in the Data view goes from nearly flat to the "
        "sine, each tanh neuron contributing one bend. The mean loss ends near the noise's "
        "variance, 0.01 — the part no model can explain.",
    ),
}


def network_example(name: str):
    from engine.datasets import parse_spec
    from engine.network import build_network
    inputs, hidden, act, out_act, loss, seed, spec, note = NETWORKS[name]
    ds = parse_spec(spec)
    net = build_network(inputs, hidden, act, out_act, loss, seed=seed,
                        sample={c: float(ds.columns[c][0]) for c in ds.names})
    g = net.graph
    g.dataset = ds
    g.note = note
    return g


def main() -> None:
    for name, (text, note) in EXAMPLES.items():
        g = parse(text)
        g.note = note
        fileformat.save(g, HERE / f"{name}.json")
        print("wrote", name)
    for name in NETWORKS:
        fileformat.save(network_example(name), HERE / f"{name}.json")
        print("wrote", name)


if __name__ == "__main__":
    main()
