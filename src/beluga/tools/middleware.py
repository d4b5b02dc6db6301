"""Middleware for tools: each is ``Tool -> Tool`` and composes with
:func:`beluga.core.compose` (the first listed is the outermost).

These are thin adapters over :mod:`beluga.core.resilience`, the policies every area shares.
A wrapper keeps the wrapped tool's definition and flags (name, schema, ``requires_approval``,
``timeout``, ``max_retries``), so an agent sees the same tool.

:class:`ToolRetry` is the model's mistake, not the dependency's: it is never retried and never
counts as a failure for the circuit breaker. Retry acts on retryable :class:`BelugaError` s
only (a tool that wants a transient failure retried raises one, e.g. with code
``PROVIDER_UNAVAILABLE``).
"""

from __future__ import annotations

from typing import Any

from beluga.core.middleware import Middleware, Wrapper
from beluga.core.resilience import (
    CircuitBreaker,
    RateLimiter,
    RetryPolicy,
    breaker_call,
    limit_call,
    log_retries,
    retry_call,
)
from beluga.observability.logs import get_logger
from beluga.schema import ToolDefinition
from beluga.tools.base import RunContext, Tool, ToolResult, ToolRetry

__all__ = ["ToolWrapper", "circuit_breaker", "rate_limited", "retrying"]

_log = get_logger("beluga.tools.middleware")


class ToolWrapper(Wrapper[Tool]):
    """Delegates everything to ``inner``; middlewares override :meth:`call`."""

    @property
    def definition(self) -> ToolDefinition:
        return self.inner.definition

    @property
    def requires_approval(self) -> bool:
        return self.inner.requires_approval

    @property
    def timeout(self) -> float | None:
        return self.inner.timeout

    @property
    def max_retries(self) -> int:
        return self.inner.max_retries

    async def call(self, arguments: dict[str, Any], ctx: RunContext[Any]) -> ToolResult:
        return await self.inner.call(arguments, ctx)


class _Retrying(ToolWrapper):
    def __init__(self, inner: Tool, policy: RetryPolicy) -> None:
        super().__init__(inner)
        self.policy = policy
        self._log_retry = log_retries(_log, f"tool {inner.definition.name}")

    async def call(self, arguments: dict[str, Any], ctx: RunContext[Any]) -> ToolResult:
        return await retry_call(
            lambda: self.inner.call(arguments, ctx), self.policy, on_retry=self._log_retry
        )


def retrying(policy: RetryPolicy | None = None) -> Middleware[Tool]:
    """Retry a tool's retryable :class:`BelugaError` s with backoff (see
    :class:`~beluga.core.resilience.RetryPolicy`)."""
    chosen = policy or RetryPolicy()
    return lambda inner: _Retrying(inner, chosen)


class _RateLimited(ToolWrapper):
    def __init__(self, inner: Tool, limiter: RateLimiter) -> None:
        super().__init__(inner)
        self.limiter = limiter

    async def call(self, arguments: dict[str, Any], ctx: RunContext[Any]) -> ToolResult:
        return await limit_call(lambda: self.inner.call(arguments, ctx), self.limiter)


def rate_limited(limiter: RateLimiter) -> Middleware[Tool]:
    """Wait for ``limiter``'s request and concurrency budget before each call (share one
    limiter between tools that share a quota, such as one API)."""
    return lambda inner: _RateLimited(inner, limiter)


class _Breaker(ToolWrapper):
    def __init__(self, inner: Tool, breaker: CircuitBreaker) -> None:
        super().__init__(inner)
        self.breaker = breaker
        self._op = f"tools.{inner.definition.name}"

    async def call(self, arguments: dict[str, Any], ctx: RunContext[Any]) -> ToolResult:
        outcome = await breaker_call(lambda: self._answer(arguments, ctx), self.breaker, self._op)
        if isinstance(outcome, ToolRetry):
            raise outcome
        return outcome

    async def _answer(
        self, arguments: dict[str, Any], ctx: RunContext[Any]
    ) -> ToolResult | ToolRetry:
        """The tool's result, or the :class:`ToolRetry` it raised: the dependency answered."""
        try:
            return await self.inner.call(arguments, ctx)
        except ToolRetry as exc:
            return exc


def circuit_breaker(breaker: CircuitBreaker) -> Middleware[Tool]:
    """Stop calling a tool whose dependency keeps failing (see
    :class:`~beluga.core.resilience.CircuitBreaker`); while open, calls fail at once with a
    retryable error, which the model hears as a tool error."""
    return lambda inner: _Breaker(inner, breaker)
