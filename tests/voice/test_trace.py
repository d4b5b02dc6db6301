"""Speech operations are traced: one ``transcribe``/``synthesize`` span per session or request."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice._trace import traced
from beluga.voice.stt.providers.deepgram import DeepgramSTT
from tests.conftest import Telemetry
from tests.voice.ws_server import ws_server


async def chunks(fail: bool) -> AsyncIterator[int]:
    yield 1
    yield 2
    if fail:
        raise BelugaError("voice.test", ErrorCode.RATE_LIMITED, "slow down")


async def test_span_names_the_provider_model_and_chunks(telemetry: Telemetry) -> None:
    assert [c async for c in traced(chunks(False), "synthesize", provider="x", model="m1")] == [
        1,
        2,
    ]
    [span] = telemetry.finished_spans()
    assert span.name == "synthesize m1"
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.provider.name"] == "x" and attrs["gen_ai.request.model"] == "m1"
    assert attrs["beluga.voice.chunks"] == 2
    assert isinstance(attrs["beluga.voice.time_to_first_chunk"], float)


async def test_failed_session_records_the_error_kind_without_the_key(telemetry: Telemetry) -> None:
    key = "dg-trace-key-0123456789"
    body = json.dumps({"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."})

    async def never(ws: object, seen: object) -> None:
        raise AssertionError("the handshake is refused")

    async with ws_server(never, reject=(401, body, {})) as (url, _):
        stt = DeepgramSTT(api_key=key, base_url=url)
        with pytest.raises(BelugaError):
            [e async for e in stt.stream(sample_rate=16000)]
    [span] = [s for s in telemetry.finished_spans() if s.name == "transcribe nova-3"]
    attrs = dict(span.attributes or {})
    assert attrs["error.type"] == "auth_failed" and attrs["gen_ai.provider.name"] == "deepgram"
    assert key not in json.dumps([dict(e.attributes or {}) for e in span.events])
