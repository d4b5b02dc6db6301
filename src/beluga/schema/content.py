"""Content parts of a message or document: text, reasoning and media (image, audio, video, file).

Media comes by URL, raw bytes or base64 text; exactly one is given. Base64 stays as given and raw
bytes stay raw until a provider asks for the other form, so large audio is never re-encoded twice.

A :class:`ReasoningPart` is what a model thought before it answered, kept in the assistant message
so that it can be sent back on later turns: providers sign or encrypt it (Anthropic's thinking
signatures, Gemini's thought signatures, OpenAI's and xAI's encrypted reasoning) and reject a
continued tool call whose reasoning is missing. It is never text of the message: ``Message.text``
skips it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import KW_ONLY, dataclass
from typing import Any, Literal, TypeAlias

from beluga.core.errors import BelugaError, ErrorCode

__all__ = [
    "AudioPart",
    "ContentPart",
    "FilePart",
    "ImagePart",
    "MediaPart",
    "ProviderPart",
    "ReasoningPart",
    "TextPart",
    "VideoPart",
]


@dataclass(slots=True, frozen=True)
class TextPart:
    """Text. ``phase`` is the provider's label for an assistant message that says what it is
    (OpenAI's ``"commentary"`` for narration between tool calls, ``"final_answer"``), kept so
    that it goes back as it came; ``Message.text`` skips commentary."""

    text: str
    _: KW_ONLY
    phase: str | None = None
    kind: Literal["text"] = "text"


@dataclass(slots=True, frozen=True)
class ProviderPart:
    """A block of a provider's own that has no common meaning (Anthropic's ``compaction``
    block), kept in the assistant message so that the adapter of ``provider`` sends it back as
    it came; other adapters leave it out, and ``Message.text`` skips it.

    ``data`` is the block as JSON text (immutable like the message that holds it); :meth:`value`
    reads it back."""

    data: str
    _: KW_ONLY
    provider: str
    kind: Literal["provider"] = "provider"

    def value(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.data)
        return value


@dataclass(slots=True, frozen=True)
class ReasoningPart:
    """Reasoning ("thinking") of an assistant turn, as the provider returned it.

    ``text`` is the readable reasoning (may be empty: some providers show none). ``signature`` is
    an opaque token the provider wants back with the text (Anthropic's thinking signature,
    Gemini's thought signature, as base64 text), ``redacted`` an opaque encrypted payload that
    stands for reasoning it does not show (Anthropic's redacted thinking, OpenAI's and xAI's
    encrypted content, Bedrock's redacted content, as base64 text where the wire has bytes).
    ``provider`` is the ``gen_ai.provider.name`` that produced it: an adapter sends back only its
    own provider's parts, since a signature means nothing to another vendor. ``id`` is the
    provider's id for it (an OpenAI Responses reasoning item).
    """

    text: str = ""
    _: KW_ONLY
    signature: str | None = None
    redacted: str | None = None
    provider: str | None = None
    id: str | None = None
    kind: Literal["reasoning"] = "reasoning"


@dataclass(slots=True, frozen=True, kw_only=True)
class MediaPart:
    """Shared shape of every media part: one source, a media type and optional name."""

    url: str | None = None
    data: bytes | None = None
    base64: str | None = None
    media_type: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        given = (self.url is not None) + (self.data is not None) + (self.base64 is not None)
        if given != 1:
            raise BelugaError(
                "schema.content",
                ErrorCode.INVALID_REQUEST,
                f"{type(self).__name__} needs exactly one of url=, data= or base64= "
                f"(got {given}); e.g. {type(self).__name__}(url='https://...')",
            )
        if self.url is None and self.media_type is None:
            raise BelugaError(
                "schema.content",
                ErrorCode.INVALID_REQUEST,
                f"{type(self).__name__} from bytes or base64 needs media_type=, "
                "e.g. 'image/png' or 'audio/wav'",
            )

    def as_base64(self) -> str:
        """The content as base64 text (not for URL parts)."""
        if self.base64 is not None:
            return self.base64
        if self.data is not None:
            return base64.b64encode(self.data).decode("ascii")
        raise self._url_only("as_base64")

    def as_bytes(self) -> bytes:
        """The content as raw bytes (not for URL parts)."""
        if self.data is not None:
            return self.data
        if self.base64 is not None:
            try:
                return base64.b64decode(self.base64, validate=True)
            except binascii.Error as exc:
                raise BelugaError(
                    "schema.content",
                    ErrorCode.INVALID_REQUEST,
                    f"{type(self).__name__}.base64 is not valid base64: {exc}",
                    cause=exc,
                ) from exc
        raise self._url_only("as_bytes")

    def as_data_url(self) -> str:
        """A ``data:`` URL, or the URL itself for URL parts."""
        if self.url is not None:
            return self.url
        return f"data:{self.media_type};base64,{self.as_base64()}"

    def _url_only(self, method: str) -> BelugaError:
        return BelugaError(
            "schema.content",
            ErrorCode.INVALID_REQUEST,
            f"{type(self).__name__} holds a URL; {method}() needs data= or base64= content",
        )


@dataclass(slots=True, frozen=True, kw_only=True)
class ImagePart(MediaPart):
    detail: Literal["auto", "low", "high"] | None = None
    kind: Literal["image"] = "image"


@dataclass(slots=True, frozen=True, kw_only=True)
class AudioPart(MediaPart):
    kind: Literal["audio"] = "audio"


@dataclass(slots=True, frozen=True, kw_only=True)
class VideoPart(MediaPart):
    kind: Literal["video"] = "video"


@dataclass(slots=True, frozen=True, kw_only=True)
class FilePart(MediaPart):
    kind: Literal["file"] = "file"


ContentPart: TypeAlias = (
    TextPart | ReasoningPart | ProviderPart | ImagePart | AudioPart | VideoPart | FilePart
)
