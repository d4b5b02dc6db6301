"""The ``retrieval:`` section of ``beluga.yaml``: rerankers and ingestion settings.

::

    retrieval:
      rerankers:
        cloud:
          provider: cohere          # cohere, voyage, jina, embedding, llm (or a plugin)
          model: rerank-v3.5
          api_key: ${CO_API_KEY}    # any other key is the provider's keyword
        offline:
          provider: embedding
          model: local              # an embedder id of beluga.embeddings
      ingest:
        embedder: local             # a name of embeddings.embedders or an embedder id
        chunk_size: 1000            # characters per chunk
        chunk_overlap: 150
        include: ["**/*.md"]        # globs relative to the path ingested (default: all)

Keys and URLs with passwords are credentials: masked in every repr, dump and error.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ConfigDict, Field, NonNegativeInt, PositiveInt, model_validator

from beluga.config import BelugaConfig, ConfigError, ConfigModel, Section
from beluga.core.errors import BelugaError, ErrorCode
from beluga.retrievers.base import Reranker
from beluga.retrievers.registry import rerankers

__all__ = [
    "IngestConfig",
    "RerankerConfig",
    "RetrievalConfig",
    "build_reranker",
    "validate_retrieval",
]


class RerankerConfig(ConfigModel):
    """One named reranker: its provider and model, any other key the provider's keyword."""

    model_config = ConfigDict(extra="allow", frozen=True)

    provider: str
    model: str | None = None

    def factory_options(self) -> dict[str, Any]:
        options: dict[str, Any] = dict(self.__pydantic_extra__ or {})
        if self.model is not None:
            options["model"] = self.model
        return options


class IngestConfig(ConfigModel):
    """How ``beluga ingest`` cuts and embeds files."""

    embedder: str | None = None
    chunk_size: PositiveInt = 1000
    chunk_overlap: NonNegativeInt = 150
    include: list[str] = Field(default_factory=list)
    exclude: list[str] | None = None
    batch_size: PositiveInt = 64

    @model_validator(mode="after")
    def _overlap(self) -> IngestConfig:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self


class RetrievalConfig(Section):
    """Named rerankers and the ingestion settings."""

    key: ClassVar[str] = "retrieval"

    rerankers: dict[str, RerankerConfig] = Field(default_factory=dict)
    ingest: IngestConfig = Field(default_factory=IngestConfig)


def build_reranker(config: BelugaConfig, name: str) -> Reranker:
    """The reranker ``name`` of ``retrieval.rerankers``, or a registry id (``embedding:local``)."""
    section = RetrievalConfig.of(config)
    entry = section.rerankers.get(name)
    if entry is None:
        provider, _, model = name.partition(":")
        _check_provider(provider, "retrieval.rerankers", config.source, name)
        options: dict[str, Any] = {"model": model} if model else {}
        where = "retrieval.rerankers"
    else:
        provider, options = entry.provider, entry.factory_options()
        where = f"retrieval.rerankers.{name}"
        _check_provider(provider, f"{where}.provider", config.source)
    factory = rerankers.get(provider)
    try:
        return factory(**options)
    except TypeError as exc:
        raise ConfigError(
            config.source, where, f"reranker {provider!r}: {exc}", "remove the unknown key"
        ) from exc
    except BelugaError as exc:
        if exc.code is not ErrorCode.INVALID_CONFIG:
            raise
        raise ConfigError(config.source, where, exc.message, "see docs/readme/rag.md") from exc


def validate_retrieval(config: BelugaConfig) -> list[str]:
    """Check every reranker entry's provider without creating any; the names checked."""
    section = RetrievalConfig.of(config)
    for name, entry in section.rerankers.items():
        _check_provider(entry.provider, f"retrieval.rerankers.{name}.provider", config.source)
    return sorted(section.rerankers)


def _check_provider(provider: str, key: str, source: str, ref: str | None = None) -> None:
    if provider in rerankers:
        return
    guess = rerankers.suggest(provider)
    hint = f"did you mean {guess!r}? " if guess else ""
    problem = (
        f"{ref!r} names no reranker entry or provider"
        if ref is not None
        else f"unknown reranker provider {provider!r}"
    )
    raise ConfigError(
        source,
        key,
        problem,
        f"{hint}use one of {', '.join(rerankers.names())} or a name under retrieval.rerankers",
    )
