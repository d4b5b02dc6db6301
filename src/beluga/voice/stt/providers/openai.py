"""OpenAI transcription (``POST /v1/audio/transcriptions``) on the official ``openai`` SDK.

Each utterance is sent as a WAV file in a multipart request. For the ``gpt-4o*-transcribe``
models ``stream=True`` turns the answer into server-sent events: ``transcript.text.delta``
pieces (yielded as partial transcripts) and one ``transcript.text.done`` with the whole text.
``whisper-1`` does not stream; it answers one JSON ``{"text": ...}``. Sessions stream by
utterance (:class:`~beluga.voice.stt.base.UtteranceStream`): audio is buffered until the VAD's
``flush()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice._openai_audio import OpenAIAudioClient
from beluga.voice._trace import traced
from beluga.voice.audio import write_wav
from beluga.voice.frames import TranscriptFrame
from beluga.voice.stt.base import UtteranceStream, join_finals

__all__ = ["OpenAISTT"]

_OP = "voice.stt.openai"


class OpenAISTT(AsyncClosing):
    """OpenAI speech-to-text (``openai:gpt-4o-mini-transcribe``, ``openai:whisper-1``)."""

    provider = "openai"

    def __init__(
        self,
        model: str = "gpt-4o-mini-transcribe",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        language: str | None = None,
        prompt: str | None = None,
        stream: bool | None = None,
        timeout: float = 30.0,
        client: Any = None,
        http_client: Any = None,
    ) -> None:
        self.model = model
        self._language = language
        self._prompt = prompt
        self._stream = model != "whisper-1" if stream is None else stream
        self._api = OpenAIAudioClient(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            client=client,
            http_client=http_client,
        )

    def __repr__(self) -> str:
        return f"OpenAISTT(model={self.model!r}, base_url={self._api.where!r})"

    def _options(self, pcm: bytes, sample_rate: int, language: str | None) -> dict[str, Any]:
        options: dict[str, Any] = {
            "model": self.model,
            "file": ("audio.wav", write_wav(None, pcm, sample_rate), "audio/wav"),
            "response_format": "json",
        }
        if language or self._language:
            options["language"] = language or self._language
        if self._prompt:
            options["prompt"] = self._prompt
        return options

    def _recognize(
        self, pcm: bytes, sample_rate: int, language: str | None
    ) -> AsyncIterator[TranscriptFrame]:
        frames = self._request(pcm, sample_rate, language)
        return traced(frames, "transcribe", provider="openai", model=self.model)

    async def _request(
        self, pcm: bytes, sample_rate: int, language: str | None
    ) -> AsyncIterator[TranscriptFrame]:
        lang = language or self._language
        options = self._options(pcm, sample_rate, language)
        transcriptions = self._api.client.audio.transcriptions
        if not self._stream:
            try:
                answer = await transcriptions.create(**options)
            except Exception as exc:
                raise self._api.error(exc, _OP, streaming=False) from exc
            yield TranscriptFrame(str(answer.text).strip(), final=True, language=lang)
            return
        text = ""
        try:
            events = await transcriptions.create(**options, stream=True)
            async for event in events:
                kind = getattr(event, "type", None)
                if kind == "transcript.text.delta":
                    text += event.delta
                    yield TranscriptFrame(text.strip(), final=False, language=lang)
                elif kind == "transcript.text.done":
                    yield TranscriptFrame(str(event.text).strip(), final=True, language=lang)
                    return
        except BelugaError:
            raise
        except Exception as exc:
            raise self._api.error(exc, _OP, streaming=True) from exc
        raise BelugaError(
            _OP,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"the transcription stream from {self._api.where} ended without "
            "transcript.text.done; retry",
            retryable=True,
        )

    async def transcribe(
        self, pcm: bytes, sample_rate: int, *, language: str | None = None
    ) -> TranscriptFrame:
        """The final transcript of one recording."""
        finals = [f async for f in self._recognize(pcm, sample_rate, language) if f.final]
        return join_finals(finals, language or self._language)

    def stream(self, *, sample_rate: int, language: str | None = None) -> UtteranceStream:
        """A session sending each flushed utterance as one request."""
        return UtteranceStream(self._recognize, sample_rate=sample_rate, language=language)

    async def aclose(self) -> None:
        """Close the HTTP client (unless it was passed in)."""
        await self._api.aclose()
