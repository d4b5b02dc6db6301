"""Multi-query retrieval: a model rewrites the question several ways, each is searched.

A question phrased unlike the documents misses them; asking a chat model for ``n`` rewordings
(LangChain's MultiQueryRetriever idea) widens the net. The rewrites and the original question
are searched concurrently and their rankings fused by reciprocal rank, so a document found by
several phrasings ranks first, and each document appears once. The model answers one query per
line; numbering and bullets are stripped and duplicates dropped. If the model fails, the
original question alone is searched (one warning, counted on the span): retrieval must not fail
because its helper did.
"""

from __future__ import annotations

import asyncio
import re

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.base import ChatModel, ModelSettings
from beluga.observability import get_logger
from beluga.retrievers.base import BaseRetriever, Retriever, check_k
from beluga.retrievers.fusion import reciprocal_rank_fusion
from beluga.schema import Message
from beluga.vectorstores.base import MetadataFilter, ScoredDocument

__all__ = ["DEFAULT_PROMPT", "MultiQueryRetriever", "parse_queries"]

_log = get_logger(__name__)

DEFAULT_PROMPT = (
    "You help search a document collection. Write {n} different search queries that ask the "
    "same thing as the user's question, using other words a document might use. Answer with "
    "the queries only, one per line, no numbering."
)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)]|\(\d+\))\s*")


def parse_queries(text: str, *, limit: int) -> list[str]:
    """The queries of a model's answer: one per line, bullets and numbering removed,
    quotes trimmed, blank lines and case-insensitive duplicates dropped."""
    seen: set[str] = set()
    queries: list[str] = []
    for line in text.splitlines():
        query = _BULLET.sub("", line).strip().strip('"').strip()
        key = " ".join(query.lower().split())
        if key and key not in seen:
            seen.add(key)
            queries.append(query)
        if len(queries) == limit:
            break
    return queries


class MultiQueryRetriever(BaseRetriever):
    """``n`` model-written rewordings of the query (plus the query) searched on
    ``retriever``, fused by reciprocal rank."""

    kind = "multi_query"

    def __init__(
        self,
        retriever: Retriever,
        model: ChatModel,
        *,
        n: int = 3,
        k: int = 4,
        include_original: bool = True,
        prompt: str = DEFAULT_PROMPT,
        settings: ModelSettings | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(k=k, name=name)
        self.retriever = retriever
        self.model = model
        self.n = check_k(n, "retrievers.multi_query")
        self.include_original = include_original
        if "{n}" not in prompt:
            raise BelugaError(
                "retrievers.multi_query",
                ErrorCode.INVALID_REQUEST,
                "the prompt must contain {n} (the number of queries to write)",
            )
        self.prompt = prompt
        self.settings = settings or ModelSettings(temperature=0.0, max_tokens=256)

    async def queries(self, query: str) -> list[str]:
        """The queries searched for ``query``: the original first (if included), then the
        model's rewrites that differ from it."""
        messages = [Message.system(self.prompt.format(n=self.n)), Message.user(query)]
        response = await self.model.generate(messages, settings=self.settings)
        rewrites = parse_queries(response.text, limit=self.n + 1)
        original = " ".join(query.lower().split())
        rewrites = [q for q in rewrites if " ".join(q.lower().split()) != original][: self.n]
        return [query, *rewrites] if self.include_original or not rewrites else rewrites

    async def _retrieve(
        self, query: str, k: int, filter: MetadataFilter | None
    ) -> list[ScoredDocument]:
        try:
            queries = await self.queries(query)
        except BelugaError as exc:
            if not self.include_original:
                raise
            _log.warning("multi-query rewrite failed (%s); searching the question alone", exc.code)
            queries = [query]
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(self.retriever.retrieve(q, k=k, filter=filter)) for q in queries
            ]
        return reciprocal_rank_fusion([t.result() for t in tasks])[:k]
