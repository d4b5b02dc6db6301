"""A deterministic embedder for tests and offline examples (no model, no network).

:class:`HashingEmbedder` uses the hashing trick: each lower-cased word adds +1 or -1 to one
coordinate chosen by a stable hash (BLAKE2b, not Python's salted ``hash``), and the vector is
scaled to unit length. Texts that share words get a high cosine similarity, the same text always
gets the same vector in every process, and unrelated texts are near orthogonal: enough to test
recall and ranking, not a model of meaning.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

from beluga.core.errors import BelugaError, ErrorCode
from beluga.embeddings.base import EmbedInput
from beluga.schema import TextPart

__all__ = ["HashingEmbedder"]

_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """Feature-hashing embedder; ``calls`` counts the batches it embedded."""

    def __init__(self, dimensions: int = 256, *, model_name: str = "hashing") -> None:
        if dimensions < 2:
            raise BelugaError(
                "embeddings.hashing",
                ErrorCode.INVALID_REQUEST,
                f"dimensions must be at least 2, got {dimensions}",
            )
        self._dimensions = dimensions
        self._model_name = model_name
        self.calls = 0

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def dimensions(self) -> int:
        return self._dimensions

    async def embed(self, inputs: Sequence[EmbedInput]) -> list[list[float]]:
        self.calls += 1
        return [self.vector(_text_of(item)) for item in inputs]

    def vector(self, text: str) -> list[float]:
        """The unit vector of ``text`` (all zeros for a text without words)."""
        vec = [0.0] * self._dimensions
        for word in _WORD.findall(text.lower()):
            digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            vec[value % self._dimensions] += 1.0 if value >> 63 else -1.0
        norm = math.sqrt(sum(v * v for v in vec))
        return [v / norm for v in vec] if norm else vec

    def __repr__(self) -> str:
        return f"HashingEmbedder(dimensions={self._dimensions})"


def _text_of(item: EmbedInput) -> str:
    if isinstance(item, str):
        return item
    return " ".join(p.text for p in item if isinstance(p, TextPart))
