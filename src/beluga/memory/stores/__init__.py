"""Message stores: where a session's whole history is kept, in the wire form.

:class:`InMemoryStore` (tests, one process), :class:`SqliteStore` (the embedded default),
:class:`RedisStore` and :class:`PostgresStore` (shared by a fleet). Redis and PostgreSQL need
their extras and import their client libraries only when a store is created.
"""

from beluga.memory.stores.inmemory import InMemoryStore
from beluga.memory.stores.postgres import PostgresStore
from beluga.memory.stores.redis import RedisStore
from beluga.memory.stores.sqlite import SqliteStore, default_sqlite_path

__all__ = ["InMemoryStore", "PostgresStore", "RedisStore", "SqliteStore", "default_sqlite_path"]
