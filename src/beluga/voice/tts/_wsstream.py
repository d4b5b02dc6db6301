"""What the WebSocket TTS sessions share: one socket, text out, audio frames in.

A provider module supplies the URL, the messages it sends (``_open_messages``, ``_text``,
``_flush``, ``_end``) and a parser of what the server says (``_parse``, returning frames and
whether the stream is done). This base owns connecting, sending, mapping a dropped socket or
a refused handshake to :class:`BelugaError`, and closing.
"""

from __future__ import annotations

import asyncio
import json
from abc import abstractmethod
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Self

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice._net import closed_error, ws_connect
from beluga.voice._trace import traced
from beluga.voice.frames import TTSAudioFrame, WordTiming

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

__all__ = ["WebSocketTTSStream", "words_from_chars"]


def words_from_chars(
    chars: list[str], starts_ms: list[float], durations_ms: list[float], offset: float = 0.0
) -> tuple[WordTiming, ...]:
    """Word timings (seconds, shifted by ``offset``) from per-character alignment."""
    words: list[WordTiming] = []
    current, start, end = "", 0.0, 0.0
    for char, begin, length in zip(chars, starts_ms, durations_ms, strict=False):
        if char.isspace():
            if current:
                words.append(WordTiming(current, offset + start, offset + end))
            current = ""
            continue
        if not current:
            start = begin / 1000
        current += char
        end = (begin + length) / 1000
    if current:
        words.append(WordTiming(current, offset + start, offset + end))
    return tuple(words)


class WebSocketTTSStream(AsyncClosing):
    """One synthesis socket; iterate for audio frames until the provider says it is done."""

    op = "voice.tts"
    provider_name = "provider"
    model = ""
    """The engine's model, named in the ``synthesize {model}`` span (set by the engine)."""

    def __init__(self, url: str, *, headers: dict[str, str], open_timeout: float) -> None:
        self._url = url
        self._headers = headers
        self._open_timeout = open_timeout
        self._ws: ClientConnection | None = None
        self._lock = asyncio.Lock()
        self._finished = False
        self._done = False

    @abstractmethod
    def _open_messages(self) -> list[dict[str, Any]]:
        """Messages sent right after connecting (configuration)."""

    @abstractmethod
    def _text(self, text: str) -> dict[str, Any]:
        """The message carrying a piece of text."""

    @abstractmethod
    def _flush(self) -> dict[str, Any]:
        """The message asking to speak what was sent."""

    @abstractmethod
    def _end(self) -> dict[str, Any]:
        """The message saying no more text follows."""

    @abstractmethod
    def _parse(self, message: dict[str, Any]) -> tuple[list[TTSAudioFrame], bool]:
        """Frames in one server message, and whether the stream is complete."""

    async def __aenter__(self) -> Self:
        await self._connect()
        return self

    async def _connect(self) -> ClientConnection:
        async with self._lock:
            if self._ws is None:
                ws = await ws_connect(
                    self._url,
                    op=self.op,
                    provider=self.provider_name,
                    headers=self._headers,
                    open_timeout=self._open_timeout,
                )
                self._ws = ws
                for message in self._open_messages():
                    await self._raw_send(ws, message)
            return self._ws

    async def _raw_send(self, ws: ClientConnection, message: dict[str, Any]) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await ws.send(json.dumps(message))
        except ConnectionClosed as exc:
            raise closed_error(self.op, self.provider_name, exc) from None

    async def _send(self, message: dict[str, Any]) -> None:
        if self._finished:
            raise BelugaError(
                self.op, ErrorCode.INVALID_REQUEST, "the session is finished; open a new one"
            )
        await self._raw_send(await self._connect(), message)

    async def send(self, text: str) -> None:
        """Send a piece of text."""
        if text:
            await self._send(self._text(text))

    async def flush(self) -> None:
        """Ask the provider to speak what it has now."""
        await self._send(self._flush())

    async def finish(self) -> None:
        """No more text; iteration ends after the last audio."""
        await self._send(self._end())
        self._finished = True

    def __aiter__(self) -> AsyncIterator[TTSAudioFrame]:
        provider = self.provider_name.lower()
        return traced(self._frames(), "synthesize", provider=provider, model=self.model)

    async def _frames(self) -> AsyncIterator[TTSAudioFrame]:
        from websockets.exceptions import ConnectionClosed

        ws = await self._connect()
        try:
            async for raw in ws:
                if isinstance(raw, bytes):
                    continue
                frames, done = self._parse(json.loads(raw))
                for frame in frames:
                    yield frame
                if done:
                    self._done = True
                    return
        except ConnectionClosed as exc:
            raise closed_error(self.op, self.provider_name, exc) from None
        raise BelugaError(
            self.op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"{self.provider_name} closed the stream before the end of the audio "
            f"(close code {ws.close_code}: {ws.close_reason or 'no reason given'}); retry",
            retryable=True,
        )

    async def aclose(self) -> None:
        """Close the socket (barge-in drops what the provider still had to say)."""
        self._finished = True
        if self._ws is not None:
            await self._ws.close()
