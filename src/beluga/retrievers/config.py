"""The ``retrieval:`` section of ``beluga.yaml``: retrievers, rerankers and ingestion settings.

::

    retrieval:
      retrievers:
        docs:
          store: docs               # a store of vectorstores: (default: vectorstores.default)
          embedder: local           # default: the store's embedder, then embeddings.default
          k: 4
          score_threshold: 0.3      # in the store's score (cosine by default)
          mmr: {fetch_k: 20, lambda_mult: 0.5}   # optional: diverse results
          rerank: offline           # optional: a reranker below (or an id), over fetch_k
          fetch_k: 20
        keywords:
          store: docs
          mode: hybrid              # vector (default), bm25, or hybrid: both fused by rank
          weights: [1.0, 1.0]       # hybrid: the vector ranking's weight, then BM25's
          bm25: {k1: 1.5, b: 0.75}  # BM25 over the chunks `beluga ingest` wrote to the store
          manifest: ~/notes.db      # default: where `beluga ingest` keeps it for that store
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

from typing import Any, ClassVar, Literal

from pydantic import (
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    model_validator,
)

from beluga.config import BelugaConfig, ConfigError, ConfigModel, Section
from beluga.core.errors import BelugaError, ErrorCode
from beluga.retrievers.base import BaseRetriever, Reranker
from beluga.retrievers.bm25 import BM25Retriever
from beluga.retrievers.corpus import IngestedCorpus
from beluga.retrievers.fusion import HybridRetriever
from beluga.retrievers.mmr import MMRRetriever
from beluga.retrievers.registry import rerankers
from beluga.retrievers.rerank import RerankingRetriever
from beluga.retrievers.vector import VectorRetriever

__all__ = [
    "BM25Config",
    "IngestConfig",
    "MMRConfig",
    "RerankerConfig",
    "RetrievalConfig",
    "RetrieverConfig",
    "build_reranker",
    "build_retriever",
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


class MMRConfig(ConfigModel):
    """Maximal marginal relevance over the vector candidates."""

    fetch_k: PositiveInt = 20
    lambda_mult: float = Field(0.5, ge=0.0, le=1.0)


class BM25Config(ConfigModel):
    """Okapi BM25's parameters, and whether words are stemmed."""

    k1: PositiveFloat = 1.5
    b: float = Field(0.75, ge=0.0, le=1.0)
    stem: bool = True


class RetrieverConfig(ConfigModel):
    """One named retriever over a vector store: by vectors, BM25 or both fused (``mode``),
    top-k, threshold, optional MMR and reranking."""

    store: str | None = None
    mode: Literal["vector", "bm25", "hybrid"] = "vector"
    embedder: str | None = None
    k: PositiveInt = 4
    score_threshold: float | None = None
    mmr: MMRConfig | None = None
    rerank: str | None = None
    fetch_k: PositiveInt = 20
    bm25: BM25Config = Field(default_factory=BM25Config)
    weights: list[NonNegativeFloat] | None = None
    manifest: str | None = None

    @model_validator(mode="after")
    def _mode(self) -> RetrieverConfig:
        if self.mode == "bm25" and self.mmr is not None:
            raise ValueError("mmr needs vectors: use mode vector or hybrid, or drop mmr")
        if self.mode == "bm25" and self.score_threshold is not None:
            raise ValueError(
                "score_threshold is in the store's vector score, which mode bm25 has not: "
                "use mode hybrid, or drop score_threshold"
            )
        if self.weights is not None and (self.mode != "hybrid" or len(self.weights) != 2):
            raise ValueError(
                "weights are for mode hybrid: two numbers, the vector ranking's and BM25's"
            )
        return self


class RetrievalConfig(Section):
    """Named retrievers and rerankers, and the ingestion settings."""

    key: ClassVar[str] = "retrieval"

    retrievers: dict[str, RetrieverConfig] = Field(default_factory=dict)
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


def build_retriever(config: BelugaConfig, name: str) -> BaseRetriever:
    """The retriever ``name`` of ``retrieval.retrievers``: a vector retriever over its store
    (built by :func:`beluga.vectorstores.config.build_vector_store`, wrapped in MMR when the
    entry asks), BM25 over the chunks ingested into that store, or both fused by rank
    (``mode``), then a reranker when the entry names one. It owns what it built: close it
    (``async with``)."""
    from beluga.embeddings import build_embedder
    from beluga.vectorstores.config import build_vector_store, store_entry

    section = RetrievalConfig.of(config)
    entry = section.retrievers.get(name)
    if entry is None:
        known = ", ".join(sorted(section.retrievers)) or "none"
        raise ConfigError(
            config.source,
            "retrieval.retrievers",
            f"no retriever named {name!r} (defined: {known})",
            "add it under retrieval.retrievers, or check the spelling",
        )
    store_name, store_config = store_entry(config, entry.store)
    store = build_vector_store(config, entry.store)
    owned: list[object] = [store]
    parts: list[BaseRetriever] = []
    if entry.mode != "bm25":
        embedder = build_embedder(config, entry.embedder or store_config.embedder)
        owned.append(embedder)
        parts.append(_vector_retriever(entry, store, embedder, name))
    if entry.mode != "vector":
        from beluga.retrievers.ingest import default_manifest

        manifest = entry.manifest or default_manifest(store_name, store)
        corpus = IngestedCorpus(store, manifest)
        owned.append(corpus)
        options = entry.bm25.model_dump()
        parts.append(BM25Retriever(corpus=corpus, k=entry.k, name=name, **options))
    retriever = parts[0]
    if len(parts) > 1:
        retriever = HybridRetriever(
            parts, weights=entry.weights, k=entry.k, fetch_k=entry.fetch_k, name=name
        )
    if entry.rerank is not None:
        reranker = build_reranker(config, entry.rerank)
        owned.append(reranker)
        retriever = RerankingRetriever(
            retriever, reranker, k=entry.k, fetch_k=entry.fetch_k, name=name
        )
    retriever.own(*owned)  # `async with build_retriever(...)` closes the store and models
    return retriever


def _vector_retriever(
    entry: RetrieverConfig, store: Any, embedder: Any, name: str
) -> BaseRetriever:
    retriever: BaseRetriever = VectorRetriever(
        store, embedder, k=entry.k, score_threshold=entry.score_threshold, name=name
    )
    if entry.mmr is None:
        return retriever
    return MMRRetriever(
        retriever,
        embedder,
        k=entry.k,
        fetch_k=entry.mmr.fetch_k,
        lambda_mult=entry.mmr.lambda_mult,
        name=name,
    )


def validate_retrieval(config: BelugaConfig) -> list[str]:
    """Check every reranker entry's provider and every retriever's references without
    creating anything; the names checked."""
    from beluga.vectorstores.config import store_entry

    section = RetrievalConfig.of(config)
    for name, entry in section.rerankers.items():
        _check_provider(entry.provider, f"retrieval.rerankers.{name}.provider", config.source)
    for name, retriever in section.retrievers.items():
        store_entry(config, retriever.store)
        if retriever.rerank is not None and retriever.rerank not in section.rerankers:
            provider = retriever.rerank.partition(":")[0]
            _check_provider(
                provider, f"retrieval.retrievers.{name}.rerank", config.source, retriever.rerank
            )
    return sorted({*section.rerankers, *section.retrievers})


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
