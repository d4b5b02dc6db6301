from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from beluga.core import BelugaError, ErrorCode, new_id, register_secret
from beluga.llms import ModelSettings
from beluga.llms.testing import AgentInfo, FunctionModel, TestModel
from beluga.observability import start_operation
from beluga.schema import Message, StreamEvent, TextDelta, Usage
from tests.conftest import Telemetry

KEY = "sk-test-PLANTED0123456789abcdef"


def _attrs_text(telemetry: Telemetry) -> str:
    parts = []
    for span in telemetry.finished_spans():
        parts.append(repr(dict(span.attributes or {})))
        parts.append(repr(span.status.description))
        parts.extend(repr(dict(e.attributes or {})) for e in span.events)
    return "\n".join(parts)


async def test_generate_is_one_chat_span_with_genai_attributes(telemetry: Telemetry) -> None:
    model_name = new_id("m")
    model = TestModel(model_name)
    await model.generate("hello there", settings=ModelSettings(temperature=0.3, max_tokens=50))
    (span,) = telemetry.finished_spans()
    assert span.name == f"chat {model_name}"
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "test"
    assert attrs["gen_ai.request.model"] == model_name
    assert attrs["gen_ai.request.temperature"] == 0.3
    assert attrs["gen_ai.request.max_tokens"] == 50
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.usage.input_tokens"] == 3
    assert attrs["gen_ai.usage.output_tokens"] == 4


async def test_metrics_duration_and_tokens(telemetry: Telemetry) -> None:
    model_name = new_id("m")
    await TestModel(model_name).generate("one two")
    durations = [
        p
        for p in telemetry.metric_points("gen_ai.client.operation.duration")
        if p.attributes.get("gen_ai.request.model") == model_name
    ]
    assert len(durations) == 1 and durations[0].count == 1
    tokens = {
        p.attributes["gen_ai.token.type"]: p.sum
        for p in telemetry.metric_points("gen_ai.client.token.usage")
        if p.attributes.get("gen_ai.request.model") == model_name
    }
    assert tokens == {"input": 3, "output": 4}


async def test_stream_records_time_to_first_chunk(telemetry: Telemetry) -> None:
    model_name = new_id("m")

    async def chunks(_: Sequence[Message], __: AgentInfo) -> AsyncIterator[str | StreamEvent]:
        for word in ("a", "b", "c"):
            yield word

    model = FunctionModel(stream_function=chunks, model=model_name)
    text = "".join([e.text async for e in model.stream("x") if isinstance(e, TextDelta)])
    assert text == "abc"
    (span,) = telemetry.finished_spans()
    assert span.name == f"chat {model_name}"
    ttfc = [
        p
        for p in telemetry.metric_points("gen_ai.client.operation.time_to_first_chunk")
        if p.attributes.get("gen_ai.request.model") == model_name
    ]
    assert ttfc and ttfc[0].count == 1


async def test_failure_sets_error_type_and_never_the_key(telemetry: Telemetry) -> None:
    register_secret(KEY)
    model_name = new_id("m")

    def fail(_: Sequence[Message], __: AgentInfo) -> str:
        raise BelugaError("llms.fake", ErrorCode.AUTH_FAILED, f"bad key {KEY}")

    with pytest.raises(BelugaError):
        await FunctionModel(fail, model=model_name).generate("x")
    (span,) = telemetry.finished_spans()
    assert span.status.status_code.name == "ERROR"
    assert dict(span.attributes or {})["error.type"] == "auth_failed"
    assert KEY not in _attrs_text(telemetry)
    errors = [
        p
        for p in telemetry.metric_points("gen_ai.client.operation.duration")
        if p.attributes.get("gen_ai.request.model") == model_name
    ]
    assert errors[0].attributes["error.type"] == "auth_failed"


async def test_foreign_exception_text_is_redacted(telemetry: Telemetry) -> None:
    def fail(_: Sequence[Message], __: AgentInfo) -> str:
        raise RuntimeError("upstream said Authorization: Bearer abcdefghijklmnopqrstuvwxyz")

    with pytest.raises(RuntimeError):
        await FunctionModel(fail).generate("x")
    text = _attrs_text(telemetry)
    assert "abcdefghijklmnopqrstuvwxyz" not in text
    assert "RuntimeError" in text


async def test_stream_closed_early_still_ends_its_span(telemetry: Telemetry) -> None:
    async def endless(_: Sequence[Message], __: AgentInfo) -> AsyncIterator[str | StreamEvent]:
        while True:
            yield "x"

    stream = FunctionModel(stream_function=endless).stream("x")
    async for _ in stream:
        break
    await stream.aclose()  # type: ignore[attr-defined]
    (span,) = telemetry.finished_spans()
    assert span.status.status_code.name != "ERROR"  # a consumer stopping early is no failure


def test_operation_is_generic_for_every_area(telemetry: Telemetry) -> None:
    with start_operation("execute_tool", "get_weather", provider="beluga") as op:
        op.set("gen_ai.tool.name", "get_weather")
        op.tokens(0, 0)
    (span,) = telemetry.finished_spans()
    assert span.name == "execute_tool get_weather"
    assert dict(span.attributes or {})["gen_ai.tool.name"] == "get_weather"


def test_usage_is_summed_in_streams() -> None:
    assert Usage(1, 2) + Usage(3, 4) == Usage(4, 6)
