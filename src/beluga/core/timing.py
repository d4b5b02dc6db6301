"""When a provider's HTTP request left for the network, for the benchmark that times from there.

``beluga bench`` measures TTFT and end-to-end latency from the moment the request is handed to
the HTTP client, as genai-perf and guidellm do, so a provider's figures do not include the
framework's own preparation (that is reported apart, as ``prep``). The SDK clients of the HTTP
adapters carry :func:`mark_send` as an ``httpx`` request hook; it appends the time to the list
that :func:`watch_sends` put in the calling task's context, and does nothing outside one.
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
    """An ``httpx`` request event hook: note the time, if a benchmark is watching."""
    sends = _SENDS.get()
    if sends is not None:
        sends.append(time.perf_counter_ns())
