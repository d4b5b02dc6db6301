from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from opentelemetry.trace import SpanKind

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


def _durations(telemetry: Telemetry, key: str, value: str) -> list[Any]:
    return [
        p
        for p in telemetry.metric_points("gen_ai.client.operation.duration")
        if p.attributes.get(key) == value
    ]


def test_tool_span_names_the_tool_and_its_call_not_a_model(telemetry: Telemetry) -> None:
    tool = new_id("tool")
    with start_operation("execute_tool", tool, tool_call_id="call_7") as op:
        op.tokens(0, 0)
    (span,) = telemetry.finished_spans()
    assert span.name == f"execute_tool {tool}"
    assert span.kind is SpanKind.INTERNAL
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "execute_tool"
    assert attrs["gen_ai.tool.name"] == tool
    assert attrs["gen_ai.tool.call.id"] == "call_7"
    assert "gen_ai.request.model" not in attrs
    assert "gen_ai.provider.name" not in attrs  # a tool has none unless told
    (point,) = _durations(telemetry, "gen_ai.tool.name", tool)
    assert "gen_ai.request.model" not in point.attributes
    assert "gen_ai.tool.call.id" not in point.attributes  # one series per tool, not per call


@pytest.mark.parametrize("operation", ["invoke_agent", "create_agent"])
def test_agent_span_names_the_agent_not_a_model(telemetry: Telemetry, operation: str) -> None:
    agent = new_id("agent")
    with start_operation(operation, agent, provider="beluga", attributes={"gen_ai.agent.id": "a1"}):
        pass
    (span,) = telemetry.finished_spans()
    assert span.name == f"{operation} {agent}"
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.agent.name"] == agent
    assert attrs["gen_ai.agent.id"] == "a1"
    assert "gen_ai.request.model" not in attrs
    (point,) = _durations(telemetry, "gen_ai.agent.name", agent)
    assert "gen_ai.request.model" not in point.attributes


@pytest.mark.parametrize("operation", ["chat", "text_completion", "embeddings"])
def test_model_operations_label_the_model(telemetry: Telemetry, operation: str) -> None:
    model = new_id("m")
    with start_operation(operation, model, provider="openai"):
        pass
    (span,) = telemetry.finished_spans()
    assert span.name == f"{operation} {model}"
    assert span.kind is SpanKind.CLIENT
    assert dict(span.attributes or {})["gen_ai.request.model"] == model
    (point,) = _durations(telemetry, "gen_ai.request.model", model)
    assert point.attributes["gen_ai.provider.name"] == "openai"


def test_own_operations_are_spans_but_feed_no_genai_metric(telemetry: Telemetry) -> None:
    role = new_id("role")
    with start_operation("route", role, provider="beluga", attributes={"beluga.role": role}) as op:
        op.first_chunk()
        op.tokens(5, 5)
    (span,) = telemetry.finished_spans()
    assert span.name == f"route {role}"
    attrs = dict(span.attributes or {})
    assert attrs["beluga.role"] == role
    assert role not in {str(v) for k, v in attrs.items() if k.startswith("gen_ai.request")}
    for name in (
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "gen_ai.client.operation.time_to_first_chunk",
    ):
        assert not [p for p in telemetry.metric_points(name) if role in repr(p.attributes)]


def test_usage_is_summed_in_streams() -> None:
    assert Usage(1, 2) + Usage(3, 4) == Usage(4, 6)
