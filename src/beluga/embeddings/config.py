"""The ``embeddings:`` section of ``beluga.yaml``, and the one path from it to a live embedder.

::

    embeddings:
      default: local        # a name below, or a registry id (openai:text-embedding-3-small)
      embedders:
        docs:
          provider: openai
          model: text-embedding-3-small
          dimensions: 512
          api_key: ${OPENAI_API_KEY}  # any other key is the provider's keyword (base_url, ...)
          retries: 3                  # attempts in all; 1 turns retrying off
          timeout: 30                 # seconds per embed call
          cache: sqlite               # none, memory or sqlite
          cache_path: ~/.beluga/embeddings.db

With no section the default is the offline local embedder. Keys, URLs with passwords and
header values are credentials: masked in every repr, dump and error.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field, PositiveFloat, PositiveInt, model_validator

from beluga.config import BelugaConfig, ConfigError, ConfigModel, Section
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.middleware import Middleware, apply
from beluga.core.resilience import RateLimiter, RetryPolicy
from beluga.embeddings.base import Embedder
from beluga.embeddings.cache import MemoryEmbeddingCache, SqliteEmbeddingCache
from beluga.embeddings.middleware import cached, rate_limited, retrying, timed_out
from beluga.embeddings.registry import EmbedderFactory, create, registry

__all__ = ["EmbedderConfig", "EmbeddingsConfig", "build_embedder", "validate_embeddings"]

_OWN = ("provider", "model", "retries", "timeout", "cache", "cache_path", "requests_per_minute")
_DEFAULT_CACHE = "~/.beluga/embeddings.db"


class EmbedderConfig(ConfigModel):
    """One named embedder: its provider, model, the middleware around it, and any other key
    as the provider's own keyword (``dimensions``, ``base_url``, ``api_key``, ...)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    provider: str
    model: str | None = None
    retries: PositiveInt = 3
    timeout: PositiveFloat | None = None
    cache: Literal["none", "memory", "sqlite"] = "none"
    cache_path: str | None = None
    requests_per_minute: PositiveFloat | None = None

    @model_validator(mode="after")
    def _consistent(self) -> EmbedderConfig:
        if self.cache_path is not None and self.cache != "sqlite":
            raise ValueError("cache_path is for cache: sqlite")
        return self

    def factory_options(self) -> dict[str, Any]:
        """The provider's keywords: ``model`` and every extra key, credentials unmasked."""
        options: dict[str, Any] = dict(self.__pydantic_extra__ or {})
        if self.model is not None:
            options["model"] = self.model
        return options

    def middleware(self) -> list[Middleware[Embedder]]:
        """The wrappers this entry asks for, outermost first: cache, retry, timeout, limit."""
        wrappers: list[Middleware[Embedder]] = []
        if self.cache == "memory":
            wrappers.append(cached(MemoryEmbeddingCache()))
        elif self.cache == "sqlite":
            wrappers.append(cached(SqliteEmbeddingCache(self.cache_path or _DEFAULT_CACHE)))
        if self.retries > 1:
            wrappers.append(retrying(RetryPolicy(max_attempts=self.retries)))
        if self.timeout is not None:
            wrappers.append(timed_out(self.timeout))
        if self.requests_per_minute is not None:
            wrappers.append(rate_limited(RateLimiter(requests_per_minute=self.requests_per_minute)))
        return wrappers


class EmbeddingsConfig(Section):
    """Which embedder answers by default, and the named ones."""

    key: ClassVar[str] = "embeddings"

    default: str = "local"
    embedders: dict[str, EmbedderConfig] = Field(default_factory=dict)


def build_embedder(config: BelugaConfig, name: str | None = None) -> Embedder:
    """The embedder ``name`` refers to (default: ``embeddings.default``): a named entry with
    its middleware, or a registry id (``openai:text-embedding-3-small``) with defaults."""
    section = EmbeddingsConfig.of(config)
    ref = name or section.default
    key = "embeddings.default" if name is None else f"embeddings.embedders.{ref}"
    entry = section.embedders.get(ref)
    if entry is None:
        _factory(ref.partition(":")[0], key, config.source, ref)
        return _call(lambda: create(ref), key, config.source)
    where = f"embeddings.embedders.{ref}"
    factory = _factory(entry.provider, f"{where}.provider", config.source)
    options = entry.factory_options()
    _check_options(factory, entry.provider, options, where, config.source)
    embedder = _call(lambda: factory(**options), where, config.source)
    return apply(embedder, *entry.middleware())


def validate_embeddings(config: BelugaConfig) -> list[str]:
    """Check every embedder entry and the default without creating any; the names checked."""
    section, source = EmbeddingsConfig.of(config), config.source
    for name, entry in section.embedders.items():
        where = f"embeddings.embedders.{name}"
        factory = _factory(entry.provider, f"{where}.provider", source)
        _check_options(factory, entry.provider, entry.factory_options(), where, source)
    if section.default not in section.embedders:
        _factory(section.default.partition(":")[0], "embeddings.default", source, section.default)
    return sorted(section.embedders)


def _factory(provider: str, key: str, source: str, ref: str | None = None) -> EmbedderFactory:
    if provider not in registry:
        guess = registry.suggest(provider)
        hint = f"did you mean {guess!r}? " if guess else ""
        problem = (
            f"{ref!r} names no embedder entry or provider"
            if ref is not None
            else f"unknown embedder provider {provider!r}"
        )
        raise ConfigError(
            source,
            key,
            problem,
            f"{hint}use one of {', '.join(registry.names())}, a name under "
            "embeddings.embedders, or install the plugin that provides it",
        )
    return registry.get(provider)


def _check_options(
    factory: EmbedderFactory, provider: str, options: Mapping[str, Any], key: str, source: str
) -> None:
    params = inspect.signature(factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    for option in options:
        if option not in params:
            allowed = sorted({*params, *_OWN} - {"client"})
            raise ConfigError(
                source,
                f"{key}.{option}",
                f"embedder provider {provider!r} has no option {option!r}",
                f"use one of {', '.join(allowed)}",
            )


def _call(make: Callable[[], Embedder], key: str, source: str) -> Embedder:
    try:
        return make()
    except ConfigError:
        raise
    except BelugaError as exc:
        if exc.code is not ErrorCode.INVALID_CONFIG:
            raise
        raise ConfigError(source, key, exc.message, "see docs/readme/embeddings.md") from exc
