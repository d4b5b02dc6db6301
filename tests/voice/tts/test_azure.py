"""Azure Speech TTS (the official SDK) against a loopback server speaking Azure's WebSocket
synthesis protocol: ``speech.config``, ``synthesis.context`` and ``ssml`` in; ``turn.start``,
``response``, ``audio.metadata`` (word boundaries), binary ``audio`` and ``turn.end`` out."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.tts import create
from beluga.voice.tts.providers.azure import AzureTTS
from tests.voice.azure_server import binary, parse, text
from tests.voice.ws_server import Seen, ws_server

KEY = "azure-tts-key-0123456789abcdef"
CHUNK = b"\x05\x00" * 2400  # 100 ms at 24 kHz


def boundary(word: str, offset: int) -> dict[str, Any]:
    data = {
        "Offset": offset,
        "Duration": 3_000_000,
        "text": {"Text": word, "Length": len(word), "BoundaryType": "WordBoundary"},
    }
    return {"Metadata": [{"Type": "WordBoundary", "Data": data}]}


async def speaker(ws: ServerConnection, seen: Seen) -> None:
    """Per SSML request: a word boundary per word, one audio chunk per word, turn.end."""
    async for raw in ws:
        seen.messages.append(raw)
        message = parse(raw)
        if message.path != "ssml":
            continue
        request_id = message.headers["X-RequestId"]
        assert isinstance(message.body, str)
        spoken = re.sub(r"<[^>]+>", "", message.body)  # the text inside the SSML
        await ws.send(text("turn.start", request_id, {"context": {"serviceTag": "9f1"}}))
        audio = {"context": {"serviceTag": "9f1"}, "audio": {"type": "inline", "streamId": "1"}}
        await ws.send(text("response", request_id, audio))
        for index, word in enumerate(spoken.split()):
            await ws.send(text("audio.metadata", request_id, boundary(word, index * 1_000_000)))
            await ws.send(binary("audio", request_id, CHUNK))
        await ws.send(text("turn.end", request_id, {}))


def engine(url: str, **options: Any) -> AzureTTS:
    tts = create("azure:en-US-AvaMultilingualNeural", api_key=KEY, host=url, **options)
    assert isinstance(tts, AzureTTS)
    return tts


async def test_sentences_stream_with_word_boundaries() -> None:
    async with ws_server(speaker) as (url, seen):
        tts = engine(url, rate="+10%")
        async with tts.stream() as session:
            await session.send("Hello <there>. ")
            await session.send("Bye")
            await session.finish()
            async with asyncio.timeout(20):
                frames = [f async for f in session]

    assert b"".join(f.pcm for f in frames) == CHUNK * 3
    assert frames[0].text == "Hello <there>." and frames[0].sample_rate == 24000
    words = [w for f in frames for w in f.words]
    assert [w.word for w in words] == ["Hello", "&lt;there&gt;.", "Bye"]
    assert words[1].start == pytest.approx(0.1) and words[1].end == pytest.approx(0.4)
    # the second sentence's words count from the start of the session (0.2 s of audio before)
    assert words[2].start == pytest.approx(0.2)

    ssml = [parse(m).body for m in seen.messages if parse(m).path == "ssml"]
    assert ssml[0] == (
        "<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang=\"en-US\">"
        '<voice name="en-US-AvaMultilingualNeural"><prosody rate="+10%">'
        "Hello &lt;there&gt;.</prosody></voice></speak>"
    )
    context = next(parse(m).json() for m in seen.messages if parse(m).path == "synthesis.context")
    assert context["synthesis"]["audio"]["outputFormat"] == "raw-24khz-16bit-mono-pcm"
    assert context["synthesis"]["audio"]["metadataOptions"]["wordBoundaryEnabled"] is True
    assert seen.paths[0] == "/cognitiveservices/websocket/v1"
    assert seen.headers[0]["Ocp-Apim-Subscription-Key"] == KEY


async def test_synthesize_asks_for_the_rate_given() -> None:
    async with ws_server(speaker) as (url, seen):
        async with asyncio.timeout(20):
            frames = [f async for f in engine(url, sample_rate=16000).synthesize("Hi")]
    assert frames[0].text == "Hi" and frames[0].sample_rate == 16000
    context = next(parse(m).json() for m in seen.messages if parse(m).path == "synthesis.context")
    assert context["synthesis"]["audio"]["outputFormat"] == "raw-16khz-16bit-mono-pcm"


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [(401, ErrorCode.AUTH_FAILED, False), (429, ErrorCode.RATE_LIMITED, True)],
)
async def test_refused_handshake_maps_the_status(
    status: int, code: ErrorCode, retryable: bool
) -> None:
    body = json.dumps({"error": {"code": str(status), "message": "Access denied."}})
    async with ws_server(speaker, reject=(status, body, {})) as (url, _):
        with pytest.raises(BelugaError) as info:
            async with asyncio.timeout(20):
                [f async for f in engine(url).synthesize("Hello.")]
    assert info.value.code is code and info.value.retryable is retryable
    assert KEY not in str(info.value)


async def test_bad_request_close_is_an_invalid_request() -> None:
    async def refuse(ws: ServerConnection, seen: Seen) -> None:
        async for raw in ws:
            if parse(raw).path == "ssml":
                await ws.close(1007, "Unsupported voice en-US-AvaMultilingualNeural.")
                return

    async with ws_server(refuse) as (url, _):
        with pytest.raises(BelugaError) as info:
            async with asyncio.timeout(20):
                [f async for f in engine(url).synthesize("Hello.")]
    assert info.value.code is ErrorCode.INVALID_REQUEST and not info.value.retryable
    assert "Unsupported voice" in info.value.message


async def test_dropped_socket_mid_reply_is_retryable() -> None:
    async def drop(ws: ServerConnection, seen: Seen) -> None:
        async for raw in ws:
            message = parse(raw)
            if message.path == "ssml":
                request_id = message.headers["X-RequestId"]
                await ws.send(text("turn.start", request_id, {"context": {"serviceTag": "x"}}))
                await ws.send(binary("audio", request_id, CHUNK))
                await asyncio.sleep(0.2)
                ws.transport.abort()
                return

    async with ws_server(drop) as (url, _):
        frames = []
        with pytest.raises(BelugaError) as info:
            async with asyncio.timeout(20):
                async for frame in engine(url).synthesize("Hello there."):
                    frames.append(frame)
    assert [f.pcm for f in frames] == [CHUNK]
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable


def test_rate_and_key_checks() -> None:
    with pytest.raises(BelugaError) as info:
        AzureTTS(api_key=KEY, region="eastus", sample_rate=32000)
    assert info.value.code is ErrorCode.INVALID_CONFIG and "24000" in info.value.message
    assert KEY not in repr(AzureTTS(api_key=KEY, region="eastus"))


async def test_closing_mid_sentence_stops_without_waiting_for_the_turn_end() -> None:
    async def slow(ws: ServerConnection, seen: Seen) -> None:
        async for raw in ws:
            seen.messages.append(raw)
            message = parse(raw)
            if message.path == "ssml":
                request_id = message.headers["X-RequestId"]
                await ws.send(text("turn.start", request_id, {"context": {"serviceTag": "x"}}))
                await ws.send(binary("audio", request_id, CHUNK))

    async with ws_server(slow) as (url, _):
        frames = []
        async with asyncio.timeout(20):
            session = engine(url).synthesize("A long reply that is interrupted.")
            frames.append(await anext(session))
            await session.aclose()  # barge-in: stop_speaking, then the synthesizer is released
    assert [f.pcm for f in frames] == [CHUNK]
