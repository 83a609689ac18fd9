"""How the fast engine's numbers are held to the registry: within a few ulp, step by step.

numpy picks its SIMD kernels per CPU at run time, so an array call may differ from a
scalar call in the last bit on some machines (and such differences grow along a graph as
rounding errors do). Tests therefore never demand bit equality between the fast engine
and the reference: ``assert_agrees`` checks each number against the registry's own
function applied one node at a time to the fast engine's inputs to that step.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from engine.graph import Graph
from engine.ops import OPS

#: how far (units in the last place) an array kernel may differ from a scalar one
MAX_ULP = 4


def ordered(x: float) -> int:
    """The float's bits as an integer that counts up with the float (±0 both 0)."""
    i = struct.unpack("<q", struct.pack("<d", x))[0]
    return i if i >= 0 else -(i & 0x7FFF_FFFF_FFFF_FFFF)


def ulps(a: float, b: float) -> float:
    """Units in the last place between a and b; NaN equals NaN, an infinity only itself."""
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return 0 if math.isnan(a) and math.isnan(b) else math.inf
    if math.isinf(a) or math.isinf(b):
        return 0 if a == b else math.inf
    return abs(ordered(a) - ordered(b))


def close_ulp(a: float, b: float, n: int = MAX_ULP) -> bool:
    return ulps(a, b) <= n


# ---------------------------------------------------------------- the step-by-step check

def _scalar_step(graph: Graph, nid: str, fast_value, inputs):
    """What the registry gives for one node, on numpy scalars, from the given inputs:
    (value, locals)."""
    spec = OPS[graph.op_of(nid)]
    attrs = graph.attrs_of(nid)
    xs = [np.float64(v) for v in inputs]
    with np.errstate(all="ignore"):
        value = float(spec.value(xs, attrs))
        locs = [float(v) for v in spec.locals(np.float64(fast_value), xs, attrs)]
    return value, locs


def assert_agrees(graph: Graph, res, ref) -> None:
    """``res`` (a CompiledResult) against the registry step by step, and against the
    reference ``ref`` (an ``engine.evaluate`` Result) in structure.

    Every value, local derivative, product and gradient must be within MAX_ULP of what
    the registry gives one node at a time on numpy scalars, from the fast engine's own
    inputs to that step — not of the reference's end result, which last-bit differences
    of another CPU's SIMD kernels could move further along a long chain. Order, on-path
    flags and which nodes are constant must equal the reference's."""
    plan = res.plan
    assert plan.output == ref.output
    assert sorted(plan.ids) == sorted(ref.nodes) and plan.order == ref.order
    assert sorted(plan.edge_keys) == sorted(ref.edges)
    val = {nid: res.values[plan.index[nid]] for nid in plan.ids}
    for nid, nr in ref.nodes.items():
        i = plan.index[nid]
        assert bool(res.on_path[i]) == nr.on_path, nid
        assert (res.grad(nid) is None) == (nr.grad is None), nid  # constants
        spec = OPS[graph.op_of(nid)]
        if spec.is_leaf:
            assert val[nid] == nr.value or (math.isnan(val[nid]) and math.isnan(nr.value))
            continue
        ins = graph.inputs(nid)
        if not spec.variadic and len(ins) < len(spec.ports):  # an open port: NaN
            assert math.isnan(val[nid])
            for port, src in ins:
                local, _ = res.edge(src, nid, port)
                assert local is None or math.isnan(local)
            continue
        want, locs = _scalar_step(graph, nid, val[nid], [val[s] for _, s in ins])
        assert close_ulp(val[nid], want), (nid, graph.op_of(nid), val[nid], want)
        for (port, src), w in zip(ins, locs):
            local, product = res.edge(src, nid, port)
            if ref.edges[(src, nid, port)].local is None:
                assert local is None and product is None  # leaves a constant
                continue
            assert close_ulp(local, w), (nid, port, local, w)
    # products and gradients: product = ∂L/∂target × local; a gradient is the sum of
    # its node's products in the reference's accumulation order (consumers in reverse
    # topological order, each one's in-edges in networkx order)
    G = graph.nx
    out = plan.output
    sent: dict[str, list[tuple[str, str, str]]] = {}
    for tgt in reversed(ref.order):
        if ref.nodes[tgt].on_path:
            for src, _, port in G.in_edges(tgt, keys=True):
                sent.setdefault(src, []).append((src, tgt, port))
    for nid, nr in ref.nodes.items():
        g = res.grad(nid)
        if g is None or not nr.on_path:
            if g is not None:
                assert g == 0.0, nid  # off the path: nothing flows back
            continue
        if nid == out:
            assert g == 1.0
            continue
        total = 0.0
        for src, tgt, port in sent.get(nid, ()):
            local, product = res.edge(src, tgt, port)
            assert close_ulp(product, res.grad(tgt) * local), (src, tgt, port)
            total += product
        assert close_ulp(g, total), (nid, g, total)
