"""Conversation memory keyed by session id: strategies over message stores (see :mod:`.base`)."""

from beluga.memory.base import Memory, MessageStore
from beluga.memory.config import MemoryConfig, build_memory, build_store
from beluga.memory.strategies import BufferMemory, TokenMemory, WindowMemory

__all__ = [
    "BufferMemory",
    "Memory",
    "MemoryConfig",
    "MessageStore",
    "TokenMemory",
    "WindowMemory",
    "build_memory",
    "build_store",
]
