"""Documents: the unit of retrieval, text or media, with metadata and an optional embedding."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from beluga.core.ids import new_id
from beluga.schema.content import ContentPart, TextPart

__all__ = ["Document"]


@dataclass(slots=True, init=False)
class Document:
    id: str
    content: tuple[ContentPart, ...]
    metadata: dict[str, Any] = field(default_factory=dict)
    embedding: Sequence[float] | None = None

    def __init__(
        self,
        content: str | Iterable[ContentPart],
        *,
        id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        embedding: Sequence[float] | None = None,
    ) -> None:
        self.id = id or new_id("doc")
        self.content = (TextPart(content),) if isinstance(content, str) else tuple(content)
        self.metadata = dict(metadata or {})
        self.embedding = embedding

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.content if isinstance(p, TextPart))
