"""Google Cloud Speech-to-Text streaming recognition (``StreamingRecognize``, v1) on the official
``google-cloud-speech`` SDK.

The call is a bidirectional gRPC stream: the first request carries the ``streaming_config``
(``RecognitionConfig`` with LINEAR16 at the session's rate, language, model, punctuation, word
time offsets; ``interim_results``), every later one ``audio_content``. The server answers
``StreamingRecognizeResponse`` messages whose ``results`` hold interim hypotheses (with a
``stability``) and, once Google's endpointer decides, an ``is_final`` result with confidence
and word time offsets. Half-closing the request stream makes the server finalize what it heard
and end the call.

So one utterance is one call: ``push`` opens a call when none is open, ``flush()`` (VAD stop)
half-closes it and the final arrives at once instead of after Google's own endpointing; the
next ``push`` opens the next call. Word times are shifted by the audio of earlier calls, so
they count from the start of the session. Each call also stays well under Google's 305-second
stream limit in a live session. A call that ends with a hypothesis but no final result is an
error (retryable), never a partial passed off as the transcript.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.registry import require
from beluga.voice._google import GoogleClient, google_error
from beluga.voice.frames import TranscriptFrame, WordTiming
from beluga.voice.stt.base import transcribe_stream

__all__ = ["GoogleSTT", "GoogleSTTStream"]

_OP = "voice.stt.google"


class GoogleSTT(AsyncClosing):
    """Google Cloud streaming speech-to-text (``google:latest_long``)."""

    provider = "google"

    def __init__(
        self,
        model: str = "latest_long",
        *,
        language: str = "en-US",
        interim_results: bool = True,
        punctuation: bool = True,
        word_time_offsets: bool = True,
        credentials: Any = None,
        credentials_file: str | None = None,
        api_key: str | None = None,
        api_endpoint: str | None = None,
        insecure: bool = False,
        timeout: float | None = None,
        client: Any = None,
    ) -> None:
        self.model = model
        self._language = language
        self._interim = interim_results
        self._punctuation = punctuation
        self._words = word_time_offsets
        self._timeout = timeout
        self._api = GoogleClient(
            sdk_module="google.cloud.speech_v1",
            client_class="SpeechAsyncClient",
            transport_class="SpeechGrpcAsyncIOTransport",
            extra="google",
            credentials=credentials,
            credentials_file=credentials_file,
            api_key=api_key,
            api_endpoint=api_endpoint,
            insecure=insecure,
            client=client,
        )

    def __repr__(self) -> str:
        return f"GoogleSTT(model={self.model!r}, endpoint={self._api.where!r})"

    def config(self, *, sample_rate: int, language: str | None = None) -> Any:
        """The ``StreamingRecognitionConfig`` sent first on each call."""
        from google.cloud import speech_v1

        recognition = speech_v1.RecognitionConfig(
            encoding=speech_v1.RecognitionConfig.AudioEncoding.LINEAR16,
            sample_rate_hertz=sample_rate,
            audio_channel_count=1,
            language_code=language or self._language,
            model=self.model,
            enable_automatic_punctuation=self._punctuation,
            enable_word_time_offsets=self._words,
        )
        return speech_v1.StreamingRecognitionConfig(
            config=recognition, interim_results=self._interim
        )

    def stream(self, *, sample_rate: int, language: str | None = None) -> GoogleSTTStream:
        """A live session (one gRPC call per utterance)."""
        if sample_rate <= 0:
            raise BelugaError(
                _OP, ErrorCode.INVALID_REQUEST, f"sample_rate must be positive, got {sample_rate}"
            )
        return GoogleSTTStream(
            self,
            self.config(sample_rate=sample_rate, language=language),
            sample_rate=sample_rate,
            language=language or self._language,
        )

    async def transcribe(
        self, pcm: bytes, sample_rate: int, *, language: str | None = None
    ) -> TranscriptFrame:
        """The whole recording streamed through one session."""
        return await transcribe_stream(self, pcm, sample_rate, language=language)

    async def _call(self, requests: AsyncIterator[Any]) -> Any:
        client = self._api.get()
        # retry=None: the SDK's default retries UNAVAILABLE for up to 5000 s, and a consumed
        # request stream cannot be replayed; retry middleware decides from ``retryable``.
        options: dict[str, Any] = {"retry": None}
        if self._timeout is not None:
            options["timeout"] = self._timeout
        return await client.streaming_recognize(requests=requests, **options)

    @property
    def where(self) -> str:
        return self._api.where

    async def aclose(self) -> None:
        """Close the gRPC channels."""
        await self._api.aclose()


class GoogleSTTStream(AsyncClosing):
    """One recognition session: a ``StreamingRecognize`` call per utterance."""

    def __init__(
        self, engine: GoogleSTT, config: Any, *, sample_rate: int, language: str | None
    ) -> None:
        self._engine = engine
        self._config = config
        self._rate = sample_rate
        self._language = language
        self._utterances: asyncio.Queue[asyncio.Queue[bytes | None] | None] = asyncio.Queue()
        self._current: asyncio.Queue[bytes | None] | None = None
        self._finished = False
        self._offset = 0.0  # seconds of audio sent in earlier calls
        self._call: Any = None

    async def push(self, pcm: bytes) -> None:
        """Send PCM16 audio (opens a call if none is open)."""
        self._check_open()
        if not pcm:
            return
        if self._current is None:
            self._current = asyncio.Queue()
            self._utterances.put_nowait(self._current)
        self._current.put_nowait(pcm)

    async def flush(self) -> None:
        """End the utterance: half-close the call so Google finalizes what it heard."""
        self._check_open()
        if self._current is not None:
            self._current.put_nowait(None)
            self._current = None

    async def finish(self) -> None:
        """No more audio: the last call is half-closed, iteration ends after its results."""
        await self.flush()
        self._finished = True
        self._utterances.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[TranscriptFrame]:
        while (audio := await self._utterances.get()) is not None:
            async for frame in self._recognize(audio):
                yield frame

    async def _recognize(
        self, audio: asyncio.Queue[bytes | None]
    ) -> AsyncIterator[TranscriptFrame]:
        from google.cloud import speech_v1

        sent = 0

        async def requests() -> AsyncIterator[Any]:
            nonlocal sent
            yield speech_v1.StreamingRecognizeRequest(streaming_config=self._config)
            while (chunk := await audio.get()) is not None:
                sent += len(chunk)
                yield speech_v1.StreamingRecognizeRequest(audio_content=chunk)

        pending = ""  # the last hypothesis not yet followed by a final
        try:
            self._call = await self._engine._call(requests())
            async for response in self._call:
                if response.error and response.error.code:
                    raise _status_error(response.error, self._engine.where)
                for frame in self._frames(response):
                    pending = "" if frame.final else frame.text
                    yield frame
        except BelugaError:
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise google_error(_OP, self._engine.where, exc, streaming=True) from None
        finally:
            self._call = None
            self._offset += sent / 2 / self._rate
        if pending:
            raise BelugaError(
                _OP,
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"{self._engine.where} ended the stream with a hypothesis ({pending!r}) but no "
                "final result; retry the utterance",
                retryable=True,
            )

    def _frames(self, response: Any) -> list[TranscriptFrame]:
        frames: list[TranscriptFrame] = []
        interim: list[str] = []
        for result in response.results:
            if not result.alternatives:
                continue
            best = result.alternatives[0]
            text = str(best.transcript).strip()
            language = str(result.language_code or "") or self._language
            if result.is_final:
                words = tuple(
                    WordTiming(
                        str(w.word),
                        self._offset + _seconds(w.start_time),
                        self._offset + _seconds(w.end_time),
                    )
                    for w in best.words
                )
                confidence = float(best.confidence) if best.confidence else None
                frames.append(
                    TranscriptFrame(
                        text, final=True, language=language, confidence=confidence, words=words
                    )
                )
            elif text:
                interim.append(text)
        if interim:
            frames.append(TranscriptFrame(" ".join(interim), final=False, language=self._language))
        return frames

    async def aclose(self) -> None:
        """Drop the session: the open call is cancelled, queued audio discarded."""
        if self._current is not None:
            self._current.put_nowait(None)
            self._current = None
        if not self._finished:
            self._finished = True
            self._utterances.put_nowait(None)
        if self._call is not None:
            with contextlib.suppress(Exception):
                self._call.cancel()

    def _check_open(self) -> None:
        if self._finished:
            raise BelugaError(
                _OP, ErrorCode.INVALID_REQUEST, "the session is finished; open a new one"
            )


def _seconds(value: Any) -> float:
    """A proto ``Duration`` (a ``timedelta`` through proto-plus) in seconds."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(getattr(value, "seconds", 0)) + float(getattr(value, "nanos", 0)) / 1e9


def _status_error(status: Any, where: str) -> BelugaError:
    """A ``google.rpc.Status`` inside a response, read as the gRPC error it stands for."""
    exceptions: Any = require("google.api_core.exceptions", extra="google")
    error = exceptions.from_grpc_status(_grpc_code(int(status.code)), str(status.message))
    return google_error(_OP, where, error, streaming=True)


def _grpc_code(number: int) -> Any:
    grpc: Any = require("grpc", extra="google")
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code
    return grpc.StatusCode.UNKNOWN
