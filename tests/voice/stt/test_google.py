"""Google Cloud streaming STT against a loopback gRPC server speaking ``Speech/StreamingRecognize``.

The responses follow the sequence Google documents for streaming recognition: interim results
with a ``stability`` (a stable piece and an unstable tail in one response), then one ``is_final``
result with confidence, alternatives and word time offsets, once the request stream is closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.cloud import speech_v1

from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.frames import WordTiming
from beluga.voice.stt import create
from beluga.voice.stt.providers.google import GoogleSTT
from tests.voice.grpc_server import grpc_server

SERVICE = "google.cloud.speech.v1.Speech"
Result = speech_v1.StreamingRecognitionResult
Alternative = speech_v1.SpeechRecognitionAlternative


def interim(*pieces: tuple[str, float]) -> speech_v1.StreamingRecognizeResponse:
    return speech_v1.StreamingRecognizeResponse(
        results=[
            Result(alternatives=[Alternative(transcript=text)], stability=stability)
            for text, stability in pieces
        ]
    )


def final(text: str, *, start: float = 0.0) -> speech_v1.StreamingRecognizeResponse:
    words = [
        speech_v1.WordInfo(
            word=w,
            start_time=timedelta(seconds=start + 0.5 * i),
            end_time=timedelta(seconds=start + 0.5 * i + 0.4),
        )
        for i, w in enumerate(text.split())
    ]
    return speech_v1.StreamingRecognizeResponse(
        results=[
            Result(
                alternatives=[
                    Alternative(transcript=text, confidence=0.92, words=words),
                    Alternative(transcript=text.replace("be", "bee"), confidence=0.4),
                ],
                is_final=True,
                result_end_time=timedelta(seconds=start + 2),
                language_code="en-us",
            )
        ],
        total_billed_time=timedelta(seconds=15),
    )


class Recognizer:
    """Scripted server side; records every call's requests."""

    def __init__(self) -> None:
        self.calls: list[list[speech_v1.StreamingRecognizeRequest]] = []

    async def handle(
        self, requests: AsyncIterator[speech_v1.StreamingRecognizeRequest], context: Any
    ) -> AsyncIterator[speech_v1.StreamingRecognizeResponse]:
        seen: list[speech_v1.StreamingRecognizeRequest] = []
        self.calls.append(seen)
        utterance = len(self.calls)
        async for request in requests:
            seen.append(request)
            if len(seen) == 2 and utterance == 1:
                yield interim(("tube", 0.01))
                yield interim(("to be", 0.9), (" or not to be", 0.01))
        yield final("to be or not to be" if utterance == 1 else "that is the question")


def engine(target: str, **options: Any) -> GoogleSTT:
    stt = create("google:latest_long", api_endpoint=target, insecure=True, **options)
    assert isinstance(stt, GoogleSTT)
    return stt


def serve(handler: Any) -> Any:
    methods = {
        "StreamingRecognize": (
            "stream",
            handler,
            speech_v1.StreamingRecognizeRequest,
            speech_v1.StreamingRecognizeResponse,
        )
    }
    return grpc_server(SERVICE, methods)


async def test_interim_then_final_per_utterance_with_word_offsets() -> None:
    recognizer = Recognizer()
    async with serve(recognizer.handle) as (target, _):
        stt = engine(target, language="en-GB")
        events = []
        async with stt.stream(sample_rate=16000) as session:
            await session.push(b"\x01\x00" * 16000)  # 1 s
            await session.push(b"\x02\x00" * 16000)  # 1 s
            iterator = aiter(session)
            events.append(await anext(iterator))
            events.append(await anext(iterator))
            await session.flush()
            events.append(await anext(iterator))
            await session.push(b"\x03\x00" * 8000)
            await session.finish()
            events.extend([e async for e in iterator])
        await stt.aclose()

    assert [(e.text, e.final) for e in events] == [
        ("tube", False),
        ("to be or not to be", False),
        ("to be or not to be", True),
        ("that is the question", True),
    ]
    assert events[2].confidence == pytest.approx(0.92) and events[2].language == "en-us"
    assert events[2].words[:2] == (WordTiming("to", 0.0, 0.4), WordTiming("be", 0.5, 0.9))
    # the second call's word times count from the start of the session (2 s of audio before)
    assert events[3].words[0] == WordTiming("that", 2.0, 2.4)

    assert len(recognizer.calls) == 2
    first = recognizer.calls[0]
    config = first[0].streaming_config
    assert config.interim_results is True
    assert config.config.encoding == speech_v1.RecognitionConfig.AudioEncoding.LINEAR16
    assert config.config.sample_rate_hertz == 16000
    assert config.config.language_code == "en-GB"
    assert config.config.model == "latest_long"
    assert config.config.enable_word_time_offsets and config.config.enable_automatic_punctuation
    assert not first[0].audio_content
    assert [r.audio_content for r in first[1:]] == [b"\x01\x00" * 16000, b"\x02\x00" * 16000]
    assert [r.audio_content for r in recognizer.calls[1][1:]] == [b"\x03\x00" * 8000]


async def test_transcribe_joins_the_finals() -> None:
    async with serve(Recognizer().handle) as (target, _):
        result = await engine(target).transcribe(b"\x00\x00" * 32000, 16000)
    assert result.text == "to be or not to be" and result.final
    assert len(result.words) == 6


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, ErrorCode.INVALID_REQUEST, False),
        (grpc.StatusCode.UNAUTHENTICATED, ErrorCode.AUTH_FAILED, False),
        (grpc.StatusCode.PERMISSION_DENIED, ErrorCode.AUTH_FAILED, False),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, ErrorCode.RATE_LIMITED, True),
    ],
)
async def test_status_codes_map_to_error_kinds(
    status: grpc.StatusCode, code: ErrorCode, retryable: bool
) -> None:
    messages = {
        grpc.StatusCode.INVALID_ARGUMENT: "Invalid recognition 'config': bad encoding..",
        grpc.StatusCode.UNAUTHENTICATED: "Request had invalid authentication credentials.",
        grpc.StatusCode.PERMISSION_DENIED: "Cloud Speech-to-Text API has not been used in project",
        grpc.StatusCode.RESOURCE_EXHAUSTED: "Quota exceeded for quota metric 'Streaming requests'",
    }

    async def refuse(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
        async for _ in requests:  # see grpc_server: a handler that ends early reads as INTERNAL
            pass
        await context.abort(status, messages[status])
        yield  # pragma: no cover - abort raises

    async with serve(refuse) as (target, _):
        stt = engine(target, api_key="AIza-google-test-key-0123")
        with pytest.raises(BelugaError) as info:
            await stt.transcribe(b"\x00\x00" * 1600, 16000)
    assert info.value.code is code and info.value.retryable is retryable
    assert messages[status][:20] in info.value.message
    assert "AIza-google-test-key-0123" not in str(info.value)


async def test_dropped_stream_is_retryable_and_keeps_no_half_result() -> None:
    dropped = asyncio.Event()

    async def drop(requests: AsyncIterator[Any], context: Any) -> Any:
        await anext(requests)
        await anext(requests)
        yield interim(("to be", 0.9))
        dropped.set()
        await asyncio.sleep(30)

    async with serve(drop) as (target, server):
        stt = engine(target)
        async with stt.stream(sample_rate=16000) as session:
            await session.push(b"\x00\x00" * 1600)
            iterator = aiter(session)
            assert (await anext(iterator)).text == "to be"
            await dropped.wait()
            await server.stop(0)  # the connection goes away mid-stream
            with pytest.raises(BelugaError) as info:
                await asyncio.wait_for(anext(iterator), 10)
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable


async def test_stream_that_ends_without_a_final_is_an_error() -> None:
    async def no_final(requests: AsyncIterator[Any], context: Any) -> Any:
        async for _ in requests:
            pass
        yield interim(("to be", 0.9))

    async with serve(no_final) as (target, _):
        with pytest.raises(BelugaError) as info:
            await engine(target).transcribe(b"\x00\x00" * 1600, 16000)
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable
    assert "no final result" in info.value.message


async def test_unreachable_endpoint_is_retryable() -> None:
    with pytest.raises(BelugaError) as info:
        await engine("127.0.0.1:9", timeout=5).transcribe(b"\x00\x00" * 160, 16000)
    assert info.value.code in {ErrorCode.PROVIDER_UNAVAILABLE, ErrorCode.TIMEOUT}
    assert info.value.retryable


def test_key_never_shown_and_insecure_needs_an_endpoint() -> None:
    stt = GoogleSTT(api_key="AIza-google-test-key-0123")
    assert "AIza" not in repr(stt)
    with pytest.raises(BelugaError) as info:
        GoogleSTT(insecure=True)
    assert info.value.code is ErrorCode.INVALID_CONFIG and "api_endpoint" in info.value.message
