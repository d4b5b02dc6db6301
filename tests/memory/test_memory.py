"""Memory strategies and stores over real SQLite, Redis and PostgreSQL (when configured)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.memory import MemoryConfig, TokenMemory, WindowMemory, build_memory, build_store
from beluga.memory.base import MessageStore
from beluga.memory.stores import InMemoryStore, RedisStore, SqliteStore
from tests.memory.conftest import turn


async def test_tool_calls_and_results_round_trip_as_such(store: MessageStore) -> None:
    messages = turn(1, tool=True)
    await store.append("s1", messages)
    assert await store.messages("s1") == messages
    assert await store.messages("s1", last=2) == messages[-2:]


async def test_200_concurrent_sessions_never_see_each_other(store: MessageStore) -> None:
    async def converse(i: int) -> None:
        for k in range(2):
            await store.append(f"user-{i}", turn(i * 10 + k))

    await asyncio.gather(*(converse(i) for i in range(200)))
    for i in range(200):
        texts = [m.text for m in await store.messages(f"user-{i}")]
        assert texts == [
            f"question {i * 10}",
            f"answer {i * 10}",
            f"question {i * 10 + 1}",
            f"answer {i * 10 + 1}",
        ]


async def test_clear_forgets_one_session_only(store: MessageStore) -> None:
    await store.append("a", turn(1))
    await store.append("b", turn(2))
    await store.clear("a")
    assert await store.messages("a") == []
    assert len(await store.messages("b")) == 2


async def test_a_new_sqlite_store_on_the_same_file_keeps_the_history(tmp_path: Path) -> None:
    first = SqliteStore(tmp_path / "m.db")
    await first.append("s", turn(1, tool=True))
    await first.aclose()
    second = SqliteStore(tmp_path / "m.db")
    assert [m.role for m in await second.messages("s")] == [
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    await second.aclose()


async def test_sqlite_store_errors_name_the_file_and_memory_store_path(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    store = SqliteStore(junk)
    with pytest.raises(BelugaError) as info:
        await store.messages("s")
    assert info.value.code is ErrorCode.INVALID_CONFIG and not info.value.retryable
    assert info.value.message == (
        f"memory store {junk} is not a SQLite database: point memory.store.path at a memory "
        "database or at a new file"
    )
    await store.aclose()
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the folder should be")
    store = SqliteStore(blocker / "m.db")
    with pytest.raises(BelugaError) as info:
        await store.append("s", turn(1))
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable
    assert info.value.message.startswith(
        f"memory store SQLite at {blocker / 'm.db'} is unavailable ("
    )
    assert info.value.message.endswith(
        "): check that the folder exists and is writable, the disk has room, and no process "
        "holds the write lock for longer than busy_timeout"
    )
    await store.aclose()


async def test_window_keeps_the_last_turns_whole() -> None:
    memory = WindowMemory(InMemoryStore(), turns=2)
    for i in range(4):
        await memory.save("s", turn(i, tool=True))
    loaded = await memory.load("s")
    assert loaded[0].text == "question 2"
    assert [m.role for m in loaded].count("tool") == 2


async def test_token_memory_never_splits_a_call_from_its_result() -> None:
    memory = TokenMemory(InMemoryStore(), max_tokens=30)
    for i in range(5):
        await memory.save("s", turn(i, tool=True))
    loaded = await memory.load("s")
    assert 0 < len(loaded) < 20
    assert loaded[0].role != "tool"
    ids = {c.id for m in loaded for c in m.tool_calls}
    assert {m.tool_call_id for m in loaded if m.role == "tool"} <= ids


async def test_config_builds_the_sqlite_window_by_default(tmp_path: Path) -> None:
    memory = build_memory(MemoryConfig(path=str(tmp_path / "x.db"), turns=1))
    assert isinstance(memory, WindowMemory)
    await memory.save("s", turn(1) + turn(2))
    assert [m.text for m in await memory.load("s")] == ["question 2", "answer 2"]
    await memory.aclose()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"store": "redis"}, "needs url"),
        ({"store": "sqlite", "url": "redis://x"}, "takes no url"),
        ({"store": "redis", "url": "redis://x", "path": "a.db"}, "path is for"),
        ({"strategy": "tokens"}, "max_tokens"),
        ({"turns": 0}, "greater than 0"),
    ],
)
def test_bad_memory_config_is_refused(values: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        MemoryConfig.model_validate(values)


def test_the_store_url_is_masked_everywhere() -> None:
    config = MemoryConfig(store="redis", url="redis://:hunter2pass@127.0.0.1:1/0")
    for text in (repr(config), str(config), config.model_dump_json()):
        assert "hunter2pass" not in text
    store = build_store(config)
    assert "hunter2pass" not in repr(store)


async def test_a_down_store_is_a_clear_error_without_the_password() -> None:
    store = RedisStore("redis://:hunter2pass@127.0.0.1:1/0", timeout=2)
    with pytest.raises(BelugaError) as info:
        await store.messages("s")
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    assert "hunter2pass" not in str(info.value)
    assert "Redis" in str(info.value) or "redis" in str(info.value)
    await store.aclose()


@pytest.mark.parametrize("session", ["", "x" * 513, "a\x00b"])
async def test_unusable_session_ids_are_refused(store: MessageStore, session: str) -> None:
    with pytest.raises(BelugaError) as info:
        await store.append(session, turn(1))
    assert info.value.code is ErrorCode.INVALID_REQUEST


async def test_sessions_lists_each_session_with_its_message_count(store: MessageStore) -> None:
    assert await store.sessions() == {}  # type: ignore[attr-defined]
    await store.append("b*[x]", turn(1, tool=True))
    await store.append("a", turn(2))
    await store.append("a", turn(3))
    await store.append("c", turn(4))
    await store.clear("c")
    assert await store.sessions() == {"a": 4, "b*[x]": 4}  # type: ignore[attr-defined]
