"""Fast kernels for the compiled engine, one pair per op: numpy (whole groups) and scalar.

The registry (engine.ops) stays the single source of meaning; these kernels restate each
op's forward and local derivatives so a whole group of nodes — or one node in a plain
Python loop — can be evaluated without numpy-scalar overhead. tests/engine/test_compiled.py
checks that every op in OPS has both kernels and that they equal the registry bit for bit
on random and special inputs (zeros of both signs, infinities, NaN, huge values).

Vector kernels take one float64 array per port and return ``(out, locals)`` where each
local is an array or a constant float. Scalar kernels take Python floats and return
``(out, local_1, …)``; any arithmetic exception falls back to the registry, so faults
give the registry's IEEE NaN/inf. Transcendental functions use ``math`` only where it
agrees with numpy on this machine (checked once at import on a spread of arguments);
otherwise the numpy scalar function is called, so the scalar path is exact too.
"""

from __future__ import annotations

import math
import operator
from typing import Callable

import numpy as np

from engine.ops import OPS

F = np.float64
VectorKernel = Callable[..., tuple]
ScalarKernel = Callable[..., tuple]


# ------------------------------------------------------------------ vector kernels

def _v_sigmoid(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    neg = ~pos
    e = np.exp(x[neg])
    out[neg] = e / (1.0 + e)
    return out


def _v_sigmoid_k(x: np.ndarray) -> tuple:
    s = _v_sigmoid(x)
    return s, (s * (1.0 - s),)


def elementwise(op: str) -> VectorKernel:
    """A vector kernel that calls the registry element by element: exact, slow. Used for
    pow, whose array loop in numpy special-cases some exponents (``(-0.0) ** 0.5`` is
    +0.0 for arrays but −0.0 for scalars), and for any op added without a kernel."""
    def k(*arrays: np.ndarray) -> tuple:
        scalar = registry_scalar(op)
        if len(arrays) == 1 and arrays[0].ndim == 2:  # variadic: one stacked array
            arrays = tuple(arrays[0])
        rows = [scalar(*xs) for xs in zip(*(a.tolist() for a in arrays))]
        width = 1 + len(arrays)
        cols = np.array(rows, dtype=np.float64).reshape(len(rows), width).T
        return cols[0], tuple(cols[1:])
    return k


def _v_tanh(x: np.ndarray) -> tuple:
    t = np.tanh(x)
    # np.power with an array exponent calls pow() like the registry's scalar t ** 2;
    # ``t * t`` (numpy's fast path for a scalar exponent 2) differs in the last bit.
    return t, (1.0 - np.power(t, np.full(t.shape, 2.0)),)


def _v_sqrt(x: np.ndarray) -> tuple:
    s = np.sqrt(x)
    return s, (0.5 / s,)


def _v_exp(x: np.ndarray) -> tuple:
    e = np.exp(x)
    return e, (e,)


def _v_squared_error(t: np.ndarray, p: np.ndarray) -> tuple:
    d = t - p
    return d * d, (2.0 * d, -2.0 * d)


def _v_sum(x: np.ndarray) -> tuple:
    """``x`` has shape (ports, n). Summed left to right from 0.0, like ``sum(xs, 0.0)``;
    the final ``+ 0.0`` turns an all-negative-zero sum into +0.0 as the registry does."""
    k, n = x.shape
    if k == 0:
        return np.zeros(n), ()
    if n >= k:  # many short sums: accumulate down the columns
        acc = np.add.accumulate(x, axis=0)[-1] + 0.0
    else:  # few long sums: accumulate along contiguous rows
        acc = np.add.accumulate(np.ascontiguousarray(x.T), axis=1)[:, -1] + 0.0
    return acc, (1.0,) * k


VECTOR: dict[str, VectorKernel] = {
    "add": lambda a, b: (a + b, (1.0, 1.0)),
    "sub": lambda a, b: (a - b, (1.0, -1.0)),
    "mul": lambda a, b: (a * b, (b, a)),
    "div": lambda a, b: (a / b, (1.0 / b, -a / (b * b))),
    "neg": lambda x: (-x, (-1.0,)),
    "pow": elementwise("pow"),
    "square": lambda x: (x * x, (2.0 * x,)),
    "exp": _v_exp,
    "log": lambda x: (np.log(x), (1.0 / x,)),
    "sqrt": _v_sqrt,
    "abs": lambda x: (np.abs(x), (np.sign(x),)),
    "sin": lambda x: (np.sin(x), (np.cos(x),)),
    "cos": lambda x: (np.cos(x), (-np.sin(x),)),
    "tanh": _v_tanh,
    "sigmoid": _v_sigmoid_k,
    "relu": lambda x: (np.maximum(x, 0.0), ((x > 0).astype(np.float64),)),
    "sum": _v_sum,  # special: called with one stacked (ports, n) array
    "squared_error": _v_squared_error,
}


# ------------------------------------------------------------------ scalar kernels

def _calibrated(name: str) -> Callable[[float], float]:
    """``math.<name>`` when it equals ``np.<name>`` on a spread of arguments, else numpy."""
    mf, nf = getattr(math, name), getattr(np, name)
    rng = np.random.default_rng(12345)
    xs = np.concatenate([rng.normal(0, 1, 1500), rng.normal(0, 30, 1500),
                         rng.uniform(-700, 700, 500), rng.uniform(0, 1e-3, 300)])
    if name == "log":
        xs = np.abs(xs) + 1e-300
    try:
        same = all(mf(float(x)) == float(nf(x)) for x in xs)
    except (ValueError, OverflowError):
        same = False
    if same:
        return mf
    return lambda x: float(nf(x))


_exp = _calibrated("exp")
_log = _calibrated("log")
_sin = _calibrated("sin")
_cos = _calibrated("cos")
_tanh = _calibrated("tanh")
_sqrt = math.sqrt  # IEEE 754 requires a correctly rounded square root


def registry_scalar(op: str) -> ScalarKernel:
    """The registry's own forward and derivatives as a scalar kernel (the slow, sure path)."""
    spec = OPS[op]
    fwd, derivs = spec.forward, spec.derivs
    if spec.variadic:
        d = derivs[0]

        def kv(*xs: float) -> tuple:
            a = [F(x) for x in xs]
            return (float(fwd(*a)), *[float(d(*a)) for _ in a])
        return kv

    def k(*xs: float) -> tuple:
        a = [F(x) for x in xs]
        return (float(fwd(*a)), *[float(dd(*a)) for dd in derivs])
    return k


def _guard(fast: ScalarKernel, op: str) -> ScalarKernel:
    slow = registry_scalar(op)

    def k(*xs: float) -> tuple:
        try:
            return fast(*xs)
        except (ArithmeticError, ValueError):
            return slow(*xs)
    return k


def _s_div(a: float, b: float) -> tuple:
    return a / b, 1.0 / b, -a / (b * b)


def _s_exp(x: float) -> tuple:
    e = _exp(x)
    return e, e


def _s_log(x: float) -> tuple:
    if x <= 0.0:
        raise ValueError
    return _log(x), 1.0 / x


def _s_sqrt(x: float) -> tuple:
    s = _sqrt(x)
    return s, 0.5 / s


def _s_abs(x: float) -> tuple:
    if x > 0.0:
        return x, 1.0
    if x < 0.0:
        return -x, -1.0
    raise ValueError  # zero or NaN: let the registry decide signs


def _s_tanh(x: float) -> tuple:
    t = _tanh(x)
    return t, 1.0 - t ** 2


def _s_sigmoid(x: float) -> tuple:
    if x >= 0:
        s = 1.0 / (1.0 + _exp(-x))
    else:
        e = _exp(x)
        s = e / (1.0 + e)
    return s, s * (1.0 - s)


def _s_relu(x: float) -> tuple:
    if x > 0.0:
        return x, 1.0
    if x < 0.0:
        return 0.0, 0.0
    raise ValueError  # zero (signed) or NaN: the registry's np.maximum decides


def _s_sum(*xs: float) -> tuple:
    acc = 0.0
    for x in xs:
        acc += x
    return (acc, *(1.0 for _ in xs))


def _s_sqerr(t: float, p: float) -> tuple:
    d = t - p
    return d * d, 2.0 * d, -2.0 * d


_SCALAR_FAST: dict[str, ScalarKernel] = {
    "add": lambda a, b: (a + b, 1.0, 1.0),
    "sub": lambda a, b: (a - b, 1.0, -1.0),
    "mul": lambda a, b: (a * b, b, a),
    "div": _s_div,
    "neg": lambda x: (-x, -1.0),
    "square": lambda x: (x * x, 2.0 * x),
    "exp": _s_exp,
    "log": _s_log,
    "sqrt": _s_sqrt,
    "abs": _s_abs,
    "sin": lambda x: (_sin(x), _cos(x)),
    "cos": lambda x: (_cos(x), -_sin(x)),
    "tanh": _s_tanh,
    "sigmoid": _s_sigmoid,
    "relu": _s_relu,
    "sum": _s_sum,
    "squared_error": _s_sqerr,
}
#: ops whose fast scalar kernel can raise (everything else is plain float arithmetic)
_MAY_RAISE = {"div", "exp", "log", "sqrt", "abs", "sigmoid", "relu", "sin", "cos", "tanh"}

SCALAR: dict[str, ScalarKernel] = {}
for _op, _spec in OPS.items():
    if _spec.is_leaf:
        continue
    if _op in _SCALAR_FAST:
        _k = _SCALAR_FAST[_op]
        SCALAR[_op] = _guard(_k, _op) if _op in _MAY_RAISE else _k
    else:
        SCALAR[_op] = registry_scalar(_op)  # pow and any op added later: exact, slower


# ------------------------------------------------------------------ value functions
# The plain loop computes only values (locals come from the vector kernels afterwards);
# each is one cheap call on Python floats. They may raise on faults: the loop then uses
# ``registry_value``.

def registry_value(op: str) -> Callable[..., float]:
    fwd = OPS[op].forward
    return lambda *xs: float(fwd(*[F(x) for x in xs]))


def _sum_value(*xs: float) -> float:
    acc = 0.0
    for x in xs:
        acc += x
    return acc


def _sigmoid_value(x: float, exp: Callable[[float], float] = _exp) -> float:
    if x >= 0:
        return 1.0 / (1.0 + exp(-x))
    e = exp(x)
    return e / (1.0 + e)


def _relu_value(x: float) -> float:
    if x > 0.0:
        return x
    if x == x:
        return 0.0  # np.maximum(±0.0 or negative, 0.0) is +0.0
    return x


def _value_table(exp, log, sin, cos, tanh) -> dict[str, Callable[..., float]]:
    def log_v(x: float) -> float:
        if x <= 0.0:
            raise ValueError
        return log(x)
    return {
        "add": operator.add, "sub": operator.sub, "mul": operator.mul,
        "div": operator.truediv, "neg": operator.neg, "square": lambda x: x * x,
        "exp": exp, "log": log_v, "sqrt": math.sqrt, "abs": abs, "sin": sin, "cos": cos,
        "tanh": tanh, "sigmoid": lambda x: _sigmoid_value(x, exp), "relu": _relu_value,
        "sum": _sum_value, "squared_error": lambda t, p: (t - p) * (t - p),
    }


#: bit-for-bit with the registry (math only where it agrees with numpy here)
VALUE_EXACT = _value_table(_exp, _log, _sin, _cos, _tanh)
#: the C library's functions throughout: may differ from numpy in the last bit
VALUE_FAST = _value_table(math.exp, math.log, math.sin, math.cos, math.tanh)


def value_fn(op: str, exact: bool = True) -> Callable[..., float]:
    table = VALUE_EXACT if exact else VALUE_FAST
    return table.get(op) or registry_value(op)
