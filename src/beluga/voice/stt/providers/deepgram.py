"""Deepgram streaming speech-to-text over its WebSocket API (``/v1/listen``).

SDK-free on ``websockets``: the protocol is small (query options, binary audio frames, JSON
``Results``/``Metadata``/``UtteranceEnd`` back, ``KeepAlive``/``Finalize``/``CloseStream``
control messages) and the official ``deepgram-sdk`` changed its client API in each of its last
three majors; owning the socket also lets us bound every wait and map a dropped socket to a
retryable error. Auth is the ``Authorization: Token <key>`` header, never the URL.

Deepgram marks a segment ``is_final`` when its text will not change and ``speech_final`` when
the speaker paused (endpointing). One utterance can hold several final segments, so this
adapter yields partials (finished segments + the current interim) and one ``final``
:class:`TranscriptFrame` per utterance: on ``speech_final``, a ``Finalize`` answer
(``from_finalize``), ``UtteranceEnd``, or the end of the stream. Finals carry the words of
their segments (``punctuated_word``, ``start``/``end`` in seconds from the stream's start).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlencode

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice._net import closed_error, missing_key, server_error, ws_connect
from beluga.voice._trace import traced
from beluga.voice.frames import TranscriptFrame, WordTiming
from beluga.voice.stt.base import transcribe_stream

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from websockets.asyncio.client import ClientConnection

__all__ = ["DeepgramSTT", "DeepgramStream"]

_OP = "voice.stt.deepgram"


class DeepgramSTT(AsyncClosing):
    """Deepgram live transcription (``deepgram:nova-3``)."""

    provider = "deepgram"

    def __init__(
        self,
        model: str = "nova-3",
        *,
        api_key: str | None = None,
        base_url: str = "wss://api.deepgram.com",
        language: str | None = "en",
        interim_results: bool = True,
        endpointing: int | bool = 300,
        keepalive_interval: float = 4.0,
        open_timeout: float = 10.0,
        options: dict[str, str] | None = None,
    ) -> None:
        self.model = model
        self._key = missing_key(
            _OP, "Deepgram", "DEEPGRAM_API_KEY", api_key or os.environ.get("DEEPGRAM_API_KEY")
        )
        self._base = base_url.rstrip("/")
        self._language = language
        self._interim = interim_results
        self._endpointing = endpointing
        self._keepalive = keepalive_interval
        self._open_timeout = open_timeout
        self._options = dict(options or {})

    def __repr__(self) -> str:
        return f"DeepgramSTT(model={self.model!r}, base_url={self._base!r})"

    def url(self, *, sample_rate: int, language: str | None = None) -> str:
        """The ``/v1/listen`` URL with this engine's query options (no credential in it)."""
        query: dict[str, str] = {
            "model": self.model,
            "encoding": "linear16",
            "sample_rate": str(sample_rate),
            "channels": "1",
            "interim_results": str(self._interim).lower(),
            "punctuate": "true",
            "endpointing": str(self._endpointing).lower(),
        }
        lang = language or self._language
        if lang:
            query["language"] = lang
        query.update(self._options)
        return f"{self._base}/v1/listen?{urlencode(query)}"

    def stream(self, *, sample_rate: int, language: str | None = None) -> DeepgramStream:
        """A live session; it connects on ``async with`` (or the first ``push``)."""
        return DeepgramStream(
            self.url(sample_rate=sample_rate, language=language),
            headers={"Authorization": f"Token {self._key}"},
            keepalive=self._keepalive,
            open_timeout=self._open_timeout,
            language=language or self._language,
            model=self.model,
        )

    async def transcribe(
        self, pcm: bytes, sample_rate: int, *, language: str | None = None
    ) -> TranscriptFrame:
        """The whole recording streamed through one session."""
        return await transcribe_stream(self, pcm, sample_rate, language=language)

    async def aclose(self) -> None:
        """Nothing to release: each session owns its socket."""


class DeepgramStream(AsyncClosing):
    """One ``/v1/listen`` socket: audio out as binary frames, transcripts in."""

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str],
        keepalive: float,
        open_timeout: float,
        language: str | None,
        model: str = "nova-3",
    ) -> None:
        self._url = url
        self._model = model
        self._headers = headers
        self._keepalive_every = keepalive
        self._open_timeout = open_timeout
        self._language = language
        self._ws: ClientConnection | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._connecting = asyncio.Lock()
        self._finished = False
        self._segments: list[tuple[str, float | None]] = []
        self._words: list[WordTiming] = []  # the finished segments' words (seconds)
        self.metadata: dict[str, Any] | None = None
        """The ``Metadata`` message (request id, duration, models) once the stream ended."""

    async def __aenter__(self) -> Self:
        await self._connect()
        return self

    async def _connect(self) -> ClientConnection:
        async with self._connecting:
            if self._ws is None:
                self._ws = await ws_connect(
                    self._url,
                    op=_OP,
                    provider="Deepgram",
                    headers=self._headers,
                    open_timeout=self._open_timeout,
                )
                self._keepalive = asyncio.create_task(self._keep_alive(self._ws))
            return self._ws

    async def _keep_alive(self, ws: ClientConnection) -> None:
        """Deepgram closes a socket that hears nothing for 10 s: send ``KeepAlive`` text frames."""
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(self._keepalive_every)
                await ws.send(json.dumps({"type": "KeepAlive"}))

    async def _send(self, data: bytes | str) -> None:
        from websockets.exceptions import ConnectionClosed

        if self._finished:
            raise BelugaError(
                _OP, ErrorCode.INVALID_REQUEST, "the session is finished; open a new one"
            )
        ws = await self._connect()
        try:
            await ws.send(data)
        except ConnectionClosed as exc:
            raise closed_error(_OP, "Deepgram", exc) from None

    async def push(self, pcm: bytes) -> None:
        """Send PCM16 audio (a binary frame)."""
        if pcm:
            await self._send(pcm)

    async def flush(self) -> None:
        """``Finalize``: Deepgram transcribes what it buffered and marks it ``from_finalize``."""
        await self._send(json.dumps({"type": "Finalize"}))

    async def finish(self) -> None:
        """``CloseStream``: the last results, ``Metadata``, then the server closes."""
        await self._send(json.dumps({"type": "CloseStream"}))
        self._finished = True

    def __aiter__(self) -> AsyncIterator[TranscriptFrame]:
        return traced(self._frames(), "transcribe", provider="deepgram", model=self._model)

    async def _frames(self) -> AsyncIterator[TranscriptFrame]:
        from websockets.exceptions import ConnectionClosed

        ws = await self._connect()
        try:
            async for raw in ws:
                if isinstance(raw, bytes):
                    continue
                for event in self._handle(json.loads(raw)):
                    yield event
        except ConnectionClosed as exc:
            raise closed_error(_OP, "Deepgram", exc) from None
        if not self._finished:  # a clean close we did not ask for still cuts the session
            raise BelugaError(
                _OP,
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"Deepgram closed the stream mid-way (close code {ws.close_code}: "
                f"{ws.close_reason or 'no reason given'}); retry",
                retryable=True,
            )
        if self._segments:
            yield self._utterance(final=True)

    def _handle(self, message: dict[str, Any]) -> list[TranscriptFrame]:
        kind = message.get("type")
        if kind == "Results":
            return self._results(message)
        if kind == "UtteranceEnd" and self._segments:
            return [self._utterance(final=True)]
        if kind == "Metadata":
            self.metadata = message
        elif kind == "Error":
            text = str(message.get("description") or message.get("message") or message)
            raise server_error(_OP, "Deepgram", text)
        return []

    def _results(self, message: dict[str, Any]) -> list[TranscriptFrame]:
        alternatives = (message.get("channel") or {}).get("alternatives") or [{}]
        best = alternatives[0]
        text = str(best.get("transcript") or "").strip()
        confidence = best.get("confidence")
        languages = best.get("languages") or []
        if languages:
            self._language = str(languages[0])
        out: list[TranscriptFrame] = []
        if message.get("is_final"):
            if text:
                self._segments.append((text, confidence))
                self._words.extend(
                    WordTiming(
                        str(w.get("punctuated_word") or w.get("word", "")),
                        float(w.get("start", 0.0)),
                        float(w.get("end", 0.0)),
                    )
                    for w in best.get("words") or []
                )
            if (message.get("speech_final") or message.get("from_finalize")) and self._segments:
                out.append(self._utterance(final=True))
            elif text:
                out.append(self._utterance(final=False))
        elif text:
            out.append(self._utterance(final=False, interim=(text, confidence)))
        return out

    def _utterance(
        self, *, final: bool, interim: tuple[str, float | None] | None = None
    ) -> TranscriptFrame:
        parts = [*self._segments, *([interim] if interim else [])]
        confidences = [c for _, c in parts if c is not None]
        frame = TranscriptFrame(
            " ".join(t for t, _ in parts),
            final=final,
            language=self._language,
            confidence=min(confidences) if confidences else None,
            words=tuple(self._words) if final else (),
        )
        if final:
            self._segments = []
            self._words = []
        return frame

    async def aclose(self) -> None:
        """Close the socket and stop the keep-alive."""
        if self._keepalive is not None:
            self._keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive
        if self._ws is not None:
            await self._ws.close()
        self._finished = True
