"""The ``memory:`` section of ``beluga.yaml``, and the one path from it to a live memory.

::

    memory:
      store: sqlite            # memory (this process only), sqlite, redis, postgres
      path: ~/.beluga/memory.db            # sqlite; default $BELUGA_MEMORY_DB or that file
      # url: redis://127.0.0.1:6379/0      # redis; postgres takes a DSN (a secret)
      strategy: window         # buffer (everything), window (last turns), tokens
      turns: 20                # window
      # max_tokens: 4000       # tokens

An agent of ``agents:`` uses this section with ``memory: true`` or its own mapping of the same
keys. The URL is a credential: masked in every repr, dump and error.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import PositiveInt, SecretStr, model_validator

from beluga.config import Section
from beluga.memory.base import Memory, MessageStore

__all__ = ["MemoryConfig", "build_memory", "build_store"]


class MemoryConfig(Section):
    """Where conversations are kept and how much of them a model sees."""

    key: ClassVar[str] = "memory"

    store: Literal["memory", "sqlite", "redis", "postgres"] = "sqlite"
    path: str | None = None
    url: SecretStr | None = None
    prefix: str | None = None
    table: str | None = None
    ttl: PositiveInt | None = None
    strategy: Literal["buffer", "window", "tokens"] = "window"
    turns: PositiveInt = 20
    max_tokens: PositiveInt | None = None

    @model_validator(mode="after")
    def _consistent(self) -> MemoryConfig:
        needs_url = self.store in ("redis", "postgres")
        if needs_url and self.url is None:
            raise ValueError(f"store {self.store!r} needs url (its address)")
        if not needs_url and self.url is not None:
            raise ValueError(f"store {self.store!r} takes no url")
        if self.path is not None and self.store != "sqlite":
            raise ValueError("path is for the sqlite store")
        if self.strategy == "tokens" and self.max_tokens is None:
            raise ValueError("strategy 'tokens' needs max_tokens")
        return self


def build_store(config: MemoryConfig) -> MessageStore:
    """The message store ``config`` names."""
    from beluga.memory import stores

    url = config.url.get_secret_value() if config.url else ""
    if config.store == "memory":
        return stores.InMemoryStore()
    if config.store == "sqlite":
        return stores.SqliteStore(config.path)
    if config.store == "redis":
        prefix = config.prefix or stores.redis.DEFAULT_PREFIX
        return stores.RedisStore(url, prefix=prefix, ttl=config.ttl)
    return stores.PostgresStore(url, table=config.table or stores.postgres.DEFAULT_TABLE)


def build_memory(config: MemoryConfig) -> Memory:
    """The memory ``config`` describes: its strategy over its store."""
    from beluga.memory.strategies import BufferMemory, TokenMemory, WindowMemory

    store = build_store(config)
    if config.strategy == "buffer":
        return BufferMemory(store)
    if config.strategy == "tokens":
        assert config.max_tokens is not None  # checked by the model
        return TokenMemory(store, max_tokens=config.max_tokens)
    return WindowMemory(store, turns=config.turns)
