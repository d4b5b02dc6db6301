"""One lazily made redis-py asyncio client over a blocking pool, shared by the Redis stores.

Nothing connects until the first command; at most ``size`` connections are open and a caller
past that waits up to ``timeout`` for one. redis-py is handed in by the store that required it,
so importing this module imports nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RedisPool"]


class RedisPool:
    def __init__(self, redis: Any, url: str, size: int, timeout: float) -> None:
        self._redis = redis
        self._url = url
        self._size = size
        self._timeout = timeout
        self._client: Any = None

    def client(self) -> Any:
        """The client, made on first use."""
        if self._client is None:
            pool = self._redis.BlockingConnectionPool.from_url(
                self._url,
                max_connections=self._size,
                timeout=self._timeout,
                socket_connect_timeout=self._timeout,
                socket_timeout=self._timeout,
            )
            self._client = self._redis.Redis(connection_pool=pool)
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
            await client.connection_pool.disconnect()
