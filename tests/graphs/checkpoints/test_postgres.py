"""PostgreSQL checkpoints on the real server at BELUGA_PG_DSN: kill -9 mid-graph, errors."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.graphs.checkpoints.postgres import PostgresCheckpointer
from tests.graphs.checkpoints.conftest import cleanup, open_store, target_of
from tests.graphs.checkpoints.crash import kill_mid_graph_and_resume


async def test_kill_9_mid_graph_resumes_without_rerunning_completed_nodes(
    tmp_path: Path,
) -> None:
    target = target_of("postgres", tmp_path)
    store = open_store("postgres", target)
    try:
        await kill_mid_graph_and_resume(
            "postgres", target, store, f"run-{uuid.uuid4().hex}", tmp_path / "log"
        )
    finally:
        await cleanup("postgres", store)


async def test_unreachable_server_names_host_not_password() -> None:
    store = PostgresCheckpointer(
        "postgresql://user:s3cret-pw@127.0.0.1:1/db", prefix="g_x", timeout=1
    )
    with pytest.raises(BelugaError) as info:
        await store.get("r")
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    assert "127.0.0.1:1/db" in info.value.message
    assert "s3cret-pw" not in info.value.message and "s3cret-pw" not in repr(store)
    with pytest.raises(BelugaError, match="invalid table prefix"):
        PostgresCheckpointer("postgresql://127.0.0.1/db", prefix="x;drop")
