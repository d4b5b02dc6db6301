"""OpenAI transcription against an httpx transport that answers as ``/v1/audio/transcriptions``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.audio import read_wav
from beluga.voice.stt import create
from beluga.voice.stt.providers.openai import OpenAISTT

pytest.importorskip("openai")

KEY = "sk-test-openai-stt-0123456789"
PCM = b"\x10\x00\x20\x00" * 800


def sse(*events: dict[str, object]) -> bytes:
    return b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events)


def engine(handler: Callable[[httpx.Request], httpx.Response], model: str) -> OpenAISTT:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    stt = create(f"openai:{model}", api_key=KEY, base_url="http://oa.test/v1", http_client=client)
    assert isinstance(stt, OpenAISTT)
    return stt


def form_fields(request: httpx.Request) -> dict[str, bytes]:
    """The multipart fields of a request (name -> raw value)."""
    boundary = request.headers["content-type"].split("boundary=")[1].encode()
    fields: dict[str, bytes] = {}
    for part in request.content.split(b"--" + boundary)[1:-1]:
        head, _, body = part.partition(b"\r\n\r\n")
        name = head.split(b'name="')[1].split(b'"')[0].decode()
        fields[name] = body[:-2]
    return fields


async def test_streamed_transcription_yields_deltas_then_the_done_text() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = sse(
            {"type": "transcript.text.delta", "delta": "What is", "logprobs": []},
            {"type": "transcript.text.delta", "delta": " the weather?", "logprobs": []},
            {
                "type": "transcript.text.done",
                "text": "What is the weather?",
                "usage": {"type": "tokens", "input_tokens": 14, "output_tokens": 6},
            },
        )
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    stt = engine(handler, "gpt-4o-mini-transcribe")
    async with stt.stream(sample_rate=8000, language="en") as session:
        await session.push(PCM)
        await session.finish()
        events = [e async for e in session]

    assert [(e.text, e.final) for e in events] == [
        ("What is", False),
        ("What is the weather?", False),
        ("What is the weather?", True),
    ]
    request = seen[0]
    assert request.method == "POST" and request.url.path == "/v1/audio/transcriptions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    fields = form_fields(request)
    assert fields["model"] == b"gpt-4o-mini-transcribe"
    assert fields["stream"] == b"true" and fields["language"] == b"en"
    assert fields["response_format"] == b"json"
    wav = read_wav(fields["file"])
    assert (wav.pcm, wav.sample_rate, wav.channels) == (PCM, 8000, 1)


async def test_whisper_answers_one_json_text() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert "stream" not in form_fields(request)
        return httpx.Response(200, json={"text": " Hello there. "})

    result = await engine(handler, "whisper-1").transcribe(PCM, 16000)
    assert result.text == "Hello there." and result.final


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (400, ErrorCode.INVALID_REQUEST, False),
        (401, ErrorCode.AUTH_FAILED, False),
        (429, ErrorCode.RATE_LIMITED, True),
    ],
)
async def test_error_answers_map_to_codes(status: int, code: ErrorCode, retryable: bool) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        error = {"message": "Incorrect API key provided", "type": "invalid_request_error"}
        return httpx.Response(status, json={"error": error}, headers={"retry-after": "3"})

    with pytest.raises(BelugaError) as info:
        await engine(handler, "gpt-4o-transcribe").transcribe(PCM, 16000)
    assert info.value.code is code and info.value.retryable is retryable
    assert "Incorrect API key provided" in info.value.message
    if retryable:
        assert info.value.retry_after == 3
    assert KEY not in str(info.value)


class CutStream(httpx.AsyncByteStream):
    """A body that dies after its first event, as a dropped connection does."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield sse({"type": "transcript.text.delta", "delta": "What"})
        raise httpx.ReadError("connection reset by peer")


async def test_stream_cut_mid_way_is_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, stream=CutStream(), headers={"content-type": "text/event-stream"}
        )

    stt = engine(handler, "gpt-4o-mini-transcribe")
    with pytest.raises(BelugaError) as info:
        await stt.transcribe(PCM, 16000)
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable


async def test_stream_that_ends_without_done_is_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = sse({"type": "transcript.text.delta", "delta": "What"})
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    with pytest.raises(BelugaError) as info:
        await engine(handler, "gpt-4o-mini-transcribe").transcribe(PCM, 16000)
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable
