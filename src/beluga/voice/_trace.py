"""One span per speech operation, through :func:`beluga.observability.genai.start_operation`.

A recognition session is ``transcribe {model}``, a synthesis ``synthesize {model}``; each span
carries ``gen_ai.provider.name`` and ``gen_ai.request.model`` as the GenAI conventions name
them, the time to the first transcript or audio chunk (``beluga.voice.time_to_first_chunk``,
seconds), how many chunks came, and the error kind when it failed (its message redacted by
the observability layer). The conventions define no speech metrics yet, so these are spans
only; the per-turn latency histogram lives in :mod:`beluga.observability.voice`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TypeVar

from beluga.observability.genai import start_operation

__all__ = ["traced"]

T = TypeVar("T")


async def traced(
    frames: AsyncIterator[T], operation: str, *, provider: str, model: str
) -> AsyncIterator[T]:
    """``frames`` as they come, inside one span (ended when the iteration ends or fails)."""
    op = start_operation(
        operation, model, provider=provider, attributes={"gen_ai.request.model": model}
    )
    started = time.perf_counter()
    count = 0
    try:
        async for frame in frames:
            if count == 0:
                op.set("beluga.voice.time_to_first_chunk", time.perf_counter() - started)
            count += 1
            yield frame
    except (GeneratorExit, asyncio.CancelledError):
        op.set("beluga.voice.cancelled", True)
        raise
    except BaseException as exc:
        op.fail(exc)
        raise
    finally:
        op.set("beluga.voice.chunks", count)
        op.end()
