"""Cost accounting and call metrics: the middleware that records every call.

Each call leaves one :class:`~beluga.llms.metrics.CallRecord` (provider, model, role, latency,
time to first token, tokens, cost, status) in a :class:`~beluga.llms.metrics.MetricsRecorder`,
which writes batches off the hot path. Cost comes from a :class:`PriceTable` (cached input at its
own rate, reasoning tokens billed as output); ``None`` when the model's price is unknown.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

from beluga.config import BelugaConfig
from beluga.core.errors import BelugaError
from beluga.core.middleware import Middleware
from beluga.core.streams import aclose
from beluga.llms.base import ChatModel, ModelSettings
from beluga.llms.config import LLMConfig
from beluga.llms.metrics import (
    CallRecord,
    MetricsRecorder,
    check_store_url,
    default_store_url,
    open_store,
    short_error,
)
from beluga.llms.middleware import ModelWrapper
from beluga.llms.pricing import Price, PriceTable
from beluga.schema import (
    ChatResponse,
    FinishEvent,
    Prompt,
    StreamEvent,
    ToolDefinition,
    Usage,
    UsageEvent,
)

__all__ = ["metered", "prices_from", "recorder_from"]

_Tools = Sequence[ToolDefinition] | None


class _Metered(ModelWrapper):
    def __init__(
        self, inner: ChatModel, recorder: MetricsRecorder, prices: PriceTable, role: str | None
    ) -> None:
        super().__init__(inner)
        self.recorder, self.prices, self.role = recorder, prices, role
        self._provider = self.provider  # the wrapped one's, looked up once

    def _record(
        self,
        started: float,
        elapsed: float,
        model: str | None,
        usage: Usage | None,
        error: BaseException | None,
        ttft: float | None = None,
    ) -> None:
        model = model or self.model_name
        usage = usage or Usage()
        if error is None:
            status, text = "ok", None
        elif isinstance(error, BelugaError):
            status, text = error.code.value, short_error(error)
        else:
            stopped = isinstance(error, asyncio.CancelledError | GeneratorExit)
            status = "canceled" if stopped else "internal"
            text = short_error(error)
        self.recorder.record(
            CallRecord(
                provider=self._provider,
                model=model,
                role=self.role,
                ts=started,
                latency_s=elapsed,
                operation="chat" if ttft is None else "stream",
                ttft_s=ttft,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cached_tokens=usage.cached_tokens,
                reasoning_tokens=usage.reasoning_tokens,
                cost_usd=self.prices.cost(model, usage) if error is None else None,
                status=status,
                error=text,
            )
        )

    async def generate(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> ChatResponse:
        started, t0 = time.time(), time.perf_counter()
        try:
            response = await self.inner.generate(prompt, tools=tools, settings=settings)
        except BaseException as exc:
            self._record(started, time.perf_counter() - t0, None, None, exc)
            raise
        self._record(started, time.perf_counter() - t0, response.model, response.usage, None)
        return response

    async def stream(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> AsyncIterator[StreamEvent]:
        started, t0 = time.time(), time.perf_counter()
        ttft: float | None = None
        usage: Usage | None = None
        model: str | None = None
        error: BaseException | None = None
        source = self.inner.stream(prompt, tools=tools, settings=settings)
        try:
            async for event in source:
                if ttft is None:
                    ttft = time.perf_counter() - t0
                kind = type(event)
                if kind is UsageEvent:
                    usage = event.usage if usage is None else usage + event.usage  # type: ignore[union-attr]
                elif kind is FinishEvent:
                    model = event.model  # type: ignore[union-attr]
                yield event
        except BaseException as exc:
            error = exc
            raise
        finally:
            await aclose(source)
            self._record(
                started,
                time.perf_counter() - t0,
                model,
                usage,
                error,
                ttft if ttft is not None else time.perf_counter() - t0,
            )


def metered(
    recorder: MetricsRecorder, *, prices: PriceTable | None = None, role: str | None = None
) -> Middleware[ChatModel]:
    """Record every call of the wrapped model (with its ``role``) into ``recorder``."""
    table = prices or PriceTable()
    return lambda inner: _Metered(inner, recorder, table, role)


def recorder_from(config: BelugaConfig) -> MetricsRecorder | None:
    """The recorder ``llm.metrics`` asks for, or None when metrics are off.

    Opens nothing: the store is opened (and created) by the recorder's thread after the first
    call, so a store that is locked, corrupt or down costs a warning, never the answer. An
    invalid store URL raises :class:`BelugaError` (``invalid_config``) here.
    """
    metrics = LLMConfig.of(config).metrics
    if not metrics.enabled:
        return None
    url = check_store_url(metrics.store or default_store_url())
    return MetricsRecorder(lambda: open_store(url))


def prices_from(config: BelugaConfig) -> PriceTable:
    """The built-in price table with ``llm.prices`` overrides."""
    return PriceTable(
        {
            model: Price(p.input, p.output, p.cached_input)
            for model, p in LLMConfig.of(config).prices.items()
        }
    )
