"""The message stores every memory test runs on: in-process, SQLite, and Redis and PostgreSQL
when the environment points at them (``make test`` and ``scripts/services.sh`` do)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from beluga.memory.base import MessageStore
from beluga.memory.stores import InMemoryStore, PostgresStore, RedisStore, SqliteStore
from beluga.schema import Message, ToolCall

REDIS = os.environ.get("BELUGA_REDIS_URL")
PG = os.environ.get("BELUGA_PG_DSN")


def turn(i: int, *, tool: bool = False) -> list[Message]:
    """Turn ``i``: a question, optionally a tool call and its result, and an answer."""
    out = [Message.user(f"question {i}")]
    if tool:
        call = ToolCall(f"c{i}", "lookup", f'{{"q": {i}}}')
        out += [Message.assistant(tool_calls=[call]), Message.tool(f"c{i}", f"found {i}")]
    return [*out, Message.assistant(f"answer {i}")]


def make_store(kind: str, tmp_path: Path) -> MessageStore:
    """A fresh, empty store of ``kind`` (its own Redis prefix or PostgreSQL table)."""
    if kind == "memory":
        return InMemoryStore()
    if kind == "sqlite":
        return SqliteStore(tmp_path / "memory.db")
    if kind == "redis":
        if not REDIS:
            pytest.skip("BELUGA_REDIS_URL is not set (make test starts Redis and sets it)")
        return RedisStore(REDIS, prefix=f"test:{uuid.uuid4().hex}:")
    if not PG:
        pytest.skip("BELUGA_PG_DSN is not set (make test starts PostgreSQL and sets it)")
    return PostgresStore(PG, table=f"mem_{uuid.uuid4().hex[:12]}")


STORES = ["memory", "sqlite", "redis", "postgres"]


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MessageStore]:
    made = make_store(request.param, tmp_path)
    yield made
    await made.aclose()  # type: ignore[attr-defined]
