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
XOR_WEIGHTS = dict(w11=0.5, w12=-0.5, b1=0.1, w21=0.4, w22=0.6, b2=-0.2, v1=0.3, v2=-0.4, c=0.1)
XOR_POINTS = ((0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0))


def _xor() -> str:
    """A 2-2-1 network written out once per XOR point, sharing its nine params."""
    lines = [f"{k} = param({v})" for k, v in XOR_WEIGHTS.items()]
    for k, (p, q, t) in enumerate(XOR_POINTS, start=1):
        lines += [f"p{k} = {p}", f"q{k} = {q}", f"t{k} = {t}",
                  f"g{k} = tanh(w11*p{k} + w12*q{k} + b1)",
                  f"h{k} = tanh(w21*p{k} + w22*q{k} + b2)",
                  f"yhat{k} = sigmoid(v1*g{k} + v2*h{k} + c)",
                  f"e{k} = squared_error(t{k}, yhat{k})"]
    lines.append("L = sum(e1, e2, e3, e4)")
    return "\n".join(lines) + "\n"


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
    "xor": (
        _xor(),
        "A 2-2-1 network learning XOR: for each of the four points (p, q) with target t, "
        "g = tanh(w₁₁p + w₁₂q + b₁), h = tanh(w₂₁p + w₂₂q + b₂) and ŷ = σ(v₁g + v₂h + c); "
        "the loss L = e₁ + e₂ + e₃ + e₄ sums the squared errors. The nine params are shared "
        "by all four copies, so each one's gradient is a sum over the points. The loss starts "
        "at about 1.02; in the Training panel, Train N with N = 500 at η = 0.5 brings it "
        "below 0.01 (it stays near 1 for about forty steps, then falls quickly).",
    ),
}
EXAMPLES.update(MORE_EXAMPLES)


def main() -> None:
    for name, (text, note) in EXAMPLES.items():
        g = parse(text)
        g.note = note
        fileformat.save(g, HERE / f"{name}.json")
        print("wrote", name)


if __name__ == "__main__":
    main()
