"""OpenAI Responses message ``phase``: newer models (gpt-5.3-codex and later) label assistant
message items ``commentary`` (narration between tool calls) or ``final_answer``, and want the
phase back on every assistant message. The text of the answer is the final answer only; the
commentary stays in the parts; the items go back with their phases, whole or streamed.

Shapes as in ``openai_responses/test_openai_responses_phase_live.yaml``.
"""

from __future__ import annotations

from typing import Any

import pytest

from beluga.llms.providers.openai_responses import OpenAIResponsesModel
from beluga.schema import (
    ChatResponse,
    Message,
    ResponseBuilder,
    TextDelta,
    TextPart,
    ToolCall,
    ToolDefinition,
)
from tests.support.replay_server import ReplayServer, Reply

TOOLS = [ToolDefinition("get_capital", "", {"type": "object", "properties": {}})]
COMMENTARY = 'I\'ll check the capital lookup tool for "PotatoLand."'
CALL = {
    "type": "function_call",
    "id": "fc_1",
    "call_id": "call_1",
    "name": "get_capital",
    "arguments": '{"country":"PotatoLand"}',
    "status": "completed",
}


def _item(text: str, phase: str | None, item_id: str = "msg_1") -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "message",
        "id": item_id,
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }
    if phase is not None:
        item["phase"] = phase
    return item


def _response(*output: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "model": "gpt-5.5",
        "status": "completed",
        "output": list(output),
        "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
    }


def _stream(*output: dict[str, Any]) -> Reply:
    events: list[dict[str, Any]] = []
    for index, item in enumerate(output):
        start = {**item, "content": []} if item["type"] == "message" else item
        events.append({"type": "response.output_item.added", "output_index": index, "item": start})
        if item["type"] == "message":
            text = item["content"][0]["text"]
            for piece in (text[:5], text[5:]):
                events.append(
                    {
                        "type": "response.output_text.delta",
                        "output_index": index,
                        "item_id": item["id"],
                        "content_index": 0,
                        "delta": piece,
                    }
                )
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    events.append({"type": "response.completed", "response": _response(*output)})
    return Reply.sse(events, done=False)


def _model(server: ReplayServer) -> OpenAIResponsesModel:
    return OpenAIResponsesModel("gpt-5.5", api_key="sk-test", base_url=f"{server.url}/v1")


async def _answer(server: ReplayServer, streaming: bool, *output: dict[str, Any]) -> ChatResponse:
    async with _model(server) as model:
        if not streaming:
            server.enqueue(Reply.json(_response(*output)))
            return await model.generate("Capital of PotatoLand?", tools=TOOLS)
        server.enqueue(_stream(*output))
        builder = ResponseBuilder()
        async for event in model.stream("Capital of PotatoLand?", tools=TOOLS):
            builder.add(event)
        return builder.build()


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_commentary_is_kept_but_is_not_the_text(
    server: ReplayServer, streaming: bool
) -> None:
    response = await _answer(server, streaming, _item(COMMENTARY, "commentary"), CALL)
    assert response.text == ""  # no final answer yet: the model is calling a tool
    assert [p for p in response.message.content if isinstance(p, TextPart)] == [
        TextPart(COMMENTARY, phase="commentary")
    ]
    assert [c.name for c in response.tool_calls] == ["get_capital"]


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_final_answer_is_the_text(server: ReplayServer, streaming: bool) -> None:
    response = await _answer(
        server,
        streaming,
        _item("Let me answer.", "commentary", "msg_1"),
        _item("Potato City.", "final_answer", "msg_2"),
    )
    assert response.text == "Potato City."
    assert [(p.text, p.phase) for p in response.message.content if isinstance(p, TextPart)] == [
        ("Let me answer.", "commentary"),
        ("Potato City.", "final_answer"),
    ]


async def test_streamed_deltas_carry_their_phase(server: ReplayServer) -> None:
    server.enqueue(_stream(_item(COMMENTARY, "commentary"), CALL))
    async with _model(server) as model:
        deltas = [e async for e in model.stream("hi", tools=TOOLS) if isinstance(e, TextDelta)]
    assert {d.phase for d in deltas} == {"commentary"}
    assert "".join(d.text for d in deltas) == COMMENTARY


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_phased_items_go_back_as_they_came(server: ReplayServer, streaming: bool) -> None:
    first = await _answer(server, streaming, _item(COMMENTARY, "commentary"), CALL)
    history = [
        Message.user("Capital of PotatoLand?"),
        first.message,
        Message.tool("call_1", "Potato City"),
        Message.assistant([TextPart("Potato City.", phase="final_answer")]),
        Message.user("Thanks"),
    ]
    server.enqueue(Reply.json(_response(_item("You're welcome.", "final_answer"))))
    async with _model(server) as model:
        await model.generate(history, tools=TOOLS)
    sent = server.requests[-1].json()["input"]

    def message(text: str, phase: str) -> dict[str, Any]:
        content = [{"type": "output_text", "text": text}]
        return {"type": "message", "role": "assistant", "content": content, "phase": phase}

    assert sent[1:] == [
        message(COMMENTARY, "commentary"),
        {k: CALL[k] for k in ("type", "call_id", "name", "arguments")},
        {"type": "function_call_output", "call_id": "call_1", "output": "Potato City"},
        message("Potato City.", "final_answer"),
        {"role": "user", "content": "Thanks"},
    ]


async def test_unphased_text_still_goes_as_plain_text(server: ReplayServer) -> None:
    history = [Message.user("hi"), Message.assistant("hello"), Message.user("bye")]
    server.enqueue(Reply.json(_response(_item("ok", None))))
    async with _model(server) as model:
        response = await model.generate(history)
    assert response.text == "ok" and response.message.content == (TextPart("ok"),)
    assert server.requests[0].json()["input"][1] == {"role": "assistant", "content": "hello"}


def test_message_text_skips_commentary() -> None:
    message = Message.assistant(
        [TextPart("Checking.", phase="commentary"), TextPart("Done.", phase="final_answer")],
        tool_calls=[ToolCall("c", "t")],
    )
    assert message.text == "Done."
    assert Message.assistant([TextPart("Checking.", phase="commentary")]).text == ""
