from __future__ import annotations

import os
import uuid

import pytest

from beluga.core.redispool import RedisPool

redis = pytest.importorskip("redis.asyncio")
URL = os.environ.get("BELUGA_REDIS_URL")


def test_nothing_connects_before_the_first_command() -> None:
    pool = RedisPool(redis, "redis://127.0.0.1:1/0", 2, 0.5)
    assert pool.client() is pool.client()  # made once, lazily: no server was needed


@pytest.mark.skipif(not URL, reason="BELUGA_REDIS_URL is not set (make test starts Redis)")
async def test_commands_run_and_aclose_lets_a_new_client_be_made() -> None:
    assert URL is not None
    pool = RedisPool(redis, URL, 2, 5.0)
    key = f"beluga-test-{uuid.uuid4().hex}"
    try:
        await pool.client().set(key, "1")
        first = pool.client()
        await pool.aclose()
        assert pool.client() is not first
        assert await pool.client().get(key) == b"1"
    finally:
        await pool.client().delete(key)
        await pool.aclose()
