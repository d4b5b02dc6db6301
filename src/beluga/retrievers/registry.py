"""Registries of retrievers and rerankers: names to factories, built-ins lazily.

``rerankers.create("cohere:rerank-v3.5", api_key=...)``, ``create_reranker("embedding:local")``
(cosine with an embedder from :mod:`beluga.embeddings`) and ``create_reranker("llm:local")``
(grades from a chat model of :mod:`beluga.llms`). Retrievers register their classes
(``retrievers.get("bm25")(documents)``); the ``retrieval:`` config section builds them by
these names. Plugins register under the entry-point groups ``beluga.retrievers`` and
``beluga.rerankers``; an unknown name lists what is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from beluga.core.registry import Registry
from beluga.retrievers.base import Reranker, Retriever

__all__ = ["create_reranker", "embedding_reranker", "llm_reranker", "rerankers", "retrievers"]

retrievers: Registry[Callable[..., Retriever]] = Registry("retriever", "beluga.retrievers")
rerankers: Registry[Callable[..., Reranker]] = Registry("reranker", "beluga.rerankers")

for _name, _path, _extra, _requires in (
    ("vector", "beluga.retrievers.vector:VectorRetriever", None, ()),
    ("bm25", "beluga.retrievers.bm25:BM25Retriever", "retrievers", ("bm25s",)),
    ("hybrid", "beluga.retrievers.fusion:HybridRetriever", None, ()),
    ("mmr", "beluga.retrievers.mmr:MMRRetriever", None, ()),
    ("multi_query", "beluga.retrievers.multi_query:MultiQueryRetriever", None, ()),
    ("parent_document", "beluga.retrievers.parent:ParentDocumentRetriever", None, ()),
    ("rerank", "beluga.retrievers.rerank:RerankingRetriever", None, ()),
    ("static", "beluga.retrievers.testing:StaticRetriever", None, ()),
):
    retrievers.register(_name, _path, extra=_extra, requires=_requires)

rerankers.register(
    "cohere", "beluga.retrievers.providers.cohere:CohereReranker", extra="cohere",
    requires=("cohere",),
)  # fmt: skip
rerankers.register("voyage", "beluga.retrievers.providers.rest:VoyageReranker")
rerankers.register("jina", "beluga.retrievers.providers.rest:JinaReranker")
rerankers.register("embedding", "beluga.retrievers.registry:embedding_reranker")
rerankers.register("llm", "beluga.retrievers.registry:llm_reranker")
rerankers.register("overlap", "beluga.retrievers.testing:OverlapReranker")


def embedding_reranker(model: str = "local", **options: Any) -> Reranker:
    """An :class:`~beluga.retrievers.rerank.EmbeddingReranker` over the embedder ``model``
    (a registry id of :mod:`beluga.embeddings`, with its keywords)."""
    from beluga.embeddings import create
    from beluga.retrievers.rerank import EmbeddingReranker

    return EmbeddingReranker(create(model, **options))


def llm_reranker(model: str = "local", **options: Any) -> Reranker:
    """An :class:`~beluga.retrievers.rerank.LLMReranker` over the chat model ``model`` (a
    registry id of :mod:`beluga.llms`); ``max_chars`` and ``concurrency`` are the reranker's."""
    from beluga.llms import create
    from beluga.retrievers.rerank import LLMReranker

    own = {k: options.pop(k) for k in ("max_chars", "concurrency") if k in options}
    return LLMReranker(create(model, **options), **own)


def create_reranker(spec: str, /, **options: Any) -> Reranker:
    """A reranker from ``"provider"`` or ``"provider:model"`` and the provider's keywords."""
    name, _, model = spec.partition(":")
    if model:
        options.setdefault("model", model)
    return rerankers.get(name)(**options)
