"""Azure Speech text-to-speech on the official Speech SDK, with word boundaries.

Each sentence is one SSML request (``<speak><voice name=...>``, the text XML-escaped, an
optional ``<prosody rate>``) on the session's ``SpeechSynthesizer``; the SDK speaks Azure's
WebSocket synthesis protocol (``synthesis.context`` + ``ssml`` out; ``turn.start``, binary
``audio`` chunks, ``audio.metadata`` word boundaries and ``turn.end`` back) and fires
``synthesizing`` per audio chunk and ``synthesis_word_boundary`` per word. Audio is raw PCM16
at ``sample_rate`` (one of Azure's ``Raw*Pcm`` formats); word boundaries (100-ns ticks) become
:class:`~beluga.voice.frames.WordTiming` in seconds from the start of the session's audio and
ride on the next audio frame. A streaming-input session cuts text at sentence ends
(:class:`~beluga.voice.tts.base.SentenceStream`) so the first sentence plays while the rest is
written; closing it mid-sentence (barge-in) stops the synthesizer.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice._azure import AzureSpeech, azure_error, to_loop
from beluga.voice._trace import traced
from beluga.voice.frames import TTSAudioFrame, WordTiming
from beluga.voice.tts.base import SentenceStream

__all__ = ["AzureTTS", "AzureTTSStream"]

_OP = "voice.tts.azure"
_TICKS = 10_000_000
_FORMATS = {
    8000: "Raw8Khz16BitMonoPcm",
    16000: "Raw16Khz16BitMonoPcm",
    22050: "Raw22050Hz16BitMonoPcm",
    24000: "Raw24Khz16BitMonoPcm",
    44100: "Raw44100Hz16BitMonoPcm",
    48000: "Raw48Khz16BitMonoPcm",
}


class AzureTTS(AsyncClosing):
    """Azure Speech text-to-speech (``azure:en-US-AvaMultilingualNeural``: model = voice)."""

    provider = "azure"

    def __init__(
        self,
        model: str = "en-US-AvaMultilingualNeural",
        *,
        api_key: str | None = None,
        region: str | None = None,
        endpoint: str | None = None,
        host: str | None = None,
        sample_rate: int = 24000,
        language: str | None = None,
        rate: str | None = None,
    ) -> None:
        if sample_rate not in _FORMATS:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"Azure has no raw PCM output at {sample_rate} Hz; use one of {tuple(_FORMATS)}",
            )
        self.model = model
        self.sample_rate = sample_rate
        self._service = AzureSpeech(
            _OP, api_key=api_key, region=region, endpoint=endpoint, host=host
        )
        self._language = language or "-".join(model.split("-")[:2])
        self._rate = rate

    def __repr__(self) -> str:
        return f"AzureTTS(voice={self.model!r}, where={self._service.where!r})"

    def ssml(self, text: str) -> str:
        """The SSML document for ``text`` (escaped: the text can never become markup)."""
        body = escape(text)
        if self._rate:
            body = f"<prosody rate={quoteattr(self._rate)}>{body}</prosody>"
        return (
            "<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' "
            f"xml:lang={quoteattr(self._language)}><voice name={quoteattr(self.model)}>"
            f"{body}</voice></speak>"
        )

    def _synthesizer(self) -> Any:
        speech = self._service.sdk
        config = self._service.config()
        config.set_speech_synthesis_output_format(
            getattr(speech.SpeechSynthesisOutputFormat, _FORMATS[self.sample_rate])
        )
        return speech.SpeechSynthesizer(speech_config=config, audio_config=None)

    def stream(self) -> AzureTTSStream:
        """A session: one synthesizer, one SSML request per sentence."""
        return AzureTTSStream(self)

    async def synthesize(self, text: str) -> AsyncIterator[TTSAudioFrame]:
        """Audio for ``text`` (one request); the first frame carries ``text``."""
        session = AzureTTSStream(self)
        try:
            async for frame in session._traced_speak(text):
                yield frame
        finally:
            await session.aclose()

    async def aclose(self) -> None:
        """Nothing to release: each session owns its synthesizer."""


class AzureTTSStream(SentenceStream):
    """A sentence-by-sentence session on one ``SpeechSynthesizer``."""

    __slots__ = ("_engine", "_events", "_played", "_synthesizer")

    def __init__(self, engine: AzureTTS) -> None:
        super().__init__(self._traced_speak)
        self._engine = engine
        self._synthesizer: Any = None
        self._events: asyncio.Queue[tuple[str, Any]] | None = None
        self._played = 0.0

    def _connect(self) -> Any:
        if self._synthesizer is None:
            synthesizer = self._engine._synthesizer()
            loop = asyncio.get_running_loop()
            for name in ("synthesizing", "synthesis_word_boundary", "synthesis_completed"):
                getattr(synthesizer, name).connect(to_loop(loop, functools.partial(self._on, name)))
            synthesizer.synthesis_canceled.connect(
                to_loop(loop, functools.partial(self._on, "synthesis_canceled"))
            )
            self._synthesizer = synthesizer
        return self._synthesizer

    def _on(self, name: str, event: Any) -> None:
        if self._events is not None:
            self._events.put_nowait((name, event))

    def _traced_speak(self, text: str) -> AsyncIterator[TTSAudioFrame]:
        model = self._engine.model
        return traced(self.speak(text), "synthesize", provider="azure", model=model)

    async def speak(self, text: str) -> AsyncIterator[TTSAudioFrame]:
        """One SSML request: audio frames with the word boundaries heard before each."""
        speech = self._engine._service.sdk
        rate = self._engine.sample_rate
        synthesizer = self._connect()
        events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._events = events
        synthesizer.speak_ssml_async(self._engine.ssml(text))
        start = self._played
        words: list[WordTiming] = []
        first, done, carry = True, False, b""
        try:
            while True:
                name, event = await events.get()
                if name == "synthesis_word_boundary":
                    if event.boundary_type == speech.SpeechSynthesisBoundaryType.Word:
                        begin = start + event.audio_offset / _TICKS
                        end = begin + event.duration.total_seconds()
                        words.append(WordTiming(str(event.text), begin, end))
                elif name == "synthesizing":
                    data = carry + bytes(event.result.audio_data)
                    cut = len(data) - len(data) % 2
                    carry = data[cut:]
                    if cut:
                        self._played += cut / 2 / rate
                        yield TTSAudioFrame(
                            data[:cut], rate, text=text if first else "", words=tuple(words)
                        )
                        first, words = False, []
                elif name == "synthesis_completed":
                    done = True
                    if words:  # boundaries after the last audio: an empty frame carries them
                        yield TTSAudioFrame(b"", rate, words=tuple(words))
                    return
                else:
                    details = event.result.cancellation_details
                    if details.reason == speech.CancellationReason.Error:
                        raise azure_error(_OP, self._engine._service.where, details)
                    raise BelugaError(
                        _OP,
                        ErrorCode.CANCELED,
                        "the synthesis was cancelled before its end",
                        retryable=False,
                    )
        finally:
            self._events = None
            if not done:
                await asyncio.to_thread(lambda: synthesizer.stop_speaking_async().get())

    async def aclose(self) -> None:
        """End the session and release the synthesizer (off the event loop)."""
        await super().aclose()
        synthesizer, self._synthesizer = self._synthesizer, None
        if synthesizer is not None:
            for name in (
                "synthesizing",
                "synthesis_word_boundary",
                "synthesis_completed",
                "synthesis_canceled",
            ):
                getattr(synthesizer, name).disconnect_all()
            held = [synthesizer]
            del synthesizer  # the daemon thread drops the last reference (a blocking destructor)
            threading.Thread(target=held.clear, name="azure-tts-release", daemon=True).start()
