"""OpenAI speech (``POST /v1/audio/speech``) on the official ``openai`` SDK.

``response_format="pcm"`` gives raw 24 kHz PCM16 mono, streamed as it is generated, so the
first chunk plays before the sentence is done. The body is read through
``with_streaming_response`` in ~100 ms chunks (an odd byte is carried to the next chunk so a
sample is never split). The API takes whole texts, so a streaming-input session speaks each
sentence once it is complete (:class:`~beluga.voice.tts.base.SentenceStream`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError
from beluga.voice._openai_audio import OpenAIAudioClient
from beluga.voice._trace import traced
from beluga.voice.frames import TTSAudioFrame
from beluga.voice.tts.base import SentenceStream

__all__ = ["OpenAITTS"]

_OP = "voice.tts.openai"


class OpenAITTS(AsyncClosing):
    """OpenAI text-to-speech (``openai:gpt-4o-mini-tts``, ``openai:tts-1``)."""

    provider = "openai"
    sample_rate = 24000

    def __init__(
        self,
        model: str = "gpt-4o-mini-tts",
        *,
        voice: str = "alloy",
        instructions: str | None = None,
        speed: float | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 30.0,
        chunk_bytes: int = 4800,
        client: Any = None,
        http_client: Any = None,
    ) -> None:
        self.model = model
        self.voice = voice
        self._instructions = instructions
        self._speed = speed
        self._chunk = max(2, chunk_bytes - chunk_bytes % 2)
        self._api = OpenAIAudioClient(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            client=client,
            http_client=http_client,
        )

    def __repr__(self) -> str:
        return (
            f"OpenAITTS(model={self.model!r}, voice={self.voice!r}, base_url={self._api.where!r})"
        )

    def synthesize(self, text: str) -> AsyncIterator[TTSAudioFrame]:
        """24 kHz PCM chunks as the server streams them; the first carries ``text``."""
        return traced(self._synthesize(text), "synthesize", provider="openai", model=self.model)

    async def _synthesize(self, text: str) -> AsyncIterator[TTSAudioFrame]:
        options: dict[str, Any] = {
            "model": self.model,
            "voice": self.voice,
            "input": text,
            "response_format": "pcm",
        }
        if self._instructions:
            options["instructions"] = self._instructions
        if self._speed is not None:
            options["speed"] = self._speed
        speech = self._api.client.audio.speech.with_streaming_response
        carry = b""
        first = True
        try:
            async with speech.create(**options) as response:
                async for data in response.iter_bytes(self._chunk):
                    data = carry + data
                    cut = len(data) - len(data) % 2
                    carry = data[cut:]
                    if cut:
                        yield TTSAudioFrame(
                            data[:cut], self.sample_rate, text=text if first else ""
                        )
                        first = False
        except BelugaError:
            raise
        except Exception as exc:
            raise self._api.error(exc, _OP, streaming=not first) from exc

    def stream(self) -> SentenceStream:
        """Text in pieces; each complete sentence is one request."""
        return SentenceStream(self.synthesize)

    async def aclose(self) -> None:
        """Close the HTTP client (unless it was passed in)."""
        await self._api.aclose()
