"""The speech-to-text protocol: a streaming session, and one-shot transcription on top of it.

A session (:class:`STTStream`) takes PCM16 chunks as they come from the transport and yields
:class:`~beluga.voice.frames.TranscriptFrame` events: partials while the user speaks, one
``final`` per utterance. ``flush()`` ends an utterance (VAD stop) without ending the session;
``finish()`` ends the input, after which iteration stops once the engine said everything.
Engines that only transcribe whole utterances (local Whisper, REST APIs) stream by utterance
through :class:`UtteranceStream`, which buffers audio until ``flush``/``finish``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.frames import TranscriptFrame

__all__ = ["STT", "Recognize", "STTStream", "UtteranceStream", "join_finals", "transcribe_stream"]


@runtime_checkable
class STTStream(Protocol):
    """One live recognition session (an async context manager; iterate it for transcripts)."""

    async def push(self, pcm: bytes) -> None:
        """Send PCM16 mono audio at the session's sample rate."""
        ...

    async def flush(self) -> None:
        """The current utterance ended: transcribe what was heard, keep the session open."""
        ...

    async def finish(self) -> None:
        """No more audio: iteration ends after the last transcript."""
        ...

    def __aiter__(self) -> AsyncIterator[TranscriptFrame]:
        """Transcripts as the engine produces them; raises BelugaError on failure."""
        ...

    async def aclose(self) -> None:
        """Drop the session now."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class STT(Protocol):
    """A speech-to-text engine (``provider`` and ``model`` name it in traces and errors)."""

    provider: str
    model: str

    def stream(self, *, sample_rate: int, language: str | None = None) -> STTStream:
        """A new recognition session (it connects on ``async with`` or first use)."""
        ...

    async def transcribe(
        self, pcm: bytes, sample_rate: int, *, language: str | None = None
    ) -> TranscriptFrame:
        """The final transcript of a whole recording."""
        ...

    async def aclose(self) -> None:
        """Release the engine (model, connections)."""
        ...


def join_finals(finals: list[TranscriptFrame], language: str | None = None) -> TranscriptFrame:
    """One final transcript from an utterance's finals (confidence: the lowest one seen;
    word timings: all of them, in order)."""
    text = " ".join(f.text.strip() for f in finals if f.text.strip())
    confidences = [f.confidence for f in finals if f.confidence is not None]
    lang = next((f.language for f in finals if f.language), language)
    return TranscriptFrame(
        text,
        final=True,
        language=lang,
        confidence=min(confidences) if confidences else None,
        words=tuple(word for f in finals for word in f.words),
    )


async def transcribe_stream(
    stt: STT, pcm: bytes, sample_rate: int, *, language: str | None = None, chunk_ms: int = 100
) -> TranscriptFrame:
    """``transcribe`` for streaming engines: send the recording in chunks, join the finals."""
    step = max(2, sample_rate * chunk_ms // 1000 * 2)
    finals: list[TranscriptFrame] = []
    async with stt.stream(sample_rate=sample_rate, language=language) as session:

        async def feed() -> None:
            for start in range(0, len(pcm), step):
                await session.push(pcm[start : start + step])
            await session.finish()

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(feed())
                async for event in session:
                    if event.final:
                        finals.append(event)
        except ExceptionGroup as failed:  # the engine's own error, not a group of one
            errors = [e for e in failed.exceptions if isinstance(e, BelugaError)]
            raise (errors or failed.exceptions)[0] from None
    return join_finals(finals, language)


Recognize = Callable[[bytes, int, str | None], AsyncIterator[TranscriptFrame]]
"""``recognize(pcm, sample_rate, language)``: the transcripts of one whole utterance."""


class UtteranceStream(AsyncClosing):
    """A session for engines that transcribe whole utterances: audio is buffered until
    ``flush()``/``finish()``, then ``recognize`` runs on it (partials it yields pass through).

    ``max_seconds`` bounds the buffer: a longer utterance is transcribed in pieces so memory
    and latency stay bounded when no VAD calls ``flush``.
    """

    __slots__ = ("_buffer", "_closed", "_language", "_max_bytes", "_queue", "_rate", "_recognize")

    def __init__(
        self,
        recognize: Recognize,
        *,
        sample_rate: int,
        language: str | None = None,
        max_seconds: float = 30.0,
    ) -> None:
        if sample_rate <= 0:
            raise BelugaError(
                "voice.stt.stream",
                ErrorCode.INVALID_REQUEST,
                f"sample_rate must be positive, got {sample_rate}; pass the audio's rate in Hz",
            )
        self._recognize = recognize
        self._rate = sample_rate
        self._language = language
        self._max_bytes = int(max_seconds * sample_rate) * 2
        self._buffer = bytearray()
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._closed = False

    async def push(self, pcm: bytes) -> None:
        """Buffer audio; a full buffer is sent off as an utterance."""
        self._check_open()
        self._buffer.extend(pcm)
        if len(self._buffer) >= self._max_bytes:
            await self.flush()

    async def flush(self) -> None:
        """Transcribe the buffered utterance (nothing happens for an empty buffer)."""
        self._check_open()
        if self._buffer:
            self._queue.put_nowait(bytes(self._buffer))
            self._buffer.clear()

    async def finish(self) -> None:
        """Transcribe what is left, then end the iteration."""
        await self.flush()
        self._closed = True
        self._queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[TranscriptFrame]:
        while (utterance := await self._queue.get()) is not None:
            async for event in self._recognize(utterance, self._rate, self._language):
                yield event

    async def aclose(self) -> None:
        """End the session; buffered audio is dropped."""
        if not self._closed:
            self._closed = True
            self._buffer.clear()
            self._queue.put_nowait(None)

    def _check_open(self) -> None:
        if self._closed:
            raise BelugaError(
                "voice.stt.stream",
                ErrorCode.INVALID_REQUEST,
                "the session is finished; open a new one with stt.stream(...)",
            )
