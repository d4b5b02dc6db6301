"""Conversation memory keyed by session id: strategies over message stores (see :mod:`.base`).

Strategies: :class:`BufferMemory` (everything), :class:`WindowMemory` (the last turns),
:class:`TokenMemory` (the newest that fit a token budget), :class:`SummaryMemory` (recent turns
plus a rolling summary by a chat model) and :class:`VectorMemory` (relevant earlier turns by
embedding similarity, plus the recent ones). Stores: :mod:`beluga.memory.stores`.
"""

from beluga.memory.base import Memory, MessageStore, SessionListing
from beluga.memory.config import MemoryConfig, build_memory, build_store, validate_memory
from beluga.memory.strategies import BufferMemory, TokenMemory, WindowMemory
from beluga.memory.summary import SummaryMemory
from beluga.memory.vector import VectorMemory

__all__ = [
    "BufferMemory",
    "Memory",
    "MemoryConfig",
    "MessageStore",
    "SessionListing",
    "SummaryMemory",
    "TokenMemory",
    "VectorMemory",
    "WindowMemory",
    "build_memory",
    "build_store",
    "validate_memory",
]
