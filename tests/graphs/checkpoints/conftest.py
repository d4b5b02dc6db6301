"""Checkpoint stores for the store tests: memory, SQLite, and PostgreSQL and Redis when the
environment points at them (``make test`` and ``scripts/services.sh`` do). Each PostgreSQL
store gets its own table prefix and each Redis store its own key prefix, removed afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from beluga.graphs.checkpoints import MemoryCheckpointer, SqliteCheckpointer

REDIS = os.environ.get("BELUGA_REDIS_URL")
PG = os.environ.get("BELUGA_PG_DSN")


def target_of(kind: str, tmp_path: Path) -> str:
    """What ``tests.graphs._crash_graph`` takes to open the same store."""
    if kind == "sqlite":
        return str(tmp_path / "graphs.db")
    if kind == "postgres":
        if not PG:
            pytest.skip("BELUGA_PG_DSN is not set (make test starts PostgreSQL and sets it)")
        return f"{PG}|g_{uuid.uuid4().hex[:12]}"
    if not REDIS:
        pytest.skip("BELUGA_REDIS_URL is not set (make test starts Redis and sets it)")
    return f"{REDIS}|test:graph:{uuid.uuid4().hex}:"


def open_store(kind: str, target: str) -> Any:
    if kind == "memory":
        return MemoryCheckpointer()
    if kind == "sqlite":
        return SqliteCheckpointer(target)
    where, name = target.split("|")
    if kind == "postgres":
        from beluga.graphs.checkpoints.postgres import PostgresCheckpointer

        return PostgresCheckpointer(where, prefix=name)
    from beluga.graphs.checkpoints.redis import RedisCheckpointer

    return RedisCheckpointer(where, prefix=name)


async def cleanup(kind: str, store: Any) -> None:
    if kind == "postgres":
        await store.drop()
    elif kind == "redis":
        client = store._pool.client()
        keys = [k async for k in client.scan_iter(match=store.prefix + "*", count=500)]
        if keys:
            await client.delete(*keys)
    await store.aclose()


@pytest.fixture(params=["memory", "sqlite", "postgres", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    kind = request.param
    made = open_store(kind, "" if kind == "memory" else target_of(kind, tmp_path))
    try:
        yield made
    finally:
        await cleanup(kind, made)
