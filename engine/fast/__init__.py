"""The fast engine: compile a graph once, evaluate it many times.

One small interface — ``compile_graph(graph) -> Plan``, ``Plan.evaluate()`` and
``Plan.update_leaf()`` returning a ``CompiledResult`` — over two scheduling strategies
(``wide`` and ``deep``, see ``engine.fast.plan``). Neither restates an op: both call
the registry's array functions, and the tests hold them to the readable reference
(``engine.evaluate``) within a few units in the last place.
"""

from engine.fast.flat import topological_order
from engine.fast.plan import (
    MODES,
    CompiledResult,
    Plan,
    compile_graph,
    evaluate_graph,
    paused_gc,
    topology_signature,
)

__all__ = ["MODES", "CompiledResult", "Plan", "compile_graph", "evaluate_graph", "paused_gc",
           "topological_order", "topology_signature"]
