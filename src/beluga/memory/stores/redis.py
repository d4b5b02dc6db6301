"""Session histories in Redis (``pip install 'beluga-ai[redis]'``), through ``redis.asyncio``.

One list per session under ``{prefix}{session_id}`` (default prefix ``beluga:memory:``), one
wire-JSON element per message. An append is one ``RPUSH`` of all the turn's messages (atomic,
so concurrent turns never interleave) in a ``MULTI`` with the ``EXPIRE`` that renews the
session's ``ttl`` when one is set. Connections come from a blocking pool of ``pool_size``: under
a burst of sessions a call waits for a free connection (up to ``timeout`` seconds) instead of
opening one per session.

The URL (``redis://user:password@host:6379/0``, ``rediss://`` for TLS) is a secret: errors and
reprs show it without user info or query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast
from urllib.parse import urlsplit

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import display_url, register_url
from beluga.core.redispool import RedisPool
from beluga.core.registry import require
from beluga.memory.stores._common import check_session, decode, encode, unavailable
from beluga.schema import Message

__all__ = ["DEFAULT_PREFIX", "RedisStore"]

_OP = "memory.redis"
DEFAULT_PREFIX = "beluga:memory:"
_FIX = "check that Redis runs and memory.store.url points at it (host, port, password, TLS)"


class RedisStore(AsyncClosing):
    """Per-session Redis lists; the client and its pool are made on first use."""

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl: int | None = None,
        pool_size: int = 20,
        timeout: float = 10.0,
    ) -> None:
        register_url(url)
        self.where = display_url(url)
        scheme = _scheme(url)
        if scheme not in ("redis", "rediss", "unix"):
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"memory store URL {self.where} is not a Redis URL: use "
                "redis://host:6379/0, rediss://host:6380/0 (TLS) or unix:///path/redis.sock",
            )
        if ttl is not None and ttl < 1:
            raise BelugaError(
                _OP, ErrorCode.INVALID_CONFIG, f"ttl must be at least 1 second, got {ttl}"
            )
        self.prefix = prefix
        self.ttl = ttl
        self._errors: Any = require("redis.exceptions", extra="redis")
        self._pool = RedisPool(require("redis.asyncio", extra="redis"), url, pool_size, timeout)

    def key(self, session_id: str) -> str:
        """The Redis key holding ``session_id``'s messages."""
        return f"{self.prefix}{session_id}"

    async def append(self, session_id: str, messages: Sequence[Message]) -> None:
        key = self.key(check_session(_OP, session_id))
        records = encode(_OP, messages)
        if not records:
            return
        try:
            async with self._pool.client().pipeline(transaction=True) as pipe:
                pipe.rpush(key, *records)
                if self.ttl is not None:
                    pipe.expire(key, self.ttl)
                await pipe.execute()
        except self._errors.RedisError as exc:
            raise self._error(exc) from exc

    async def messages(self, session_id: str, *, last: int | None = None) -> list[Message]:
        key = self.key(check_session(_OP, session_id))
        if last is not None and last <= 0:
            return []
        try:
            records = await self._pool.client().lrange(key, -last if last else 0, -1)
        except self._errors.RedisError as exc:
            raise self._error(exc) from exc
        return decode(_OP, session_id, cast("list[bytes]", records))

    async def clear(self, session_id: str) -> None:
        key = self.key(check_session(_OP, session_id))
        try:
            await self._pool.client().delete(key)
        except self._errors.RedisError as exc:
            raise self._error(exc) from exc

    async def sessions(self) -> dict[str, int]:
        """Each session id under ``prefix`` with its number of messages, sorted by id (found
        with ``SCAN``, so a large keyspace is walked in steps without blocking Redis); keys
        under the prefix that are not lists are skipped."""
        pattern = _glob_escape(self.prefix) + "*"
        client = self._pool.client()
        try:
            keys = [k async for k in client.scan_iter(match=pattern, count=500)]
            if not keys:
                return {}
            async with client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.llen(key)
                counts = await pipe.execute(raise_on_error=False)
        except self._errors.RedisError as exc:
            raise self._error(exc) from exc
        found: dict[str, int] = {}
        for key, count in zip(keys, counts, strict=True):
            if isinstance(count, int) and count > 0:
                name = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
                found[name[len(self.prefix) :]] = count
        return dict(sorted(found.items()))

    async def aclose(self) -> None:
        await self._pool.aclose()

    def _error(self, exc: BaseException) -> BelugaError:
        errors = self._errors
        if isinstance(exc, errors.AuthenticationError | errors.AuthorizationError):
            return BelugaError(
                _OP,
                ErrorCode.AUTH_FAILED,
                f"memory store Redis at {self.where} refused the credentials: fix the user "
                "and password in memory.store.url",
                cause=exc,
            )
        if isinstance(exc, errors.ConnectionError | errors.TimeoutError):
            return unavailable(_OP, "Redis", self.where, exc, _FIX)
        if isinstance(exc, errors.ResponseError) and "WRONGTYPE" in str(exc):
            return BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"a key under prefix {self.prefix!r} on Redis at {self.where} is not a "
                "beluga memory list: choose another memory.store.prefix",
                cause=exc,
            )
        return BelugaError(
            _OP, ErrorCode.INTERNAL, f"memory store Redis at {self.where}: {exc}", cause=exc
        )

    def __repr__(self) -> str:
        return f"RedisStore({self.where!r}, prefix={self.prefix!r})"


def _glob_escape(text: str) -> str:
    """``text`` matched literally in a Redis ``MATCH`` pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme
    except ValueError:
        return ""
