"""What configuration wraps around a provider: its middleware, and its share of ``extra``.

**Middleware** (``llm.providers.<name>.middleware``) takes the keywords of the Python wrappers,
so YAML and code read the same::

    middleware:
      retry: {max_attempts: 3, base_delay: 0.5}            # retrying(RetryPolicy(...))
      timeout: 30                                          # or {seconds, first_chunk, idle}
      breaker: {failure_threshold: 5, reset_after: 30}     # circuit_breaker(CircuitBreaker(name))

``true`` (or ``{}``) takes a wrapper's defaults. They compose outside-in as breaker, retry,
timeout: each attempt gets its own deadline, one breaker call spans the retries, and an open
circuit fails at once, so a router falls back instead of a retry waiting for the circuit.

**Provider-keyed extra**: in ``extra``, an entry whose key names a registered provider type
(``anthropic``, ``openai``, ...) or a provider entry, and whose value is a mapping, holds that
provider's options only; every other entry goes to every provider. A provider gets the plain
entries, then its type's, then its entry's (the most specific wins).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from pydantic import Field, PositiveFloat, PositiveInt, ValidationError, field_validator

from beluga.config import ConfigModel
from beluga.config.errors import from_validation
from beluga.core.middleware import Middleware
from beluga.core.resilience import CircuitBreaker, RetryPolicy
from beluga.llms.base import ChatModel, ModelSettings
from beluga.llms.middleware import circuit_breaker, retrying, timed_out

__all__ = ["MiddlewareConfig", "extra_for", "middleware_config", "narrowed"]


class _Retry(ConfigModel):
    max_attempts: PositiveInt | None = None
    base_delay: float | None = Field(default=None, ge=0)
    max_delay: float | None = Field(default=None, ge=0)
    multiplier: float | None = Field(default=None, ge=1)
    max_retry_after: float | None = Field(default=None, ge=0)


class _Timeout(ConfigModel):
    seconds: PositiveFloat | None = None
    first_chunk: PositiveFloat | None = None
    idle: PositiveFloat | None = None


class _Breaker(ConfigModel):
    failure_threshold: PositiveInt | None = None
    reset_after: PositiveFloat | None = None


class MiddlewareConfig(ConfigModel):
    """``llm.providers.<name>.middleware``; an unset key adds no wrapper."""

    retry: _Retry | None = None
    timeout: _Timeout | None = None
    breaker: _Breaker | None = None

    @field_validator("retry", "breaker", mode="before")
    @classmethod
    def _switch(cls, value: Any) -> Any:
        """``true`` turns a wrapper on with its defaults, ``false`` leaves it off."""
        if value is True:
            return {}
        return None if value is False else value

    @field_validator("timeout", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        """``timeout: 30`` is ``timeout: {seconds: 30}``."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"seconds": value}
        return value

    def wrappers(self, name: str) -> list[Middleware[ChatModel]]:
        """The wrappers, outermost first; the breaker is named after the provider entry."""
        chain: list[Middleware[ChatModel]] = []
        if self.breaker is not None:
            chain.append(circuit_breaker(CircuitBreaker(name, **_given(self.breaker))))
        if self.retry is not None:
            chain.append(retrying(RetryPolicy(**_given(self.retry))))
        if self.timeout is not None:
            chain.append(timed_out(**_given(self.timeout)))
        return chain


def _given(model: ConfigModel) -> dict[str, Any]:
    return model.model_dump(exclude_none=True)


def middleware_config(values: Mapping[str, Any], *, key: str, source: str) -> MiddlewareConfig:
    """Validate ``values`` (written at ``key`` of ``source``) or raise a ConfigError there."""
    try:
        return MiddlewareConfig.model_validate(values)
    except ValidationError as exc:
        raise from_validation(exc, source, MiddlewareConfig, tuple(key.split("."))) from exc


def extra_for(
    extra: Mapping[str, Any], names: Sequence[str], keyed: Collection[str]
) -> dict[str, Any]:
    """The part of ``extra`` for the provider known as ``names`` (type, then entry name);
    ``keyed`` holds every name that marks a provider-keyed entry."""
    own: dict[str, Any] = {
        k: v for k, v in extra.items() if not (k in keyed and isinstance(v, Mapping))
    }
    for name in names:
        options = extra.get(name)
        if name in keyed and isinstance(options, Mapping):
            own.update(options)
    return own


def narrowed(
    settings: ModelSettings, names: Sequence[str], keyed: Collection[str]
) -> ModelSettings:
    """``settings`` with only the provider's own share of ``extra`` (the same object when
    nothing in it is keyed)."""
    if not settings.extra or not any(
        k in keyed and isinstance(v, Mapping) for k, v in settings.extra.items()
    ):
        return settings
    return replace(settings, extra=extra_for(settings.extra, names, keyed))
