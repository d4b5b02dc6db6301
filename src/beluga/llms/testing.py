"""Deterministic chat-model doubles for testing everything above the providers.

:class:`TestModel` calls every tool it is offered once, with arguments valid for the tool's
schema, then answers with text (or with JSON valid for the requested output schema).
:class:`FunctionModel` answers with whatever a Python function returns. Both go through
:class:`BaseChatModel`, so they are traced, checked and bounded by ``timeout`` like real
providers; their ``provider`` is ``"test"`` and ``"function"``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from beluga.llms.base import BaseChatModel, ModelSettings
from beluga.schema import (
    ChatResponse,
    FinishEvent,
    Message,
    ReasoningDelta,
    ReasoningPart,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    Usage,
    UsageEvent,
)

__all__ = [
    "AgentInfo",
    "FunctionModel",
    "FunctionResult",
    "GenerateFn",
    "StreamFn",
    "TestModel",
    "events_of",
    "example_for_schema",
]


class TestModel(BaseChatModel):
    """Calls each offered tool once, then answers ``text`` or schema-valid JSON."""

    __test__ = False  # not a pytest test class
    provider = "test"

    def __init__(
        self,
        model: str = "test",
        *,
        text: str = "success (no tool calls)",
        call_tools: bool = True,
        settings: ModelSettings | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__(model, settings=settings, timeout=timeout)
        self.text = text
        self.call_tools = call_tools

    async def _generate(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> ChatResponse:
        answered = any(m.role == "tool" for m in messages)
        usage = Usage(sum(len(m.text.split()) for m in messages) + 1, 0)
        if tools and self.call_tools and not answered and settings.tool_choice != "none":
            calls = tuple(
                ToolCall(f"call_{i}", t.name, json.dumps(example_for_schema(t.parameters)))
                for i, t in enumerate(tools)
            )
            return ChatResponse(
                Message.assistant(tool_calls=calls),
                Usage(usage.input_tokens, len(calls) * 4),
                "tool_calls",
                self.model_name,
            )
        text = (
            json.dumps(example_for_schema(settings.output.schema)) if settings.output else self.text
        )
        return ChatResponse(
            Message.assistant(text),
            Usage(usage.input_tokens, len(text.split())),
            "stop",
            self.model_name,
        )

    async def _stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> AsyncIterator[StreamEvent]:
        response = await self._generate(messages, tools, settings)
        for event in events_of(response):
            yield event


@dataclass(slots=True, frozen=True)
class AgentInfo:
    """What a :class:`FunctionModel` function is told besides the messages."""

    tools: Sequence[ToolDefinition]
    settings: ModelSettings


FunctionResult = ChatResponse | Message | str
GenerateFn = Callable[[Sequence[Message], AgentInfo], FunctionResult | Awaitable[FunctionResult]]
StreamFn = Callable[[Sequence[Message], AgentInfo], AsyncIterator[str | StreamEvent]]


class FunctionModel(BaseChatModel):
    """A model whose answers come from ``function`` (and ``stream_function`` for streams)."""

    provider = "function"

    def __init__(
        self,
        function: GenerateFn | None = None,
        *,
        stream_function: StreamFn | None = None,
        model: str = "function",
        settings: ModelSettings | None = None,
        timeout: float | None = None,
    ) -> None:
        if function is None and stream_function is None:
            raise TypeError("FunctionModel needs function= or stream_function=")
        super().__init__(model, settings=settings, timeout=timeout)
        self.function = function
        self.stream_function = stream_function

    async def _generate(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> ChatResponse:
        info = AgentInfo(tools, settings)
        if self.function is None:
            from beluga.schema import ResponseBuilder

            builder = ResponseBuilder()
            async for event in self._stream(messages, tools, settings):
                builder.add(event)
            return builder.build()
        result = self.function(messages, info)
        if isinstance(result, Awaitable):
            result = await result
        return _as_response(result, self.model_name)

    async def _stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> AsyncIterator[StreamEvent]:
        if self.stream_function is None:
            for event in events_of(await self._generate(messages, tools, settings)):
                yield event
            return
        finished = False
        async for item in self.stream_function(messages, AgentInfo(tools, settings)):
            if isinstance(item, str):
                yield TextDelta(item)
            else:
                finished = finished or isinstance(item, FinishEvent)
                yield item
        if not finished:
            yield FinishEvent("stop", model=self.model_name)


def _as_response(result: FunctionResult, model: str) -> ChatResponse:
    if isinstance(result, ChatResponse):
        return result
    message = result if isinstance(result, Message) else Message.assistant(result)
    return ChatResponse(message, Usage(), "tool_calls" if message.tool_calls else "stop", model)


def events_of(response: ChatResponse) -> list[StreamEvent]:
    """The stream events that add up to ``response`` (its reasoning parts first)."""
    events: list[StreamEvent] = [
        ReasoningDelta(p.text, p.signature, p.redacted, p.id, p.provider)
        for p in response.message.content
        if type(p) is ReasoningPart
    ]
    if response.text:
        events.append(TextDelta(response.text))
    for i, call in enumerate(response.tool_calls):
        events.append(ToolCallDelta(i, call.id, call.name, call.arguments, call.signature))
    events.append(UsageEvent(response.usage))
    events.append(
        FinishEvent(response.finish_reason, model=response.model, response_id=response.response_id)
    )
    return events


def example_for_schema(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """A small value valid for ``schema`` (the subset providers use for tools and outputs)."""
    defs = (
        defs if defs is not None else {**schema.get("$defs", {}), **schema.get("definitions", {})}
    )
    if "$ref" in schema:
        return example_for_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            if key == "allOf":
                merged: dict[str, Any] = {}
                for sub in schema[key]:
                    merged |= example_for_schema(sub, defs)
                return merged
            return example_for_schema(schema[key][0], defs)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        required = schema.get("required", list(props))
        return {k: example_for_schema(v, defs) for k, v in props.items() if k in required}
    if kind == "array":
        count = max(schema.get("minItems", 1), 1)
        return [example_for_schema(schema.get("items", {"type": "string"}), defs)] * count
    if kind == "string":
        return "a" * max(schema.get("minLength", 1), 1)
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return low if kind == "integer" else float(low)
    if kind == "boolean":
        return False
    return None
