"""Anthropic compaction (``context_management`` through ``extra``): the ``compaction`` block is
kept in the message and sent back as it came, and the compaction pass is counted in the usage.

Shapes from the API's documented types (the SDK's ``BetaCompactionBlock``,
``BetaCompactionContentBlockDelta`` and ``BetaCompactionIterationUsage``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from beluga.llms import ModelSettings
from beluga.llms.providers.anthropic import AnthropicChatModel
from beluga.schema import (
    ChatResponse,
    ItemEvent,
    Message,
    ProviderPart,
    ResponseBuilder,
    TextDelta,
    Usage,
)
from tests.support.replay_server import ReplayServer, Reply

PROVIDER = "anthropic"
COMPACT = {"context_management": {"edits": [{"type": "compact_20260112"}]}}
BLOCK = {
    "type": "compaction",
    "content": "The user asked about the capital of France; it is Paris.",
    "encrypted_content": "opaque-metadata",
    "signature": "sig-1",
}
USAGE = {
    "input_tokens": 40,
    "output_tokens": 5,
    "cache_read_input_tokens": 0,
    "cache_creation_input_tokens": 0,
    "iterations": [
        {
            "type": "compaction",
            "input_tokens": 180_000,
            "output_tokens": 3_000,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 0,
        },
        {
            "type": "message",
            "input_tokens": 40,
            "output_tokens": 5,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        },
    ],
}
# the top level (the sampling iteration) plus the compaction pass, reads part of the input
EXPECTED_USAGE = Usage(40 + 180_100, 5 + 3_000, cached_tokens=100)


def _model(server: ReplayServer) -> AnthropicChatModel:
    return AnthropicChatModel("claude-sonnet-4-6", api_key="sk-ant-test", base_url=server.url)


def _message() -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": [BLOCK, {"type": "text", "text": "Paris."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": USAGE,
    }


def _sse(*payloads: dict[str, Any]) -> Reply:
    events = [f"event: {p['type']}\ndata: {json.dumps(p)}\n\n" for p in payloads]
    return Reply.sse(events, done=False)


def _stream() -> Reply:
    started = {"type": "compaction", "content": None, "encrypted_content": None}
    return _sse(
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-6",
                "content": [],
                "stop_reason": None,
                "usage": {"input_tokens": 40, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": started},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {
                "type": "compaction_delta",
                "content": BLOCK["content"],
                "encrypted_content": BLOCK["encrypted_content"],
            },
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": BLOCK["signature"]},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "text_delta", "text": "Paris."},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": USAGE,
        },
        {"type": "message_stop"},
    )


async def _answer(server: ReplayServer, streaming: bool) -> ChatResponse:
    settings = ModelSettings(extra=COMPACT)
    async with _model(server) as model:
        if not streaming:
            server.enqueue(Reply.json(_message()))
            return await model.generate("What is the capital of France?", settings=settings)
        server.enqueue(_stream())
        builder = ResponseBuilder()
        events = [e async for e in model.stream("Capital of France?", settings=settings)]
        assert [type(e) for e in events].count(ItemEvent) == 1
        assert [e.text for e in events if isinstance(e, TextDelta)] == ["Paris."]
        for event in events:
            builder.add(event)
        return builder.build()


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_compaction_block_is_kept_and_counted(server: ReplayServer, streaming: bool) -> None:
    response = await _answer(server, streaming)
    kept = [p for p in response.message.content if isinstance(p, ProviderPart)]
    assert [(p.provider, p.value()) for p in kept] == [(PROVIDER, BLOCK)]
    assert response.message.content[0] is kept[0]  # in place: before the answer's text
    assert response.text == "Paris."  # the summary is not text of the answer
    assert response.usage == EXPECTED_USAGE
    assert server.requests[0].json()["context_management"] == COMPACT["context_management"]


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_compaction_block_goes_back_as_it_came(server: ReplayServer, streaming: bool) -> None:
    response = await _answer(server, streaming)
    history = [
        Message.user("What is the capital of France?"),
        response.message,
        Message.user("And of Italy?"),
    ]
    server.enqueue(Reply.json({**_message(), "content": [{"type": "text", "text": "Rome."}]}))
    async with _model(server) as model:
        await model.generate(history, settings=ModelSettings(extra=COMPACT))
    sent = server.requests[-1].json()["messages"]
    assert sent[1] == {"role": "assistant", "content": [BLOCK, {"type": "text", "text": "Paris."}]}


async def test_another_vendors_block_is_not_sent(server: ReplayServer) -> None:
    other = ProviderPart(json.dumps(BLOCK), provider="openai")
    history = [Message.user("hi"), Message.assistant([other, *Message.assistant("yo").content])]
    server.enqueue(Reply.json(_message()))
    async with _model(server) as model:
        await model.generate([*history, Message.user("again")])
    assert server.requests[0].json()["messages"][1]["content"] == [{"type": "text", "text": "yo"}]
