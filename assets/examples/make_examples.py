"""Regenerate the tutorial's examples: ``python assets/examples/make_examples.py``.

The numbers are the tutorial's (shared/seeds, "The Chain Rule"); tests check that the
files reproduce its results, so this script is a convenience, not a source of truth.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
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


def main() -> None:
    for name, (text, note) in EXAMPLES.items():
        g = parse(text)
        g.note = note
        fileformat.save(g, HERE / f"{name}.json")
        print("wrote", name)


if __name__ == "__main__":
    main()
