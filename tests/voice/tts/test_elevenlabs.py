"""ElevenLabs stream-input TTS against a loopback server speaking its WebSocket protocol."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.asyncio.server import ServerConnection

from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.frames import WordTiming
from beluga.voice.tts import create
from beluga.voice.tts.providers.elevenlabs import ElevenLabsTTS
from tests.voice.ws_server import Seen, ws_server

KEY = "xi-test-key-0123456789abcdef"
AUDIO = [b"\x01\x00" * 2400, b"\x02\x00" * 1200]  # 100 ms and 50 ms at 24 kHz


def alignment(text: str, start_ms: int) -> dict[str, Any]:
    return {
        "chars": list(text),
        "charStartTimesMs": [start_ms + 10 * i for i in range(len(text))],
        "charsDurationsMs": [10] * len(text),
    }


async def speaker(ws: ServerConnection, seen: Seen) -> None:
    """Answers each flush or the end with audio chunks and alignment, then ``isFinal``."""
    async for raw in ws:
        seen.messages.append(raw)
        message = json.loads(raw)
        if message.get("flush") or message["text"] == "":
            for pcm, text in zip(AUDIO, ["Hi there", " you"], strict=True):
                payload = {
                    "audio": base64.b64encode(pcm).decode(),
                    "isFinal": None,
                    "normalizedAlignment": alignment(text, 0),
                    "alignment": alignment(text, 0),
                }
                await ws.send(json.dumps(payload))
        if message["text"] == "":
            await ws.send(json.dumps({"isFinal": True}))
            await ws.close()
            return


def engine(url: str, **options: Any) -> ElevenLabsTTS:
    tts = create("elevenlabs:eleven_flash_v2_5", api_key=KEY, base_url=url, **options)
    assert isinstance(tts, ElevenLabsTTS)
    return tts


async def test_stream_input_protocol_and_word_timings() -> None:
    async with ws_server(speaker) as (url, seen):
        tts = engine(url, voice="voice123", voice_settings={"stability": 0.5})
        async with tts.stream() as session:
            await session.send("Hi there ")
            await session.send("you.")
            await session.finish()
            frames = [f async for f in session]

    assert [f.pcm for f in frames] == AUDIO
    assert all(f.sample_rate == 24000 for f in frames)
    assert frames[0].text == "Hi there"
    assert frames[0].words == (WordTiming("Hi", 0.0, 0.02), WordTiming("there", 0.03, 0.08))
    # the second chunk's times are shifted by the 0.1 s of audio before it
    assert frames[1].words == (WordTiming("you", pytest.approx(0.11), pytest.approx(0.14)),)

    path = urlsplit(seen.paths[0])
    assert path.path == "/v1/text-to-speech/voice123/stream-input"
    assert parse_qs(path.query) == {
        "model_id": ["eleven_flash_v2_5"],
        "output_format": ["pcm_24000"],
    }
    assert seen.headers[0]["xi-api-key"] == KEY and KEY not in seen.paths[0]
    assert [json.loads(m) for m in seen.messages] == [
        {"text": " ", "voice_settings": {"stability": 0.5}},
        {"text": "Hi there "},
        {"text": "you."},
        {"text": ""},
    ]


async def test_synthesize_and_flush() -> None:
    async with ws_server(speaker) as (url, seen):
        frames = [f async for f in engine(url).synthesize("Hello.")]
        assert len(frames) == 2
        async with engine(url).stream() as session:
            await session.send("Hello")
            await session.flush()
            iterator = aiter(session)
            assert (await anext(iterator)).pcm == AUDIO[0]
            await session.aclose()
    assert json.loads(seen.messages[-1]) == {"text": " ", "flush": True}


async def quota_error(ws: ServerConnection, seen: Seen) -> None:
    await ws.recv()
    await ws.recv()
    error = {"message": "This request exceeds your quota.", "error": "quota_exceeded", "code": 1008}
    await ws.send(json.dumps(error))
    await ws.close(1008, "quota_exceeded")


async def test_error_message_in_stream_is_raised() -> None:
    async with ws_server(quota_error) as (url, _):
        with pytest.raises(BelugaError) as info:
            [f async for f in engine(url).synthesize("Hello.")]
    assert info.value.code is ErrorCode.RATE_LIMITED
    assert "exceeds your quota" in info.value.message


@pytest.mark.parametrize(
    ("status", "code"), [(401, ErrorCode.AUTH_FAILED), (429, ErrorCode.RATE_LIMITED)]
)
async def test_refused_handshake(status: int, code: ErrorCode) -> None:
    body = json.dumps({"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
    async with ws_server(speaker, reject=(status, body, {})) as (url, _):
        with pytest.raises(BelugaError) as info:
            [f async for f in engine(url).synthesize("Hello.")]
    assert info.value.code is code and "Invalid API key" in info.value.message
    assert KEY not in str(info.value)


async def dropper(ws: ServerConnection, seen: Seen) -> None:
    await ws.recv()
    await ws.recv()
    await ws.send(json.dumps({"audio": base64.b64encode(AUDIO[0]).decode(), "isFinal": None}))
    ws.transport.abort()


async def test_dropped_socket_mid_audio_is_retryable() -> None:
    async with ws_server(dropper) as (url, _):
        frames = []
        with pytest.raises(BelugaError) as info:
            async with asyncio.timeout(5):
                async for frame in engine(url).synthesize("Hello."):
                    frames.append(frame)
    assert len(frames) == 1
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable


def test_unsupported_rate_and_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BelugaError) as info:
        ElevenLabsTTS(api_key=KEY, sample_rate=12345)
    assert info.value.code is ErrorCode.INVALID_CONFIG
    monkeypatch.delenv("ELEVENLABS_API_KEY", raising=False)
    with pytest.raises(BelugaError) as missing:
        ElevenLabsTTS()
    assert missing.value.code is ErrorCode.AUTH_FAILED
    assert KEY not in repr(ElevenLabsTTS(api_key=KEY))


async def policy_close(ws: ServerConnection, seen: Seen) -> None:
    await ws.recv()
    await ws.close(1008, "Invalid voice_id: voice123 was not found")


async def test_policy_close_is_an_invalid_request() -> None:
    async with ws_server(policy_close) as (url, _):
        with pytest.raises(BelugaError) as info:
            [f async for f in engine(url).synthesize("Hello.")]
    assert info.value.code is ErrorCode.INVALID_REQUEST and not info.value.retryable
    assert "Invalid voice_id" in info.value.message


async def early_close(ws: ServerConnection, seen: Seen) -> None:
    await ws.recv()
    await ws.recv()
    await ws.send(json.dumps({"audio": base64.b64encode(AUDIO[0]).decode(), "isFinal": None}))
    await ws.close()


async def test_clean_close_before_is_final_is_not_a_complete_reply() -> None:
    async with ws_server(early_close) as (url, _):
        frames = []
        with pytest.raises(BelugaError) as info:
            async for frame in engine(url).synthesize("Hello there."):
                frames.append(frame)
    assert len(frames) == 1
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable
