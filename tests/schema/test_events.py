from __future__ import annotations

from pydantic import BaseModel

from beluga.schema import (
    Document,
    FinishEvent,
    OutputSchema,
    ReasoningDelta,
    ResponseBuilder,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)


def test_builder_reassembles_text_tools_usage_and_finish() -> None:
    builder = ResponseBuilder()
    events = [
        ReasoningDelta("thinking "),
        TextDelta("Hel"),
        TextDelta("lo"),
        ToolCallDelta(0, "call_a", "get_", '{"ci'),
        ToolCallDelta(1, "call_b", "time", "{}"),
        ToolCallDelta(0, None, "weather", 'ty": "Paris"}'),
        UsageEvent(Usage(10, 5, cached_tokens=2)),
        UsageEvent(Usage(0, 3, reasoning_tokens=1)),
        FinishEvent("tool_calls", "tool_calls", "gpt-x", "resp_1"),
    ]
    for e in events:
        builder.add(e)
    response = builder.build()
    assert response.text == "Hello"
    assert response.reasoning == "thinking "
    assert response.tool_calls == (
        ToolCall("call_a", "get_weather", '{"city": "Paris"}'),
        ToolCall("call_b", "time", "{}"),
    )
    assert response.usage == Usage(10, 8, cached_tokens=2, reasoning_tokens=1)
    assert (response.finish_reason, response.model, response.response_id) == (
        "tool_calls",
        "gpt-x",
        "resp_1",
    )


def test_builder_without_finish_defaults_to_stop() -> None:
    assert ResponseBuilder().build().finish_reason == "stop"


def test_usage_adds_and_totals() -> None:
    total = Usage(3, 4, 1, 2, 0, 1) + Usage(1, 1)
    assert total == Usage(4, 5, 1, 2, 0, 1)
    assert total.total_tokens == 9


def test_output_schema_from_model_and_dict() -> None:
    class Person(BaseModel):
        name: str
        age: int

    out = OutputSchema.of(Person)
    assert out.name == "Person"
    assert out.schema["required"] == ["name", "age"]
    assert OutputSchema.of({"title": "Thing", "type": "object"}).name == "Thing"


def test_document_text_metadata_and_id() -> None:
    doc = Document("hello", metadata={"source": "a.txt"}, embedding=[0.1, 0.2])
    assert doc.text == "hello"
    assert doc.metadata == {"source": "a.txt"}
    assert doc.id.startswith("doc_")
    assert Document("x").id != Document("x").id
