"""Conversation memory keyed by session id (see :mod:`.base`)."""

from beluga.memory.base import Memory, MessageStore

__all__ = ["Memory", "MessageStore"]
