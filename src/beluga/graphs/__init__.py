"""Graph orchestration: typed state, nodes, edges, durable checkpoints, human-in-the-loop.

``StateGraph(State)`` with ``add_node``/``add_edge``/``add_conditional_edges``, then
``compile(checkpointer=SqliteCheckpointer())`` and ``await graph.run({...})``; see
``docs/readme/graphs.md``.
"""

from beluga.graphs.chain import Chain
from beluga.graphs.checkpoints import (
    Checkpoint,
    Checkpointer,
    CheckpointMeta,
    MemoryCheckpointer,
    SqliteCheckpointer,
    checkpointers,
)
from beluga.graphs.context import GraphInterrupt, NodeContext, current_context, interrupt
from beluga.graphs.engine import CompiledGraph, Executor
from beluga.graphs.graph import Durability, StateGraph
from beluga.graphs.nodes import agent_node
from beluga.graphs.types import (
    END,
    START,
    GraphEvent,
    GraphFinished,
    GraphInterrupted,
    GraphResult,
    Interrupt,
    NodeFinished,
    NodeOutput,
    NodeStarted,
    Send,
    StepSaved,
)

__all__ = [
    "END",
    "START",
    "Chain",
    "Checkpoint",
    "CheckpointMeta",
    "Checkpointer",
    "CompiledGraph",
    "Durability",
    "Executor",
    "GraphEvent",
    "GraphFinished",
    "GraphInterrupt",
    "GraphInterrupted",
    "GraphResult",
    "Interrupt",
    "MemoryCheckpointer",
    "NodeContext",
    "NodeFinished",
    "NodeOutput",
    "NodeStarted",
    "Send",
    "SqliteCheckpointer",
    "StateGraph",
    "StepSaved",
    "agent_node",
    "checkpointers",
    "current_context",
    "interrupt",
]
