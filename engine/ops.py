"""The op registry: the one place that knows what each node kind computes.

Each op is declared once, as data: symbol, ports, forward, one local derivative per
port, and the formulas as display text. The parser, the file loader, the palette,
the labels and the docs all read this table; nothing else knows a derivative.

Forward and derivative functions receive numpy float64 scalars and run under
``np.errstate(all="ignore")``, so faults become IEEE NaN/±inf instead of raising;
``explain`` turns such a result into a sentence for the learner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from engine.numfmt import fmt

F = np.float64
Fn = Callable[..., F]


@dataclass(frozen=True)
class OpSpec:
    name: str
    symbol: str
    group: str  # "leaf", "arithmetic", "function" or "loss"
    title: str
    ports: tuple[str, ...] = ()
    port_labels: tuple[str, ...] = ()
    forward: Fn | None = None
    derivs: tuple[Fn, ...] = ()
    #: forward formula with {port} placeholders, e.g. "{a}·{b}"
    formula: str = ""
    #: one derivative formula per port, placeholders {port} and {out}
    deriv_formulas: tuple[str, ...] = ()
    #: reason for a non-finite forward result given finite inputs, or None
    explain: Callable[..., str | None] | None = None
    #: a note on conventions at kinks and on the domain, for docs/ops.md
    conventions: str = ""
    variadic: bool = False

    @property
    def is_leaf(self) -> bool:
        return self.group == "leaf"

    def valid_port(self, port: str) -> bool:
        if self.variadic:
            return _variadic_index(port) is not None
        return port in self.ports

    def port_label(self, port: str) -> str:
        if self.variadic:
            return port
        return self.port_labels[self.ports.index(port)] if self.port_labels else port

    def deriv_for(self, port: str) -> tuple[Fn, str]:
        if self.variadic:
            return self.derivs[0], self.deriv_formulas[0]
        i = self.ports.index(port)
        return self.derivs[i], self.deriv_formulas[i]

    def generic_formula(self) -> str:
        """The op with its port names, e.g. ``a·b`` — for tooltips and docs."""
        if self.variadic:
            return "x₁ + x₂ + … + xₙ"
        return self.formula.format(**{p: p for p in self.ports}, out="out")

    def generic_derivs(self) -> list[str]:
        """``∂(a·b)/∂a = b`` for each port."""
        f = self.generic_formula()
        if self.variadic:
            return [f"∂({f})/∂xᵢ = 1"]
        names = {p: p for p in self.ports}
        return [
            f"∂({f})/∂{p} = {d.format(**names, out=f'({f})')}"
            for p, d in zip(self.ports, self.deriv_formulas)
        ]


def _variadic_index(port: str) -> int | None:
    if port.startswith("x") and port[1:].isdigit() and not port[1:].startswith("0"):
        return int(port[1:])
    return None


def variadic_port_key(port: str) -> int:
    i = _variadic_index(port)
    return i if i is not None else 0


# ---------------------------------------------------------------- fault reasons

def _div_explain(a: F, b: F) -> str | None:
    if b == 0:
        return "division by zero: 0 / 0" if a == 0 else f"division by zero: {fmt(a)} / 0"
    return "overflow: the quotient is too large"


def _pow_explain(a: F, b: F) -> str | None:
    if a == 0 and b < 0:
        return f"zero to a negative power: 0 ** {fmt(b)}"
    if a < 0 and not float(b).is_integer():
        return f"negative base with a non-integer exponent: {fmt(a)} ** {fmt(b)}"
    return "overflow: the power is too large"


def _log_explain(x: F) -> str | None:
    if x < 0:
        return f"log of a negative number: {fmt(x)}"
    if x == 0:
        return "log of zero"
    return None


def _sqrt_explain(x: F) -> str | None:
    return f"square root of a negative number: {fmt(x)}" if x < 0 else None


def _overflow(what: str) -> Callable[..., str]:
    return lambda *args: f"overflow: {what} is too large"


# ------------------------------------------------------------------ derivatives

def _pow_da(a: F, b: F) -> F:
    if b == 0:
        return F(0.0)  # a**0 is the constant 1
    return b * np.power(a, b - 1)


def _pow_db(a: F, b: F) -> F:
    if a == 0 and b > 0:
        return F(0.0)  # limit of a**b·ln a as a → 0⁺
    return np.power(a, b) * np.log(a)


def _sigmoid(x: F) -> F:
    # two branches so exp never overflows: stable for any finite x
    if x >= 0:
        return F(1.0) / (F(1.0) + np.exp(-x))
    e = np.exp(x)
    return e / (F(1.0) + e)


def _dsigmoid(x: F) -> F:
    s = _sigmoid(x)
    return s * (F(1.0) - s)


_ONE = lambda *a: F(1.0)  # noqa: E731
_MINUS_ONE = lambda *a: F(-1.0)  # noqa: E731

_LEAF = dict(group="leaf")

OPS: dict[str, OpSpec] = {}


def _add(spec: OpSpec) -> None:
    assert spec.name not in OPS
    if not spec.is_leaf and not spec.variadic:
        assert len(spec.ports) == len(spec.derivs) == len(spec.deriv_formulas), spec.name
    OPS[spec.name] = spec


_add(OpSpec("input", "x", "leaf", "Input", conventions="A value you set; not trained."))
_add(OpSpec("param", "θ", "leaf", "Parameter",
            conventions="A trainable value: gradient descent updates it."))
_add(OpSpec("const", "c", "leaf", "Constant", conventions="A fixed number."))

_add(OpSpec(
    "add", "+", "arithmetic", "Add", ("a", "b"), ("a", "b"),
    lambda a, b: a + b, (_ONE, _ONE), "{a} + {b}", ("1", "1"),
    explain=_overflow("the sum")))
_add(OpSpec(
    "sub", "−", "arithmetic", "Subtract", ("a", "b"), ("a", "b"),
    lambda a, b: a - b, (_ONE, _MINUS_ONE), "{a} − {b}", ("1", "−1"),
    explain=_overflow("the difference")))
_add(OpSpec(
    "mul", "×", "arithmetic", "Multiply", ("a", "b"), ("a", "b"),
    lambda a, b: a * b, (lambda a, b: b, lambda a, b: a), "{a}·{b}", ("{b}", "{a}"),
    explain=_overflow("the product")))
_add(OpSpec(
    "div", "÷", "arithmetic", "Divide", ("a", "b"), ("numerator", "denominator"),
    lambda a, b: a / b,
    (lambda a, b: F(1.0) / b, lambda a, b: -a / (b * b)),
    "{a} / {b}", ("1/{b}", "−{a}/{b}²"),
    explain=_div_explain,
    conventions="x/0 is ±inf (NaN for 0/0); the local derivatives are then not finite."))
_add(OpSpec(
    "neg", "−x", "arithmetic", "Negate", ("x",), ("x",),
    lambda x: -x, (_MINUS_ONE,), "−{x}", ("−1",)))
_add(OpSpec(
    "pow", "xʸ", "arithmetic", "Power", ("base", "exponent"), ("base", "exponent"),
    lambda a, b: np.power(a, b), (_pow_da, _pow_db),
    "{base}^{exponent}", ("{exponent}·{base}^({exponent} − 1)", "{base}^{exponent}·ln {base}"),
    explain=_pow_explain,
    conventions=(
        "0⁰ = 1. ∂/∂base is 0 when the exponent is 0. ∂/∂exponent = aᵇ·ln a is 0 at "
        "a = 0 with b > 0 (its limit) and NaN for a negative base, where aᵇ is not a "
        "differentiable function of b. A negative base with a non-integer exponent is NaN; "
        "0 to a negative power is inf.")))
_add(OpSpec(
    "square", "x²", "arithmetic", "Square", ("x",), ("x",),
    lambda x: x * x, (lambda x: F(2.0) * x,), "{x}²", ("2{x}",),
    explain=_overflow("the square")))

_add(OpSpec(
    "exp", "eˣ", "function", "Exponential", ("x",), ("x",),
    lambda x: np.exp(x), (lambda x: np.exp(x),), "exp({x})", ("exp({x})",),
    explain=lambda x: f"overflow: exp({fmt(x)}) is too large",
    conventions="exp(x) overflows to inf for x > 709.78."))
_add(OpSpec(
    "log", "ln", "function", "Natural log", ("x",), ("x",),
    lambda x: np.log(x), (lambda x: F(1.0) / x,), "ln {x}", ("1/{x}",),
    explain=_log_explain,
    conventions="ln 0 = −inf; ln of a negative number is NaN."))
_add(OpSpec(
    "sqrt", "√", "function", "Square root", ("x",), ("x",),
    lambda x: np.sqrt(x), (lambda x: F(0.5) / np.sqrt(x),), "√{x}", ("1/(2√{x})",),
    explain=_sqrt_explain,
    conventions="√ of a negative number is NaN; the derivative at 0 is +inf."))
_add(OpSpec(
    "abs", "|x|", "function", "Absolute value", ("x",), ("x",),
    lambda x: np.abs(x), (lambda x: np.sign(x),), "|{x}|", ("sign({x})",),
    conventions="abs′(0) = 0 (a kink: the one-sided derivatives are −1 and 1)."))
_add(OpSpec(
    "sin", "sin", "function", "Sine", ("x",), ("x",),
    lambda x: np.sin(x), (lambda x: np.cos(x),), "sin {x}", ("cos {x}",)))
_add(OpSpec(
    "cos", "cos", "function", "Cosine", ("x",), ("x",),
    lambda x: np.cos(x), (lambda x: -np.sin(x),), "cos {x}", ("−sin {x}",)))
_add(OpSpec(
    "tanh", "tanh", "function", "Hyperbolic tangent", ("x",), ("x",),
    lambda x: np.tanh(x), (lambda x: F(1.0) - np.tanh(x) ** 2,), "tanh {x}", ("1 − tanh²{x}",)))
_add(OpSpec(
    "sigmoid", "σ", "function", "Sigmoid", ("x",), ("x",),
    _sigmoid, (_dsigmoid,), "σ({x})", ("σ({x})·(1 − σ({x}))",),
    conventions="Computed as 1/(1+e⁻ˣ) for x ≥ 0 and eˣ/(1+eˣ) for x < 0, so it never "
                "overflows; for |x| > 745 the derivative underflows to 0."))
_add(OpSpec(
    "relu", "ReLU", "function", "ReLU", ("x",), ("x",),
    lambda x: np.maximum(x, F(0.0)), (lambda x: F(1.0) if x > 0 else F(0.0),),
    "relu({x})", ("1 if {x} > 0 else 0",),
    conventions="relu′(0) = 0 (a kink: the one-sided derivatives are 0 and 1)."))
_add(OpSpec(
    "sum", "Σ", "arithmetic", "Sum", (), (),
    lambda *xs: F(sum(xs, F(0.0))), (_ONE,), "", ("1",),
    explain=_overflow("the sum"), variadic=True,
    conventions="Any number of inputs on ports x1, x2, …; the empty sum is 0."))
_add(OpSpec(
    "squared_error", "(t−p)²", "loss", "Squared error", ("target", "prediction"),
    ("target", "prediction"),
    lambda t, p: (t - p) * (t - p),
    (lambda t, p: F(2.0) * (t - p), lambda t, p: F(-2.0) * (t - p)),
    "({target} − {prediction})²",
    ("2({target} − {prediction})", "−2({target} − {prediction})"),
    explain=_overflow("the squared error"),
    conventions="(target − prediction)², the tutorial's loss, with no ½."))

LEAF_KINDS = tuple(n for n, s in OPS.items() if s.is_leaf)
GROUPS = ("leaf", "arithmetic", "function", "loss")


def op_spec(name: str) -> OpSpec:
    return OPS[name]
