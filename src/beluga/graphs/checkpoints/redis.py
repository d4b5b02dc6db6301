"""Checkpoints in Redis (``pip install 'beluga-ai[redis]'``), through ``redis.asyncio``.

Keys under ``prefix`` (default ``beluga:graph:``): a hash ``{prefix}cp:{run_id}`` maps each
checkpoint id to its JSON, a hash ``{prefix}w:{run_id}:{checkpoint_id}`` holds the pending
writes of that step by task id, and the set ``{prefix}runs`` names the runs. Each write is one
command (atomic); a checkpoint is in Redis when ``put`` returns, and as durable as the server's
persistence settings (AOF with ``appendfsync everysec`` loses at most a second on a server
crash; a killed client loses nothing). A ``ttl`` expires a run's keys that long after its last
write. The URL is a secret: errors and reprs show it without user info.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import display_url, register_url
from beluga.core.redispool import RedisPool
from beluga.core.registry import require
from beluga.graphs.checkpoints.base import (
    Checkpoint,
    CheckpointMeta,
    check_run_id,
    decode_checkpoint,
    decode_write,
    encode_checkpoint,
    encode_write,
    meta_of,
)

__all__ = ["RedisCheckpointer"]

_OP = "graphs.checkpoints.redis"


class RedisCheckpointer(AsyncClosing):
    """Checkpoints in Redis hashes; the client and its pool are made on first use."""

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "beluga:graph:",
        ttl: int | None = None,
        pool_size: int = 10,
        timeout: float = 10.0,
    ) -> None:
        register_url(url)
        self.where = display_url(url)
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"checkpoint store URL {self.where} is not a Redis URL: use "
                "redis://host:6379/0, rediss://host:6380/0 (TLS) or unix:///path/redis.sock",
            )
        if ttl is not None and ttl < 1:
            raise BelugaError(_OP, ErrorCode.INVALID_CONFIG, f"ttl must be >= 1 second, got {ttl}")
        self.prefix = prefix
        self.ttl = ttl
        self._errors: Any = require("redis.exceptions", extra="redis")
        self._pool = RedisPool(require("redis.asyncio", extra="redis"), url, pool_size, timeout)

    async def put(self, checkpoint: Checkpoint) -> None:
        run_id = check_run_id(_OP, checkpoint.run_id)
        key = f"{self.prefix}cp:{run_id}"
        try:
            async with self._pool.client().pipeline(transaction=True) as pipe:
                pipe.hset(key, checkpoint.checkpoint_id, encode_checkpoint(checkpoint))
                pipe.sadd(f"{self.prefix}runs", run_id)
                if self.ttl is not None:
                    pipe.expire(key, self.ttl)
                await pipe.execute()
        except self._errors.RedisError as exc:
            raise self._error(exc) from exc

    async def put_writes(
        self, run_id: str, checkpoint_id: str, task_id: str, write: dict[str, Any]
    ) -> None:
        key = f"{self.prefix}w:{check_run_id(_OP, run_id)}:{checkpoint_id}"
        try:
            async with self._pool.client().pipeline(transaction=True) as pipe:
                pipe.hset(key, task_id, encode_write(write))
                if self.ttl is not None:
                    pipe.expire(key, self.ttl)
                await pipe.execute()
        except self._errors.RedisError as exc:
            raise self._error(exc) from exc

    async def get(self, run_id: str, checkpoint_id: str | None = None) -> Checkpoint | None:
        key = f"{self.prefix}cp:{check_run_id(_OP, run_id)}"
        client = self._pool.client()
        try:
            if checkpoint_id is None:
                ids = [_text(k) for k in await client.hkeys(key)]
                if not ids:
                    return None
                checkpoint_id = max(ids)
            data = await client.hget(key, checkpoint_id)
            if data is None:
                return None
            writes = await client.hgetall(f"{self.prefix}w:{run_id}:{checkpoint_id}")
        except self._errors.RedisError as exc:
            raise self._error(exc) from exc
        cp = decode_checkpoint(_OP, data)
        cp.writes = {_text(t): decode_write(_OP, d) for t, d in writes.items()}
        return cp

    async def history(self, run_id: str) -> Sequence[CheckpointMeta]:
        key = f"{self.prefix}cp:{check_run_id(_OP, run_id)}"
        try:
            found = await self._pool.client().hgetall(key)
        except self._errors.RedisError as exc:
            raise self._error(exc) from exc
        cps = [decode_checkpoint(_OP, found[k]) for k in sorted(found, key=_text)]
        return [meta_of(cp) for cp in cps]

    async def runs(self) -> list[CheckpointMeta]:
        """The latest checkpoint of every run, by run id."""
        try:
            ids = sorted(_text(r) for r in await self._pool.client().smembers(f"{self.prefix}runs"))
        except self._errors.RedisError as exc:
            raise self._error(exc) from exc
        out: list[CheckpointMeta] = []
        for run_id in ids:
            cp = await self.get(run_id)
            if cp is not None:
                out.append(meta_of(cp))
        return out

    async def aclose(self) -> None:
        await self._pool.aclose()

    def _error(self, exc: BaseException) -> BelugaError:
        errors = self._errors
        if isinstance(exc, errors.AuthenticationError | errors.AuthorizationError):
            return BelugaError(
                _OP,
                ErrorCode.AUTH_FAILED,
                f"checkpoint store Redis at {self.where} refused the credentials: fix the user "
                "and password in graphs.checkpoints.url",
                cause=exc,
            )
        if isinstance(exc, errors.ConnectionError | errors.TimeoutError):
            return BelugaError(
                _OP,
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"checkpoint store Redis at {self.where} is unreachable: check that Redis runs "
                "and graphs.checkpoints.url points at it",
                retryable=True,
                cause=exc,
            )
        return BelugaError(
            _OP, ErrorCode.INTERNAL, f"checkpoint store Redis at {self.where}: {exc}", cause=exc
        )

    def __repr__(self) -> str:
        return f"RedisCheckpointer({self.where!r}, prefix={self.prefix!r})"


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
