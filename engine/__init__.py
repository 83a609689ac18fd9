"""Chain Rule Studio's engine: graphs of scalar ops, evaluation and the chain rule.

Pure Python + networkx + numpy. Nothing here imports Qt, so the command line,
the tests and the editor all share one source of numbers.
"""

from engine.errors import (
    ConnectError,
    CycleError,
    EngineError,
    ExpressionError,
    GraphFileError,
    OutputError,
    PortError,
    PortTakenError,
    SelfLoopError,
)
from engine.graph import Graph, Node
from engine.ops import OPS, OpSpec, op_spec
from engine.evaluate import evaluate
from engine.result import EdgeResult, NodeResult, Result

__all__ = [
    "ConnectError", "CycleError", "EngineError", "ExpressionError", "GraphFileError",
    "OutputError", "PortError", "PortTakenError", "SelfLoopError",
    "Graph", "Node", "OPS", "OpSpec", "op_spec",
    "EdgeResult", "NodeResult", "Result", "evaluate",
]
