"""Redis checkpoints on the real server at BELUGA_REDIS_URL: kill -9 mid-graph, errors."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.graphs.checkpoints.redis import RedisCheckpointer
from tests.graphs.checkpoints.conftest import cleanup, open_store, target_of
from tests.graphs.checkpoints.crash import kill_mid_graph_and_resume


async def test_kill_9_mid_graph_resumes_without_rerunning_completed_nodes(
    tmp_path: Path,
) -> None:
    target = target_of("redis", tmp_path)
    store = open_store("redis", target)
    try:
        await kill_mid_graph_and_resume(
            "redis", target, store, f"run-{uuid.uuid4().hex}", tmp_path / "log"
        )
    finally:
        await cleanup("redis", store)


async def test_unreachable_server_and_bad_url_hide_the_password() -> None:
    store = RedisCheckpointer("redis://:hunter2-pw@127.0.0.1:1/0", timeout=0.5)
    with pytest.raises(BelugaError) as info:
        await store.get("r")
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    assert "hunter2-pw" not in info.value.message and "hunter2-pw" not in repr(store)
    await store.aclose()
    with pytest.raises(BelugaError, match="not a Redis URL"):
        RedisCheckpointer("http://:pw@127.0.0.1/0")
