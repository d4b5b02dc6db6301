"""The text-to-speech protocol: synthesize a text, or stream text in and audio out.

``synthesize(text)`` yields :class:`~beluga.voice.frames.TTSAudioFrame` chunks (PCM16 mono
at the engine's ``sample_rate``, with word timings when the engine gives them). ``stream()``
opens a session for text that is still being written (an LLM reply): ``send`` pieces,
``flush`` to speak what was sent, ``finish`` when the reply is complete. Engines without a
streaming input get :class:`SentenceStream`: it cuts the text at sentence ends and synthesizes
each sentence as soon as it is complete, so audio starts before the reply is written.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.frames import TTSAudioFrame

__all__ = ["TTS", "SentenceStream", "Synthesize", "TTSStream", "chunked", "split_sentences"]


@runtime_checkable
class TTSStream(Protocol):
    """One synthesis session fed with text as it is written (iterate it for audio)."""

    async def send(self, text: str) -> None:
        """Add a piece of text (any size: a token, a sentence)."""
        ...

    async def flush(self) -> None:
        """Speak what was sent so far, even mid-sentence."""
        ...

    async def finish(self) -> None:
        """No more text: iteration ends after the last audio."""
        ...

    def __aiter__(self) -> AsyncIterator[TTSAudioFrame]:
        """Audio as the engine produces it; raises BelugaError on failure."""
        ...

    async def aclose(self) -> None:
        """Drop the session now (barge-in)."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class TTS(Protocol):
    """A text-to-speech engine; ``sample_rate`` is the rate of the audio it yields."""

    provider: str
    model: str
    sample_rate: int

    def synthesize(self, text: str) -> AsyncIterator[TTSAudioFrame]:
        """Audio for ``text``, chunk by chunk."""
        ...

    def stream(self) -> TTSStream:
        """A session for text that arrives in pieces."""
        ...

    async def aclose(self) -> None:
        """Release the engine."""
        ...


_SENTENCE_END = re.compile(r"(?<=[.!?;:\u3002\uff01\uff1f])[\"')\]]*\s+")


def split_sentences(text: str) -> tuple[list[str], str]:
    """Complete sentences of ``text`` and the unfinished rest.

    A sentence ends at ``. ! ? ; :`` followed by whitespace ("3.5" and "e.g.x" do not split).
    """
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        piece = text[start : match.end()].strip()
        if piece:
            sentences.append(piece)
        start = match.end()
    return sentences, text[start:]


Synthesize = Callable[[str], AsyncIterator[TTSAudioFrame]]


class SentenceStream(AsyncClosing):
    """A streaming-input session over ``synthesize``: each sentence is spoken once complete."""

    __slots__ = ("_closed", "_pending", "_queue", "_synthesize")

    def __init__(self, synthesize: Synthesize) -> None:
        self._synthesize = synthesize
        self._pending = ""
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._closed = False

    async def send(self, text: str) -> None:
        """Add text; every sentence it completes is queued for synthesis."""
        self._check_open()
        sentences, self._pending = split_sentences(self._pending + text)
        for sentence in sentences:
            self._queue.put_nowait(sentence)

    async def flush(self) -> None:
        """Queue the unfinished rest as it is."""
        self._check_open()
        if self._pending.strip():
            self._queue.put_nowait(self._pending.strip())
        self._pending = ""

    async def finish(self) -> None:
        """Speak the rest, then end the iteration."""
        await self.flush()
        self._closed = True
        self._queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[TTSAudioFrame]:
        while (sentence := await self._queue.get()) is not None:
            async for chunk in self._synthesize(sentence):
                yield chunk

    async def aclose(self) -> None:
        """End the session, dropping queued text."""
        if not self._closed:
            self._closed = True
            self._pending = ""
            self._queue.put_nowait(None)

    def _check_open(self) -> None:
        if self._closed:
            raise BelugaError(
                "voice.tts.stream",
                ErrorCode.INVALID_REQUEST,
                "the session is finished; open a new one with tts.stream()",
            )


def chunked(pcm: bytes, sample_rate: int, chunk_ms: int = 100) -> Iterator[bytes]:
    """``pcm`` cut into chunks of ``chunk_ms`` (the last may be shorter)."""
    step = max(2, sample_rate * chunk_ms // 1000 * 2)
    for start in range(0, len(pcm), step):
        yield pcm[start : start + step]
