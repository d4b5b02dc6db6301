"""OpenAI speech (``/v1/audio/speech``) and transcription (``/v1/audio/transcriptions``) over a
real loopback HTTP server: the SDK's own transport, chunked bodies, error bodies in OpenAI's
shape, a connection cut mid-body and a TCP reset."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice import stt as stt_registry
from beluga.voice import tts as tts_registry
from tests.support.replay_server import ReplayServer, Reply

pytest.importorskip("openai")

KEY = "sk-test-openai-audio-0123456789"
PCM = b"\x10\x00\x20\x00" * 800
AUDIO = bytes(range(256)) * 40


def _error(status: int, message: str, kind: str, **headers: str) -> Reply:
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return Reply.json(body, status, headers)


@pytest.fixture
async def server() -> AsyncIterator[ReplayServer]:
    async with ReplayServer() as running:
        yield running


def _tts(server: ReplayServer, **options: object) -> object:
    return tts_registry.create(
        "openai:gpt-4o-mini-tts", api_key=KEY, base_url=f"{server.url}/v1", **options
    )


def _stt(server: ReplayServer) -> object:
    return stt_registry.create(
        "openai:gpt-4o-mini-transcribe", api_key=KEY, base_url=f"{server.url}/v1"
    )


async def _speak(engine: object, text: str) -> list[bytes]:
    return [frame.pcm async for frame in engine.synthesize(text)]  # type: ignore[attr-defined]


async def _transcribe(engine: object) -> list[tuple[str, bool]]:
    async with engine.stream(sample_rate=8000, language="en") as session:  # type: ignore[attr-defined]
        await session.push(PCM)
        await session.finish()
        return [(event.text, event.final) async for event in session]


async def test_speech_streams_chunked_pcm_from_the_server(server: ReplayServer) -> None:
    server.enqueue(Reply(200, [("content-type", "audio/pcm")], chunks=[AUDIO[:4801], AUDIO[4801:]]))
    pieces = await _speak(_tts(server, voice="coral", chunk_bytes=4800), "Hello there.")
    assert b"".join(pieces) == AUDIO and all(len(p) % 2 == 0 for p in pieces)
    (request,) = server.requests
    assert request.method == "POST" and request.path == "/v1/audio/speech"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.json()["input"] == "Hello there." and request.json()["response_format"] == "pcm"


@pytest.mark.parametrize(
    ("reply", "code", "retryable"),
    [
        (_error(400, "Invalid voice", "invalid_request_error"), ErrorCode.INVALID_REQUEST, False),
        (_error(401, "Incorrect API key", "invalid_request_error"), ErrorCode.AUTH_FAILED, False),
        (
            _error(429, "Rate limit reached", "requests", **{"retry-after": "0"}),
            ErrorCode.RATE_LIMITED,
            True,
        ),
    ],
)
async def test_speech_errors_keep_the_server_message(
    server: ReplayServer, reply: Reply, code: ErrorCode, retryable: bool
) -> None:
    server.enqueue(reply)
    with pytest.raises(BelugaError) as info:
        await _speak(_tts(server), "Hi.")
    assert info.value.code is code and info.value.retryable is retryable
    assert json.loads(reply.body)["error"]["message"] in info.value.message
    assert KEY not in str(info.value) and len(server.requests) == 1  # the SDK does not retry


async def test_speech_cut_mid_body_is_retryable_after_the_audio_that_came(
    server: ReplayServer,
) -> None:
    server.enqueue(
        Reply(200, [("content-type", "audio/pcm")], chunks=[b"\x00\x01" * 3000] * 4, cut_after=7000)
    )
    frames: list[bytes] = []
    with pytest.raises(BelugaError) as info:
        async for frame in _tts(server, chunk_bytes=1000).synthesize("Hi."):  # type: ignore[attr-defined]
            frames.append(frame.pcm)
    assert frames  # audio arrived before the cut
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable


async def test_speech_connection_reset_is_retryable(server: ReplayServer) -> None:
    server.enqueue(Reply(reset=True))
    with pytest.raises(BelugaError) as info:
        await _speak(_tts(server), "Hi.")
    assert info.value.retryable and KEY not in str(info.value)


async def test_transcription_streams_deltas_then_the_done_text(server: ReplayServer) -> None:
    server.enqueue(
        Reply.sse(
            [
                {"type": "transcript.text.delta", "delta": "What is", "logprobs": []},
                {"type": "transcript.text.delta", "delta": " the weather?", "logprobs": []},
                {"type": "transcript.text.done", "text": "What is the weather?"},
            ],
            done=False,
        )
    )
    assert await _transcribe(_stt(server)) == [
        ("What is", False),
        ("What is the weather?", False),
        ("What is the weather?", True),
    ]
    (request,) = server.requests
    assert request.path == "/v1/audio/transcriptions"
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b'name="stream"' in request.body and b"gpt-4o-mini-transcribe" in request.body


async def test_transcription_error_and_cut_stream(server: ReplayServer) -> None:
    server.enqueue(_error(401, "Incorrect API key", "invalid_request_error"))
    with pytest.raises(BelugaError) as info:
        await _transcribe(_stt(server))
    assert info.value.code is ErrorCode.AUTH_FAILED and not info.value.retryable
    delta = {"type": "transcript.text.delta", "delta": "What is", "logprobs": []}
    server.enqueue(Reply.sse([delta, delta], done=False, cut_after=60))
    with pytest.raises(BelugaError) as cut:
        await _transcribe(_stt(server))
    assert cut.value.retryable  # no done event: the partial is never passed off as final
    assert json.dumps(delta) not in cut.value.message
