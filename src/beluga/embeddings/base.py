"""The embedder protocol: texts (or multimodal contents) to vectors.

Small on purpose: RAG brings the real providers (local, OpenAI, ...); memory's vector recall
and retrievers depend only on this. ``embed`` takes a batch, since every provider's API does,
and returns one vector per input, in order, each of ``dimensions`` floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeAlias, runtime_checkable

from beluga.schema import ContentPart

__all__ = ["EmbedInput", "Embedder"]

EmbedInput: TypeAlias = str | Sequence[ContentPart]
"""One input: a text, or the content parts of a document or message (text, image, ...)."""


@runtime_checkable
class Embedder(Protocol):
    """Turns inputs into vectors of a fixed size."""

    @property
    def model_name(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    async def embed(self, inputs: Sequence[EmbedInput]) -> list[list[float]]:
        """One vector of ``dimensions`` floats per input, in the order given."""
        ...
