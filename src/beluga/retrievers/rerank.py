"""Reranking: a retriever's candidates re-ordered by a reranker, and the offline rerankers.

:class:`RerankingRetriever` asks its retriever for ``fetch_k`` candidates and keeps the
reranker's top ``k``: a cheap wide first stage (BM25, vectors, hybrid), a precise narrow second.
:class:`BaseReranker` traces every call as a ``rerank {model}`` span (the model, the candidate
and returned counts; never the query or the texts) feeding ``gen_ai.client.operation.duration``.

Offline rerankers: :class:`EmbeddingReranker` scores by cosine between the query and each
candidate embedded whole (with the local embedder this is a second, query-aware look at
candidates that BM25 found by words); :class:`LLMReranker` asks a chat model to grade each
candidate from 0 to 10 (pointwise, concurrent, the grade constrained to JSON by
``settings.output``), which works with the local model and any provider.
The cloud rerankers (Cohere, Voyage, Jina) are in :mod:`beluga.retrievers.providers`.
"""

from __future__ import annotations

import asyncio
import json
import math
from abc import abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from beluga.core.closing import AsyncClosing
from beluga.embeddings.base import Embedder
from beluga.llms.base import ChatModel, ModelSettings
from beluga.observability import start_operation
from beluga.retrievers.base import BaseRetriever, Reranker, Retriever, check_k, check_query
from beluga.schema import Document, Message, OutputSchema
from beluga.vectorstores.base import MetadataFilter, ScoredDocument

__all__ = [
    "BaseReranker",
    "EmbeddingReranker",
    "LLMReranker",
    "RerankingRetriever",
    "parse_grade",
    "top",
]


class BaseReranker(AsyncClosing):
    """Checks and the ``rerank`` span around one ``_rerank`` method."""

    provider: ClassVar[str] = "beluga"

    def __init__(self, model: str) -> None:
        self._model = model

    @property
    def model_name(self) -> str:
        return self._model

    async def rerank(
        self, query: str, documents: Sequence[Document], *, top_n: int | None = None
    ) -> list[ScoredDocument]:
        """The ``top_n`` (default: all) of ``documents`` most relevant to ``query``."""
        op_name = f"retrievers.rerank.{self.provider}"
        check_query(query, op_name)
        docs = list(documents)
        top = len(docs) if top_n is None else min(check_k(top_n, op_name), len(docs))
        attributes = {"beluga.rerank.candidates": len(docs), "beluga.rerank.top_n": top}
        with start_operation(
            "rerank", self._model, provider=self.provider, attributes=attributes
        ) as op:
            if not docs:
                return []
            ranked = await self._rerank(query, docs, top)
            op.set("beluga.rerank.returned", len(ranked))
            return ranked

    @abstractmethod
    async def _rerank(
        self, query: str, documents: list[Document], top_n: int
    ) -> list[ScoredDocument]:
        """Score ``documents`` (non-empty) and return the best ``top_n``, best first."""

    async def aclose(self) -> None:
        """Nothing held by default; cloud rerankers close their client."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self._model!r})"


def top(documents: Sequence[Document], scores: Sequence[float], n: int) -> list[ScoredDocument]:
    """The ``n`` best of ``documents`` by ``scores``; ties keep the candidates' order."""
    order = sorted(range(len(documents)), key=lambda i: scores[i], reverse=True)
    return [ScoredDocument(documents[i], float(scores[i])) for i in order[:n]]


class EmbeddingReranker(BaseReranker):
    """Cosine similarity between the query's and each candidate's embedding."""

    def __init__(self, embedder: Embedder) -> None:
        super().__init__(f"embedding:{embedder.model_name}")
        self.embedder = embedder

    async def _rerank(
        self, query: str, documents: list[Document], top_n: int
    ) -> list[ScoredDocument]:
        vectors = await self.embedder.embed([query, *(d.content for d in documents)])
        q = vectors[0]
        return top(documents, [_cosine(q, v) for v in vectors[1:]], top_n)


_GRADE_PROMPT = (
    "Grade how well the passage answers the question, from 0 (unrelated) to 10 (answers it "
    'fully). Answer with JSON: {"grade": <0-10>}.'
)
_GRADE_SCHEMA = OutputSchema.of(
    {
        "type": "object",
        "properties": {"grade": {"type": "integer", "minimum": 0, "maximum": 10}},
        "required": ["grade"],
        "additionalProperties": False,
    },
    name="grade",
)


class LLMReranker(BaseReranker):
    """A chat model grades each candidate 0-10 (concurrently, at most ``concurrency`` at a
    time); ties keep the first stage's order. An answer without a grade scores 0."""

    def __init__(
        self,
        model: ChatModel,
        *,
        max_chars: int = 1200,
        concurrency: int = 4,
        settings: ModelSettings | None = None,
    ) -> None:
        super().__init__(f"llm:{model.model_name}")
        self.model = model
        self.max_chars = max_chars
        self._limit = check_k(concurrency, "retrievers.rerank.llm")
        self.settings = settings or ModelSettings(
            temperature=0.0, max_tokens=16, output=_GRADE_SCHEMA
        )

    async def grade(self, query: str, document: Document) -> float:
        """The model's 0-10 grade of ``document`` for ``query``."""
        passage = document.text[: self.max_chars]
        messages = [
            Message.system(_GRADE_PROMPT),
            Message.user(f"Question: {query}\n\nPassage:\n{passage}"),
        ]
        response = await self.model.generate(messages, settings=self.settings)
        return parse_grade(response.text)

    async def _rerank(
        self, query: str, documents: list[Document], top_n: int
    ) -> list[ScoredDocument]:
        gate = asyncio.Semaphore(self._limit)

        async def graded(doc: Document) -> float:
            async with gate:
                return await self.grade(query, doc)

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(graded(d)) for d in documents]
        return top(documents, [t.result() for t in tasks], top_n)


def parse_grade(text: str) -> float:
    """The grade in a model's answer (``{"grade": 7}`` or a bare number), clamped to 0-10;
    0 when there is none."""
    value: object = None
    try:
        data = json.loads(text)
        value = data.get("grade") if isinstance(data, dict) else data
    except ValueError:
        digits = "".join(ch if ch.isdigit() or ch == "." else " " for ch in text).split()
        value = digits[0] if digits else None
    try:
        grade = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return min(max(grade, 0.0), 10.0) if math.isfinite(grade) else 0.0


class RerankingRetriever(BaseRetriever):
    """``fetch_k`` candidates of ``retriever`` narrowed to ``k`` by ``reranker``; scores are
    the reranker's."""

    kind = "rerank"

    def __init__(
        self,
        retriever: Retriever,
        reranker: Reranker,
        *,
        k: int = 4,
        fetch_k: int = 20,
        name: str | None = None,
    ) -> None:
        super().__init__(k=k, name=name)
        self.retriever = retriever
        self.reranker = reranker
        self.fetch_k = check_k(fetch_k, "retrievers.rerank")

    async def _retrieve(
        self, query: str, k: int, filter: MetadataFilter | None
    ) -> list[ScoredDocument]:
        candidates = await self.retriever.retrieve(query, k=max(self.fetch_k, k), filter=filter)
        if not candidates:
            return []
        return await self.reranker.rerank(query, [c.document for c in candidates], top_n=k)


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    if not norm:
        return 0.0
    return dot / norm
