"""Azure Speech streaming recognition on the official Speech SDK (continuous recognition).

Audio goes in through a ``PushAudioInputStream`` (PCM16 mono at the session's rate); the SDK
streams it over Azure's WebSocket protocol and fires ``recognizing`` (hypotheses, yielded as
partials) and ``recognized`` (a phrase Azure finalized, yielded as a final) events. Word-level
timestamps are requested (detailed output format), so finals carry ``NBest[0].Words`` converted
from 100-ns ticks to seconds.

One utterance is one recognizer: ``push`` starts one when none runs, ``flush()`` (VAD stop)
closes its audio stream so Azure finalizes at once rather than after its own silence timeout,
and the next ``push`` starts the next recognizer; word times are shifted by the audio of earlier
utterances so they count from the start of the session. A recognizer that stops with a
hypothesis and no phrase after it is an error (retryable), never a partial passed off as final.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice._azure import AzureSpeech, azure_error, to_loop
from beluga.voice._trace import traced
from beluga.voice.frames import TranscriptFrame, WordTiming
from beluga.voice.stt.base import transcribe_stream

__all__ = ["AzureSTT", "AzureSTTStream"]

_OP = "voice.stt.azure"
_TICKS = 10_000_000  # Azure offsets and durations are in 100-nanosecond ticks


class AzureSTT(AsyncClosing):
    """Azure Speech speech-to-text (``azure``; ``model`` is a Custom Speech endpoint id)."""

    provider = "azure"

    def __init__(
        self,
        model: str = "default",
        *,
        api_key: str | None = None,
        region: str | None = None,
        endpoint: str | None = None,
        host: str | None = None,
        language: str = "en-US",
        word_timings: bool = True,
        profanity: str | None = None,
    ) -> None:
        self.model = model
        self._service = AzureSpeech(
            _OP, api_key=api_key, region=region, endpoint=endpoint, host=host
        )
        self._language = language
        self._words = word_timings
        self._profanity = profanity

    def __repr__(self) -> str:
        return f"AzureSTT(model={self.model!r}, where={self._service.where!r})"

    def _recognizer(self, sample_rate: int, language: str | None) -> tuple[Any, Any]:
        """A new recognizer on a push stream, and the stream."""
        speech = self._service.sdk
        config = self._service.config()
        config.speech_recognition_language = language or self._language
        if self.model != "default":
            config.endpoint_id = self.model
        if self._words:
            config.request_word_level_timestamps()
        if self._profanity:
            config.set_profanity(getattr(speech.ProfanityOption, self._profanity.capitalize()))
        audio_format = speech.audio.AudioStreamFormat(
            samples_per_second=sample_rate, bits_per_sample=16, channels=1
        )
        stream = speech.audio.PushAudioInputStream(audio_format)
        recognizer = speech.SpeechRecognizer(
            speech_config=config, audio_config=speech.audio.AudioConfig(stream=stream)
        )
        return recognizer, stream

    def stream(self, *, sample_rate: int, language: str | None = None) -> AzureSTTStream:
        """A live session (one recognizer per utterance)."""
        if sample_rate <= 0:
            raise BelugaError(
                _OP, ErrorCode.INVALID_REQUEST, f"sample_rate must be positive, got {sample_rate}"
            )
        return AzureSTTStream(self, sample_rate=sample_rate, language=language or self._language)

    async def transcribe(
        self, pcm: bytes, sample_rate: int, *, language: str | None = None
    ) -> TranscriptFrame:
        """The whole recording streamed through one session."""
        return await transcribe_stream(self, pcm, sample_rate, language=language)

    async def aclose(self) -> None:
        """Nothing to release: each session owns its recognizers."""


@dataclass(slots=True)
class _Utterance:
    recognizer: Any
    stream: Any
    events: asyncio.Queue[tuple[str, Any]]
    offset: float
    sent: int = 0


class AzureSTTStream(AsyncClosing):
    """One recognition session: a continuous recognizer per utterance."""

    def __init__(self, engine: AzureSTT, *, sample_rate: int, language: str) -> None:
        self._engine = engine
        self._rate = sample_rate
        self._language = language
        self._utterances: asyncio.Queue[_Utterance | None] = asyncio.Queue()
        self._current: _Utterance | None = None
        self._running: list[_Utterance] = []
        self._offset = 0.0
        self._finished = False

    def _start(self) -> _Utterance:
        recognizer, stream = self._engine._recognizer(self._rate, self._language)
        events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        utterance = _Utterance(recognizer, stream, events, self._offset)
        for name in ("recognizing", "recognized", "canceled", "session_stopped"):
            signal = getattr(recognizer, name)
            signal.connect(to_loop(loop, functools.partial(_tagged, events, name)))
        recognizer.start_continuous_recognition_async()
        self._running.append(utterance)
        return utterance

    async def push(self, pcm: bytes) -> None:
        """Send PCM16 audio (starts a recognizer if none runs)."""
        self._check_open()
        if not pcm:
            return
        if self._current is None:
            self._current = self._start()
            self._utterances.put_nowait(self._current)
        self._current.stream.write(pcm)
        self._current.sent += len(pcm)
        self._offset += len(pcm) / 2 / self._rate

    async def flush(self) -> None:
        """End the utterance: close its audio so Azure finalizes what it heard."""
        self._check_open()
        if self._current is not None:
            self._current.stream.close()
            self._current = None

    async def finish(self) -> None:
        """No more audio: iteration ends after the last phrase."""
        await self.flush()
        self._finished = True
        self._utterances.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[TranscriptFrame]:
        engine = self._engine
        return traced(self._frames(), "transcribe", provider="azure", model=engine.model)

    async def _frames(self) -> AsyncIterator[TranscriptFrame]:
        while (utterance := await self._utterances.get()) is not None:
            try:
                async for frame in self._recognize(utterance):
                    yield frame
            finally:
                await self._stop(utterance)

    async def _recognize(self, utterance: _Utterance) -> AsyncIterator[TranscriptFrame]:
        speech = self._engine._service.sdk
        pending = ""
        while True:
            name, event = await utterance.events.get()
            if name == "session_stopped":
                break
            if name == "canceled":
                details = event.cancellation_details
                if details.reason == speech.CancellationReason.Error:
                    raise azure_error(_OP, self._engine._service.where, details)
                continue
            result = event.result
            text = str(result.text or "").strip()
            if name == "recognizing" and text:
                pending = text
                yield TranscriptFrame(text, final=False, language=self._language)
            elif name == "recognized" and result.reason == speech.ResultReason.RecognizedSpeech:
                pending = ""
                if text:
                    yield self._final(text, result, utterance.offset)
        if pending:
            raise BelugaError(
                _OP,
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"{self._engine._service.where} stopped with a hypothesis ({pending!r}) but no "
                "final phrase; retry the utterance",
                retryable=True,
            )

    def _final(self, text: str, result: Any, offset: float) -> TranscriptFrame:
        confidence: float | None = None
        words: tuple[WordTiming, ...] = ()
        try:
            detail = json.loads(result.json or "{}")
        except ValueError:
            detail = {}
        best = (detail.get("NBest") or [{}])[0]
        if isinstance(best.get("Confidence"), int | float):
            confidence = float(best["Confidence"])
        words = tuple(
            WordTiming(
                str(w.get("Word", "")),
                offset + w.get("Offset", 0) / _TICKS,
                offset + (w.get("Offset", 0) + w.get("Duration", 0)) / _TICKS,
            )
            for w in best.get("Words") or []
        )
        return TranscriptFrame(
            text, final=True, language=self._language, confidence=confidence, words=words
        )

    async def _stop(self, utterance: _Utterance) -> None:
        if utterance in self._running:
            self._running.remove(utterance)
            for name in ("recognizing", "recognized", "canceled", "session_stopped"):
                getattr(utterance.recognizer, name).disconnect_all()
            future = utterance.recognizer.stop_continuous_recognition_async()
            held = [utterance.recognizer, utterance.stream, future]
            utterance.recognizer = utterance.stream = None
            await asyncio.to_thread(_release, held)

    async def aclose(self) -> None:
        """Drop the session: every running recognizer is stopped, queued audio dropped."""
        if self._current is not None:
            self._current.stream.close()
            self._current = None
        if not self._finished:
            self._finished = True
            self._utterances.put_nowait(None)
        for utterance in list(self._running):
            await self._stop(utterance)

    def _check_open(self) -> None:
        if self._finished:
            raise BelugaError(
                _OP, ErrorCode.INVALID_REQUEST, "the session is finished; open a new one"
            )


def _tagged(events: asyncio.Queue[tuple[str, Any]], name: str, event: Any) -> None:
    events.put_nowait((name, event))


def _release(held: list[Any]) -> None:
    """Wait for the recognizer to stop, then let it go on a daemon thread: after a failed
    connection the SDK's native destructor blocks ~10 s (measured), which must hold up neither
    the event loop nor the caller."""
    held[-1].get()
    threading.Thread(target=held.clear, name="azure-speech-release", daemon=True).start()
