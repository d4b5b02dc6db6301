"""Google Cloud TTS against a loopback gRPC server speaking ``TextToSpeech`` (v1):
``StreamingSynthesize`` (config first, then text pieces; PCM chunks back) and the unary
``SynthesizeSpeech`` (a LINEAR16 WAV answer)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.cloud import texttospeech_v1 as tts_v1

from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.audio import write_wav
from beluga.voice.tts import create
from beluga.voice.tts.providers.google import GoogleTTS
from tests.voice.grpc_server import grpc_server

SERVICE = "google.cloud.texttospeech.v1.TextToSpeech"
PCM = b"\x07\x00" * 2400  # 100 ms at 24 kHz


class Speaker:
    """Streams one odd-sized chunk pair per text piece, after the config."""

    def __init__(self) -> None:
        self.requests: list[tts_v1.StreamingSynthesizeRequest] = []
        self.unary: list[tts_v1.SynthesizeSpeechRequest] = []

    async def stream(
        self, requests: AsyncIterator[tts_v1.StreamingSynthesizeRequest], context: Any
    ) -> AsyncIterator[tts_v1.StreamingSynthesizeResponse]:
        async for request in requests:
            self.requests.append(request)
            if request.input.text:
                # a sample split across two messages must not be cut
                yield tts_v1.StreamingSynthesizeResponse(audio_content=PCM[:-1])
                yield tts_v1.StreamingSynthesizeResponse(audio_content=PCM[-1:])

    async def synthesize(
        self, request: tts_v1.SynthesizeSpeechRequest, context: Any
    ) -> tts_v1.SynthesizeSpeechResponse:
        self.unary.append(request)
        rate = request.audio_config.sample_rate_hertz
        return tts_v1.SynthesizeSpeechResponse(
            audio_content=write_wav(None, b"\x01\x00" * (rate // 4), rate)
        )


def serve(stream: Any = None, unary: Any = None) -> Any:
    methods: dict[str, Any] = {}
    if stream is not None:
        methods["StreamingSynthesize"] = (
            "stream",
            stream,
            tts_v1.StreamingSynthesizeRequest,
            tts_v1.StreamingSynthesizeResponse,
        )
    if unary is not None:
        methods["SynthesizeSpeech"] = (
            "unary",
            unary,
            tts_v1.SynthesizeSpeechRequest,
            tts_v1.SynthesizeSpeechResponse,
        )
    return grpc_server(SERVICE, methods)


def engine(target: str, spec: str = "google:en-US-Chirp3-HD-Charon", **options: Any) -> GoogleTTS:
    tts = create(spec, api_endpoint=target, insecure=True, **options)
    assert isinstance(tts, GoogleTTS)
    return tts


async def test_streaming_voice_sends_config_then_text_pieces() -> None:
    speaker = Speaker()
    async with serve(stream=speaker.stream) as (target, _):
        tts = engine(target, sample_rate=16000, speaking_rate=1.1)
        async with tts.stream() as session:
            await session.send("Hello there, ")
            await session.flush()
            await session.send("friend.")
            await session.finish()
            frames = [f async for f in session]
        await tts.aclose()

    assert b"".join(f.pcm for f in frames) == PCM * 2
    assert all(len(f.pcm) % 2 == 0 and f.sample_rate == 16000 for f in frames)
    config = speaker.requests[0].streaming_config
    assert config.voice.name == "en-US-Chirp3-HD-Charon" and config.voice.language_code == "en-US"
    assert config.streaming_audio_config.audio_encoding == tts_v1.AudioEncoding.PCM
    assert config.streaming_audio_config.sample_rate_hertz == 16000
    assert config.streaming_audio_config.speaking_rate == pytest.approx(1.1)
    assert [r.input.text for r in speaker.requests[1:]] == ["Hello there, ", "friend."]


async def test_synthesize_on_a_streaming_voice_labels_the_first_frame() -> None:
    async with serve(stream=Speaker().stream) as (target, _):
        frames = [f async for f in engine(target).synthesize("Hi.")]
    assert frames[0].text == "Hi." and b"".join(f.pcm for f in frames) == PCM


async def test_unary_voice_strips_the_wav_header_and_speaks_by_sentence() -> None:
    speaker = Speaker()
    async with serve(unary=speaker.synthesize) as (target, _):
        tts = engine(target, "google:en-US-Neural2-F")
        async with tts.stream() as session:
            await session.send("One. Tw")
            await session.send("o.")
            await session.finish()
            frames = [f async for f in session]
    assert [r.input.text for r in speaker.unary] == ["One.", "Two."]
    request = speaker.unary[0]
    assert request.audio_config.audio_encoding == tts_v1.AudioEncoding.LINEAR16
    assert request.voice.name == "en-US-Neural2-F"
    # 250 ms each, no 44-byte RIFF header in the audio
    assert b"".join(f.pcm for f in frames) == b"\x01\x00" * 6000 * 2
    assert frames[0].text == "One."


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, ErrorCode.INVALID_REQUEST, False),
        (grpc.StatusCode.UNAUTHENTICATED, ErrorCode.AUTH_FAILED, False),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, ErrorCode.RATE_LIMITED, True),
    ],
)
async def test_status_codes_map_on_both_rpcs(
    status: grpc.StatusCode, code: ErrorCode, retryable: bool
) -> None:
    detail = {
        grpc.StatusCode.INVALID_ARGUMENT: "Voice 'en-US-Chirp3-HD-Nope' does not exist.",
        grpc.StatusCode.UNAUTHENTICATED: "Request had invalid authentication credentials.",
        grpc.StatusCode.RESOURCE_EXHAUSTED: "Quota exceeded for quota metric 'Requests'",
    }[status]

    async def refuse_stream(requests: AsyncIterator[Any], context: Any) -> Any:
        async for _ in requests:  # see tests/voice/grpc_server.py
            pass
        await context.abort(status, detail)
        yield  # pragma: no cover - abort raises

    async def refuse(request: Any, context: Any) -> Any:
        await context.abort(status, detail)

    async with serve(stream=refuse_stream, unary=refuse) as (target, _):
        for spec in ("google:en-US-Chirp3-HD-Charon", "google:en-US-Neural2-F"):
            with pytest.raises(BelugaError) as info:
                [f async for f in engine(target, spec).synthesize("Hello.")]
            assert info.value.code is code and info.value.retryable is retryable
            assert detail[:15] in info.value.message


async def test_dropped_stream_mid_reply_is_retryable() -> None:
    started = asyncio.Event()

    async def drop(requests: AsyncIterator[Any], context: Any) -> Any:
        await anext(requests)
        await anext(requests)
        yield tts_v1.StreamingSynthesizeResponse(audio_content=PCM)
        started.set()
        await asyncio.sleep(30)

    async with serve(stream=drop) as (target, server):
        session = engine(target).stream()
        frames = []
        async with session:
            await session.send("Hello there.")
            iterator = aiter(session)
            frames.append(await anext(iterator))
            await started.wait()
            await server.stop(0)
            with pytest.raises(BelugaError) as info:
                await asyncio.wait_for(anext(iterator), 10)
    assert [f.pcm for f in frames] == [PCM]
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable


async def test_server_ending_before_the_text_is_done_is_an_error() -> None:
    async def early(requests: AsyncIterator[Any], context: Any) -> Any:
        await anext(requests)
        await anext(requests)
        yield tts_v1.StreamingSynthesizeResponse(audio_content=PCM)

    async with serve(stream=early) as (target, _):
        session = engine(target).stream()
        async with session:
            await session.send("Hello")
            with pytest.raises(BelugaError) as info:
                [f async for f in session]
    assert (
        info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and "before the end" in info.value.message
    )


def test_voice_picks_the_rpc_and_the_key_is_hidden() -> None:
    key = "AIza-google-tts-key-0123"
    assert "AIza" not in repr(GoogleTTS(api_key=key))
    assert GoogleTTS("en-GB-Chirp3-HD-Puck")._language == "en-GB"
    with pytest.raises(BelugaError) as info:
        GoogleTTS(sample_rate=0)
    assert info.value.code is ErrorCode.INVALID_CONFIG
