"""Left-to-right layout by topological generation, with no overlapping nodes.

Node sizes live here too, so the layout and the editor's node items agree on
how much room a node takes. O(n log n): a barycenter ordering per generation.
"""

from __future__ import annotations

import networkx as nx

from engine.graph import Graph, id_key

NODE_WIDTH = 170.0
NODE_BASE_HEIGHT = 78.0
PORT_SPACING = 22.0
COLUMN_GAP = 120.0
ROW_GAP = 46.0


def node_size(graph: Graph, nid: str) -> tuple[float, float]:
    """Width and height of a node as drawn: taller for ops with many ports."""
    n_ports = len(graph.ports(nid))
    return NODE_WIDTH, max(NODE_BASE_HEIGHT, 34.0 + PORT_SPACING * n_ports)


def layout(graph: Graph, origin: tuple[float, float] = (0.0, 0.0)) -> dict[str, tuple[float, float]]:
    """Top-left positions: column = topological generation, rows ordered by the mean row
    of each node's inputs so edges cross less. Columns are centred vertically."""
    pos: dict[str, tuple[float, float]] = {}
    if len(graph) == 0:
        return pos
    G = graph.nx
    rank: dict[str, float] = {}
    columns: list[list[str]] = []
    for gen in nx.topological_generations(G):
        def bary(n: str) -> tuple[float, tuple[int, str]]:
            preds = [rank[p] for p in G.predecessors(n)]
            # leaves are placed by the mean row of what they feed, filled in below
            return (sum(preds) / len(preds) if preds else -1.0, id_key(n))
        col = sorted(gen, key=bary)
        for i, n in enumerate(col):
            rank[n] = float(i)
        columns.append(col)
    # put first-generation leaves near their consumers: order by the consumers' rank
    if len(columns) > 1:
        first = columns[0]
        def consumer_rank(n: str) -> tuple[float, tuple[int, str]]:
            succ = [rank[s] for s in G.successors(n)]
            return (sum(succ) / len(succ) if succ else float(len(first)), id_key(n))
        columns[0] = sorted(first, key=consumer_rank)
    heights = [[node_size(graph, n)[1] for n in col] for col in columns]
    totals = [sum(h) + ROW_GAP * (len(h) - 1) for h in heights]
    tallest = max(totals)
    x0, y0 = origin
    for c, col in enumerate(columns):
        y = y0 + (tallest - totals[c]) / 2.0
        x = x0 + c * (NODE_WIDTH + COLUMN_GAP)
        for n, h in zip(col, heights[c]):
            pos[n] = (x, y)
            y += h + ROW_GAP
    return pos


def apply_layout(graph: Graph, origin: tuple[float, float] = (0.0, 0.0)) -> None:
    for nid, p in layout(graph, origin).items():
        graph.set_pos(nid, p)
