"""A retriever as a tool: the agent sends a query, the tool answers with numbered passages.

Each passage says where it came from (``source``, headings, page) so the model can cite it,
and is cut at ``max_chars``. The filter given here is fixed: the model chooses the query, never
which documents it may see (a tenant's filter stays the tenant's).
"""

from __future__ import annotations

from collections.abc import Sequence

from beluga.retrievers.base import Retriever
from beluga.tools import FunctionTool, Tool
from beluga.vectorstores.base import MetadataFilter, ScoredDocument
from beluga.vectorstores.filters import parse

__all__ = ["format_hits", "retriever_tool"]

DEFAULT_DESCRIPTION = (
    "Search the document collection. Send a short search query; the answer lists the most "
    "relevant passages with their sources."
)


def retriever_tool(
    retriever: Retriever,
    *,
    name: str = "search_documents",
    description: str | None = None,
    k: int | None = None,
    filter: MetadataFilter | None = None,
    max_chars: int = 1500,
) -> Tool:
    """A tool that runs ``retriever.retrieve(query, k=k, filter=filter)``."""
    fixed = parse(filter) if filter else None  # checked once, when the tool is made

    async def search(query: str) -> str:
        """Search the documents.

        Args:
            query: What to look for, in a few words.
        """
        hits = await retriever.retrieve(query, k=k, filter=fixed)
        return format_hits(hits, max_chars=max_chars)

    return FunctionTool(search, name=name, description=description or DEFAULT_DESCRIPTION)


def format_hits(hits: Sequence[ScoredDocument], *, max_chars: int = 1500) -> str:
    """Numbered passages with their sources, or a line saying nothing matched."""
    if not hits:
        return "No document matched the query."
    blocks: list[str] = []
    for i, hit in enumerate(hits, start=1):
        meta = hit.document.metadata
        where = [str(meta.get("source", hit.document.id))]
        headings = meta.get("heading_path")
        if isinstance(headings, list) and headings:
            where.append(" > ".join(str(h) for h in headings))
        if meta.get("page") is not None:
            where.append(f"page {meta['page']}")
        text = hit.document.text.strip()
        if len(text) > max_chars:
            text = text[: max_chars - 1] + "…"
        blocks.append(f"[{i}] {' | '.join(where)}\n{text}")
    return "\n\n".join(blocks)
