"""Vector-recall memory: the past turns relevant to the new input, plus the last few turns.

On save, each turn the save touched is embedded (its transcript: who said what, tool calls
and results, cut to a few thousand characters) and upserted into the vector store as one
document with metadata ``session_id``, ``turn`` (its index in the session), ``source``
(``beluga.memory``, so the memory's documents never mix with a RAG corpus in the same
store) and ``digest`` (a hash of the turn's text). A turn continued by a later save is
re-embedded under the same id, so the stored vector is always of the whole turn.

On load, the new user input is embedded and the store searched *with a filter on the session*
(and the results checked again), so nothing crosses from one session to another. The result
is the ``top_k`` most similar earlier turns plus the last ``recent_turns`` turns, in
chronological order, each turn once and whole (a tool call with its result). A hit whose
digest no longer matches the stored turn (the history was cleared outside this memory and
started again) is skipped.

The whole history stays in the message store; vectors are a side path. If the embedder or
the vector store fails, a save still stores the turn (its vector is missing until the turn
is saved again, or :meth:`VectorMemory.reindex` indexes the session again) and a load
returns the recent turns only, with one warning per outage and a count in
:attr:`VectorMemory.failures`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

from beluga.embeddings import Embedder
from beluga.memory._degrade import Degradation
from beluga.memory._turns import turn_starts, without_summaries
from beluga.memory.base import MessageStore
from beluga.memory.strategies import BufferMemory, positive
from beluga.memory.summary import transcript
from beluga.observability import Operation
from beluga.schema import Document, Message
from beluga.vectorstores import VectorStore

__all__ = ["SOURCE", "VectorMemory", "turn_ranges"]

SOURCE = "beluga.memory"
_MAX_TURN_CHARS = 4000
"""Longest turn text embedded (embedding models take a few thousand tokens at most)."""
_BATCH = 64
"""Turns embedded per call (every embedding API takes batches, none unbounded ones)."""


def turn_ranges(messages: Sequence[Message]) -> list[tuple[int, int]]:
    """``(start, end)`` of each turn of ``messages``, in order."""
    starts = turn_starts(messages)
    return list(zip(starts, [*starts[1:], len(messages)], strict=False))  # [] when empty


class VectorMemory(BufferMemory):
    """Relevant earlier turns by embedding similarity, then the last ``recent_turns`` turns."""

    strategy = "vector"

    def __init__(
        self,
        store: MessageStore,
        embedder: Embedder,
        vectors: VectorStore,
        *,
        top_k: int = 4,
        recent_turns: int = 4,
    ) -> None:
        super().__init__(store)
        self.embedder = embedder
        self.vectors = vectors
        self.top_k = positive("top_k", top_k)
        self.recent_turns = positive("recent_turns", recent_turns)
        self._degradation = Degradation("vector recall")

    @property
    def failures(self) -> int:
        """Embedder or vector-store calls that failed (recall degraded, nothing lost)."""
        return self._degradation.failures

    async def aclose(self) -> None:
        for part in (self.embedder, self.vectors):
            close = getattr(part, "aclose", None)
            if close is not None:
                await close()
        await super().aclose()

    # -- the strategy ----------------------------------------------------------------------------

    async def reindex(self, session_id: str) -> int:
        """Embed and upsert every turn of the session again (after a vector store was lost
        or replaced, or saves made while the embedder was down); the number of turns. Errors
        are raised: this is the explicit repair, not a side path."""
        with self._operation("reindex", session_id) as op, op.activated():
            history = without_summaries(await self.store.messages(session_id))
            return await self._index(session_id, history, 0, op)

    async def _save(self, session_id: str, messages: Sequence[Message], op: Operation) -> None:
        await self.store.append(session_id, messages)
        if not messages:
            return
        history = without_summaries(await self.store.messages(session_id))
        try:
            await self._index(session_id, history, max(0, len(history) - len(messages)), op)
        except Exception as exc:
            self._degradation.failed(
                exc, op, "the turn is stored but not indexed; recall misses it until re-saved"
            )
            return
        self._degradation.succeeded()

    async def _index(
        self, session_id: str, history: list[Message], first_new: int, op: Operation
    ) -> int:
        """Embed and upsert the turns of ``history`` that end after ``first_new``."""
        touched = [
            (index, start, end)
            for index, (start, end) in enumerate(turn_ranges(history))
            if end > first_new
        ]
        op.set("beluga.memory.embedded_turns", len(touched))
        for at in range(0, len(touched), _BATCH):
            batch = touched[at : at + _BATCH]
            texts = [_turn_text(history[start:end]) for _, start, end in batch]
            documents = [
                Document(
                    text,
                    id=_document_id(session_id, index),
                    metadata={
                        "session_id": session_id,
                        "turn": index,
                        "source": SOURCE,
                        "digest": _digest(text),
                    },
                )
                for (index, _, _), text in zip(batch, texts, strict=True)
            ]
            await self.vectors.upsert(documents, await self.embedder.embed(texts))
        return len(touched)

    async def _load(self, session_id: str, query: Sequence[Message]) -> list[Message]:
        history = without_summaries(await self.store.messages(session_id))
        ranges = turn_ranges(history)
        recent = set(range(max(0, len(ranges) - self.recent_turns), len(ranges)))
        chosen = set(recent)
        question = "\n".join(m.text for m in query if m.role == "user" and m.text)
        if question and len(ranges) > len(recent):
            chosen |= await self._recall(session_id, question, history, ranges, recent)
        return [m for index in sorted(chosen) for m in history[slice(*ranges[index])]]

    async def _recall(
        self,
        session_id: str,
        question: str,
        history: list[Message],
        ranges: list[tuple[int, int]],
        recent: set[int],
    ) -> set[int]:
        """Indexes of the ``top_k`` earlier turns closest to ``question`` (not among
        ``recent``)."""
        with self._operation("recall", session_id) as op:
            try:
                (vector,) = await self.embedder.embed([question])
                hits = await self.vectors.search(
                    vector,
                    k=self.top_k + len(recent),
                    filter={"session_id": session_id, "source": SOURCE},
                )
            except Exception as exc:
                self._degradation.failed(exc, op, "only the recent turns are shown")
                return set()
            self._degradation.succeeded()
            found: list[int] = []
            for hit in hits:
                meta = hit.document.metadata
                index = meta.get("turn")
                if (
                    meta.get("session_id") != session_id
                    or not isinstance(index, int)
                    or not 0 <= index < len(ranges)
                    or index in recent
                    or index in found
                ):
                    continue
                text = _turn_text(history[slice(*ranges[index])])
                if meta.get("digest") == _digest(text):
                    found.append(index)
                if len(found) == self.top_k:
                    break
            op.set("beluga.memory.recalled_turns", len(found))
            return set(found)

    async def _clear(self, session_id: str) -> None:
        # Vectors first: a clear that fails halfway leaves the history, never orphan vectors
        # of a history the user believes gone.
        await self.vectors.delete(filter={"session_id": session_id, "source": SOURCE})
        await self.store.clear(session_id)

    def __repr__(self) -> str:
        return (
            f"VectorMemory({self.store!r}, {self.embedder!r}, {self.vectors!r}, "
            f"top_k={self.top_k}, recent_turns={self.recent_turns})"
        )


def _turn_text(messages: Sequence[Message]) -> str:
    return transcript(messages)[:_MAX_TURN_CHARS]


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


def _document_id(session_id: str, index: int) -> str:
    """A UUID (what every vector database accepts as an id), stable per session and turn."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"beluga-memory:{session_id}:{index}"))
