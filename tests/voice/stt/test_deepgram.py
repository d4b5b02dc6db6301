"""Deepgram live STT against a loopback server speaking the ``/v1/listen`` protocol."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.asyncio.server import ServerConnection

from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.stt import create
from beluga.voice.stt.providers.deepgram import DeepgramSTT
from tests.voice.ws_server import Seen, ws_server

KEY = "dg-test-key-0123456789"


def results(text: str, *, is_final: bool, speech_final: bool = False, **extra: Any) -> str:
    """A ``Results`` message shaped as Deepgram documents it."""
    return json.dumps(
        {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": 1.02,
            "start": 0.0,
            "is_final": is_final,
            "speech_final": speech_final,
            "channel": {
                "alternatives": [
                    {
                        "transcript": text,
                        "confidence": 0.98 if is_final else 0.7,
                        "words": [
                            {"word": w, "start": 0.1, "end": 0.3, "confidence": 0.9}
                            for w in text.split()
                        ],
                    }
                ]
            },
            "metadata": {
                "request_id": "8c8ebea9-dbec-45fa-a035-e4632cb05b5f",
                "model_info": {"name": "general-nova-3", "version": "2024", "arch": "nova-3"},
                "model_uuid": "1abfe86b-e047-4eed-858a-35e5625b41ee",
            },
            "from_finalize": False,
            **extra,
        }
    )


METADATA = json.dumps(
    {
        "type": "Metadata",
        "transaction_key": "deprecated",
        "request_id": "8c8ebea9-dbec-45fa-a035-e4632cb05b5f",
        "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "created": "2024-08-29T22:37:55.202Z",
        "duration": 2.0,
        "channels": 1,
    }
)


async def conversation(ws: ServerConnection, seen: Seen) -> None:
    """Two segments of one utterance, then a Finalize-flushed second one; Metadata on close."""
    async for message in ws:
        seen.messages.append(message)
        if isinstance(message, bytes):
            audio = sum(len(m) for m in seen.messages if isinstance(m, bytes))
            if audio == 6400:
                await ws.send(results("what is", is_final=False))
                await ws.send(results("what is the", is_final=True))
            elif audio == 12800:
                await ws.send(results("weather in paris", is_final=True, speech_final=True))
            continue
        kind = json.loads(message)["type"]
        if kind == "Finalize":
            await ws.send(results("thank you", is_final=True, from_finalize=True))
        elif kind == "CloseStream":
            await ws.send(METADATA)
            await ws.close()
            return


def engine(url: str, **options: Any) -> DeepgramSTT:
    stt = create("deepgram:nova-3", api_key=KEY, base_url=url, **options)
    assert isinstance(stt, DeepgramSTT)
    return stt


async def test_streams_partials_and_one_final_per_utterance() -> None:
    async with ws_server(conversation) as (url, seen):
        stt = engine(url, keepalive_interval=3600)
        events = []
        async with stt.stream(sample_rate=16000) as session:
            await session.push(b"\x01\x00" * 3200)
            await session.push(b"\x02\x00" * 3200)
            iterator = aiter(session)
            while not (event := await anext(iterator)).final:
                events.append(event)
            events.append(event)
            await session.push(b"\x03\x00" * 1600)
            await session.flush()
            await session.finish()
            events.extend([e async for e in iterator])

    assert [(e.text, e.final) for e in events] == [
        ("what is", False),
        ("what is the", False),
        ("what is the weather in paris", True),
        ("thank you", True),
    ]
    assert events[2].confidence == 0.98 and events[2].language == "en"
    assert [w.word for w in events[2].words] == ["what", "is", "the", "weather", "in", "paris"]
    assert events[2].words[0].start == 0.1 and events[2].words[0].end == 0.3
    assert not events[1].words  # partials carry no word timings
    assert session.metadata is not None and session.metadata["duration"] == 2.0

    path = urlsplit(seen.paths[0])
    assert path.path == "/v1/listen"
    query = {k: v[0] for k, v in parse_qs(path.query).items()}
    assert query == {
        "model": "nova-3",
        "encoding": "linear16",
        "sample_rate": "16000",
        "channels": "1",
        "interim_results": "true",
        "punctuate": "true",
        "endpointing": "300",
        "language": "en",
    }
    assert seen.headers[0]["Authorization"] == f"Token {KEY}"
    audio = [m for m in seen.messages if isinstance(m, bytes)]
    assert b"".join(audio) == b"\x01\x00" * 3200 + b"\x02\x00" * 3200 + b"\x03\x00" * 1600
    controls = [json.loads(m)["type"] for m in seen.messages if isinstance(m, str)]
    assert controls == ["Finalize", "CloseStream"]


async def test_transcribe_joins_the_finals() -> None:
    async with ws_server(conversation) as (url, _):
        result = await engine(url).transcribe(b"\x00\x00" * 6400, 16000)
    assert result.text == "what is the weather in paris"
    assert result.final and result.confidence == 0.98


async def test_sends_keepalive_while_no_audio_flows() -> None:
    async with (
        ws_server(conversation) as (url, seen),
        engine(url, keepalive_interval=0.01).stream(sample_rate=8000) as session,
    ):
        while not any(isinstance(m, str) for m in seen.messages):  # noqa: ASYNC110 - polls what the server saw
            await asyncio.sleep(0.01)
        await session.finish()
        [e async for e in session]
    assert json.loads(seen.messages[0]) == {"type": "KeepAlive"}


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (400, ErrorCode.INVALID_REQUEST, False),
        (401, ErrorCode.AUTH_FAILED, False),
        (429, ErrorCode.RATE_LIMITED, True),
    ],
)
async def test_refused_handshake_maps_the_status(
    status: int, code: ErrorCode, retryable: bool
) -> None:
    body = json.dumps({"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."})
    reject = (status, body, {"dg-error": "Invalid credentials.", "Retry-After": "2"})
    async with ws_server(conversation, reject=reject) as (url, _):
        with pytest.raises(BelugaError) as info:
            async with engine(url).stream(sample_rate=16000):
                pass
    assert info.value.code is code and info.value.retryable is retryable
    assert "Invalid credentials." in info.value.message
    assert KEY not in str(info.value) and KEY not in repr(info.value)


async def dropper(ws: ServerConnection, seen: Seen) -> None:
    await ws.send(results("what is", is_final=False))
    await ws.recv()
    ws.transport.abort()  # the socket dies without a close frame


async def test_dropped_socket_is_a_retryable_error() -> None:
    async with ws_server(dropper) as (url, _):
        stt = engine(url)
        async with stt.stream(sample_rate=16000) as session:
            await session.push(b"\x00\x00" * 160)
            iterator = aiter(session)
            assert (await anext(iterator)).text == "what is"
            with pytest.raises(BelugaError) as info:
                await asyncio.wait_for(anext(iterator), 5)
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable


async def closes_for_bad_audio(ws: ServerConnection, seen: Seen) -> None:
    await ws.recv()
    await ws.close(1008, "DATA-0000")


async def test_policy_close_is_an_invalid_request() -> None:
    async with (
        ws_server(closes_for_bad_audio) as (url, _),
        engine(url).stream(sample_rate=16000) as session,
    ):
        await session.push(b"\x00")
        with pytest.raises(BelugaError) as info:
            [e async for e in session]
    assert info.value.code is ErrorCode.INVALID_REQUEST and "DATA-0000" in info.value.message


async def test_unreachable_host_is_retryable() -> None:
    with pytest.raises(BelugaError) as info:
        async with engine("ws://127.0.0.1:9").stream(sample_rate=16000):
            pass
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable


def test_key_is_required_and_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    with pytest.raises(BelugaError) as info:
        DeepgramSTT()
    assert info.value.code is ErrorCode.AUTH_FAILED and "DEEPGRAM_API_KEY" in info.value.message
    stt = DeepgramSTT(api_key=KEY)
    assert KEY not in repr(stt) and KEY not in stt.url(sample_rate=16000)


async def net_timeout(ws: ServerConnection, seen: Seen) -> None:
    """Deepgram closes with 1011 NET-0001 when it gets no audio in time, mid-utterance here."""
    await ws.recv()
    await ws.send(results("what is", is_final=False))
    await ws.send(results("what is the", is_final=True))
    await ws.close(1011, "NET-0001")


async def test_server_close_mid_utterance_is_retryable_and_yields_no_final() -> None:
    async with (
        ws_server(net_timeout) as (url, _),
        engine(url).stream(sample_rate=16000) as session,
    ):
        await session.push(b"\x00\x00" * 160)
        events = []
        with pytest.raises(BelugaError) as info:
            async with asyncio.timeout(5):
                async for event in session:
                    events.append(event)
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable
    assert "NET-0001" in info.value.message
    assert events and not any(e.final for e in events)


async def error_message(ws: ServerConnection, seen: Seen) -> None:
    await ws.recv()
    error = {
        "type": "Error",
        "description": "Too many concurrent requests for this project",
        "message": "",
        "variant": "too_many_requests",
    }
    await ws.send(json.dumps(error))
    await ws.close()


async def test_error_message_in_stream_maps_its_kind() -> None:
    async with (
        ws_server(error_message) as (url, _),
        engine(url).stream(sample_rate=16000) as session,
    ):
        await session.push(b"\x00\x00" * 160)
        with pytest.raises(BelugaError) as info:
            [e async for e in session]
    assert info.value.code is ErrorCode.RATE_LIMITED and info.value.retryable
