"""Azure Speech STT (the official SDK) against a loopback server speaking Azure's WebSocket
protocol: ``speech.config``, ``speech.context`` and binary ``audio`` in; ``turn.start``,
``speech.startDetected``, ``speech.hypothesis``, ``speech.endDetected``, ``speech.phrase``
(detailed format, word timestamps) and ``turn.end`` out."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.asyncio.server import ServerConnection

from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.frames import WordTiming
from beluga.voice.stt import create
from beluga.voice.stt.providers.azure import AzureSTT
from tests.voice.azure_server import parse, text
from tests.voice.ws_server import Seen, ws_server

KEY = "azure-speech-key-0123456789abcdef"
PHRASES = ["What is the weather?", "Thank you."]


def phrase(display: str, offset: int) -> dict[str, Any]:
    """A detailed ``speech.phrase`` body as Azure sends it (ticks of 100 ns)."""
    words = [
        {"Word": w.strip("?.,").lower(), "Offset": offset + i * 4_000_000, "Duration": 3_000_000}
        for i, w in enumerate(display.split())
    ]
    lexical = " ".join(w["Word"] for w in words)
    return {
        "RecognitionStatus": "Success",
        "Offset": offset,
        "Duration": 4_000_000 * len(words),
        "DisplayText": display,
        "NBest": [
            {
                "Confidence": 0.93,
                "Lexical": lexical,
                "ITN": lexical,
                "MaskedITN": lexical,
                "Display": display,
                "Words": words,
            }
        ],
    }


def listener(phrases: list[str]) -> Any:
    """One connection per utterance: hypothesis after audio, the phrase at end of audio."""

    async def handle(ws: ServerConnection, seen: Seen) -> None:
        utterance = len(seen.paths) - 1
        display = phrases[utterance]
        request_id = ""
        started = False
        async for raw in ws:
            seen.messages.append(raw)
            message = parse(raw)
            request_id = message.headers.get("X-RequestId", request_id)
            if message.path != "audio" or "Content-Type" in message.headers:
                continue  # config, context, telemetry, the WAV header
            if message.body and not started:
                started = True
                await ws.send(text("turn.start", request_id, {"context": {"serviceTag": "7b3"}}))
                await ws.send(text("speech.startDetected", request_id, {"Offset": 1_000_000}))
                first = display.split()[0].strip("?.").lower()
                hypothesis = {"Text": first, "Offset": 1_000_000, "Duration": 3_000_000}
                await ws.send(text("speech.hypothesis", request_id, hypothesis))
            elif not message.body:
                await ws.send(text("speech.endDetected", request_id, {"Offset": 9_000_000}))
                await ws.send(text("speech.phrase", request_id, phrase(display, 1_000_000)))
                await ws.send(text("turn.end", request_id, {}))

    return handle


def engine(url: str, **options: Any) -> AzureSTT:
    stt = create("azure", api_key=KEY, host=url, **options)
    assert isinstance(stt, AzureSTT)
    return stt


async def test_hypotheses_then_a_phrase_per_utterance_with_word_timings() -> None:
    async with ws_server(listener(PHRASES)) as (url, seen):
        stt = engine(url, language="en-GB")
        events = []
        async with stt.stream(sample_rate=16000) as session:
            await session.push(b"\x01\x00" * 16000)
            iterator = aiter(session)
            events.append(await asyncio.wait_for(anext(iterator), 10))
            await session.flush()
            events.append(await asyncio.wait_for(anext(iterator), 10))
            await session.push(b"\x02\x00" * 8000)
            await session.finish()
            async with asyncio.timeout(10):
                events.extend([e async for e in iterator])

    assert [(e.text, e.final) for e in events] == [
        ("what", False),
        ("What is the weather?", True),
        ("thank", False),
        ("Thank you.", True),
    ]
    assert events[1].confidence == pytest.approx(0.93) and events[1].language == "en-GB"
    assert events[1].words[0] == WordTiming("what", 0.1, pytest.approx(0.4))
    # the second utterance's words count from the session start (1 s of audio before it)
    assert events[3].words[0].start == pytest.approx(1.1)

    path = urlsplit(seen.paths[0])
    assert path.path == "/speech/recognition/conversation/cognitiveservices/v1"
    query = parse_qs(path.query)
    assert query["language"] == ["en-GB"] and query["format"] == ["detailed"]
    assert query["wordLevelTimestamps"] == ["true"]
    assert seen.headers[0]["Ocp-Apim-Subscription-Key"] == KEY
    config = next(parse(m) for m in seen.messages if parse(m).path == "speech.config")
    assert config.json()["context"]["audio"]["source"]["samplerate"] == "16000"
    audio = b"".join(
        parse(m).body  # type: ignore[misc]
        for m in seen.messages
        if isinstance(m, bytes) and "Content-Type" not in parse(m).headers
    )
    assert audio == b"\x01\x00" * 16000 + b"\x02\x00" * 8000


async def test_transcribe_joins_the_phrases() -> None:
    async with ws_server(listener(PHRASES)) as (url, _):
        result = await asyncio.wait_for(engine(url).transcribe(b"\x00\x00" * 8000, 16000), 20)
    assert result.text == "What is the weather?" and len(result.words) == 4


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (401, ErrorCode.AUTH_FAILED, False),
        (403, ErrorCode.AUTH_FAILED, False),
        (429, ErrorCode.RATE_LIMITED, True),
    ],
)
async def test_refused_handshake_maps_the_status(
    status: int, code: ErrorCode, retryable: bool
) -> None:
    body = json.dumps({"error": {"code": "401", "message": "Access denied due to invalid key."}})
    async with ws_server(listener(PHRASES), reject=(status, body, {})) as (url, _):
        with pytest.raises(BelugaError) as info:
            await asyncio.wait_for(engine(url).transcribe(b"\x00\x00" * 1600, 16000), 20)
    assert info.value.code is code and info.value.retryable is retryable
    assert KEY not in str(info.value) and KEY not in repr(info.value)


async def test_dropped_socket_mid_utterance_is_retryable() -> None:
    async def drop(ws: ServerConnection, seen: Seen) -> None:
        async for raw in ws:
            message = parse(raw)
            if message.path == "audio" and message.body and "Content-Type" not in message.headers:
                request_id = message.headers["X-RequestId"]
                await ws.send(text("turn.start", request_id, {"context": {"serviceTag": "x"}}))
                hypothesis = {"Text": "what is", "Offset": 0, "Duration": 3_000_000}
                await ws.send(text("speech.hypothesis", request_id, hypothesis))
                await asyncio.sleep(0.2)
                ws.transport.abort()
                return

    async with ws_server(drop) as (url, _):
        session = engine(url).stream(sample_rate=16000)
        async with session:
            await session.push(b"\x00\x00" * 16000)
            iterator = aiter(session)
            assert (await asyncio.wait_for(anext(iterator), 10)).text == "what is"
            await session.flush()
            with pytest.raises(BelugaError) as info:
                async with asyncio.timeout(20):
                    async for event in iterator:
                        assert not event.final, "no half-result may come out as final"
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable


def test_key_and_region_are_required_and_the_key_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_SPEECH_KEY", raising=False)
    monkeypatch.delenv("AZURE_SPEECH_REGION", raising=False)
    with pytest.raises(BelugaError) as info:
        AzureSTT(region="eastus")
    assert info.value.code is ErrorCode.AUTH_FAILED and "AZURE_SPEECH_KEY" in info.value.message
    with pytest.raises(BelugaError) as info:
        AzureSTT(api_key=KEY)
    assert info.value.code is ErrorCode.INVALID_CONFIG and "region" in info.value.message
    assert KEY not in repr(AzureSTT(api_key=KEY, region="eastus"))


@pytest.mark.parametrize(
    ("close", "code", "retryable"),
    [
        (
            (1007, "Invalid audio format: unsupported sample rate."),
            ErrorCode.INVALID_REQUEST,
            False,
        ),
        ((1011, "Internal service error."), ErrorCode.PROVIDER_UNAVAILABLE, True),
    ],
)
async def test_service_close_codes_map_to_error_kinds(
    close: tuple[int, str], code: ErrorCode, retryable: bool
) -> None:
    async def refuse(ws: ServerConnection, seen: Seen) -> None:
        async for raw in ws:
            message = parse(raw)
            if message.path == "audio" and message.body and "Content-Type" not in message.headers:
                await ws.close(*close)
                return

    async with ws_server(refuse) as (url, _):
        with pytest.raises(BelugaError) as info:
            await asyncio.wait_for(engine(url).transcribe(b"\x00\x00" * 8000, 16000), 20)
    assert info.value.code is code and info.value.retryable is retryable
    assert close[1][:12] in info.value.message
