"""The retriever and reranker protocols, and the base every built-in retriever shares.

A retriever answers a question with scored documents (higher is more relevant), best first:
``await retriever.retrieve("how do I ingest?", k=5, filter={"source": "docs/a.md"})``. A
reranker re-orders candidate documents for a query. Both are one method, so anything with that
method fits (a test double, a plugin, a remote search service).

:class:`BaseRetriever` gives the built-ins one behaviour: ``k`` and the query are checked once,
every call is a ``retrieval {name}`` span (OpenTelemetry GenAI conventions: INTERNAL kind,
``gen_ai.data_source.id``, ``gen_ai.retrieval.top_k``, the count and ids of what came back,
never the query or any document text) and feeds ``gen_ai.client.operation.duration``; and
:meth:`BaseRetriever.as_tool` makes it a tool an agent can call.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from beluga.core.errors import BelugaError, ErrorCode
from beluga.observability import start_operation
from beluga.schema import Document
from beluga.vectorstores.base import MetadataFilter, ScoredDocument

if TYPE_CHECKING:
    from beluga.tools import Tool

__all__ = ["BaseRetriever", "Reranker", "Retriever", "check_k", "check_query"]

_MAX_IDS_ON_SPAN = 20


@runtime_checkable
class Retriever(Protocol):
    """Finds the documents most relevant to a query."""

    async def retrieve(
        self, query: str, *, k: int | None = None, filter: MetadataFilter | None = None
    ) -> list[ScoredDocument]:
        """At most ``k`` documents (the retriever's default when ``None``) that match
        ``filter``, most relevant first."""
        ...


@runtime_checkable
class Reranker(Protocol):
    """Orders candidate documents by their relevance to a query."""

    @property
    def model_name(self) -> str: ...

    async def rerank(
        self, query: str, documents: Sequence[Document], *, top_n: int | None = None
    ) -> list[ScoredDocument]:
        """The ``top_n`` (default: all) most relevant of ``documents``, best first, each
        scored by the reranker (higher is more relevant)."""
        ...


def check_k(k: int, op: str) -> int:
    """``k`` if it is a positive integer, else one clear error."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise BelugaError(op, ErrorCode.INVALID_REQUEST, f"k must be an integer >= 1, not {k!r}")
    return k


def check_query(query: object, op: str) -> str:
    """``query`` if it is a non-blank string, else one clear error."""
    if not isinstance(query, str):
        raise BelugaError(
            op, ErrorCode.INVALID_REQUEST, f"the query must be a string, not {type(query).__name__}"
        )
    if not query.strip():
        raise BelugaError(op, ErrorCode.INVALID_REQUEST, "the query is empty: pass some text")
    return query


class BaseRetriever(ABC):
    """Checks, tracing and :meth:`as_tool` around one ``_retrieve`` method.

    ``name`` identifies the data source on spans (``gen_ai.data_source.id``); ``k`` is the
    default number of documents.
    """

    kind: ClassVar[str] = "retriever"

    def __init__(self, *, k: int = 4, name: str | None = None) -> None:
        self.k = check_k(k, f"retrievers.{self.kind}")
        self.name = name or self.kind

    async def retrieve(
        self, query: str, *, k: int | None = None, filter: MetadataFilter | None = None
    ) -> list[ScoredDocument]:
        """At most ``k`` documents matching ``filter``, most relevant first."""
        op_name = f"retrievers.{self.kind}"
        check_query(query, op_name)
        top_k = self.k if k is None else check_k(k, op_name)
        attributes: dict[str, Any] = {
            "gen_ai.data_source.id": self.name,
            "gen_ai.retrieval.top_k": top_k,
            "beluga.retriever.kind": self.kind,
        }
        with start_operation("retrieval", self.name, attributes=attributes) as op:
            with op.activated():
                hits = await self._retrieve(query, top_k, filter)
            if op.recording:
                op.set("beluga.retrieval.documents.count", len(hits))
                op.set(
                    "beluga.retrieval.document_ids",
                    [hit.document.id for hit in hits[:_MAX_IDS_ON_SPAN]],
                )
            return hits

    @abstractmethod
    async def _retrieve(
        self, query: str, k: int, filter: MetadataFilter | None
    ) -> list[ScoredDocument]:
        """The retrieval itself (``query`` and ``k`` already checked)."""

    def as_tool(
        self,
        name: str = "search_documents",
        description: str | None = None,
        *,
        k: int | None = None,
        filter: MetadataFilter | None = None,
        max_chars: int = 1500,
    ) -> Tool:
        """This retriever as a tool an agent calls with a ``query`` (see
        :func:`beluga.retrievers.tool.retriever_tool`)."""
        from beluga.retrievers.tool import retriever_tool

        return retriever_tool(
            self, name=name, description=description, k=k, filter=filter, max_chars=max_chars
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, k={self.k})"
