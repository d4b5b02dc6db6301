"""Google Cloud Text-to-Speech on the official ``google-cloud-texttospeech`` SDK (gRPC).

Two RPCs, chosen by voice. Chirp 3 HD voices (``en-US-Chirp3-HD-Charon``) take
``StreamingSynthesize``, a bidirectional stream: the first request carries the
``streaming_config`` (voice, ``streaming_audio_config`` with raw ``PCM`` at the chosen rate),
each later one a ``StreamingSynthesisInput`` text piece, and the server streams
``audio_content`` chunks back as it speaks; half-closing the request stream ends the reply. So a
reply streams in as the LLM writes it, with no sentence cutting of ours (the API has no flush:
``flush()`` is a no-op, the server speaks as text arrives). Other voices (Neural2, WaveNet,
Standard) take the unary ``SynthesizeSpeech`` with ``LINEAR16`` (a WAV file, header stripped),
one request per sentence through :class:`~beluga.voice.tts.base.SentenceStream`.

Google's TTS gives no word timings for either RPC (only SSML ``<mark>`` time points, in
v1beta1), so frames carry none. The SDK's default retries are off (``retry=None``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Self

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice._google import GoogleClient, google_error
from beluga.voice.audio import read_wav
from beluga.voice.frames import TTSAudioFrame
from beluga.voice.tts.base import SentenceStream, chunked

__all__ = ["GoogleTTS", "GoogleTTSStream"]

_OP = "voice.tts.google"
_STREAMING_VOICES = ("Chirp3-HD", "Chirp-HD")


class GoogleTTS(AsyncClosing):
    """Google Cloud text-to-speech (``google:en-US-Chirp3-HD-Charon``; the model is the voice)."""

    provider = "google"

    def __init__(
        self,
        model: str = "en-US-Chirp3-HD-Charon",
        *,
        language: str | None = None,
        sample_rate: int = 24000,
        speaking_rate: float | None = None,
        streaming: bool | None = None,
        credentials: Any = None,
        credentials_file: str | None = None,
        api_key: str | None = None,
        api_endpoint: str | None = None,
        insecure: bool = False,
        timeout: float | None = None,
        client: Any = None,
    ) -> None:
        if sample_rate <= 0:
            raise BelugaError(
                _OP, ErrorCode.INVALID_CONFIG, f"sample_rate must be positive, got {sample_rate}"
            )
        self.model = model
        self.sample_rate = sample_rate
        self._language = language or "-".join(model.split("-")[:2])
        self._speaking_rate = speaking_rate
        self._streaming = (
            any(v in model for v in _STREAMING_VOICES) if streaming is None else streaming
        )
        self._timeout = timeout
        self._api = GoogleClient(
            sdk_module="google.cloud.texttospeech_v1",
            client_class="TextToSpeechAsyncClient",
            transport_class="TextToSpeechGrpcAsyncIOTransport",
            extra="google",
            credentials=credentials,
            credentials_file=credentials_file,
            api_key=api_key,
            api_endpoint=api_endpoint,
            insecure=insecure,
            client=client,
        )

    def __repr__(self) -> str:
        return f"GoogleTTS(voice={self.model!r}, endpoint={self._api.where!r})"

    @property
    def where(self) -> str:
        return self._api.where

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"retry": None}
        if self._timeout is not None:
            options["timeout"] = self._timeout
        return options

    def _voice(self) -> Any:
        from google.cloud import texttospeech_v1

        return texttospeech_v1.VoiceSelectionParams(language_code=self._language, name=self.model)

    def streaming_config(self) -> Any:
        """The ``StreamingSynthesizeConfig`` sent first on a streaming call."""
        from google.cloud import texttospeech_v1

        audio = texttospeech_v1.StreamingAudioConfig(
            audio_encoding=texttospeech_v1.AudioEncoding.PCM, sample_rate_hertz=self.sample_rate
        )
        if self._speaking_rate is not None:
            audio.speaking_rate = self._speaking_rate
        return texttospeech_v1.StreamingSynthesizeConfig(
            voice=self._voice(), streaming_audio_config=audio
        )

    def stream(self) -> GoogleTTSStream | SentenceStream:
        """Text in pieces: one streaming call (Chirp 3 HD), else one request per sentence."""
        if self._streaming:
            return GoogleTTSStream(self)
        return SentenceStream(self._synthesize_unary)

    async def synthesize(self, text: str) -> AsyncIterator[TTSAudioFrame]:
        """Audio for ``text`` in ~100 ms chunks; the first chunk carries ``text``."""
        if not self._streaming:
            async for frame in self._synthesize_unary(text):
                yield frame
            return
        async with GoogleTTSStream(self) as session:
            await session.send(text)
            await session.finish()
            first = True
            async for frame in session:
                if first:
                    frame.text, first = text, False
                yield frame

    async def _synthesize_unary(self, text: str) -> AsyncIterator[TTSAudioFrame]:
        from google.cloud import texttospeech_v1

        audio = texttospeech_v1.AudioConfig(
            audio_encoding=texttospeech_v1.AudioEncoding.LINEAR16,
            sample_rate_hertz=self.sample_rate,
        )
        if self._speaking_rate is not None:
            audio.speaking_rate = self._speaking_rate
        request = texttospeech_v1.SynthesizeSpeechRequest(
            input=texttospeech_v1.SynthesisInput(text=text), voice=self._voice(), audio_config=audio
        )
        try:
            response = await self._api.get().synthesize_speech(request=request, **self._options())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise google_error(_OP, self.where, exc, streaming=False) from None
        wav = read_wav(bytes(response.audio_content))
        if wav.sample_rate != self.sample_rate or wav.channels != 1:
            raise BelugaError(
                _OP,
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"{self.where} sent {wav.channels}-channel audio at {wav.sample_rate} Hz, "
                f"asked for mono {self.sample_rate} Hz; retry",
                retryable=True,
            )
        for index, pcm in enumerate(chunked(wav.pcm, self.sample_rate)):
            yield TTSAudioFrame(pcm, self.sample_rate, text=text if index == 0 else "")

    async def _call(self, requests: AsyncIterator[Any]) -> Any:
        return await self._api.get().streaming_synthesize(requests=requests, **self._options())

    async def aclose(self) -> None:
        """Close the gRPC channels."""
        await self._api.aclose()


class GoogleTTSStream(AsyncClosing):
    """One ``StreamingSynthesize`` call: text pieces out, PCM chunks in."""

    def __init__(self, engine: GoogleTTS) -> None:
        self._engine = engine
        self._texts: asyncio.Queue[str | None] = asyncio.Queue()
        self._finished = False
        self._call: Any = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        await self._open()
        return self

    async def _open(self) -> Any:
        from google.cloud import texttospeech_v1

        async with self._lock:
            if self._call is None:
                config = self._engine.streaming_config()

                async def requests() -> AsyncIterator[Any]:
                    yield texttospeech_v1.StreamingSynthesizeRequest(streaming_config=config)
                    while (text := await self._texts.get()) is not None:
                        piece = texttospeech_v1.StreamingSynthesisInput(text=text)
                        yield texttospeech_v1.StreamingSynthesizeRequest(input=piece)

                try:
                    self._call = await self._engine._call(requests())
                except Exception as exc:
                    raise google_error(_OP, self._engine.where, exc, streaming=False) from None
            return self._call

    async def send(self, text: str) -> None:
        """Send a piece of text (the server starts speaking as soon as it can)."""
        self._check_open()
        if text:
            self._texts.put_nowait(text)

    async def flush(self) -> None:
        """No-op: the streaming API has no flush; it speaks text as it arrives."""
        self._check_open()

    async def finish(self) -> None:
        """No more text: the request stream is half-closed, the last audio follows."""
        self._check_open()
        self._finished = True
        self._texts.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[TTSAudioFrame]:
        rate = self._engine.sample_rate
        call = await self._open()
        carry = b""
        try:
            async for response in call:
                data = carry + bytes(response.audio_content)
                cut = len(data) - len(data) % 2
                carry = data[cut:]
                if cut:
                    yield TTSAudioFrame(data[:cut], rate)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise google_error(_OP, self._engine.where, exc, streaming=True) from None
        if not self._finished:
            raise BelugaError(
                _OP,
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"{self._engine.where} ended the synthesis stream before the end of the text; "
                "retry",
                retryable=True,
            )

    async def aclose(self) -> None:
        """Cancel the call (barge-in drops what the server still had to say)."""
        if not self._finished:
            self._finished = True
            self._texts.put_nowait(None)
        if self._call is not None:
            with contextlib.suppress(Exception):
                self._call.cancel()

    def _check_open(self) -> None:
        if self._finished:
            raise BelugaError(
                _OP, ErrorCode.INVALID_REQUEST, "the session is finished; open a new one"
            )
