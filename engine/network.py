"""Build the scalar graph of a multilayer perceptron in one call (Insert › Network…).

Every weight is its own ``param`` leaf, so each one shows its local derivative and its
gradient on the canvas. For neuron ``j`` of layer ``l`` with inputs ``a₁ … aₙ``::

    wa{l}_{j}_{i} = w{l}_{j}_{i} · a_i          (one ``mul`` per weight)
    z{l}_{j}      = Σ(wa{l}_{j}_1, …, wa{l}_{j}_n, b{l}_{j})   (one variadic ``sum``, bias last)
    h{l}_{j}      = activation(z{l}_{j})        (hidden layers)
    yhat          = output_activation(z{L}_1)   (the output layer: one neuron)
    loss          = loss(target=y, prediction=yhat)   (the graph's output)

**Names.** Node names must be identifiers, so ``w[l][j][i]`` is spelled ``w{l}_{j}_{i}``:
layer, then the neuron it feeds (*to*), then the input it weighs (*from*), all 1-based;
``w2_1_3`` is layer 2's weight from input 3 into neuron 1. Biases are ``b{l}_{j}``.
Layers count from the first hidden layer (1) to the output layer (``len(hidden) + 1``);
layer 1's inputs are the data leaves, named after their columns (``x1``, ``x2``…) or
``x{i}`` when a column's name is not an identifier. The target is the data leaf ``y``.
With output activation ``"none"`` the output sum itself is named ``yhat``. When a name
is already used in the graph the network is built into, every name of the network gets
the prefix ``net2_`` (``net3_``, … the first that is free), so two networks never share
a name; pass ``prefix`` to choose one (a clash then raises InvalidNameError).

**Initial values.** ``np.random.default_rng(seed)`` draws each layer's weights, layer by
layer, as one ``(fan_out, fan_in)`` standard-normal matrix scaled by ``sqrt(gain/fan_in)``:
LeCun normal (Glorot's fan-in form, variance 1/fan_in) for tanh, sigmoid and the output
layer, He normal (variance 2/fan_in) for layers into relu. Biases start at 0. Data leaves
hold a sample (``sample``, else the first training row of ``graph.dataset`` where it has
the column, else 1), used when no dataset is attached.

**Layout.** Left to right, on a grid of node rows: the inputs share their column with
layer 1's weights (each weight in the row of its ``mul``, so no edge crosses a node),
then per layer the ``mul`` column (biases in it, one row below their neuron's last
product), the ``sum`` column (each centred on its neuron's rows) and the activation
column, which holds the next layer's weights too. Target and prediction sit together
before the loss. Column gaps leave room for the edge labels, as ``engine.layout`` does.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from engine.dataset import TARGET
from engine.errors import InvalidNameError
from engine.graph import RESERVED, Graph
from engine.layout import NODE_BASE_HEIGHT, NODE_WIDTH, ROW_GAP, column_gap, node_size
from engine.names import MAX_NAME, is_valid_name

ACTIVATIONS = ("tanh", "sigmoid", "relu")
#: "none": the output neuron's sum is the prediction
OUTPUT_ACTIVATIONS = ("sigmoid", "tanh", "none")
LOSSES = ("squared_error", "binary_cross_entropy")
#: the largest layer and the most hidden layers ``parse_hidden`` accepts
MAX_LAYER_SIZE = 256
MAX_HIDDEN_LAYERS = 16
#: one node row: a node of the base height and the gap below it
ROW = NODE_BASE_HEIGHT + ROW_GAP


@dataclass(frozen=True)
class Network:
    """What ``build_network`` added: the graph and the ids of its parts."""

    graph: Graph
    #: input data leaves, in input order
    inputs: tuple[str, ...]
    target: str
    #: ``weights[l][j][i]``: layer l+1's weight from input i+1 into neuron j+1 (0-based)
    weights: tuple[tuple[tuple[str, ...], ...], ...]
    #: ``biases[l][j]``
    biases: tuple[tuple[str, ...], ...]
    #: the node whose value is the prediction (yhat)
    prediction: str
    loss: str
    #: every node added, in the order added (ids ascend in this order)
    ids: tuple[str, ...]

    @property
    def params(self) -> list[str]:
        """Every weight and bias, layer by layer (each layer's weights, then its biases)."""
        out: list[str] = []
        for ws, bs in zip(self.weights, self.biases):
            out.extend(w for row in ws for w in row)
            out.extend(bs)
        return out


@dataclass(frozen=True)
class Counts:
    """How large a network is, without building it."""

    params: int
    nodes: int
    edges: int


def layer_sizes(n_inputs: int, hidden: Sequence[int]) -> list[int]:
    """``[n_inputs, *hidden, 1]``: one output neuron."""
    return [int(n_inputs), *(int(h) for h in hidden), 1]


def count(n_inputs: int, hidden: Sequence[int], output_activation: str = "sigmoid") -> Counts:
    """Params, nodes and edges of the network ``build_network`` would make."""
    sizes = layer_sizes(n_inputs, hidden)
    pairs = list(zip(sizes, sizes[1:]))
    products = sum(a * b for a, b in pairs)
    neurons = sum(b for _, b in pairs)
    params = products + neurons
    activations = sum(hidden) + (0 if output_activation == "none" else 1)
    nodes = (n_inputs + 1) + params + products + neurons + activations + 1
    # each product: weight and input in, one out to the sum; each bias into its sum;
    # each activation: one in; the loss: two in
    edges = 3 * products + neurons + activations + 2
    return Counts(params, nodes, edges)


_SIZE_SEP = re.compile(r"[,;\s]+")


def parse_hidden(text: str) -> list[int]:
    """Hidden layer sizes from text: ``"4"`` → [4], ``"8, 8"`` (or ``"8 8"``) → [8, 8], empty → [] (no hidden layer: the inputs feed the output neuron). Raises
    ValueError with a sentence a person can act on."""
    text = text.strip()
    if not text:
        return []
    parts = [p for p in _SIZE_SEP.split(text) if p]
    if not parts:
        raise ValueError("write the hidden layer sizes as whole numbers, e.g. 4 or 8, 8")
    sizes = []
    for p in parts:
        if not p.isdigit() or not p.isascii():
            raise ValueError(f"{p!r} is not a layer size: write whole numbers, e.g. 4 or 8, 8")
        n = int(p)
        if n < 1:
            raise ValueError("a layer needs at least 1 neuron")
        if n > MAX_LAYER_SIZE:
            raise ValueError(f"{n} neurons is too many for one layer (at most {MAX_LAYER_SIZE})")
        sizes.append(n)
    if len(sizes) > MAX_HIDDEN_LAYERS:
        raise ValueError(f"{len(sizes)} hidden layers is too many (at most {MAX_HIDDEN_LAYERS})")
    return sizes


def weight_name(layer: int, to: int, frm: int) -> str:
    """``w[layer][to][from]`` as an identifier: ``w1_2_1`` (all 1-based)."""
    return f"w{layer}_{to}_{frm}"


def bias_name(layer: int, to: int) -> str:
    return f"b{layer}_{to}"


def build_network(inputs: int | Sequence[str], hidden: Sequence[int],
                  activation: str = "tanh", output_activation: str = "sigmoid",
                  loss: str = "binary_cross_entropy", seed: int = 0,
                  graph: Graph | None = None, origin: tuple[float, float] = (0.0, 0.0),
                  target: str = TARGET, prefix: str | None = None,
                  sample: Mapping[str, float] | None = None) -> Network:
    """Add an MLP's scalar graph to ``graph`` (a new Graph when None) and mark its loss
    as the output. ``inputs``: the columns the input data leaves read, or a count n for
    columns ``x1 … xn``; ``target``: the target's column. ``origin``: the top-left
    corner of the network's layout. See the module docstring for names, initial values
    and layout. Raises ValueError for a bad shape or choice, InvalidNameError when
    ``prefix`` would reuse a name."""
    columns = _columns(inputs)
    hidden = [int(h) for h in hidden]
    if any(h < 1 for h in hidden):
        raise ValueError("every hidden layer needs at least 1 neuron")
    _check_choice("activation", activation, ACTIVATIONS)
    _check_choice("output activation", output_activation, OUTPUT_ACTIVATIONS)
    _check_choice("loss", loss, LOSSES)
    target = str(target)
    if target in columns:
        raise ValueError(f"the target column {target!r} cannot also be an input")
    g = Graph() if graph is None else graph
    sizes = layer_sizes(len(columns), hidden)
    n_layers = len(sizes) - 1
    own = _internal_names(sizes, output_activation)
    input_names = _input_names(columns, set(own))
    # the target leaf is named after its column where that is a free identifier
    taken = set(own) | set(input_names)
    candidates = itertools.chain((target, "y", "target"), (f"y{k}" for k in itertools.count(2)))
    target_name = next(n for n in candidates if _usable(n) and n not in taken)
    pre = _prefix(g, [*input_names, target_name, *own], prefix)

    def nm(name: str) -> str:
        return pre + name

    rng = np.random.default_rng(seed)
    values = _sample(g, columns, target, sample)
    added: list[str] = []

    def add(op: str, name: str, **kw) -> str:
        nid = g.add_node(op, nm(name), **kw)
        added.append(nid)
        return nid

    xs = [add("data", name, column=col, value=values[col])
          for name, col in zip(input_names, columns)]
    y = add("data", target_name, column=target, value=values[target])
    weights: list[tuple[tuple[str, ...], ...]] = []
    biases: list[tuple[str, ...]] = []
    layers: list[dict] = []
    acts = xs
    prediction = ""
    for li in range(n_layers):
        l = li + 1
        n_in, n_out = sizes[li], sizes[li + 1]
        last = l == n_layers
        act_op = output_activation if last else activation
        gain = 2.0 if act_op == "relu" else 1.0
        w_val = rng.standard_normal((n_out, n_in)) * math.sqrt(gain / n_in)
        ws = tuple(tuple(add("param", weight_name(l, j + 1, i + 1), value=float(w_val[j, i]))
                         for i in range(n_in)) for j in range(n_out))
        bs = tuple(add("param", bias_name(l, j + 1), value=0.0) for j in range(n_out))
        ps = [[add("mul", f"wa{l}_{j + 1}_{i + 1}") for i in range(n_in)]
              for j in range(n_out)]
        zs = [add("sum", "yhat" if last and act_op == "none" else f"z{l}_{j + 1}")
              for j in range(n_out)]
        hs = []
        if act_op != "none":
            hs = [add(act_op, "yhat" if last else f"h{l}_{j + 1}") for j in range(n_out)]
        for j in range(n_out):
            for i in range(n_in):
                g.connect_trusted(ws[j][i], ps[j][i], "a")
                g.connect_trusted(acts[i], ps[j][i], "b")
                g.connect_trusted(ps[j][i], zs[j], f"x{i + 1}")
            g.connect_trusted(bs[j], zs[j], f"x{n_in + 1}")
            if hs:
                g.connect_trusted(zs[j], hs[j], "x")
        weights.append(ws)
        biases.append(bs)
        layers.append(dict(sources=acts, ws=ws, bs=bs, ps=ps, zs=zs, hs=hs))
        acts = hs or zs
        prediction = acts[0]
    loss_id = add(loss, "loss")
    g.connect_trusted(y, loss_id, "target")
    g.connect_trusted(prediction, loss_id, "prediction")
    g.set_output(loss_id)
    _place(g, layers, y, loss_id, origin)
    return Network(g, tuple(xs), y, tuple(weights), tuple(biases), prediction, loss_id,
                   tuple(added))


# ------------------------------------------------------------------------ names

def _columns(inputs: int | Sequence[str]) -> list[str]:
    if isinstance(inputs, (int, np.integer)) and not isinstance(inputs, bool):
        n = int(inputs)
        if n < 1:
            raise ValueError("a network needs at least 1 input")
        return [f"x{i + 1}" for i in range(n)]
    if isinstance(inputs, str):
        raise TypeError("inputs is a count or a list of column names, not one string")
    columns = [str(c) for c in inputs]
    if not columns:
        raise ValueError("a network needs at least 1 input")
    seen: set[str] = set()
    for c in columns:
        if c in seen:
            raise ValueError(f"the column {c!r} is given twice as an input")
        seen.add(c)
    return columns


def _check_choice(what: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r} (one of {', '.join(allowed)})")


def _usable(name: str) -> bool:
    """A free-standing node name; a column's name must leave room for a prefix too."""
    return is_valid_name(name) and len(name) <= MAX_NAME - 12 and name not in RESERVED


def _internal_names(sizes: list[int], output_activation: str) -> list[str]:
    names: list[str] = []
    n_layers = len(sizes) - 1
    for li in range(n_layers):
        l, n_in, n_out = li + 1, sizes[li], sizes[li + 1]
        last = l == n_layers
        names += [weight_name(l, j + 1, i + 1) for j in range(n_out) for i in range(n_in)]
        names += [bias_name(l, j + 1) for j in range(n_out)]
        names += [f"wa{l}_{j + 1}_{i + 1}" for j in range(n_out) for i in range(n_in)]
        if last:
            names += ["yhat"] if output_activation == "none" else ["z%d_1" % l, "yhat"]
        else:
            names += [f"z{l}_{j + 1}" for j in range(n_out)]
            names += [f"h{l}_{j + 1}" for j in range(n_out)]
    return names + ["loss"]


def _input_names(columns: list[str], own: set[str]) -> list[str]:
    """An input is named after its column where that is a free identifier, else x{i}."""
    keep = [_usable(c) and c not in own for c in columns]
    used = own | {c for c, k in zip(columns, keep) if k}
    out = []
    for i, (c, k) in enumerate(zip(columns, keep)):
        if not k:
            n = i + 1
            while f"x{n}" in used:
                n += 1
            c = f"x{n}"
            used.add(c)
        out.append(c)
    return out


def _prefix(g: Graph, names: list[str], prefix: str | None) -> str:
    taken = g.names()
    if prefix is not None:
        clash = [n for n in names if prefix + n in taken]
        if clash:
            raise InvalidNameError(
                f"the graph already has a node named {prefix + clash[0]!r}"
                + (f" (and {len(clash) - 1} more of the network's names)" if len(clash) > 1
                   else "") + ": choose another prefix")
        bad = next((prefix + n for n in names if not _usable(prefix + n)), None)
        if bad is not None:
            raise InvalidNameError(f"{bad!r} is not a valid name: choose another prefix")
        return prefix
    if not any(n in taken for n in names):
        return ""
    k = 2
    while any(f"net{k}_{n}" in taken for n in names):
        k += 1
    return f"net{k}_"


def _sample(g: Graph, columns: list[str], target: str,
            sample: Mapping[str, float] | None) -> dict[str, float]:
    data = getattr(g, "dataset", None)
    row = None
    if data is not None:
        rows = data.rows("train")
        row = int(rows[0]) if len(rows) else (0 if data.n_rows else None)
    out = {}
    for c in [*columns, target]:
        if sample is not None and c in sample:
            out[c] = float(sample[c])
        elif row is not None and c in data.columns:
            out[c] = float(data.columns[c][row])
        else:
            out[c] = 1.0
    return out


# ----------------------------------------------------------------------- layout

def _fill(n_in: int, n_out: int, start: int, taken: set[int]) -> tuple[list[list[int]], list[int]]:
    """Rows of each neuron's weights (skipping ``taken`` rows of the shared column) and
    of its bias (in the mul column, the row after its last weight)."""
    rows: list[list[int]] = []
    bias_rows: list[int] = []
    r = start
    for _ in range(n_out):
        block = []
        for _ in range(n_in):
            while r in taken:
                r += 1
            block.append(r)
            r += 1
        rows.append(block)
        bias_rows.append(r)
        r += 1
    return rows, bias_rows


def _place(g: Graph, layers: list[dict], y: str, loss: str,
           origin: tuple[float, float]) -> None:
    """Positions for the network's nodes (see the module docstring)."""
    col: dict[str, int] = {}
    top: dict[str, float] = {}   # top edge, px (shifted at the end)

    def at_row(nid: str, c: int, row: float) -> None:
        col[nid], top[nid] = c, row * ROW

    def centred(nid: str, c: int, centre: float) -> None:
        col[nid], top[nid] = c, centre - node_size(g, nid)[1] / 2.0

    # layer 1's inputs: spread evenly through the weights' rows
    first = layers[0]
    n_in, n_out = len(first["sources"]), len(first["zs"])
    span = n_out * (n_in + 1)
    src_rows = [int((i + 0.5) * span / n_in) + i for i in range(n_in)]
    for nid, r in zip(first["sources"], src_rows):
        at_row(nid, 0, r)
    c = 0
    for layer in layers:
        n_in, n_out = len(layer["sources"]), len(layer["zs"])
        taken = set(src_rows)
        if layer is first:
            start = 0
        else:  # centre the layer's rows on the activations that feed it
            mid = (min(src_rows) + max(src_rows)) / 2.0
            start = round(mid - n_out * (n_in + 1) / 2.0)
            rows, bias_rows = _fill(n_in, n_out, start, taken)
            start += round(mid - (rows[0][0] + bias_rows[-1]) / 2.0)
        rows, bias_rows = _fill(n_in, n_out, start, taken)
        next_rows = []
        for j in range(n_out):
            for i in range(n_in):
                at_row(layer["ws"][j][i], c, rows[j][i])
                at_row(layer["ps"][j][i], c + 1, rows[j][i])
            at_row(layer["bs"][j], c + 1, bias_rows[j])
            mid_px = (rows[j][0] * ROW + bias_rows[j] * ROW + NODE_BASE_HEIGHT) / 2.0
            r = round((mid_px - NODE_BASE_HEIGHT / 2.0) / ROW)
            centre = r * ROW + NODE_BASE_HEIGHT / 2.0  # level with the activation
            centred(layer["zs"][j], c + 2, centre)
            if layer["hs"]:
                at_row(layer["hs"][j], c + 3, r)
            next_rows.append(r)
        src_rows = next_rows
        c += 3
    # the target above the prediction (the loss's ports: target, then prediction)
    pred = layers[-1]["hs"] or layers[-1]["zs"]
    p = pred[0]
    if layers[-1]["hs"]:
        at_row(y, c, src_rows[0] - 1)
    else:
        c -= 1  # the sum is the prediction: the target joins the sums' column
        col[y], top[y] = c, top[p] - ROW_GAP - NODE_BASE_HEIGHT
    centre = ((top[y] + NODE_BASE_HEIGHT / 2.0) + (top[p] + node_size(g, p)[1] / 2.0)) / 2.0
    centred(loss, c + 1, centre)

    cols: list[list[str]] = [[] for _ in range(max(col.values()) + 1)]
    for nid, k in col.items():
        cols[k].append(nid)
    xs = [float(origin[0])]
    for k in range(1, len(cols)):
        xs.append(xs[-1] + NODE_WIDTH + column_gap(g, cols[k]))
    y0 = min(top.values())
    for nid in col:
        g.set_pos(nid, (round(xs[col[nid]], 2), round(top[nid] - y0 + float(origin[1]), 2)))


__all__ = [
    "ACTIVATIONS", "OUTPUT_ACTIVATIONS", "LOSSES", "MAX_LAYER_SIZE", "MAX_HIDDEN_LAYERS",
    "Network", "Counts", "build_network", "count", "layer_sizes", "parse_hidden",
    "weight_name", "bias_name",
]
