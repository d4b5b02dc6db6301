"""AnthropicChatModel against recorded Messages API traffic and hand-made failures.

Every interaction of every cassette in ``anthropic/`` (under ``BELUGA_CASSETTES``) becomes one
case: our inputs are rebuilt from the recorded request body, the recorded response is served from
a local server, and both the body our adapter sent and our parsed result are compared with the
recording. Interactions that use a feature we do not support are skipped with the reason kept in
:data:`SKIPPED` (shown by ``pytest -ra``), never dropped.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms import ModelSettings, create
from beluga.llms.providers._anthropic_wire import parse_message, stream_events
from beluga.llms.providers.anthropic import AnthropicChatModel
from beluga.schema import (
    AudioPart,
    ChatResponse,
    ContentPart,
    FilePart,
    FinishEvent,
    ImagePart,
    Message,
    OutputSchema,
    ReasoningDelta,
    ReasoningPart,
    ResponseBuilder,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    Usage,
    UsageEvent,
    VideoPart,
)
from tests.conftest import Telemetry
from tests.support.cassettes import (
    Cassette,
    Interaction,
    Unexpressible,
    Unreplayable,
    assert_accounted_for,
    assert_recorded_error,
    assert_same_calls,
    expressible,
    first_replayable,
    in_use,
    is_reference_set,
    replay_cases,
    replayable,
    safe_select,
    with_request_body,
    without_nulls,
)
from tests.support.reasoning import aiter_of, build, has_reasoning, reasoning_of
from tests.support.replay_server import ReplayServer, Reply, unused_port

PLANTED = "sk-ant-PLANTED0123456789abcdef"
DEFAULT_MAX_TOKENS = 4096

FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
STATUS_CODES = {
    400: ErrorCode.INVALID_REQUEST,
    401: ErrorCode.AUTH_FAILED,
    403: ErrorCode.AUTH_FAILED,
    404: ErrorCode.NOT_FOUND,
    429: ErrorCode.RATE_LIMITED,
    500: ErrorCode.PROVIDER_UNAVAILABLE,
    529: ErrorCode.PROVIDER_UNAVAILABLE,
}

# Top-level request keys of features this adapter does not offer.
UNSUPPORTED_KEYS = {
    "mcp_servers": "uses the MCP connector (mcp_servers), not supported",
    "container": "reuses a code-execution container (container), not supported",
}
PROVIDER = "anthropic"  # the gen_ai.provider.name our reasoning parts carry
# Options our ModelSettings models; everything else in a recorded body goes through `extra`.
MODELED = frozenset(
    {
        "model",
        "system",
        "messages",
        "max_tokens",
        "tools",
        "tool_choice",
        "temperature",
        "top_p",
        "stop_sequences",
        "stream",
        "output_config",
    }
)


# --------------------------------------------------------------------------- cases

WHAT = "Anthropic"


@dataclass(frozen=True)
class Case:
    cassette: Cassette
    interaction: Interaction

    @property
    def id(self) -> str:
        return f"{self.cassette.id}#{self.interaction.index}"

    @property
    def skip_reason(self) -> str | None:
        req, resp = self.interaction.request, self.interaction.response
        path = req.path
        if path.endswith("/messages/count_tokens"):
            return "token counting endpoint (/v1/messages/count_tokens), not supported"
        if path.endswith("/responses"):
            return "an OpenAI Responses API call recorded in the same test, not Anthropic"
        if not path.endswith("/v1/messages"):
            return f"not a Messages API call ({req.method} {path})"
        body = req.body
        if not isinstance(body, dict):
            return "the recorded request has no JSON body"
        for key, reason in UNSUPPORTED_KEYS.items():
            if in_use(body.get(key)):
                return reason
        for tool in body.get("tools") or ():
            kind = tool.get("type") or "custom"
            if kind != "custom":
                return f"uses the server tool {kind!r} ({tool.get('name')}), not supported"
            if tool.get("defer_loading"):
                return "uses deferred tool loading (defer_loading / tool_reference), not supported"
        for message in body["messages"]:
            if message["role"] not in ("user", "assistant"):
                return (
                    f"has a {message['role']!r}-role message inside `messages` (tool_addition "
                    "blocks), not supported"
                )
        if not (resp.is_json or resp.is_event_stream):
            return (
                f"the recorded response is neither JSON nor an event stream ({resp.content_type})"
            )
        return None


CASES = replay_cases(["anthropic"], Case)


# --------------------------------------------------------------------------- rebuild inputs


def _part(block: dict[str, Any]) -> ContentPart:
    kind = block["type"]
    if kind == "text":
        return TextPart(block["text"])
    source = block["source"]
    if kind == "image":
        if source["type"] == "url":
            return ImagePart(url=source["url"])
        return ImagePart(base64=source["data"], media_type=source["media_type"])
    if kind == "document":
        name = block.get("title")
        if source["type"] == "url":
            return FilePart(url=source["url"], name=name)
        if source["type"] == "text":
            return FilePart(data=source["data"].encode(), media_type="text/plain", name=name)
        return FilePart(base64=source["data"], media_type=source["media_type"], name=name)
    raise Unexpressible(f"unknown content block {kind!r} in a recorded request")


def _assistant_part(block: dict[str, Any]) -> ContentPart:
    """Our part for an assistant block: thinking as the reasoning parts our parser makes."""
    kind = block["type"]
    if kind == "thinking":
        return ReasoningPart(block["thinking"], signature=block["signature"], provider=PROVIDER)
    if kind == "redacted_thinking":
        return ReasoningPart(redacted=block["data"], provider=PROVIDER)
    assert kind == "text", f"unexpected assistant block {kind!r} in a recorded request"
    return TextPart(block["text"])


def _blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _messages(body: dict[str, Any]) -> list[Message]:
    out: list[Message] = []
    system = body.get("system")
    if isinstance(system, str):
        out.append(Message.system(system))
    elif isinstance(system, list):
        out.extend(Message.system(block["text"]) for block in system)
    for m in body["messages"]:
        blocks = _blocks(m["content"])
        if m["role"] == "assistant":
            calls = [
                ToolCall(b["id"], b["name"], json.dumps(b["input"]))
                for b in blocks
                if b["type"] == "tool_use"
            ]
            content = [_assistant_part(b) for b in blocks if b["type"] != "tool_use"]
            out.append(Message.assistant(content, tool_calls=calls))
            continue
        parts: list[ContentPart] = []
        for block in blocks:
            if block["type"] != "tool_result":
                parts.append(_part(block))
                continue
            if parts:
                out.append(Message.user(parts))
                parts = []
            result = [_part(b) for b in _blocks(block.get("content") or [])]
            out.append(
                Message.tool(block["tool_use_id"], result, is_error=bool(block.get("is_error")))
            )
        if parts:
            out.append(Message.user(parts))
    return out


def rebuild(body: dict[str, Any]) -> tuple[list[Message], list[ToolDefinition], ModelSettings]:
    """Our inputs that should produce ``body``."""
    tools = [
        ToolDefinition(t["name"], t.get("description", ""), t["input_schema"], t.get("strict"))
        for t in body.get("tools") or ()
    ]
    options: dict[str, Any] = {
        k: body[k] for k in ("temperature", "top_p") if body.get(k) is not None
    }
    if body["max_tokens"] != DEFAULT_MAX_TOKENS:
        options["max_tokens"] = body["max_tokens"]
    if body.get("stop_sequences") is not None:
        options["stop"] = tuple(body["stop_sequences"])
    choice = body.get("tool_choice")
    if choice is not None:
        kind = choice["type"]
        options["tool_choice"] = {"any": "required", "tool": choice.get("name")}.get(kind, kind)
        if choice.get("disable_parallel_tool_use"):
            options["parallel_tool_calls"] = False
    extra = {k: v for k, v in body.items() if k not in MODELED}
    config = dict(body.get("output_config") or {})
    fmt = config.pop("format", None)
    if fmt is not None:
        assert fmt["type"] == "json_schema"
        options["output"] = OutputSchema(fmt["schema"])
    if config:
        extra["output_config"] = config
    return _messages(body), tools, ModelSettings(**options, extra=extra)


def expected_body(body: dict[str, Any]) -> dict[str, Any]:
    """The recorded body with the differences we accept, each for a stated reason."""
    out = dict(body)
    system = out.get("system")
    # One system text block is sent as a plain string (the same prompt to the API).
    if isinstance(system, list) and len(system) == 1 and set(system[0]) == {"type", "text"}:
        out["system"] = system[0]["text"]
    messages = []
    for m in out["messages"]:
        content = m["content"]
        if isinstance(content, str):  # we always send content as blocks
            content = [{"type": "text", "text": content}]
        messages.append({**m, "content": [_expected_block(b) for b in content]})
    out["messages"] = messages
    return out


def _expected_block(block: dict[str, Any]) -> dict[str, Any]:
    if block["type"] != "tool_result":
        return block
    content = block.get("content")
    # A tool result made of text blocks only is sent as one string.
    if isinstance(content, list) and all(b["type"] == "text" for b in content):
        block = {**block, "content": "".join(b["text"] for b in content)}
    if block.get("content") == "":
        block = {k: v for k, v in block.items() if k != "content"}
    return {**block, "is_error": bool(block.get("is_error"))}  # we always state is_error


# --------------------------------------------------------------------------- expected results


def _usage(raw: dict[str, Any]) -> Usage:
    details = raw.get("output_tokens_details") or {}
    read = raw.get("cache_read_input_tokens") or 0
    written = raw.get("cache_creation_input_tokens") or 0
    return Usage(
        input_tokens=raw["input_tokens"] + read + written,
        output_tokens=raw["output_tokens"],
        cached_tokens=read,
        reasoning_tokens=details.get("thinking_tokens") or 0,
    )


def _model(server: ReplayServer, name: str = "claude-sonnet-4-5", **options: Any) -> Any:
    return AnthropicChatModel(name, api_key=PLANTED, base_url=server.url, **options)


async def _collect(model: AnthropicChatModel, *args: Any, **kwargs: Any) -> list[StreamEvent]:
    return [event async for event in model.stream(*args, **kwargs)]


def _build(events: list[StreamEvent]) -> ChatResponse:
    builder = ResponseBuilder()
    for event in events:
        builder.add(event)
    return builder.build()


def _assert_no_key(err: BaseException) -> None:
    for text in (str(err), repr(err), getattr(err, "message", "")):
        assert PLANTED not in text
    if err.__cause__ is not None:
        assert PLANTED not in str(err.__cause__) and PLANTED not in repr(err.__cause__)


@pytest.fixture(autouse=True)
def _no_anthropic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No developer key, endpoint or SDK switch reaches these tests."""
    for name in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_CUSTOM_HEADERS",
        "ANTHROPIC_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- replay


@pytest.mark.parametrize("slot", CASES, ids=[c.id for c in CASES])
async def test_replay_cassette(slot: Case | Unreplayable, server: ReplayServer) -> None:
    case = replayable(slot)
    request, response = case.interaction.request, case.interaction.response
    body = without_nulls(request.body)
    with expressible(case.id):
        messages, tools, settings = rebuild(body)
    server.replay(case.interaction)
    streaming = bool(body.get("stream"))
    result: Any = None
    error: BelugaError | None = None
    async with _model(server, body["model"]) as model:
        try:
            if streaming:
                result = await _collect(model, messages, tools=tools, settings=settings)
            else:
                result = await model.generate(messages, tools=tools, settings=settings)
        except BelugaError as exc:
            error = exc

    assert len(server.requests) == 1 and not server.unexpected
    sent = server.requests[0]
    assert sent.method == "POST"
    # pydantic-ai recorded through the SDK's beta client (`/v1/messages?beta=true`); we call the
    # GA endpoint, which takes the same body.
    assert sent.path == "/v1/messages"
    assert PLANTED in (sent.headers.get("x-api-key", "") + sent.headers.get("authorization", ""))
    assert sent.headers.get("anthropic-version")
    assert sent.json() == expected_body(body)

    if response.status >= 400:
        assert_recorded_error(error, response, STATUS_CODES, case.id, [PLANTED])
        return
    assert error is None, f"unexpected {error!r}"
    if streaming:
        _assert_stream_matches(result, response.body or "")
    else:
        _assert_message_matches(result, response.parsed_body)


def _assert_message_matches(result: ChatResponse, recorded: dict[str, Any]) -> None:
    blocks = recorded["content"]
    assert result.text == "".join(b["text"] for b in blocks if b["type"] == "text")
    thoughts = [_assistant_part(b) for b in blocks if "thinking" in b["type"]]
    assert [p for p in result.message.content if type(p) is ReasoningPart] == thoughts
    assert result.reasoning == "\n\n".join(b["thinking"] for b in blocks if b.get("thinking"))
    calls = [(b["id"], b["name"], b["input"]) for b in blocks if b["type"] == "tool_use"]
    assert [(c.id, c.name, json.loads(c.arguments)) for c in result.tool_calls] == calls
    assert result.usage == _usage(recorded["usage"])
    assert result.raw_finish_reason == recorded["stop_reason"]
    assert result.finish_reason == FINISH[recorded["stop_reason"]]
    assert (result.model, result.response_id) == (recorded["model"], recorded["id"])


def _assert_stream_matches(events: list[StreamEvent], recorded: str) -> None:
    data = [
        json.loads(line.removeprefix("data: "))
        for line in recorded.splitlines()
        if line.startswith("data: ")
    ]
    usage: dict[str, Any] = {}
    texts: list[str] = []
    reasoning: list[ReasoningDelta] = []  # what each recorded thinking event becomes
    blocks: dict[int, dict[str, Any]] = {}  # the thinking blocks, rebuilt from their events
    calls: dict[int, list[Any]] = {}  # tool_use blocks: [id, name, concatenated input JSON]
    finish = model = response_id = None
    for event in data:
        kind = event["type"]
        if kind == "message_start":
            usage.update(event["message"]["usage"])
            model, response_id = event["message"]["model"], event["message"]["id"]
        elif kind == "message_delta":
            usage.update({k: v for k, v in event["usage"].items() if v is not None})
            finish = event["delta"]["stop_reason"]
        elif kind == "content_block_start" and "thinking" in event["content_block"]["type"]:
            block = blocks[event["index"]] = dict(event["content_block"])
            if block["type"] == "redacted_thinking":
                reasoning.append(ReasoningDelta("", redacted=block["data"], provider=PROVIDER))
        elif kind == "content_block_start" and event["content_block"]["type"] == "tool_use":
            block = event["content_block"]
            calls[event["index"]] = [block["id"], block["name"], ""]
        elif kind == "content_block_delta":
            delta = event["delta"]
            if delta["type"] == "input_json_delta" and event["index"] in calls:
                calls[event["index"]][2] += delta["partial_json"]
            if delta["type"] == "text_delta":
                texts.append(delta["text"])
            elif delta["type"] == "thinking_delta" and delta["thinking"]:
                blocks[event["index"]]["thinking"] += delta["thinking"]
                reasoning.append(ReasoningDelta(delta["thinking"], provider=PROVIDER))
            elif delta["type"] == "signature_delta":
                blocks[event["index"]]["signature"] = delta["signature"]
                reasoning.append(
                    ReasoningDelta("", signature=delta["signature"], provider=PROVIDER)
                )
    # One delta per recorded delta: nothing is buffered or merged.
    assert [e.text for e in events if type(e) is TextDelta] == texts
    assert [e for e in events if type(e) is ReasoningDelta] == reasoning
    finishes = [e for e in events if type(e) is FinishEvent]
    assert len(finishes) == 1 and events[-1] is finishes[0]
    assert [type(e) for e in events].count(UsageEvent) == 1
    built = _build(events)
    thoughts = [_assistant_part(blocks[i]) for i in sorted(blocks)]
    assert [p for p in built.message.content if type(p) is ReasoningPart] == thoughts
    assert built.text == "".join(texts)
    assert built.reasoning == "\n\n".join(p.text for p in thoughts if p.text)
    assert built.usage == _usage(usage)
    assert_same_calls(built.tool_calls, [tuple(calls[i]) for i in sorted(calls)])
    assert (built.raw_finish_reason, built.finish_reason) == (finish, FINISH[finish or ""])
    assert (built.model, built.response_id) == (model, response_id)


def test_every_cassette_is_accounted_for() -> None:
    """Each interaction is either replayed or skipped with a reason (listed by pytest -ra), and
    at least one is replayed: a set where every recording is skipped proves nothing."""
    assert_accounted_for(CASES, WHAT)


NULLS = dict.fromkeys(
    ["tools", "tool_choice", "mcp_servers", "container", "stop_sequences", "temperature", "top_p"]
)


async def test_options_recorded_as_null_are_not_features_in_use(server: ReplayServer) -> None:
    """A recording whose SDK wrote unset options out as ``null`` replays like one without them:
    skip rules test values, not the presence of keys, and no null is expected on the wire."""
    case = first_replayable(CASES, lambda c: c.interaction.response.status == 200)
    body = {**case.interaction.request.body, **NULLS}
    nulled = Case(case.cassette, with_request_body(case.interaction, body))
    assert nulled.skip_reason is None
    await test_replay_cassette(nulled, server)


def _with_reasoning_history(case: Case) -> bool:
    if case.skip_reason is not None:
        return False
    messages, _, _ = rebuild(case.interaction.request.body)
    return any(m.role == "assistant" and has_reasoning(m) for m in messages)


HISTORY_CASES = safe_select(CASES, _with_reasoning_history)


async def _our_reply(interaction: Interaction) -> Message:
    """The assistant message our parser makes of a recorded answer (whole or streamed)."""
    response = interaction.response
    if response.is_json:
        return parse_message(response.parsed_body, "test", "replay", PROVIDER).message
    data = [
        json.loads(line.removeprefix("data: "))
        for line in str(response.body).splitlines()
        if line.startswith("data: ")
    ]
    events = [e async for e in stream_events(aiter_of(data), "test", "replay", PROVIDER)]
    return build(events).message


@pytest.mark.parametrize("case", HISTORY_CASES, ids=[c.id for c in HISTORY_CASES])
async def test_reasoning_sent_back_is_what_we_parsed(case: Case) -> None:
    """Each earlier turn holding reasoning in a recorded history is, reasoning parts included,
    the message our parser made of the answer that produced it: what generate returned is what
    goes back, and the replay above checks it goes back as recorded."""
    earlier = case.cassette.interactions[: case.interaction.index]
    replies = [reasoning_of(await _our_reply(i)) for i in earlier if i.response.status < 400]
    messages, _, _ = rebuild(case.interaction.request.body)
    turns = [reasoning_of(m) for m in messages if m.role == "assistant" and has_reasoning(m)]
    assert turns and all(t in replies for t in turns)


def test_reasoning_round_trips_are_replayed() -> None:
    if not is_reference_set():
        pytest.skip(
            "how many recordings replay a reasoning history is known for the shared set only"
        )
    assert len(HISTORY_CASES) >= 3  # signed thinking, redacted thinking, thinking + tool use


# --------------------------------------------------------------------------- hand-made payloads


def _message(*blocks: dict[str, Any], stop: str = "end_turn", **usage: Any) -> dict[str, Any]:
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": list(blocks) or [{"type": "text", "text": "Paris."}],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 14, "output_tokens": 7, **usage},
    }


def _event(payload: dict[str, Any]) -> str:
    return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n"


def _sse(*payloads: dict[str, Any] | str, cut_after: int | None = None) -> Reply:
    events = [p if isinstance(p, str) else _event(p) for p in payloads]
    return Reply.sse(events, done=False, cut_after=cut_after)


def _start(**usage: Any) -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": "msg_stream",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5-20250929",
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": 10, "output_tokens": 1, **usage},
        },
    }


def _block(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def _text(index: int, text: str) -> dict[str, Any]:
    return _delta(index, {"type": "text_delta", "text": text})


def _stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def _end(stop: str = "end_turn", **usage: Any) -> list[dict[str, Any]]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": 5, **usage},
        },
        {"type": "message_stop"},
    ]


PNG = b"\x89PNG\r\n\x1a\nfake"


async def test_request_maps_every_setting_and_part(server: ReplayServer) -> None:
    server.enqueue(Reply.json(_message()))
    messages = [
        Message.system("Be brief."),
        Message.user(
            [
                TextPart("Look:"),
                TextPart(""),  # empty text blocks are rejected by the API: left out
                ImagePart(data=PNG, media_type="image/png", detail="low"),
                ImagePart(url="https://example.com/a.jpg"),
                ImagePart(url="data:image/gif;base64,R0lG"),
                FilePart(data=b"%PDF-1.4", media_type="application/pdf", name="doc.pdf"),
                FilePart(base64="aGk=", media_type="text/markdown"),
                FilePart(url="https://example.com/a.pdf"),
                FilePart(url="data:text/plain;base64,aGk="),
            ],
            name="ann",
        ),
        Message.assistant("Checking.", tool_calls=[ToolCall("toolu_1", "lookup", '{"q": "x"}')]),
        Message.assistant(tool_calls=[ToolCall("toolu_2", "lookup", "")]),
        Message.tool("toolu_1", "found"),
        Message.tool("toolu_2", [TextPart("see"), ImagePart(url="https://e.com/b.png")]),
        Message.tool("toolu_3", "boom", is_error=True),
        Message.assistant(""),  # nothing to send: dropped
        Message.system("Answer in French."),  # hoisted with the first one
        Message.user("Go on."),
    ]
    tools = [ToolDefinition("lookup", "Look up.", {"type": "object", "properties": {}}, True)]
    settings = ModelSettings(
        temperature=0.2,
        max_tokens=50,
        top_p=0.9,
        stop=("END",),
        seed=7,  # Anthropic has no seed: not sent
        tool_choice="lookup",
        parallel_tool_calls=False,
        output=OutputSchema({"type": "object"}, "answer"),
        extra={"top_k": 5, "output_config": {"effort": "low"}, "temperature": 0.3},
    )
    async with _model(server) as model:
        await model.generate(messages, tools=tools, settings=settings)
    sent = server.requests[0].json()
    assert sent["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": "Answer in French."},
    ]
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look:"},
                {
                    "type": "image",
                    "source": {
                        "type": "base64",
                        "media_type": "image/png",
                        "data": base64.b64encode(PNG).decode(),
                    },
                },
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/gif", "data": "R0lG"},
                },
                {
                    "type": "document",
                    "source": {
                        "type": "base64",
                        "media_type": "application/pdf",
                        "data": base64.b64encode(b"%PDF-1.4").decode(),
                    },
                    "title": "doc.pdf",
                },
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "hi"},
                },
                {
                    "type": "document",
                    "source": {"type": "url", "url": "https://example.com/a.pdf"},
                },
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "hi"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}},
            ],
        },
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_2", "name": "lookup", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": "found",
                    "is_error": False,
                },
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": [
                        {"type": "text", "text": "see"},
                        {"type": "image", "source": {"type": "url", "url": "https://e.com/b.png"}},
                    ],
                    "is_error": False,
                },
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_3",
                    "content": "boom",
                    "is_error": True,
                },
            ],
        },
        {"role": "user", "content": [{"type": "text", "text": "Go on."}]},
    ]
    assert sent["tools"] == [
        {
            "name": "lookup",
            "description": "Look up.",
            "input_schema": {"type": "object", "properties": {}},
            "strict": True,
        }
    ]
    assert sent["tool_choice"] == {
        "type": "tool",
        "name": "lookup",
        "disable_parallel_tool_use": True,
    }
    assert sent["output_config"] == {
        "format": {"type": "json_schema", "schema": {"type": "object"}},
        "effort": "low",  # extra objects are merged one level deep
    }
    assert (sent["max_tokens"], sent["top_p"], sent["stop_sequences"]) == (50, 0.9, ["END"])
    assert sent["top_k"] == 5 and "seed" not in sent
    assert sent["temperature"] == 0.3  # extra is merged last and wins
    assert sent["stream"] is False and sent["model"] == "claude-sonnet-4-5"


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("none", False, {"type": "none"}),
        ("required", None, {"type": "any"}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        (None, True, None),
        ("b", None, {"type": "tool", "name": "b"}),
    ],
)
async def test_tool_choice(
    server: ReplayServer, choice: str | None, parallel: bool | None, expected: Any
) -> None:
    server.enqueue(Reply.json(_message()))
    settings = ModelSettings(tool_choice=choice, parallel_tool_calls=parallel)
    async with _model(server) as model:
        await model.generate(
            "hi", tools=[ToolDefinition("a"), ToolDefinition("b")], settings=settings
        )
    assert server.requests[0].json().get("tool_choice") == expected


async def test_defaults_and_merged_settings(server: ReplayServer) -> None:
    server.enqueue(Reply.json(_message()), Reply.json(_message()))
    defaults = ModelSettings(temperature=0.5, max_tokens=100)
    async with _model(server, max_tokens_default=321, settings=defaults) as model:
        await model.generate("hi", settings=ModelSettings(temperature=0.1))
        await model.generate("hi", settings=ModelSettings(max_tokens=None, tool_choice="auto"))
    first, second = (r.json() for r in server.requests)
    assert (first["temperature"], first["max_tokens"]) == (0.1, 100)
    assert second["max_tokens"] == 100
    assert "tools" not in second and "tool_choice" not in second  # no tools, no choice
    assert first["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert "system" not in first
    server.enqueue(Reply.json(_message()))
    async with _model(server, max_tokens_default=321) as model:
        await model.generate("hi")
    assert server.requests[2].json()["max_tokens"] == 321  # the API requires max_tokens


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (Message.user([AudioPart(data=b"RIFF", media_type="audio/wav")]), "no audio input"),
        (Message.user([VideoPart(url="https://example.com/v.mp4")]), "no video input"),
        (
            Message.user([FilePart(data=b"PK", media_type="application/zip")]),
            "PDF or plain text",
        ),
        (Message.user([FilePart(data=b"\xff\xfe", media_type="text/plain")]), "not UTF-8"),
        (Message.system([ImagePart(url="https://example.com/a.png")]), "text only"),
        (
            Message("assistant", [ImagePart(url="https://example.com/a.png")]),
            "text and tool calls only",
        ),
        (Message.assistant(tool_calls=[ToolCall("t1", "f", "[1, 2]")]), "not a JSON object"),
        (Message.assistant(tool_calls=[ToolCall("t1", "f", "{oops")]), "not a JSON object"),
    ],
)
async def test_unsupported_input_is_rejected_before_sending(
    server: ReplayServer, message: Message, match: str
) -> None:
    async with _model(server) as model:
        with pytest.raises(BelugaError, match=match) as info:
            await model.generate([message])
    assert info.value.code is ErrorCode.INVALID_REQUEST and not info.value.retryable
    assert server.requests == []


async def test_tool_choice_must_name_an_offered_tool(server: ReplayServer) -> None:
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="names no tool") as info:
            await model.generate(
                "hi", tools=[ToolDefinition("a")], settings=ModelSettings(tool_choice="b")
            )
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert server.requests == []


async def test_parses_blocks_usage_and_tool_calls(server: ReplayServer) -> None:
    server.enqueue(
        Reply.json(
            _message(
                {"type": "thinking", "thinking": "Plan.", "signature": "sig"},
                {"type": "redacted_thinking", "data": "opaque"},
                {"type": "text", "text": "Calling "},
                {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {}},
                {"type": "text", "text": "now."},
                {"type": "tool_use", "id": "toolu_9", "name": "f", "input": {"a": 1, "b": "é"}},
                {"type": "tool_use", "id": "toolu_10", "name": "g", "input": {}},
                stop="tool_use",
                cache_read_input_tokens=100,
                cache_creation_input_tokens=20,
                output_tokens_details={"thinking_tokens": 3},
            )
        )
    )
    async with _model(server) as model:
        result = await model.generate("hi", tools=[ToolDefinition("f"), ToolDefinition("g")])
    assert [(c.id, c.name, json.loads(c.arguments)) for c in result.tool_calls] == [
        ("toolu_9", "f", {"a": 1, "b": "é"}),
        ("toolu_10", "g", {}),
    ]
    assert (result.text, result.reasoning) == ("Calling now.", "Plan.")
    assert result.message.content == (
        ReasoningPart("Plan.", signature="sig", provider=PROVIDER),
        ReasoningPart(redacted="opaque", provider=PROVIDER),
        TextPart("Calling now."),
    )
    # cache reads and writes are part of input_tokens; reads are the cached tokens
    assert result.usage == Usage(134, 7, 100, 3)
    assert (result.finish_reason, result.raw_finish_reason) == ("tool_calls", "tool_use")
    assert (result.model, result.response_id) == ("claude-sonnet-4-5-20250929", "msg_test")


@pytest.mark.parametrize(("raw", "reason"), [*FINISH.items(), ("something_new", "stop")])
async def test_stop_reasons(server: ReplayServer, raw: str, reason: str) -> None:
    server.enqueue(Reply.json(_message(stop=raw)))
    async with _model(server) as model:
        result = await model.generate("hi")
    assert (result.finish_reason, result.raw_finish_reason) == (reason, raw)


async def test_thinking_goes_back_signed_and_in_order(server: ReplayServer) -> None:
    """Several signed and redacted thinking blocks come back as parts in order, and the next
    turn sends them back before the text and tool_use blocks; unsigned thinking and other
    providers' reasoning are left out."""
    blocks: list[dict[str, Any]] = [
        {"type": "thinking", "thinking": "First.", "signature": "sig-1"},
        {"type": "redacted_thinking", "data": "opaque-2"},
        {"type": "thinking", "thinking": "Third.", "signature": "sig-3"},
        {"type": "text", "text": "Calling."},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}},
    ]
    server.enqueue(
        Reply.json(_message(*blocks, stop="tool_use")),
        _sse(
            _start(),
            _block(0, {"type": "thinking", "thinking": "", "signature": ""}),
            _delta(0, {"type": "thinking_delta", "thinking": "Fir"}),
            _delta(0, {"type": "thinking_delta", "thinking": "st."}),
            _delta(0, {"type": "signature_delta", "signature": "sig-1"}),
            _stop(0),
            _block(1, {"type": "redacted_thinking", "data": "opaque-2"}),
            _stop(1),
            _block(2, {"type": "thinking", "thinking": "", "signature": ""}),
            _delta(2, {"type": "thinking_delta", "thinking": "Third."}),
            _delta(2, {"type": "signature_delta", "signature": "sig-3"}),
            _stop(2),
            _block(3, {"type": "text", "text": ""}),
            _text(3, "Calling."),
            _stop(3),
            _block(4, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}),
            _delta(4, {"type": "input_json_delta", "partial_json": '{"a": 1}'}),
            _stop(4),
            *_end("tool_use"),
        ),
        Reply.json(_message()),
    )
    tools = [ToolDefinition("f")]
    async with _model(server) as model:
        whole = await model.generate("hi", tools=tools)
        streamed = _build(await _collect(model, "hi", tools=tools))
        assert streamed.message == whole.message
        assert whole.reasoning == "First.\n\nThird."
        history = [
            Message.user("hi"),
            Message.assistant(
                [
                    ReasoningPart("Gemini's.", signature="c2ln", provider="gcp.gemini"),
                    ReasoningPart("Unsigned.", provider=PROVIDER),
                    *whole.message.content,
                ],
                tool_calls=whole.tool_calls,
            ),
            Message.tool("toolu_1", "done"),
        ]
        await model.generate(history, tools=tools)
    sent = server.requests[-1].json()["messages"][1]
    assert sent == {"role": "assistant", "content": blocks}


# --------------------------------------------------------------------------- streaming


async def test_stream_text_thinking_and_tool_calls(server: ReplayServer) -> None:
    server.enqueue(
        _sse(
            _start(cache_read_input_tokens=4),
            _block(0, {"type": "thinking", "thinking": "", "signature": ""}),
            'event: ping\ndata: {"type": "ping"}\n\n',
            _delta(0, {"type": "thinking_delta", "thinking": "Plan"}),
            _delta(0, {"type": "signature_delta", "signature": "sig"}),
            _stop(0),
            _block(1, {"type": "text", "text": ""}),
            _text(1, "Calling"),
            _stop(1),
            _block(2, {"type": "tool_use", "id": "toolu_a", "name": "get", "input": {}}),
            _delta(2, {"type": "input_json_delta", "partial_json": ""}),
            _delta(2, {"type": "input_json_delta", "partial_json": '{"x":'}),
            _delta(2, {"type": "input_json_delta", "partial_json": " 1}"}),
            _stop(2),
            _block(3, {"type": "server_tool_use", "id": "srv", "name": "web_search", "input": {}}),
            _delta(3, {"type": "input_json_delta", "partial_json": '{"q": 1}'}),
            _stop(3),
            _block(4, {"type": "tool_use", "id": "toolu_b", "name": "put", "input": {}}),
            _stop(4),
            *_end("tool_use", output_tokens=12, output_tokens_details={"thinking_tokens": 2}),
        )
    )
    async with _model(server) as model:
        events = await _collect(model, "hi", tools=[ToolDefinition("get"), ToolDefinition("put")])
    sent = server.requests[0].json()
    assert sent["stream"] is True
    assert events == [
        ReasoningDelta("Plan", provider=PROVIDER),
        ReasoningDelta("", signature="sig", provider=PROVIDER),
        TextDelta("Calling"),
        ToolCallDelta(0, "toolu_a", "get", ""),
        ToolCallDelta(0, None, None, '{"x":'),
        ToolCallDelta(0, None, None, " 1}"),
        ToolCallDelta(1, "toolu_b", "put", ""),
        UsageEvent(Usage(14, 12, 4, 2)),
        FinishEvent("tool_calls", "tool_use", "claude-sonnet-4-5-20250929", "msg_stream"),
    ]
    built = _build(events)
    assert built.tool_calls == (ToolCall("toolu_a", "get", '{"x": 1}'), ToolCall("toolu_b", "put"))
    assert (built.text, built.reasoning) == ("Calling", "Plan")


async def test_stream_and_generate_agree(server: ReplayServer) -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "text", "text": "Sure."},
        {"type": "tool_use", "id": "toolu_c", "name": "f", "input": {"k": [1, 2]}},
    ]
    server.enqueue(
        Reply.json(_message(*blocks, stop="tool_use", output_tokens=5, input_tokens=10)),
        _sse(
            _start(),
            _block(0, {"type": "text", "text": ""}),
            _text(0, "Sure."),
            _stop(0),
            _block(1, {"type": "tool_use", "id": "toolu_c", "name": "f", "input": {}}),
            _delta(1, {"type": "input_json_delta", "partial_json": '{"k": [1, 2]}'}),
            _stop(1),
            *_end("tool_use"),
        ),
    )
    async with _model(server) as model:
        whole = await model.generate("hi", tools=[ToolDefinition("f")])
        streamed = _build(await _collect(model, "hi", tools=[ToolDefinition("f")]))
    assert streamed.text == whole.text
    assert streamed.tool_calls == whole.tool_calls
    assert streamed.usage == whole.usage == Usage(10, 5)
    assert (streamed.finish_reason, streamed.raw_finish_reason) == ("tool_calls", "tool_use")
    assert (streamed.model, streamed.response_id) == (whole.model, "msg_stream")


async def test_stream_closed_early_releases_the_connection(server: ReplayServer) -> None:
    text = [_text(0, str(i)) for i in range(50)]
    server.enqueue(
        _sse(_start(), _block(0, {"type": "text", "text": ""}), *text, _stop(0), *_end()),
        Reply.json(_message()),
    )
    async with _model(server) as model:
        async for event in model.stream("hi"):
            assert event == TextDelta("0")
            break
        result = await model.generate("again")
    assert result.text == "Paris."


# --------------------------------------------------------------------------- errors


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"}


@pytest.mark.parametrize(
    ("status", "body", "headers", "code", "retryable", "retry_after"),
    [
        (
            401,
            _error("authentication_error", f"invalid x-api-key {PLANTED}"),
            {},
            ErrorCode.AUTH_FAILED,
            False,
            None,
        ),
        (
            403,
            _error("permission_error", "no access to this model"),
            {},
            ErrorCode.AUTH_FAILED,
            False,
            None,
        ),
        (404, _error("not_found_error", "model: claude-x"), {}, ErrorCode.NOT_FOUND, False, None),
        (
            400,
            _error("invalid_request_error", "max_tokens: too large"),
            {},
            ErrorCode.INVALID_REQUEST,
            False,
            None,
        ),
        (
            429,
            _error("rate_limit_error", "Number of request tokens has exceeded your limit"),
            {"retry-after": "7"},
            ErrorCode.RATE_LIMITED,
            True,
            7.0,
        ),
        (
            500,
            _error("api_error", "Internal server error"),
            {},
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
            None,
        ),
        (
            529,
            _error("overloaded_error", "Overloaded"),
            {"retry-after": "2"},
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
            2.0,
        ),
    ],
    ids=["401", "403", "404", "400", "429", "500", "529-overloaded"],
)
@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_http_errors(
    server: ReplayServer,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str],
    code: ErrorCode,
    retryable: bool,
    retry_after: float | None,
    streaming: bool,
) -> None:
    server.enqueue(Reply.json(body, status=status, headers=headers))
    async with _model(server) as model:
        with pytest.raises(BelugaError) as info:
            if streaming:
                await _collect(model, "hi")
            else:
                await model.generate("hi")
    err = info.value
    assert (err.code, err.retryable, err.retry_after) == (code, retryable, retry_after)
    assert f"HTTP {status}" in err.message
    assert body["error"]["message"].split()[0] in err.message  # the server's own words
    _assert_no_key(err)
    assert len(server.requests) == 1  # the SDK's own retries are off


async def test_key_is_redacted_even_when_the_server_echoes_it(server: ReplayServer) -> None:
    server.enqueue(Reply.text(f"upstream said: x-api-key {PLANTED}", status=502))
    async with _model(server) as model:
        with pytest.raises(BelugaError) as info:
            await model.generate("hi")
        assert PLANTED not in repr(model)
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable
    _assert_no_key(info.value)


@pytest.mark.parametrize(
    ("reply", "code", "retryable", "match"),
    [
        (
            Reply.text("{not json", content_type="application/json"),
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
            "not valid JSON",
        ),
        (
            Reply.text("<html>proxy login</html>", content_type="text/html"),
            ErrorCode.PROVIDER_UNAVAILABLE,
            False,
            "plain text",
        ),
        (
            Reply.json({"id": "x", "choices": []}),
            ErrorCode.PROVIDER_UNAVAILABLE,
            False,
            "not a message",
        ),
        (
            Reply.json(_error("overloaded_error", "Overloaded")),
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
            "overloaded_error",
        ),
    ],
    ids=["malformed-json", "html", "not-a-message", "error-in-200"],
)
async def test_bad_bodies(
    server: ReplayServer, reply: Reply, code: ErrorCode, retryable: bool, match: str
) -> None:
    server.enqueue(reply)
    async with _model(server) as model:
        with pytest.raises(BelugaError, match=match) as info:
            await model.generate("hi")
    assert (info.value.code, info.value.retryable) == (code, retryable)


@pytest.mark.parametrize(
    ("kind", "code", "retryable"),
    [
        ("overloaded_error", ErrorCode.PROVIDER_UNAVAILABLE, True),
        ("api_error", ErrorCode.PROVIDER_UNAVAILABLE, True),
        ("rate_limit_error", ErrorCode.RATE_LIMITED, True),
        ("invalid_request_error", ErrorCode.INVALID_REQUEST, False),
        ("brand_new_error", ErrorCode.PROVIDER_UNAVAILABLE, True),
    ],
)
async def test_error_event_inside_a_stream(
    server: ReplayServer, kind: str, code: ErrorCode, retryable: bool
) -> None:
    server.enqueue(
        _sse(
            _start(),
            _block(0, {"type": "text", "text": ""}),
            _text(0, "Hel"),
            _error(kind, f"Overloaded, key {PLANTED}"),
        )
    )
    events: list[StreamEvent] = []
    async with _model(server) as model:
        with pytest.raises(BelugaError) as info:
            async for event in model.stream("hi"):
                events.append(event)
    assert events == [TextDelta("Hel")]
    assert (info.value.code, info.value.retryable) == (code, retryable)
    assert "mid-stream" in info.value.message and kind in info.value.message
    _assert_no_key(info.value)


async def test_stream_cut_midway(server: ReplayServer) -> None:
    text = _block(0, {"type": "text", "text": ""})
    reply = _sse(_start(), text, _text(0, "Hel"), _text(0, "lo"), *_end())
    wire = [len(f"{len(c):x}\r\n".encode()) + len(c) + 2 for c in reply.chunks or ()]
    reply.cut_after = sum(wire[:3]) + 20  # the connection drops inside the fourth event
    server.enqueue(reply)
    events: list[StreamEvent] = []
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="cut") as info:
            async for event in model.stream("hi"):
                events.append(event)
    assert events == [TextDelta("Hel")]
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)
    _assert_no_key(info.value)


async def test_stream_that_ends_without_message_stop(server: ReplayServer) -> None:
    server.enqueue(_sse(_start(), _block(0, {"type": "text", "text": ""}), _text(0, "Hel")))
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="ended before") as info:
            await _collect(model, "hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)


async def test_malformed_stream_event(server: ReplayServer) -> None:
    server.enqueue(_sse(_start(), {"type": "content_block_delta", "index": 0}))
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="malformed stream event") as info:
            await _collect(model, "hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, False)


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_connection_refused(streaming: bool) -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    async with AnthropicChatModel("claude-x", api_key=PLANTED, base_url=url) as model:
        with pytest.raises(BelugaError, match="could not reach") as info:
            if streaming:
                await _collect(model, "hi")
            else:
                await model.generate("hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)
    _assert_no_key(info.value)


async def test_timeout(server: ReplayServer) -> None:
    reply = Reply.json(_message())
    reply.delay = 5
    server.enqueue(reply)
    async with _model(server, timeout=0.2) as model:
        with pytest.raises(BelugaError, match=r"in time|deadline") as info:
            await model.generate("hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.TIMEOUT, True)


# --------------------------------------------------------------------------- construction


def test_missing_key_is_a_config_error() -> None:
    with pytest.raises(BelugaError, match="ANTHROPIC_API_KEY") as info:
        AnthropicChatModel("claude-sonnet-4-5")
    assert info.value.code is ErrorCode.INVALID_CONFIG
    assert "${ANTHROPIC_API_KEY}" in info.value.message  # the fix survives redaction


async def test_key_and_base_url_come_from_the_environment(
    server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", PLANTED)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    server.enqueue(Reply.json(_message()))
    model = create("anthropic:claude-haiku-4-5", default_headers={"X-Trace": "1"})
    assert isinstance(model, AnthropicChatModel)
    async with model:
        await model.generate("hi")
    headers = server.requests[0].headers
    assert PLANTED in headers.get("x-api-key", "") + headers.get("authorization", "")
    assert headers["x-trace"] == "1"
    assert server.requests[0].json()["model"] == "claude-haiku-4-5"
    assert PLANTED not in repr(model) and server.url in repr(model)


def test_default_model_and_repr() -> None:
    model = AnthropicChatModel(api_key=PLANTED)
    assert model.model_name == "claude-sonnet-4-5" and model.max_tokens_default == 4096
    assert repr(model) == (
        "AnthropicChatModel(model='claude-sonnet-4-5', base_url='https://api.anthropic.com')"
    )


async def test_injected_client_is_used_and_left_open(server: ReplayServer) -> None:
    from anthropic import AsyncAnthropic

    client = AsyncAnthropic(api_key=PLANTED, base_url=server.url, max_retries=0)
    server.enqueue(Reply.json(_message()), Reply.json(_message()))
    async with AnthropicChatModel("claude-x", client=client) as model:
        assert (await model.generate("hi")).text == "Paris."
        assert PLANTED not in repr(model)
    assert not client.is_closed()
    reply = await client.messages.create(
        model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.id == "msg_test"
    await client.close()


def test_import_does_not_load_the_sdk() -> None:
    code = (
        "import sys, beluga.llms.providers.anthropic;"
        "print('anthropic' in sys.modules, 'httpx2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------- tracing


async def test_generate_records_one_genai_span(server: ReplayServer, telemetry: Telemetry) -> None:
    server.enqueue(Reply.json(_message(cache_read_input_tokens=6)))
    async with _model(server) as model:
        await model.generate("What is the capital of France?")
    chat = [s for s in telemetry.finished_spans() if s.name.startswith("chat ")]
    assert [s.name for s in chat] == ["chat claude-sonnet-4-5"]  # the SDK's own spans are off
    attrs = dict(chat[0].attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.request.model"] == "claude-sonnet-4-5"
    assert attrs["gen_ai.response.model"] == "claude-sonnet-4-5-20250929"
    assert attrs["gen_ai.response.id"] == "msg_test"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (20, 7)
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 6
    assert PLANTED not in repr(attrs)


async def test_stream_span_and_failed_span(server: ReplayServer, telemetry: Telemetry) -> None:
    server.enqueue(
        _sse(_start(), _block(0, {"type": "text", "text": ""}), _text(0, "Hi"), *_end()),
        Reply.json(_error("authentication_error", f"key {PLANTED} is wrong"), status=401),
    )
    async with _model(server) as model:
        await _collect(model, "hi")
        with pytest.raises(BelugaError):
            await _collect(model, "hi")
    ok, failed = [s for s in telemetry.finished_spans() if s.name == "chat claude-sonnet-4-5"]
    attrs = dict(ok.attributes or {})
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (10, 5)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert (failed.attributes or {})["error.type"] == "auth_failed"
    texts = [repr(dict(failed.attributes or {})), str(failed.status.description)]
    texts += [repr(dict(e.attributes or {})) for e in failed.events]
    assert all(PLANTED not in t for t in texts)
