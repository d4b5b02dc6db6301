"""Cartesia streaming TTS over its WebSocket (``/tts/websocket``), with continuations.

SDK-free on ``websockets`` (the ``cartesia`` SDK's WebSocket client changed shape between its
majors, and the protocol is small). One session is one ``context_id``: every text piece is a
generation request with ``"continue": true`` so the voice carries across pieces, a flush is an
empty transcript with ``"flush": true``, and the end is an empty transcript with
``"continue": false``. The server answers ``chunk`` (base64 PCM16), ``timestamps``
(``word_timestamps`` words/start/end, seconds from the context's start), ``flush_done``,
``done`` and ``error`` messages. Word timings ride on the next audio frame. The key goes in
the ``X-API-Key`` header and the API version in ``Cartesia-Version``, never in the URL.
"""

from __future__ import annotations

import base64
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

from beluga.core.closing import AsyncClosing
from beluga.voice._net import missing_key, server_error
from beluga.voice.frames import TTSAudioFrame, WordTiming
from beluga.voice.tts._wsstream import WebSocketTTSStream

__all__ = ["CartesiaStream", "CartesiaTTS"]

_OP = "voice.tts.cartesia"


class CartesiaTTS(AsyncClosing):
    """Cartesia text-to-speech (``cartesia:sonic-2``)."""

    provider = "cartesia"

    def __init__(
        self,
        model: str = "sonic-2",
        *,
        voice: str = "a0e99841-438c-4a64-b679-ae501e7d6091",
        api_key: str | None = None,
        base_url: str = "wss://api.cartesia.ai",
        api_version: str = "2025-04-16",
        sample_rate: int = 24000,
        language: str = "en",
        add_timestamps: bool = True,
        open_timeout: float = 10.0,
    ) -> None:
        self.model = model
        self.voice = voice
        self.sample_rate = sample_rate
        self._key = missing_key(
            _OP, "Cartesia", "CARTESIA_API_KEY", api_key or os.environ.get("CARTESIA_API_KEY")
        )
        self._base = base_url.rstrip("/")
        self._version = api_version
        self._language = language
        self._timestamps = add_timestamps
        self._open_timeout = open_timeout

    def __repr__(self) -> str:
        return f"CartesiaTTS(model={self.model!r}, voice={self.voice!r})"

    def stream(self) -> CartesiaStream:
        """A session (one context) for text that arrives in pieces."""
        request = {
            "model_id": self.model,
            "voice": {"mode": "id", "id": self.voice},
            "language": self._language,
            "context_id": str(uuid.uuid4()),
            "output_format": {
                "container": "raw",
                "encoding": "pcm_s16le",
                "sample_rate": self.sample_rate,
            },
            "add_timestamps": self._timestamps,
        }
        session = CartesiaStream(
            f"{self._base}/tts/websocket",
            headers={"X-API-Key": self._key, "Cartesia-Version": self._version},
            open_timeout=self._open_timeout,
            request=request,
            sample_rate=self.sample_rate,
        )
        session.model = self.model
        return session

    async def synthesize(self, text: str) -> AsyncIterator[TTSAudioFrame]:
        """``text`` as one context."""
        async with self.stream() as session:
            await session.send(text)
            await session.finish()
            async for frame in session:
                yield frame

    async def aclose(self) -> None:
        """Nothing to release: each session owns its socket."""


class CartesiaStream(WebSocketTTSStream):
    """One socket carrying one context."""

    op = _OP
    provider_name = "Cartesia"

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str],
        open_timeout: float,
        request: dict[str, Any],
        sample_rate: int,
    ) -> None:
        super().__init__(url, headers=headers, open_timeout=open_timeout)
        self._request = request
        self._rate = sample_rate
        self._words: list[WordTiming] = []
        self.context_id = str(request["context_id"])

    def _open_messages(self) -> list[dict[str, Any]]:
        return []

    def _text(self, text: str) -> dict[str, Any]:
        return {**self._request, "transcript": text, "continue": True}

    def _flush(self) -> dict[str, Any]:
        return {**self._request, "transcript": "", "continue": True, "flush": True}

    def _end(self) -> dict[str, Any]:
        return {**self._request, "transcript": "", "continue": False}

    async def aclose(self) -> None:
        """Cancel the context (barge-in), then close the socket."""
        if self._ws is not None and not self._done:
            with contextlib.suppress(Exception):
                await self._raw_send(self._ws, {"context_id": self.context_id, "cancel": True})
        await super().aclose()

    def _parse(self, message: dict[str, Any]) -> tuple[list[TTSAudioFrame], bool]:
        kind = message.get("type")
        if kind == "error":
            detail = str(message.get("message") or message.get("error") or message.get("title"))
            status = message.get("status_code")
            raise server_error(
                _OP,
                "Cartesia",
                detail,
                status if isinstance(status, int) and status >= 400 else None,
            )
        if kind == "timestamps":
            stamps = message.get("word_timestamps") or {}
            for word, start, end in zip(
                stamps.get("words") or [],
                stamps.get("start") or [],
                stamps.get("end") or [],
                strict=False,
            ):
                self._words.append(WordTiming(str(word), float(start), float(end)))
            return [], False
        frames: list[TTSAudioFrame] = []
        if kind == "chunk" and message.get("data"):
            pcm = base64.b64decode(message["data"])
            frames.append(TTSAudioFrame(pcm, self._rate, words=tuple(self._words)))
            self._words = []
        done = kind == "done" or (kind != "chunk" and bool(message.get("done")))
        if done and self._words:  # timings after the last audio: an empty frame carries them
            frames.append(TTSAudioFrame(b"", self._rate, words=tuple(self._words)))
            self._words = []
        return frames, done
