"""The op registry: the one place that knows what each node kind computes.

Each op is declared once, as data: symbol, ports, an array-ready forward function,
one local derivative per port, and the formulas as display text and as LaTeX. The
parser, the file loader, the palette, the labels, the docs and every evaluator (the
readable reference, the wide and the deep strategies of the fast engine) read this
table; nothing else knows a derivative.

Functions are numpy ufunc-style: they take float64 arrays (a 0-d array or a numpy
scalar for one node, a 1-d array for a group of nodes) and broadcast. A local
derivative receives the op's output first, then the inputs, so ``tanh`` can reuse
its value: ``1 − y²``. Ops with *attributes* (the fixed exponent of ``power``) get
them as keyword arrays of the same shape. Call them under ``np.errstate(all="ignore")``:
faults become IEEE NaN/±inf, and ``explain`` turns such a result into a sentence.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from engine.numfmt import fmt, full

Array = np.ndarray
Fn = Callable[..., Array]
#: a formula template, or a function of the node's attributes that returns one
Text = str | Callable[..., str]


@dataclass(frozen=True)
class OpSpec:
    name: str
    #: what the palette shows; a node shows ``symbol_for`` its attributes
    symbol: str
    group: str  # "leaf", "arithmetic", "function" or "loss"
    title: str
    ports: tuple[str, ...] = ()
    port_labels: tuple[str, ...] = ()
    #: value from the inputs (one array per port) and the attributes (keywords); a
    #: variadic op receives its inputs stacked in one array, ports first
    forward: Fn | None = None
    #: one per port: ∂out/∂port from (out, *inputs, **attrs); a variadic op has one
    #: function of (out, stacked inputs) giving every port's local, stacked likewise
    derivs: tuple[Fn, ...] = ()
    #: forward formula with {port} placeholders, e.g. "{a}·{b}"
    formula: Text = ""
    #: one derivative formula per port, placeholders {port} and {out}
    deriv_formulas: tuple[Text, ...] = ()
    #: the same two in LaTeX (literal braces doubled: ``\\sqrt{{{x}}}``)
    tex: Text = ""
    tex_derivs: tuple[Text, ...] = ()
    #: reason for a non-finite forward result given finite inputs (plain floats), or None
    explain: Callable[..., str | None] | None = None
    #: a note on conventions at kinks and on the domain, for docs/ops.md
    conventions: str = ""
    variadic: bool = False
    #: fixed numbers a node of this op carries besides its ports, with their defaults
    attrs: tuple[tuple[str, float], ...] = ()
    #: the node's symbol from its attributes (``x²`` for exponent 2), for ops with any
    node_symbol: Callable[..., str] | None = None
    #: every local derivative is 1 whatever the inputs (add, sum): an evaluator over many
    #: samples may pass the gradient through instead of multiplying by stored ones
    unit_locals: bool = False
    #: the op as code, for exported scripts (engine/export.py), placeholders as in
    #: ``formula`` (operands are always plain variable names): the forward as a numpy
    #: and as a PyTorch expression, and each port's local derivative as a numpy
    #: expression computing exactly what ``derivs`` computes (calling, where needed, the
    #: functions of CODE_HELPERS). A variadic op's forward reads ``{xs: + }``: its
    #: operands joined by the text after the colon
    np_code: Text = ""
    torch_code: Text = ""
    np_derivs: tuple[Text, ...] = ()

    @property
    def is_leaf(self) -> bool:
        return self.group == "leaf"

    @property
    def attr_names(self) -> tuple[str, ...]:
        return tuple(a for a, _ in self.attrs)

    def default_attrs(self) -> dict[str, float]:
        return dict(self.attrs)

    def valid_port(self, port: str) -> bool:
        if self.variadic:
            return _variadic_index(port) is not None
        return port in self.ports

    def port_label(self, port: str) -> str:
        if self.variadic:
            return port
        return self.port_labels[self.ports.index(port)] if self.port_labels else port

    # ------------------------------------------------------------ evaluation
    def value(self, xs: Sequence[Array], attrs: Mapping[str, Array] | None = None) -> Array:
        """The forward value; ``xs`` holds one array per connected port, in port order
        (a list, or one array with ports first)."""
        if self.variadic:
            return self.forward(np.asarray(xs, dtype=np.float64))
        return self.forward(*xs, **(attrs or {}))

    def locals(self, out: Array, xs: Sequence[Array],
               attrs: Mapping[str, Array] | None = None) -> Array:
        """The local derivative of every port, stacked: shape (ports, *out.shape).
        Where the op itself is undefined (NaN from finite inputs: log −1, 0/0) every
        local is NaN too: a slope of a value that does not exist would mislead."""
        shape = np.shape(out)
        if self.variadic:
            xs = np.asarray(xs, dtype=np.float64)
            locs = np.array(np.broadcast_to(self.derivs[0](out, xs), (len(xs),) + shape))
        else:
            a = attrs or {}
            locs = np.empty((len(self.derivs),) + shape)
            for i, d in enumerate(self.derivs):
                locs[i] = d(out, *xs, **a)
        nan = np.isnan(out)
        if np.any(nan):
            undefined = nan
            for x in xs:
                undefined = undefined & np.isfinite(x)
            if np.any(undefined):
                locs[:, undefined] = np.nan
        return locs

    # ---------------------------------------------------------------- text
    def symbol_for(self, attrs: Mapping[str, float] | None = None) -> str:
        """The node's symbol: ``x²`` for a power node with exponent 2."""
        return self.node_symbol(**self._attrs(attrs)) if self.node_symbol else self.symbol

    def formula_text(self, attrs: Mapping[str, float] | None = None) -> str:
        return _text(self.formula, self._attrs(attrs))

    def deriv_text(self, port: str, attrs: Mapping[str, float] | None = None) -> str:
        i = 0 if self.variadic else self.ports.index(port)
        return _text(self.deriv_formulas[i], self._attrs(attrs))

    def tex_text(self, attrs: Mapping[str, float] | None = None) -> str:
        return _text(self.tex, self._attrs(attrs))

    def tex_deriv_text(self, port: str, attrs: Mapping[str, float] | None = None) -> str:
        i = 0 if self.variadic else self.ports.index(port)
        return _text(self.tex_derivs[i], self._attrs(attrs))

    def code_text(self, lang: str, attrs: Mapping[str, float] | None = None) -> str:
        """The forward as code: ``lang`` is "numpy" or "torch"."""
        return _text(self.np_code if lang == "numpy" else self.torch_code, self._attrs(attrs))

    def code_deriv_text(self, port: str, attrs: Mapping[str, float] | None = None) -> str:
        """The local derivative at ``port`` as a numpy expression."""
        i = 0 if self.variadic else self.ports.index(port)
        return _text(self.np_derivs[i], self._attrs(attrs))

    @property
    def has_code(self) -> bool:
        """Whether the op can be exported as code: a leaf, or every template given."""
        n = 1 if self.variadic else len(self.ports)
        return self.is_leaf or bool(self.np_code and self.torch_code
                                    and len(self.np_derivs) == n)

    def _attrs(self, attrs: Mapping[str, float] | None) -> dict[str, float]:
        out = self.default_attrs()
        if attrs:
            out.update((k, float(v)) for k, v in attrs.items() if k in out)
        return out

    def generic_formula(self, attrs: Mapping[str, float] | None = None) -> str:
        """The op with its port names, e.g. ``a·b`` — for tooltips and docs."""
        if self.variadic:
            return "x₁ + x₂ + … + xₙ"
        return self.formula_text(attrs).format(**{p: p for p in self.ports}, out="out")

    def generic_derivs(self, attrs: Mapping[str, float] | None = None) -> list[str]:
        """``∂(a·b)/∂a = b`` for each port."""
        f = self.generic_formula(attrs)
        if self.variadic:
            return [f"∂({f})/∂xᵢ = {self.deriv_text('x1', attrs)}"]
        names = {p: p for p in self.ports}
        return [f"∂({f})/∂{p} = {self.deriv_text(p, attrs).format(**names, out=f'({f})')}"
                for p in self.ports]


def _text(t: Text, attrs: dict[str, float]) -> str:
    return t(**attrs) if callable(t) else t


#: a variadic op's ports are x1, x2, … up to this many digits: ASCII only (``x²`` and
#: ``x١`` are not ports) and small enough for the fast engine's 64-bit port keys
MAX_PORT_DIGITS = 9
_VARIADIC_PORT = re.compile(r"x([1-9][0-9]{0,%d})" % (MAX_PORT_DIGITS - 1))


def _variadic_index(port: str) -> int | None:
    m = _VARIADIC_PORT.fullmatch(port) if isinstance(port, str) else None
    return int(m.group(1)) if m else None


def variadic_port_key(port: str) -> int:
    i = _variadic_index(port)
    return i if i is not None else 0


# ------------------------------------------------------------------ powers as text

_SUPER = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def superscript(e: float) -> str:
    """``x`` raised to ``e`` as display text after the base: ``²``, ``⁻¹``, ``^0.5``."""
    if float(e).is_integer() and abs(e) < 1000:
        return str(int(e)).translate(_SUPER)
    return "^" + full(e)


def _tex_num(e: float) -> str:
    return full(e).replace("−", "-")


def _power_deriv_text(exponent: float) -> str:
    """d/dx xⁿ = n·xⁿ⁻¹, simplified: ``2·{x}``, ``3·{x}²``, ``−{x}⁻²``, ``1``."""
    n = float(exponent)
    if n == 0 or n == 1:
        return full(n)
    body = "{x}" if n - 1 == 1 else "{x}" + superscript(n - 1)
    coef = full(n)
    return body if coef == "1" else "−" + body if coef == "−1" else f"{coef}·{body}"


def _power_tex_deriv(exponent: float) -> str:
    n = float(exponent)
    if n == 0 or n == 1:
        return _tex_num(n)
    body = "{x}" if n - 1 == 1 else "{x}^{{" + _tex_num(n - 1) + "}}"
    coef = _tex_num(n)
    return body if coef == "1" else "-" + body if coef == "-1" else coef + r" \cdot " + body



def _power_code(exponent: float) -> str:
    """xⁿ as numpy code: ``{x} ** 2.0``; a non-integer n through ``power``, which makes a
    negative base NaN as ``_power`` does."""
    n = float(exponent)
    return "{x} ** " + repr(n) if n.is_integer() else "power({x}, " + repr(n) + ")"


def _power_torch(exponent: float) -> str:
    return "{x} ** " + repr(float(exponent))


def _power_code_deriv(exponent: float) -> str:
    """n·xⁿ⁻¹ as numpy code, exactly what ``_pow_dbase`` computes for this n."""
    n = float(exponent)
    if n == 0 or n == 1:
        return repr(n)  # xⁿ is then the constant 1 (slope 0), or x (slope 1)
    if n == 2:
        return "2.0 * {x}"
    return repr(n) + " * " + _power_code(n - 1.0)

# ---------------------------------------------------------------- fault reasons
# Called with plain floats for one node whose forward value is not finite although
# its inputs are: one sentence a learner can read.

def _div_explain(a: float, b: float) -> str | None:
    if b == 0:
        return "0 / 0 is undefined" if a == 0 else f"division by zero: {fmt(a)} / 0"
    return "overflow: the quotient is too large"


def _pow_explain(a: float, b: float, what: str = "**") -> str | None:
    if a == 0 and b < 0:
        return f"0 to a negative power ({fmt(b)}) is infinite"
    if a < 0 and not float(b).is_integer():
        return (f"a power of a negative number is undefined for a non-integer exponent: "
                f"({fmt(a)}) {what} {fmt(b)}")
    return "overflow: the power is too large"


def _power_explain(x: float, exponent: float) -> str | None:
    return _pow_explain(x, exponent)


def _log_explain(x: float) -> str | None:
    if x < 0:
        return f"log is undefined for {fmt(x)}"
    if x == 0:
        return "log of 0 is −∞"
    return None


def _sqrt_explain(x: float) -> str | None:
    return f"√ is undefined for {fmt(x)}" if x < 0 else None


def _overflow(what: str) -> Callable[..., str]:
    return lambda *args, **attrs: f"overflow: {what} is too large"


# --------------------------------------------------------------------- functions

def _sum(xs: Array) -> Array:
    """``xs`` stacks the inputs, ports first. Added left to right from +0.0 (an
    accumulate is sequential by definition; a reduction may pair terms), so every
    evaluator adds in the same order. For groups of many samples the same additions run
    in place, port by port: an accumulate would write every partial sum."""
    if len(xs) == 0:
        return np.zeros(np.shape(xs)[1:])
    if xs.ndim >= 3 and len(xs) <= 64:
        out = xs[0] + 0.0  # −0.0 becomes +0.0 here rather than at the end: same result
        for x in xs[1:]:
            out += x
        return out
    return np.add.accumulate(xs, axis=0)[-1] + 0.0


def _sigmoid(x: Array) -> Array:
    """1/(1+e⁻ˣ) for x ≥ 0 and eˣ/(1+eˣ) for x < 0: exp never overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _power(a: Array, b: Array) -> Array:
    """aᵇ, undefined (NaN) for a negative base with a non-integer exponent, −∞ included:
    numpy computes a ** 0.5 as √a for some calls and with pow() for others, and the two
    disagree at −∞ (NaN against +∞)."""
    y = np.power(a, b)
    return np.where((a < 0) & (np.floor(b) != b), np.nan, y)


def _pow_dbase(y: Array, a: Array, b: Array) -> Array:
    return np.where(b == 0, 0.0, b * _power(a, b - 1.0))  # a**0 is the constant 1


def _pow_dexp(y: Array, a: Array, b: Array) -> Array:
    return np.where((a == 0) & (b > 0), 0.0, y * np.log(a))  # limit of aᵇ·ln a at 0⁺


def _one(*args: Array) -> float:
    return 1.0


def _minus_one(*args: Array) -> float:
    return -1.0


OPS: dict[str, OpSpec] = {}


def register(spec: OpSpec) -> OpSpec:
    """Add an op to the registry (the parser, loader, palette and docs follow)."""
    if spec.name in OPS:
        raise ValueError(f"op {spec.name!r} is already registered")
    if not spec.is_leaf:
        n = 1 if spec.variadic else len(spec.ports)
        if not (len(spec.derivs) == len(spec.deriv_formulas) == len(spec.tex_derivs) == n):
            raise ValueError(f"op {spec.name!r}: one derivative, formula and LaTeX "
                             "formula per port")
    OPS[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove an op (for tests that register a throwaway op)."""
    del OPS[name]


register(OpSpec("input", "x", "leaf", "Input", conventions="A value you set; not trained."))
register(OpSpec("param", "θ", "leaf", "Parameter",
                conventions="A trainable value: gradient descent updates it."))
register(OpSpec("const", "c", "leaf", "Constant",
                conventions="A fixed number. It has no gradient, and neither has any node "
                            "computed from constants alone."))
register(OpSpec("data", "xᵢ", "leaf", "Data",
                conventions="One column of the dataset: with a dataset attached it holds one "
                            "value per sample and the loss is averaged over the samples; "
                            "without one it is an input you set."))

register(OpSpec(
    "add", "+", "arithmetic", "Add", ("a", "b"), ("a", "b"),
    lambda a, b: a + b, (_one, _one), "{a} + {b}", ("1", "1"),
    "{a} + {b}", ("1", "1"), explain=_overflow("the sum"), unit_locals=True,
    np_code="{a} + {b}", torch_code="{a} + {b}",
    np_derivs=("1.0", "1.0")))
register(OpSpec(
    "sub", "−", "arithmetic", "Subtract", ("a", "b"), ("a", "b"),
    lambda a, b: a - b, (_one, _minus_one), "{a} − {b}", ("1", "−1"),
    "{a} - {b}", ("1", "-1"), explain=_overflow("the difference"),
    np_code="{a} - {b}", torch_code="{a} - {b}",
    np_derivs=("1.0", "-1.0")))
register(OpSpec(
    "mul", "×", "arithmetic", "Multiply", ("a", "b"), ("a", "b"),
    lambda a, b: a * b, (lambda y, a, b: b, lambda y, a, b: a), "{a}·{b}", ("{b}", "{a}"),
    r"{a} \cdot {b}", ("{b}", "{a}"), explain=_overflow("the product"),
    np_code="{a} * {b}", torch_code="{a} * {b}",
    np_derivs=("{b}", "{a}")))
register(OpSpec(
    "div", "÷", "arithmetic", "Divide", ("a", "b"), ("numerator", "denominator"),
    lambda a, b: a / b,
    (lambda y, a, b: 1.0 / b, lambda y, a, b: -a / (b * b)),
    "{a} / {b}", ("1/{b}", "−{a}/{b}²"),
    r"\frac{{{a}}}{{{b}}}", (r"\frac{{1}}{{{b}}}", r"-\frac{{{a}}}{{{b}^{{2}}}}"),
    explain=_div_explain,
    conventions="x/0 is ±inf (undefined for 0/0); the local derivatives are then not "
                "finite.",
    np_code="{a} / {b}", torch_code="{a} / {b}",
    np_derivs=("1.0 / {b}", "-{a} / ({b} * {b})")))
register(OpSpec(
    "neg", "−x", "arithmetic", "Negate", ("x",), ("x",),
    lambda x: -x, (_minus_one,), "−{x}", ("−1",), "-{x}", ("-1",),
    np_code="-{x}", torch_code="-{x}",
    np_derivs=("-1.0",)))
register(OpSpec(
    "pow", "xʸ", "arithmetic", "Power", ("base", "exponent"),
    ("base", "exponent"),
    _power, (_pow_dbase, _pow_dexp),
    "{base}^{exponent}", ("{exponent}·{base}^({exponent} − 1)", "{base}^{exponent}·ln {base}"),
    "{base}^{exponent}",
    (r"{exponent} \cdot {base}^({exponent} - 1)", r"{base}^{exponent} \cdot \ln {base}"),
    explain=_pow_explain,
    conventions=(
        "For a fixed exponent write x ** 2 (the `power` op). 0⁰ = 1. ∂/∂base is 0 when "
        "the exponent is 0. ∂/∂exponent = aᵇ·ln a is 0 at a = 0 with b > 0 (its limit) "
        "and undefined for a negative base, where aᵇ is not a differentiable function of "
        "b. A negative base with a non-integer exponent is undefined; 0 to a negative "
        "power is inf."),
    np_code="power({base}, {exponent})", torch_code="{base} ** {exponent}",
    np_derivs=("np.where({exponent} == 0, 0.0, {exponent} * power({base}, {exponent} - 1.0))",
               "np.where(({base} == 0) & ({exponent} > 0), 0.0, {out} * np.log({base}))")))
register(OpSpec(
    "power", "xⁿ", "arithmetic",
    "Fixed power", ("x",), ("x",),
    lambda x, exponent: _power(x, exponent),
    (lambda y, x, exponent: _pow_dbase(y, x, exponent),),
    lambda exponent: "{x}" + superscript(exponent), (_power_deriv_text,),
    lambda exponent: "{x}^{{" + _tex_num(exponent) + "}}", (_power_tex_deriv,),
    explain=_power_explain, attrs=(("exponent", 2.0),),
    node_symbol=lambda exponent: "x" + superscript(exponent),
    conventions=(
        "x ** n for a fixed number n (written x², x³, x^0.5): one input, and n·xⁿ⁻¹ on "
        "its edge. 0⁰ = 1; a negative x with a non-integer n is undefined; 0 to a "
        "negative power is inf."),
    np_code=_power_code, torch_code=_power_torch,
    np_derivs=(_power_code_deriv,)))
register(OpSpec(
    "square", "x²", "arithmetic", "Square", ("x",), ("x",),
    lambda x: x * x, (lambda y, x: 2.0 * x,), "{x}²", ("2·{x}",),
    "{x}^{{2}}", (r"2 \cdot {x}",), explain=_overflow("the square"),
    np_code="{x} * {x}", torch_code="{x} * {x}",
    np_derivs=("2.0 * {x}",)))

register(OpSpec(
    "exp", "eˣ", "function", "Exponential", ("x",), ("x",),
    np.exp, (lambda y, x: y,), "exp({x})", ("exp({x})",),
    r"\exp({x})", (r"\exp({x})",),
    explain=lambda x: f"overflow: exp({fmt(x)}) is too large",
    conventions="exp(x) overflows to inf for x > 709.78.",
    np_code="np.exp({x})", torch_code="torch.exp({x})",
    np_derivs=("{out}",)))
register(OpSpec(
    "log", "ln", "function", "Natural log", ("x",), ("x",),
    np.log, (lambda y, x: 1.0 / x,), "ln {x}", ("1/{x}",),
    r"\ln {x}", (r"\frac{{1}}{{{x}}}",),
    explain=_log_explain,
    conventions="ln 0 = −inf; ln of a negative number is undefined (NaN).",
    np_code="np.log({x})", torch_code="torch.log({x})",
    np_derivs=("1.0 / {x}",)))
register(OpSpec(
    "sqrt", "√", "function", "Square root", ("x",), ("x",),
    np.sqrt, (lambda y, x: 0.5 / y,), "√{x}", ("1/(2√{x})",),
    r"\sqrt{{{x}}}", (r"\frac{{1}}{{2\sqrt{{{x}}}}}",),
    explain=_sqrt_explain,
    conventions="√ of a negative number is undefined (NaN); the derivative at 0 is +inf.",
    np_code="np.sqrt({x})", torch_code="torch.sqrt({x})",
    np_derivs=("0.5 / {out}",)))
register(OpSpec(
    "abs", "|x|", "function", "Absolute value", ("x",), ("x",),
    np.abs, (lambda y, x: np.sign(x),), "|{x}|", ("sign({x})",),
    r"\left|{x}\right|", (r"\operatorname{{sign}}({x})",),
    conventions="abs′(0) = 0 (a kink: the one-sided derivatives are −1 and 1).",
    np_code="np.abs({x})", torch_code="torch.abs({x})",
    np_derivs=("np.sign({x})",)))
register(OpSpec(
    "sin", "sin", "function", "Sine", ("x",), ("x",),
    np.sin, (lambda y, x: np.cos(x),), "sin {x}", ("cos {x}",),
    r"\sin {x}", (r"\cos {x}",),
    np_code="np.sin({x})", torch_code="torch.sin({x})",
    np_derivs=("np.cos({x})",)))
register(OpSpec(
    "cos", "cos", "function", "Cosine", ("x",), ("x",),
    np.cos, (lambda y, x: -np.sin(x),), "cos {x}", ("−sin {x}",),
    r"\cos {x}", (r"-\sin {x}",),
    np_code="np.cos({x})", torch_code="torch.cos({x})",
    np_derivs=("-np.sin({x})",)))
register(OpSpec(
    "tanh", "tanh", "function", "Hyperbolic tangent", ("x",), ("x",),
    np.tanh, (lambda y, x: 1.0 - y * y,), "tanh {x}", ("1 − tanh²{x}",),
    r"\tanh {x}", (r"1 - \tanh^{{2}} {x}",),
    np_code="np.tanh({x})", torch_code="torch.tanh({x})",
    np_derivs=("1.0 - {out} * {out}",)))
register(OpSpec(
    "sigmoid", "σ", "function", "Sigmoid", ("x",), ("x",),
    _sigmoid, (lambda y, x: y * (1.0 - y),), "σ({x})", ("σ({x})·(1 − σ({x}))",),
    r"\sigma({x})", (r"\sigma({x}) \cdot (1 - \sigma({x}))",),
    conventions="Computed as 1/(1+e⁻ˣ) for x ≥ 0 and eˣ/(1+eˣ) for x < 0, so it never "
                "overflows; for |x| > 745 the derivative underflows to 0.",
    np_code="sigmoid({x})", torch_code="torch.sigmoid({x})",
    np_derivs=("{out} * (1.0 - {out})",)))
register(OpSpec(
    "relu", "ReLU", "function", "ReLU", ("x",), ("x",),
    lambda x: np.maximum(x, 0.0), (lambda y, x: np.where(x > 0, 1.0, 0.0),),
    "relu({x})", ("1 if {x} > 0 else 0",),
    r"\operatorname{{relu}}({x})", (r"[{x} > 0]",),
    conventions="relu′(0) = 0 (a kink: the one-sided derivatives are 0 and 1).",
    np_code="np.maximum({x}, 0.0)", torch_code="torch.relu({x})",
    np_derivs=("np.where({x} > 0, 1.0, 0.0)",)))
register(OpSpec(
    "sum", "Σ", "arithmetic", "Sum", (), (),
    _sum, (lambda y, xs: np.ones_like(xs),), "", ("1",), "", ("1",),
    explain=_overflow("the sum"), variadic=True, unit_locals=True,
    conventions="Any number of inputs on ports x1, x2, …, added left to right; the empty "
                "sum is 0.",
    np_code="{xs: + }", torch_code="{xs: + }",
    np_derivs=("1.0",)))
register(OpSpec(
    "squared_error", "(t−p)²", "loss", "Squared error", ("target", "prediction"),
    ("target", "prediction"),
    lambda t, p: (t - p) * (t - p),
    (lambda y, t, p: 2.0 * (t - p), lambda y, t, p: -2.0 * (t - p)),
    "({target} − {prediction})²",
    ("2({target} − {prediction})", "−2({target} − {prediction})"),
    "({target} - {prediction})^{{2}}",
    ("2({target} - {prediction})", "-2({target} - {prediction})"),
    explain=_overflow("the squared error"),
    conventions="(target − prediction)², the tutorial's loss, with no ½.",
    np_code="({target} - {prediction}) * ({target} - {prediction})",
    torch_code="({target} - {prediction}) ** 2",
    np_derivs=("2.0 * ({target} - {prediction})", "-2.0 * ({target} - {prediction})")))

def _bce(t: Array, p: Array) -> Array:
    """−(t·ln p + (1 − t)·ln(1 − p)) with each log clamped at −100, as PyTorch's
    BCELoss does: a prediction of exactly 0 or 1 (a sigmoid of a huge logit) gives a
    large finite loss, not inf or NaN; ln(1 − p) is log1p(−p), exact for small p."""
    return -(t * _clamped_log(p) + (1.0 - t) * _clamped_log1m(p))


def _clamped_log(p: Array) -> Array:
    return np.maximum(np.log(p), -100.0)


def _clamped_log1m(p: Array) -> Array:
    return np.maximum(np.log1p(-p), -100.0)


def _bce_dtarget(y: Array, t: Array, p: Array) -> Array:
    return _clamped_log1m(p) - _clamped_log(p)


def _bce_dpred(y: Array, t: Array, p: Array) -> Array:
    """(p − t) / (p(1 − p)), the denominator kept ≥ 1e-12 (PyTorch's choice) so a
    saturated prediction gives a large finite slope; the sigmoid before it then
    contributes p(1 − p) = 0, and the product is 0, not NaN."""
    return (p - t) / np.maximum(p * (1.0 - p), 1e-12)


register(OpSpec(
    "binary_cross_entropy", "BCE", "loss", "Binary cross-entropy", ("target", "prediction"),
    ("target", "prediction"),
    _bce, (_bce_dtarget, _bce_dpred),
    "−({target}·ln {prediction} + (1 − {target})·ln(1 − {prediction}))",
    ("ln(1 − {prediction}) − ln {prediction}",
     "({prediction} − {target}) / ({prediction}·(1 − {prediction}))"),
    r"-\left({target} \ln {prediction} + (1 - {target}) \ln(1 - {prediction})\right)",
    (r"\ln(1 - {prediction}) - \ln {prediction}",
     r"\frac{{{prediction} - {target}}}{{{prediction} (1 - {prediction})}}"),
    conventions="For a target t in [0, 1] and a predicted probability p (a sigmoid's "
                "output). Each log is clamped at −100 and the slope's denominator "
                "p(1 − p) at 1e-12, as PyTorch's BCELoss does, so a prediction of exactly "
                "0 or 1 gives a large finite loss and slope, never inf or NaN. In "
                "expressions: bce(t, p).",
    np_code=("-({target} * clamped_log({prediction})"
             " + (1.0 - {target}) * clamped_log1m({prediction}))"),
    torch_code="BinaryCrossEntropy.apply({target}, {prediction})",
    np_derivs=("clamped_log1m({prediction}) - clamped_log({prediction})",
               "({prediction} - {target})"
               " / np.maximum({prediction} * (1.0 - {prediction}), 1e-12)")))

#: functions an exported numpy script defines when its code calls them (by name), each
#: computing what the function of the same role above computes
CODE_HELPERS: dict[str, str] = {
    "power": (
        "def power(a, b):\n"
        "    \"\"\"a ** b, undefined (NaN) for a negative base with a non-integer "
        "exponent.\"\"\"\n"
        "    return np.where((a < 0) & (np.floor(b) != b), np.nan, np.power(a, b))\n"),
    "sigmoid": (
        "def sigmoid(x):\n"
        "    \"\"\"1/(1+exp(-x)) for x >= 0, exp(x)/(1+exp(x)) below: exp never "
        "overflows.\"\"\"\n"
        "    e = np.exp(-np.abs(x))\n"
        "    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))\n"),
    "clamped_log": (
        "def clamped_log(p):\n"
        "    \"\"\"ln p, at least -100 (as PyTorch's BCELoss clamps it).\"\"\"\n"
        "    return np.maximum(np.log(p), -100.0)\n"),
    "clamped_log1m": (
        "def clamped_log1m(p):\n"
        "    \"\"\"ln(1 - p), at least -100.\"\"\"\n"
        "    return np.maximum(np.log1p(-p), -100.0)\n"),
}

#: what an exported PyTorch script defines when its code uses it (by name): BCE with
#: BCELoss's slope, which autograd through the clamped logs of the formula does not give
#: (at a saturated prediction it gives NaN where the registry's slope is finite)
TORCH_HELPERS: dict[str, str] = {
    "BinaryCrossEntropy": (
        "class BinaryCrossEntropy(torch.autograd.Function):\n"
        "    \"\"\"-(t ln p + (1 - t) ln(1 - p)), each log at least -100, and the slope\n"
        "    (p - t) / max(p (1 - p), 1e-12) as PyTorch's BCELoss has it: finite even for a\n"
        "    prediction of exactly 0 or 1.\"\"\"\n"
        "\n"
        "    @staticmethod\n"
        "    def forward(ctx, t, p):\n"
        "        log_p = torch.clamp(torch.log(p), min=-100.0)\n"
        "        log_1mp = torch.clamp(torch.log1p(-p), min=-100.0)\n"
        "        ctx.save_for_backward(t, p, log_p, log_1mp)\n"
        "        return -(t * log_p + (1.0 - t) * log_1mp)\n"
        "\n"
        "    @staticmethod\n"
        "    def backward(ctx, grad):\n"
        "        t, p, log_p, log_1mp = ctx.saved_tensors\n"
        "        d_t = grad * (log_1mp - log_p)\n"
        "        d_p = grad * ((p - t) / torch.clamp(p * (1.0 - p), min=1e-12))\n"
        "        return d_t.sum_to_size(t.shape), d_p.sum_to_size(p.shape)\n"),
}

#: short spellings the expression language accepts for an op
ALIASES = {"bce": "binary_cross_entropy"}

GROUPS = ("leaf", "arithmetic", "function", "loss")
LEAF_KINDS = tuple(n for n, s in OPS.items() if s.is_leaf)
#: leaf kinds a gradient is taken with respect to (PyTorch's requires_grad)
VARIABLE_KINDS = ("input", "param", "data")


def op_spec(name: str) -> OpSpec:
    return OPS[name]


def explain_value(spec: OpSpec, args: Sequence[float], attrs: Mapping[str, float]) -> str:
    """Why an op's value is not finite although its inputs are, in one sentence."""
    why = spec.explain(*map(float, args), **attrs) if spec.explain else None
    return why or f"{spec.title.lower()} is not finite here"


def explain_local(spec: OpSpec, local: float, args: Sequence[float],
                  attrs: Mapping[str, float]) -> str:
    """Why a local derivative is not finite although the op's value is: an infinite
    slope (√ at 0) or one that is undefined there."""
    at = ", ".join(fmt(a) for a in args)
    name = spec.title.lower()
    if math.isinf(local):
        return f"the slope of {name} is infinite at {at}"
    return f"the slope of {name} is undefined at {at}"
