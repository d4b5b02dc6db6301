"""Cartesia WebSocket TTS against a loopback server speaking ``/tts/websocket``."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.frames import WordTiming
from beluga.voice.tts import create
from beluga.voice.tts.providers.cartesia import CartesiaTTS
from tests.voice.ws_server import Seen, ws_server

KEY = "sk_car_test_0123456789abcdef"
PCM = b"\x05\x00" * 480


async def speaker(ws: ServerConnection, seen: Seen) -> None:
    """One chunk and its timestamps per text piece; ``done`` after ``continue: false``."""
    async for raw in ws:
        seen.messages.append(raw)
        request = json.loads(raw)
        ctx = request["context_id"]
        if request.get("cancel"):
            return
        if request["transcript"]:
            words = request["transcript"].split()
            stamps = {
                "words": words,
                "start": [0.1 * i for i in range(len(words))],
                "end": [0.1 * i + 0.08 for i in range(len(words))],
            }
            await ws.send(
                json.dumps(
                    {
                        "type": "timestamps",
                        "done": False,
                        "status_code": 206,
                        "context_id": ctx,
                        "word_timestamps": stamps,
                    }
                )
            )
            await ws.send(
                json.dumps(
                    {
                        "type": "chunk",
                        "data": base64.b64encode(PCM).decode(),
                        "done": False,
                        "status_code": 206,
                        "step_time": 12.5,
                        "context_id": ctx,
                    }
                )
            )
        elif request.get("flush"):
            await ws.send(
                json.dumps(
                    {
                        "type": "flush_done",
                        "done": False,
                        "flush_done": True,
                        "flush_id": 1,
                        "status_code": 206,
                        "context_id": ctx,
                    }
                )
            )
        elif not request["continue"]:
            await ws.send(
                json.dumps({"type": "done", "done": True, "status_code": 206, "context_id": ctx})
            )


def engine(url: str, **options: Any) -> CartesiaTTS:
    tts = create("cartesia:sonic-2", api_key=KEY, base_url=url, **options)
    assert isinstance(tts, CartesiaTTS)
    return tts


async def test_continuations_on_one_context_with_word_timestamps() -> None:
    async with (
        ws_server(speaker) as (url, seen),
        engine(url, voice="voice-1", sample_rate=16000).stream() as session,
    ):
        await session.send("Hello there, ")
        await session.send("friend.")
        await session.flush()
        await session.finish()
        frames = [f async for f in session]

    assert [f.pcm for f in frames] == [PCM, PCM]
    assert frames[0].sample_rate == 16000
    assert frames[0].words == (WordTiming("Hello", 0.0, 0.08), WordTiming("there,", 0.1, 0.18))
    assert frames[1].words == (WordTiming("friend.", 0.0, 0.08),)
    assert seen.paths == ["/tts/websocket"]
    assert seen.headers[0]["X-API-Key"] == KEY
    assert seen.headers[0]["Cartesia-Version"] == "2025-04-16"
    sent = [json.loads(m) for m in seen.messages]
    assert len({m["context_id"] for m in sent}) == 1
    assert [(m["transcript"], m["continue"], m.get("flush")) for m in sent] == [
        ("Hello there, ", True, None),
        ("friend.", True, None),
        ("", True, True),
        ("", False, None),
    ]
    assert sent[0]["model_id"] == "sonic-2" and sent[0]["add_timestamps"] is True
    assert sent[0]["voice"] == {"mode": "id", "id": "voice-1"}
    assert sent[0]["output_format"] == {
        "container": "raw",
        "encoding": "pcm_s16le",
        "sample_rate": 16000,
    }


async def test_close_before_done_cancels_the_context() -> None:
    async with ws_server(speaker) as (url, seen):
        session = engine(url).stream()
        async with session:
            await session.send("Hello.")
            assert (await anext(aiter(session))).pcm == PCM
        while len(seen.messages) < 2:  # noqa: ASYNC110 - polls what the server saw
            await asyncio.sleep(0.01)
    assert json.loads(seen.messages[-1]) == {"context_id": session.context_id, "cancel": True}


async def errors(ws: ServerConnection, seen: Seen) -> None:
    request = json.loads(await ws.recv())
    await ws.send(
        json.dumps(
            {
                "type": "error",
                "done": True,
                "status_code": 400,
                "error": "Invalid model: The model is not valid.",
                "context_id": request["context_id"],
            }
        )
    )


async def test_error_message_maps_its_status() -> None:
    async with ws_server(errors) as (url, _):
        with pytest.raises(BelugaError) as info:
            [f async for f in engine(url).synthesize("Hello.")]
    assert info.value.code is ErrorCode.INVALID_REQUEST and "Invalid model" in info.value.message


@pytest.mark.parametrize(
    ("status", "code"), [(401, ErrorCode.AUTH_FAILED), (429, ErrorCode.RATE_LIMITED)]
)
async def test_refused_handshake(status: int, code: ErrorCode) -> None:
    async with ws_server(speaker, reject=(status, '{"error": "Invalid API key"}', {})) as (url, _):
        with pytest.raises(BelugaError) as info:
            [f async for f in engine(url).synthesize("Hello.")]
    assert info.value.code is code and KEY not in str(info.value)


async def dropper(ws: ServerConnection, seen: Seen) -> None:
    request = json.loads(await ws.recv())
    await ws.send(
        json.dumps(
            {
                "type": "chunk",
                "data": base64.b64encode(PCM).decode(),
                "done": False,
                "context_id": request["context_id"],
            }
        )
    )
    ws.transport.abort()


async def test_dropped_socket_is_retryable() -> None:
    async with ws_server(dropper) as (url, _):
        frames = []
        with pytest.raises(BelugaError) as info:
            async with asyncio.timeout(5):
                async for frame in engine(url).synthesize("Hello."):
                    frames.append(frame)
    assert len(frames) == 1
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable


async def rate_limited(ws: ServerConnection, seen: Seen) -> None:
    request = json.loads(await ws.recv())
    error = {  # the structured error event of Cartesia-Version 2026-03-01 and newer
        "type": "error",
        "done": True,
        "status_code": 429,
        "error_code": "concurrency_limited",
        "title": "Too many concurrent requests",
        "message": "You have exceeded your plan's concurrency limit.",
        "request_id": "550e8400-e29b-41d4-a716-446655440000:ctx:8a0f5f3a",
        "context_id": request["context_id"],
    }
    await ws.send(json.dumps(error))


async def test_rate_limit_message_is_retryable() -> None:
    async with ws_server(rate_limited) as (url, _):
        with pytest.raises(BelugaError) as info:
            [f async for f in engine(url).synthesize("Hello.")]
    assert info.value.code is ErrorCode.RATE_LIMITED and info.value.retryable
    assert "concurrency limit" in info.value.message and KEY not in str(info.value)


async def early_close(ws: ServerConnection, seen: Seen) -> None:
    request = json.loads(await ws.recv())
    chunk = {"type": "chunk", "data": base64.b64encode(PCM).decode(), "done": False}
    await ws.send(json.dumps({**chunk, "context_id": request["context_id"]}))
    await ws.close()


async def test_clean_close_before_done_is_not_a_complete_reply() -> None:
    async with ws_server(early_close) as (url, _):
        frames = []
        with pytest.raises(BelugaError) as info:
            async for frame in engine(url).synthesize("Hello."):
                frames.append(frame)
    assert len(frames) == 1
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable
