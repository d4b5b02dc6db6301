"""OpenAI speech against an httpx transport that answers as ``/v1/audio/speech``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.tts import create
from beluga.voice.tts.providers.openai import OpenAITTS

pytest.importorskip("openai")

KEY = "sk-test-openai-tts-0123456789"


def engine(handler: Callable[[httpx.Request], httpx.Response], **options: object) -> OpenAITTS:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    tts = create(
        "openai:gpt-4o-mini-tts",
        api_key=KEY,
        base_url="http://oa.test/v1",
        http_client=client,
        **options,
    )
    assert isinstance(tts, OpenAITTS)
    return tts


class Chunks(httpx.AsyncByteStream):
    """A body sent in uneven pieces (a sample split across two), optionally cut at the end."""

    def __init__(self, pieces: list[bytes], *, cut: bool = False) -> None:
        self.pieces, self.cut = pieces, cut

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece
        if self.cut:
            raise httpx.ReadError("connection reset by peer")


async def test_pcm_streams_in_whole_samples() -> None:
    seen: list[httpx.Request] = []
    audio = bytes(range(256)) * 40

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, stream=Chunks([audio[:4801], audio[4801:]]))

    tts = engine(handler, voice="coral", instructions="Speak calmly.", chunk_bytes=4800)
    frames = [f async for f in tts.synthesize("What is the weather in Paris?")]

    assert b"".join(f.pcm for f in frames) == audio
    assert all(len(f.pcm) % 2 == 0 and f.sample_rate == 24000 for f in frames)
    assert frames[0].text == "What is the weather in Paris?" and frames[-1].text == ""
    request = seen[0]
    assert request.url.path == "/v1/audio/speech"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(request.content) == {
        "model": "gpt-4o-mini-tts",
        "voice": "coral",
        "input": "What is the weather in Paris?",
        "response_format": "pcm",
        "instructions": "Speak calmly.",
    }


async def test_streaming_input_sends_one_request_per_sentence() -> None:
    inputs: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        inputs.append(json.loads(request.content)["input"])
        return httpx.Response(200, content=b"\x00\x01" * 100)

    async with engine(handler).stream() as session:
        await session.send("Hello there. How ")
        await session.send("are you?")
        await session.finish()
        frames = [f async for f in session]
    assert inputs == ["Hello there.", "How are you?"]
    assert [f.text for f in frames] == inputs


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
        return httpx.Response(status, json={"error": {"message": "Rate limit reached"}})

    with pytest.raises(BelugaError) as info:
        [f async for f in engine(handler).synthesize("Hi.")]
    assert info.value.code is code and info.value.retryable is retryable
    assert "Rate limit reached" in info.value.message and KEY not in str(info.value)


async def test_body_cut_mid_stream_is_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Chunks([b"\x00\x01" * 3000], cut=True))

    frames = []
    with pytest.raises(BelugaError) as info:
        async for frame in engine(handler, chunk_bytes=1000).synthesize("Hi."):
            frames.append(frame)
    assert frames  # audio arrived before the cut
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable
