"""ElevenLabs streaming TTS over its input-streaming WebSocket
(``/v1/text-to-speech/{voice}/stream-input``).

SDK-free on ``websockets``: the official ``elevenlabs`` SDK's helper for this socket
(``convert_realtime``) is synchronous (``websockets.sync``), and the protocol is a handful
of JSON messages. Sent: a first message
``{"text": " ", "voice_settings": ..., "generation_config": ...}``, then ``{"text": ...}``
pieces, ``{"text": " ", "flush": true}`` to force out what is buffered, and ``{"text": ""}``
to end. Received: ``{"audio": <base64 PCM>, "alignment"|"normalizedAlignment": {chars,
charStartTimesMs, charsDurationsMs}}`` and finally ``{"isFinal": true}``; errors come as
``{"message", "error", "code"}`` before the server closes. The key travels in the
``xi-api-key`` header, never the URL.

Character times in each message are relative to that message's audio; they become word
timings relative to the start of the stream (offset by the audio already received).
"""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice._net import missing_key, server_error
from beluga.voice.frames import TTSAudioFrame
from beluga.voice.tts._wsstream import WebSocketTTSStream, words_from_chars

__all__ = ["ElevenLabsStream", "ElevenLabsTTS"]

_OP = "voice.tts.elevenlabs"
_RATES = (8000, 16000, 22050, 24000, 44100, 48000)


class ElevenLabsTTS(AsyncClosing):
    """ElevenLabs text-to-speech (``elevenlabs:eleven_flash_v2_5``)."""

    provider = "elevenlabs"

    def __init__(
        self,
        model: str = "eleven_flash_v2_5",
        *,
        voice: str = "21m00Tcm4TlvDq8ikWAM",
        api_key: str | None = None,
        base_url: str = "wss://api.elevenlabs.io",
        sample_rate: int = 24000,
        voice_settings: dict[str, Any] | None = None,
        chunk_length_schedule: list[int] | None = None,
        language: str | None = None,
        open_timeout: float = 10.0,
    ) -> None:
        if sample_rate not in _RATES:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"ElevenLabs has no pcm_{sample_rate} output; use one of {_RATES}",
            )
        self.model = model
        self.voice = voice
        self.sample_rate = sample_rate
        self._key = missing_key(
            _OP,
            "ElevenLabs",
            "ELEVENLABS_API_KEY",
            api_key or os.environ.get("ELEVENLABS_API_KEY"),
        )
        self._base = base_url.rstrip("/")
        self._settings = voice_settings
        self._schedule = chunk_length_schedule
        self._language = language
        self._open_timeout = open_timeout

    def __repr__(self) -> str:
        return f"ElevenLabsTTS(model={self.model!r}, voice={self.voice!r})"

    def url(self) -> str:
        """The stream-input URL (model and output format in the query; no key)."""
        query = {"model_id": self.model, "output_format": f"pcm_{self.sample_rate}"}
        if self._language:
            query["language_code"] = self._language
        return f"{self._base}/v1/text-to-speech/{self.voice}/stream-input?{urlencode(query)}"

    def stream(self) -> ElevenLabsStream:
        """A session for text that arrives in pieces (connects on ``async with``)."""
        init: dict[str, Any] = {"text": " "}
        if self._settings:
            init["voice_settings"] = self._settings
        if self._schedule:
            init["generation_config"] = {"chunk_length_schedule": self._schedule}
        session = ElevenLabsStream(
            self.url(),
            headers={"xi-api-key": self._key},
            open_timeout=self._open_timeout,
            init=init,
            sample_rate=self.sample_rate,
        )
        session.model = self.model
        return session

    async def synthesize(self, text: str) -> AsyncIterator[TTSAudioFrame]:
        """``text`` through one session."""
        async with self.stream() as session:
            await session.send(text)
            await session.finish()
            async for frame in session:
                yield frame

    async def aclose(self) -> None:
        """Nothing to release: each session owns its socket."""


class ElevenLabsStream(WebSocketTTSStream):
    """One stream-input socket."""

    op = _OP
    provider_name = "ElevenLabs"

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str],
        open_timeout: float,
        init: dict[str, Any],
        sample_rate: int,
    ) -> None:
        super().__init__(url, headers=headers, open_timeout=open_timeout)
        self._init = init
        self._rate = sample_rate
        self._played = 0.0

    def _open_messages(self) -> list[dict[str, Any]]:
        return [self._init]

    def _text(self, text: str) -> dict[str, Any]:
        return {"text": text}

    def _flush(self) -> dict[str, Any]:
        return {"text": " ", "flush": True}

    def _end(self) -> dict[str, Any]:
        return {"text": ""}

    def _parse(self, message: dict[str, Any]) -> tuple[list[TTSAudioFrame], bool]:
        if message.get("error") or (message.get("message") and "audio" not in message):
            detail = str(message.get("message") or message.get("error"))
            raise server_error(_OP, "ElevenLabs", f"{message.get('error')}: {detail}")
        frames: list[TTSAudioFrame] = []
        audio = message.get("audio")
        if audio:
            pcm = base64.b64decode(audio)
            alignment = message.get("normalizedAlignment") or message.get("alignment") or {}
            chars = list(alignment.get("chars") or [])
            starts = alignment.get("charStartTimesMs") or alignment.get("charsStartTimesMs") or []
            durations = alignment.get("charsDurationsMs") or alignment.get("charDurationsMs") or []
            words = words_from_chars(chars, starts, durations, self._played)
            frames.append(TTSAudioFrame(pcm, self._rate, text="".join(chars), words=words))
            self._played += len(pcm) / 2 / self._rate
        return frames, bool(message.get("isFinal"))
