"""engine.network: an MLP's scalar graph — counts worked out by hand, names, seeded
initial values, a layout without overlaps, and numbers checked against hand maths and
central finite differences."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest

from _engine_helpers import central_diff, close
from engine.dataset import Dataset
from engine.errors import InvalidNameError
from engine.fast import evaluate_graph
from engine.graph import Graph
from engine.layout import node_size
from engine.names import is_valid_name
from engine.network import (
    OUTPUT_ACTIVATIONS,
    bias_name,
    build_network,
    count,
    parse_hidden,
    weight_name,
)


def _ops(g: Graph) -> Counter:
    return Counter(g.op_of(n) for n in g.ids())


# ------------------------------------------------------------------ counts by hand

@pytest.mark.parametrize("n_in, hidden, params", [
    (2, [2], 2 * 2 + 2 + 2 + 1),                          # 9
    (2, [4], 2 * 4 + 4 + 4 + 1),                          # 17
    (3, [4, 2], 3 * 4 + 4 + 4 * 2 + 2 + 2 + 1),           # 29
    (2, [8, 8], 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1),           # 105
    (2, [16, 16], 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1),   # 337
    (1, [], 1 + 1),                                       # one neuron: w and b
])
def test_param_counts(n_in, hidden, params) -> None:
    net = build_network(n_in, hidden)
    assert len(net.params) == params
    assert _ops(net.graph)["param"] == params
    assert count(n_in, hidden).params == params


def test_2_16_16_1_has_337_params() -> None:
    assert len(build_network(2, [16, 16]).params) == 337


def test_node_counts_of_2_2_1_by_op() -> None:
    g = build_network(2, [2], "tanh", "sigmoid", "squared_error").graph
    # x1 x2 y | 4 weights + 2 biases, 2 + 1 | 4 + 2 products | 2 + 1 sums |
    # 2 tanh, 1 sigmoid | the loss
    assert _ops(g) == Counter(data=3, param=9, mul=6, sum=3, tanh=2, sigmoid=1,
                              squared_error=1)
    assert len(g) == 25
    # 3 edges per product, a bias into each sum, one into each activation, two into the loss
    assert len(g.edges()) == 3 * 6 + 3 + 3 + 2


def test_node_counts_of_3_4_2_1_relu_without_output_activation() -> None:
    g = build_network(3, [4, 2], "relu", "none", "binary_cross_entropy").graph
    assert _ops(g) == Counter(data=4, param=29, mul=12 + 8 + 2, sum=4 + 2 + 1, relu=4 + 2,
                              binary_cross_entropy=1)


@pytest.mark.parametrize("hidden", [[], [1], [3], [2, 5], [4, 4, 4]])
@pytest.mark.parametrize("out", OUTPUT_ACTIVATIONS)
def test_count_matches_what_is_built(hidden, out) -> None:
    g = build_network(3, hidden, output_activation=out).graph
    c = count(3, hidden, out)
    assert (len(g), len(g.edges())) == (c.nodes, c.edges)


# -------------------------------------------------------------------------- names

def test_names_of_2_2_1() -> None:
    net = build_network(2, [2], "tanh", "sigmoid", "squared_error")
    g = net.graph
    assert sorted(g.names()) == sorted([
        "x1", "x2", "y",
        "w1_1_1", "w1_1_2", "w1_2_1", "w1_2_2", "b1_1", "b1_2",
        "wa1_1_1", "wa1_1_2", "wa1_2_1", "wa1_2_2", "z1_1", "z1_2", "h1_1", "h1_2",
        "w2_1_1", "w2_1_2", "b2_1", "wa2_1_1", "wa2_1_2", "z2_1", "yhat", "loss"])
    assert all(is_valid_name(n) for n in g.names())
    assert g.output == net.loss and g.name_of(net.loss) == "loss"
    assert g.name_of(net.prediction) == "yhat"


def test_w_layer_to_from() -> None:
    """w1_2_1 is layer 1's weight from input 1 into neuron 2: it meets x1 in wa1_2_1,
    which feeds z1_2; the bias is the sum's last term."""
    net = build_network(2, [2], "tanh", "sigmoid", "squared_error")
    g = net.graph
    w = g.id_of(weight_name(1, 2, 1))
    assert w == net.weights[0][1][0]
    (wa, port), = g.consumers(w)
    assert g.name_of(wa) == "wa1_2_1" and port == "a"
    assert g.name_of(g.source_of(wa, "b")) == "x1"
    (z, zport), = g.consumers(wa)
    assert g.name_of(z) == "z1_2" and zport == "x1"
    assert [g.name_of(s) for _, s in g.inputs(z)] == ["wa1_2_1", "wa1_2_2", bias_name(1, 2)]
    assert [g.name_of(s) for _, s in g.inputs(g.id_of("h1_2"))] == ["z1_2"]
    loss = g.id_of("loss")
    assert g.name_of(g.source_of(loss, "target")) == "y"
    assert g.name_of(g.source_of(loss, "prediction")) == "yhat"


def test_data_leaves_are_bound_to_their_columns() -> None:
    net = build_network(2, [3])
    g = net.graph
    assert [g.op_of(n) for n in net.inputs] == ["data", "data"]
    assert [g.column_of(n) for n in net.inputs] == ["x1", "x2"]
    assert g.op_of(net.target) == "data" and g.column_of(net.target) == "y"


def test_columns_given_by_name() -> None:
    net = build_network(["a", "sepal length", "sum"], [2], target="label")
    g = net.graph
    # a column that is no identifier (or an op's name) gets x{i}, still bound to it
    assert [g.name_of(n) for n in net.inputs] == ["a", "x2", "x3"]
    assert [g.column_of(n) for n in net.inputs] == ["a", "sepal length", "sum"]
    assert g.name_of(net.target) == "label" and g.column_of(net.target) == "label"
    # a target column that is no identifier: y, unless an input has that name already
    net = build_network(["y", "target"], [1], target="my col")
    assert net.graph.name_of(net.target) == "y2"
    assert net.graph.column_of(net.target) == "my col"
    long = "c" * 195  # a valid name, but no room left for a prefix
    net = build_network([long], [1])
    assert net.graph.name_of(net.inputs[0]) == "x1"


def test_output_none_makes_the_sum_the_prediction() -> None:
    net = build_network(2, [2], output_activation="none", loss="squared_error")
    g = net.graph
    assert g.op_of(net.prediction) == "sum" and g.name_of(net.prediction) == "yhat"
    assert "z2_1" not in g.names()


@pytest.mark.parametrize("bad, message", [
    (dict(inputs=0), "at least 1 input"),
    (dict(inputs=["a", "a"]), "twice"),
    (dict(inputs=["x1", "y"]), "target"),
    (dict(hidden=[2, 0]), "at least 1 neuron"),
    (dict(activation="softmax"), "activation"),
    (dict(output_activation="relu"), "output activation"),
    (dict(loss="hinge"), "loss"),
])
def test_bad_choices_are_refused_in_words(bad, message) -> None:
    args = dict(inputs=2, hidden=[2]) | bad
    with pytest.raises(ValueError, match=message):
        build_network(**args)


# ------------------------------------------------------------ into an existing graph

def test_inserting_beside_a_graph_makes_names_unique() -> None:
    g = Graph()
    keep = g.add_node("input", "y", value=3.0)
    first = build_network(2, [2], graph=g)
    assert g.name_of(first.target) == "net2_y"  # y was taken: every name gets net2_
    assert g.column_of(first.target) == "y"     # the column is still y
    second = build_network(2, [2], graph=g)
    assert g.name_of(second.weights[0][0][0]) == "net3_w1_1_1"
    assert g.name_of(keep) == "y" and g.node(keep).value == 3.0
    assert len(g.names()) == len(g) == 1 + 2 * count(2, [2]).nodes
    assert not set(first.ids) & set(second.ids)


def test_a_fresh_graph_gets_no_prefix_and_a_chosen_prefix_is_checked() -> None:
    g = Graph()
    build_network(1, [1], graph=g)
    assert "w1_1_1" in g.names()
    net = build_network(1, [1], graph=g, prefix="a_")
    assert g.name_of(net.loss) == "a_loss"
    with pytest.raises(InvalidNameError, match="a_"):
        build_network(1, [1], graph=g, prefix="a_")


# ------------------------------------------------------------------ initial values

def test_same_seed_same_weights_other_seed_other_weights() -> None:
    def values(seed: int) -> list[float]:
        net = build_network(2, [4, 3], seed=seed)
        return [net.graph.node(p).value for p in net.params]
    assert values(7) == values(7)
    assert values(7) != values(8)


def test_weights_follow_the_documented_recipe() -> None:
    """Layer by layer, one (fan_out, fan_in) standard normal draw scaled by
    sqrt(gain/fan_in): gain 2 into relu (He), 1 otherwise (LeCun); biases 0."""
    net = build_network(3, [4], "relu", "sigmoid", seed=5)
    g = net.graph
    rng = np.random.default_rng(5)
    w1 = rng.standard_normal((4, 3)) * math.sqrt(2 / 3)
    w2 = rng.standard_normal((1, 4)) * math.sqrt(1 / 4)
    assert [[g.node(w).value for w in row] for row in net.weights[0]] == w1.tolist()
    assert [[g.node(w).value for w in row] for row in net.weights[1]] == w2.tolist()
    assert all(g.node(b).value == 0.0 for bs in net.biases for b in bs)


def test_data_leaves_take_the_first_training_row() -> None:
    g = Graph()
    g.dataset = Dataset({"x1": [5.0, 6.0], "x2": [7.0, 8.0], "y": [0.0, 1.0]},
                        test=[True, False])
    net = build_network(["x1", "x2"], [2], graph=g)
    assert [g.node(n).value for n in (*net.inputs, net.target)] == [6.0, 8.0, 1.0]
    alone = build_network(2, [2], sample={"x1": 0.5})
    assert [alone.graph.node(n).value for n in alone.inputs] == [0.5, 1.0]


# ------------------------------------------------------------ numbers by hand

def _sig(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def _hand_221(loss: str):
    """The 2-2-1 network (tanh hidden, sigmoid output) written out with math only."""
    def f(x1, x2, y, w111, w112, w121, w122, b11, b12, w211, w212, b21):
        h1 = math.tanh(w111 * x1 + w112 * x2 + b11)
        h2 = math.tanh(w121 * x1 + w122 * x2 + b12)
        p = _sig(w211 * h1 + w212 * h2 + b21)
        if loss == "squared_error":
            return (y - p) ** 2
        return -(y * math.log(p) + (1 - y) * math.log(1 - p))
    return f


@pytest.mark.parametrize("loss", ["squared_error", "binary_cross_entropy"])
def test_2_2_1_value_and_gradients_by_hand(loss) -> None:
    net = build_network(2, [2], "tanh", "sigmoid", loss)
    g = net.graph
    (w111, w112), (w121, w122) = net.weights[0]
    ((w211, w212),) = net.weights[1]
    (b11, b12), (b21,) = net.biases
    leaves = [*net.inputs, net.target, w111, w112, w121, w122, b11, b12, w211, w212, b21]
    args = [0.5, -1.0, 1.0, 0.3, -0.2, 0.8, 0.4, 0.1, -0.3, 1.5, -0.7, 0.2]
    for nid, v in zip(leaves, args):
        g.set_value(nid, v)
    f = _hand_221(loss)
    # by hand: h1 = tanh(0.15 + 0.2 + 0.1) = tanh(0.45), h2 = tanh(0.4 − 0.4 − 0.3)
    h1, h2 = math.tanh(0.45), math.tanh(-0.3)
    p = _sig(1.5 * h1 - 0.7 * h2 + 0.2)
    want = (1 - p) ** 2 if loss == "squared_error" else -math.log(p)
    r = evaluate_graph(g)
    assert close(r.value(net.loss), want, rel=1e-12)
    assert close(r.value(net.prediction), p, rel=1e-12)
    for i, nid in enumerate(leaves):
        assert close(r.grad(nid), central_diff(f, args, i), rel=1e-6, abs_=1e-8), \
            g.name_of(nid)


# ------------------------------------------------------------------------ layout

def _boxes(g: Graph) -> dict[str, tuple[float, float, float, float]]:
    return {n: (*g.node(n).pos, *node_size(g, n)) for n in g.ids()}


@pytest.mark.parametrize("n_in, hidden, out", [
    (1, [], "sigmoid"), (2, [2], "sigmoid"), (2, [3], "none"), (3, [1], "tanh"),
    (2, [8, 8], "sigmoid"), (5, [2, 7, 3], "none"), (2, [16, 16], "sigmoid"),
])
def test_layout_left_to_right_without_overlaps(n_in, hidden, out) -> None:
    g = build_network(n_in, hidden, output_activation=out, origin=(100.0, -50.0)).graph
    boxes = _boxes(g)
    for a, b in itertools.combinations(boxes.values(), 2):
        assert not (a[0] < b[0] + b[2] and b[0] < a[0] + a[2]
                    and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]), (a, b)
    for src, dst, _ in g.edges():  # every edge runs to a column further right
        assert boxes[src][0] + boxes[src][2] < boxes[dst][0]
    assert min(b[0] for b in boxes.values()) == 100.0
    assert min(b[1] for b in boxes.values()) == -50.0


def test_layout_columns_of_2_2_1() -> None:
    """Inputs with layer 1's weights; products and biases; sums; activations with
    layer 2's weights; products and bias; the output sum; ŷ with y; the loss."""
    g = build_network(2, [2], "tanh", "sigmoid").graph
    xs = sorted({g.node(n).pos[0] for n in g.ids()})
    column = {g.name_of(n): xs.index(g.node(n).pos[0]) for n in g.ids()}
    assert {k for k, c in column.items() if c == 0} == {"x1", "x2", "w1_1_1", "w1_1_2",
                                                        "w1_2_1", "w1_2_2"}
    assert column["wa1_1_1"] == column["b1_1"] == 1
    assert column["z1_1"] == 2
    assert column["h1_1"] == column["w2_1_1"] == 3
    assert column["yhat"] == column["y"] == 6 and column["loss"] == 7
    # each weight is level with its product; each activation with its sum
    for n in g.ids():
        if g.op_of(n) == "param" and g.name_of(n).startswith("w"):
            (m, _), = g.consumers(n)
            assert g.node(m).pos[1] == g.node(n).pos[1]
    for h in ("h1_1", "h1_2"):
        z = g.source_of(g.id_of(h), "x")
        assert g.node(z).pos[1] + node_size(g, z)[1] / 2 == \
            g.node(g.id_of(h)).pos[1] + node_size(g, g.id_of(h))[1] / 2


# ---------------------------------------------------------------- hidden sizes text

@pytest.mark.parametrize("text, sizes", [
    ("4", [4]), ("8, 8", [8, 8]), (" 8 8 ", [8, 8]), ("3,2;1", [3, 2, 1]), ("", []),
])
def test_parse_hidden(text, sizes) -> None:
    assert parse_hidden(text) == sizes


@pytest.mark.parametrize("text, message", [
    ("abc", "not a layer size"), ("4, -1", "not a layer size"), ("4.5", "not a layer size"),
    ("0", "at least 1"), ("300", "too many"), (",".join(["2"] * 17), "too many"),
    ("٣", "not a layer size"),
])
def test_parse_hidden_refuses_in_words(text, message) -> None:
    with pytest.raises(ValueError, match=message):
        parse_hidden(text)
