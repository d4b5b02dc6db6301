"""When a provider's HTTP request left for the network, for the benchmark that times from there.

``beluga bench`` measures TTFT and end-to-end latency from the moment the request starts to be
written to the connection, so a provider's figures do not include the framework's and the HTTP
client's own time before it (reported apart, as ``prep``). The SDK clients of the HTTP adapters
carry :func:`mark_send` as an ``httpx`` request hook; it appends the time to the list that
:func:`watch_sends` put in the calling task's context, and does nothing outside one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["mark_send", "watch_sends"]

_SENDS: ContextVar[list[int] | None] = ContextVar("beluga_request_sends", default=None)


@contextmanager
def watch_sends() -> Iterator[list[int]]:
    """A list that collects the ``perf_counter_ns()`` of every request sent within the block
    (one per attempt when a call is retried), in this task and the tasks it starts."""
    sends: list[int] = []
    token = _SENDS.set(sends)
    try:
        yield sends
    finally:
        _SENDS.reset(token)


async def mark_send(request: Any) -> None:
    """An ``httpx`` request event hook: note the time, if a benchmark is watching, and move it
    to when the transport starts writing the request (``httpcore``'s trace), so that the
    connection pool counts as the client's, not the provider's. (The start, not the end: the
    end's event can run after the server has begun, which would cut the provider's time.)"""
    sends = _SENDS.get()
    if sends is None:
        return
    sends.append(time.perf_counter_ns())
    index = len(sends) - 1

    async def written(event: str, info: dict[str, Any]) -> None:
        if event.endswith("send_request_headers.started"):
            sends[index] = time.perf_counter_ns()

    request.extensions.setdefault("trace", written)
