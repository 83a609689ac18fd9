"""A small scalar autograd in the style of micrograd, written for these benchmarks.

Each Value holds its number, its gradient and a closure that pushes its gradient to the
Values it was made from; ``backward`` orders the graph topologically and runs the
closures in reverse. This is the "one Python object per scalar" design the compiled
engine is compared with.
"""

from __future__ import annotations

import math


class Value:
    __slots__ = ("data", "grad", "_prev", "_back")

    def __init__(self, data: float, prev: tuple = (), back=None) -> None:
        self.data = data
        self.grad = 0.0
        self._prev = prev
        self._back = back

    def __add__(self, other: "Value") -> "Value":
        out = Value(self.data + other.data, (self, other))

        def back() -> None:
            self.grad += out.grad
            other.grad += out.grad
        out._back = back
        return out

    def __sub__(self, other: "Value") -> "Value":
        out = Value(self.data - other.data, (self, other))

        def back() -> None:
            self.grad += out.grad
            other.grad -= out.grad
        out._back = back
        return out

    def __mul__(self, other: "Value") -> "Value":
        out = Value(self.data * other.data, (self, other))

        def back() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._back = back
        return out

    def tanh(self) -> "Value":
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def back() -> None:
            self.grad += (1.0 - t * t) * out.grad
        out._back = back
        return out

    def sigmoid(self) -> "Value":
        x = self.data
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        out = Value(s, (self,))

        def back() -> None:
            self.grad += s * (1.0 - s) * out.grad
        out._back = back
        return out

    def sin(self) -> "Value":
        out = Value(math.sin(self.data), (self,))

        def back() -> None:
            self.grad += math.cos(self.data) * out.grad
        out._back = back
        return out

    @staticmethod
    def total(values: list["Value"]) -> "Value":
        acc = 0.0
        for v in values:
            acc += v.data
        out = Value(acc, tuple(values))

        def back() -> None:
            for v in values:
                v.grad += out.grad
        out._back = back
        return out

    def squared_error(self, prediction: "Value") -> "Value":
        d = self.data - prediction.data
        out = Value(d * d, (self, prediction))

        def back() -> None:
            self.grad += 2.0 * d * out.grad
            prediction.grad -= 2.0 * d * out.grad
        out._back = back
        return out

    def backward(self) -> None:
        order: list[Value] = []
        seen: set[int] = set()
        stack = [(self, False)]
        while stack:  # iterative post-order: chains are deeper than the recursion limit
            v, done = stack.pop()
            if done:
                order.append(v)
                continue
            if id(v) in seen:
                continue
            seen.add(id(v))
            stack.append((v, True))
            stack.extend((p, False) for p in v._prev if id(p) not in seen)
        self.grad = 1.0
        for v in reversed(order):
            if v._back is not None:
                v._back()


def run(program: list[tuple[str, list[int]]], leaves: list[Value], n_nodes: int) -> Value:
    """Forward through the flat program (op, input slots) and backward from its last node."""
    slots: list = [None] * n_nodes
    for i, v in enumerate(leaves):
        slots[i] = v
    k = len(leaves)
    for op, ins in program:
        a = slots[ins[0]] if ins else None
        if op == "mul":
            r = a * slots[ins[1]]
        elif op == "add":
            r = a + slots[ins[1]]
        elif op == "sub":
            r = a - slots[ins[1]]
        elif op == "tanh":
            r = a.tanh()
        elif op == "sigmoid":
            r = a.sigmoid()
        elif op == "sin":
            r = a.sin()
        elif op == "sum":
            r = Value.total([slots[j] for j in ins])
        elif op == "squared_error":
            r = a.squared_error(slots[ins[1]])
        else:
            raise ValueError(op)
        slots[k] = r
        k += 1
    out = slots[k - 1]
    out.backward()
    return out
