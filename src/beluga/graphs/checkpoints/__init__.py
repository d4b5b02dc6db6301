"""Checkpoint stores for graph runs: SQLite (default), PostgreSQL, Redis and memory.

Stores are created by name through :data:`checkpointers` (``"sqlite"``, ``"postgres"``,
``"redis"``, ``"memory"``; plugins add theirs under the ``beluga.checkpointers`` entry-point
group); PostgreSQL and Redis import their drivers only when created.
"""

from beluga.core.registry import Registry as _Registry
from beluga.graphs.checkpoints.base import Checkpoint, Checkpointer, CheckpointMeta
from beluga.graphs.checkpoints.memory import MemoryCheckpointer
from beluga.graphs.checkpoints.sqlite import SqliteCheckpointer, default_graphs_path

__all__ = [
    "Checkpoint",
    "CheckpointMeta",
    "Checkpointer",
    "MemoryCheckpointer",
    "SqliteCheckpointer",
    "checkpointers",
    "default_graphs_path",
]

checkpointers: _Registry[type] = _Registry("checkpoint store", "beluga.checkpointers")
"""Checkpoint store classes by name."""
checkpointers.register("memory", MemoryCheckpointer)
checkpointers.register("sqlite", SqliteCheckpointer)
checkpointers.register(
    "postgres",
    "beluga.graphs.checkpoints.postgres:PostgresCheckpointer",
    extra="postgres",
    requires=("psycopg",),
)
checkpointers.register(
    "redis",
    "beluga.graphs.checkpoints.redis:RedisCheckpointer",
    extra="redis",
    requires=("redis",),
)
