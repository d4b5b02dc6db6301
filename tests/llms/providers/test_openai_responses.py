"""OpenAIResponsesModel against recorded Responses API traffic and hand-made failures.

Every interaction of every cassette in ``openai_responses/`` and every ``/responses`` interaction
in ``openai/`` (the Chat Completions tests skip those) becomes one case: the inputs are rebuilt
from the recorded request, the recorded response is served from a local server at the recorded
path (``/v1``, OpenRouter's ``/api/v1``, Azure's ``/openai/v1``), and both the body our adapter
sent and our parsed result are compared with the recording. Interactions that use what the
adapter does not offer are skipped with the reason kept in :data:`SKIPPED`, never dropped.
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
from beluga.llms.providers._responses_reply import parse_response, stream_events
from beluga.llms.providers.openai_responses import OpenAIResponsesModel
from beluga.schema import (
    AudioPart,
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
    assert_usage_total,
    cassettes,
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

PLANTED = "sk-test-PLANTED0123456789abcdef"
PROVIDER = "openai"  # the gen_ai.provider.name our reasoning parts carry
STATUS_CODES = {
    400: ErrorCode.INVALID_REQUEST,
    401: ErrorCode.AUTH_FAILED,
    404: ErrorCode.NOT_FOUND,
    429: ErrorCode.RATE_LIMITED,
    500: ErrorCode.PROVIDER_UNAVAILABLE,
}

# Why a recorded call that is not ``POST .../responses`` cannot be replayed, by path ending.
OTHER_ENDPOINTS = {
    "/responses/compact": "the compaction endpoint (POST /responses/compact), not supported",
    "/responses/input_tokens": "the input-token counting endpoint, not a model call",
    "/conversations": "creates a server-side conversation (POST /conversations), not supported",
    "/vector_stores": "manages a vector store for the built-in file search tool, not a model call",
    "/files": "uploads a file for the built-in file search tool, not a model call",
    "/messages": "an Anthropic Messages call recorded in the same test, not the Responses API",
}
# Request keys of features this adapter does not offer.
UNSUPPORTED_KEYS = {
    "background": "background mode (a queued response polled later), not supported",
    "conversation": "server-side conversation state (conversation id), not supported: "
    "beluga sends the whole history every call",
    "previous_response_id": "chains on a stored response (previous_response_id), not "
    "supported: beluga sends the whole history every call",
    "context_management": "server-side compaction (context_management), not supported",
    "moderation": "the request-level moderation policy option, not supported",
}
UNSUPPORTED_TOOLS = {
    "web_search": "the built-in web search tool",
    "file_search": "the built-in file search tool",
    "code_interpreter": "the built-in code interpreter tool",
    "mcp": "a remote MCP server tool",
    "image_generation": "the built-in image generation tool",
}
# Input items our messages cannot produce: provider state replayed from an earlier response.
UNSUPPORTED_ITEMS = {
    "compaction": "replays a compaction item in the history, not supported",
    "web_search_call": "replays a built-in web search call in the history, not supported",
    "code_interpreter_call": "replays a code interpreter call in the history, not supported",
}
# Options our ModelSettings models; everything else in a recorded body goes through `extra`.
MODELED = frozenset(
    {
        "model",
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "temperature",
        "top_p",
        "max_output_tokens",
        "stream",
    }
)


# --------------------------------------------------------------------------- cases

WHAT = "Responses"


@dataclass(frozen=True)
class Case:
    cassette: Cassette
    interaction: Interaction

    @property
    def id(self) -> str:
        return f"{self.cassette.id}#{self.interaction.index}"

    @property
    def skip_reason(self) -> str | None:
        req = self.interaction.request
        path = req.path
        if req.method == "GET" and "/responses/" in path:
            return "retrieves a stored response by id (background polling), not supported"
        if req.method == "DELETE":
            return f"deletes a server-side object ({path.rsplit('/', 2)[-2]}), not a model call"
        for ending, reason in OTHER_ENDPOINTS.items():
            if path.endswith(ending) or f"{ending}/" in path:
                return reason
        if not path.endswith("/responses"):
            return f"not a Responses API call ({req.method} {path})"
        body = req.body
        if not isinstance(body, dict):
            return "the recorded request has no JSON body"
        for key, reason in UNSUPPORTED_KEYS.items():
            if in_use(body.get(key)):
                return reason
        for tool in body.get("tools") or ():
            if tool.get("type") != "function":
                what = UNSUPPORTED_TOOLS.get(tool.get("type"), f"the {tool.get('type')} tool")
                return f"uses {what}, not supported"
        if any("logprobs" in str(i) for i in body.get("include") or ()):
            return "asks for output logprobs (include message.output_text.logprobs), not supported"
        if not isinstance(body.get("input"), list):
            return "the recorded input is a plain string, not a list of items"
        for item in body["input"]:
            kind = item.get("type") or "message"
            if kind in UNSUPPORTED_ITEMS:
                return UNSUPPORTED_ITEMS[kind]
            if item.get("role") == "developer":
                return "uses a developer message; beluga sends instructions as system"
        return None


def _cases() -> list[Case | Unreplayable]:
    cases = replay_cases(["openai_responses"], Case)
    # Responses calls recorded among the Chat Completions cassettes (a path check, cannot fail).
    cases += [
        Case(c, i)
        for c in cassettes("openai")
        for i in c.interactions
        if i.request.path.endswith("/responses")
    ]
    return cases


CASES = _cases()


# --------------------------------------------------------------------------- rebuild inputs


def _data_url(url: str) -> tuple[str, str]:
    head, _, data = url.partition(",")
    return head.removeprefix("data:").removesuffix(";base64"), data


def _parts(content: list[dict[str, Any]]) -> list[ContentPart]:
    parts: list[ContentPart] = []
    for p in content:
        kind = p["type"]
        if kind == "input_text":
            parts.append(TextPart(p["text"]))
        elif kind == "input_image":
            url, detail = p["image_url"], p.get("detail")
            if url.startswith("data:"):
                media, data = _data_url(url)
                parts.append(ImagePart(base64=data, media_type=media, detail=detail))
            else:
                parts.append(ImagePart(url=url, detail=detail))
        elif kind == "input_file" and "file_url" in p:
            parts.append(FilePart(url=p["file_url"]))
        elif kind == "input_file":
            media, data = _data_url(p["file_data"])
            parts.append(FilePart(base64=data, media_type=media, name=p.get("filename")))
        else:
            raise Unexpressible(f"unknown content part {kind!r} in a recorded request")
    return parts


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content or () if "text" in p.get("type", ""))


def reasoning_parts(item: dict[str, Any], provider: str = PROVIDER) -> list[ReasoningPart]:
    """The reasoning parts our parser makes of a reasoning item: one per summary (or content)
    part, carrying the item's id, the last holding its encrypted content."""
    texts = [p["text"] for p in (*(item.get("summary") or ()), *(item.get("content") or ()))]
    parts = [ReasoningPart(t, id=item["id"], provider=provider) for t in texts]
    parts = parts or [ReasoningPart(id=item["id"], provider=provider)]
    if item.get("encrypted_content"):
        last = parts[-1]
        parts[-1] = ReasoningPart(
            last.text, redacted=item["encrypted_content"], id=item["id"], provider=provider
        )
    return parts


def _messages(body: dict[str, Any]) -> list[Message]:
    messages: list[Message] = []
    if body.get("instructions"):
        messages.append(Message.system(body["instructions"]))
    reasoning: list[ReasoningPart] = []  # reasoning items, for the assistant turn they precede
    for item in body["input"]:
        kind = item.get("type") or "message"
        if kind == "reasoning":
            reasoning += reasoning_parts(item)
        elif kind == "function_call":
            call = ToolCall(item["call_id"], item["name"], item["arguments"])
            last = messages[-1] if messages else None
            if last is not None and last.role == "assistant" and not reasoning:
                messages[-1] = Message.assistant(last.content, tool_calls=[*last.tool_calls, call])
            else:
                messages.append(Message.assistant(reasoning, tool_calls=[call]))
                reasoning = []
        elif kind == "function_call_output":
            output = item["output"]
            messages.append(
                Message.tool(item["call_id"], output if isinstance(output, str) else _parts(output))
            )
        elif item["role"] == "system":
            messages.append(Message.system(_text(item["content"])))
        elif item["role"] == "assistant":
            text = _text(item["content"])
            phase = item.get("phase")
            parts = [TextPart(text, phase=phase)] if text else []
            messages.append(Message.assistant([*reasoning, *parts]))
            reasoning = []
        elif isinstance(item["content"], str):
            messages.append(Message.user(item["content"]))
        else:
            messages.append(Message.user(_parts(item["content"])))
    return messages


def rebuild(body: dict[str, Any]) -> tuple[list[Message], list[ToolDefinition], ModelSettings]:
    """Our inputs that should produce ``body``."""
    tools = [
        ToolDefinition(
            t["name"],
            t.get("description") or "",
            t.get("parameters") or {"type": "object", "properties": {}},
            t.get("strict"),
        )
        for t in body.get("tools") or ()
    ]
    options: dict[str, Any] = {
        k: body[k] for k in ("temperature", "top_p", "parallel_tool_calls") if k in body
    }
    if body.get("max_output_tokens") is not None:
        options["max_tokens"] = body["max_output_tokens"]
    choice = body.get("tool_choice")
    if choice is not None:
        options["tool_choice"] = choice if isinstance(choice, str) else choice["name"]
    extra = {k: v for k, v in body.items() if k not in MODELED and v is not None}
    fmt = (body.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_schema" and set(body["text"]) == {"format"}:
        options["output"] = OutputSchema(fmt["schema"], fmt["name"], fmt.get("strict", False))
        del extra["text"]
    return _messages(body), tools, ModelSettings(**options, extra=extra)


def expected_body(body: dict[str, Any]) -> dict[str, Any]:
    """The recorded body with the differences we accept, each for a stated reason."""
    out = {k: v for k, v in body.items() if v is not None}
    # pydantic-ai sends empty instructions when there are none; we leave the key out.
    if out.get("instructions") == "":
        del out["instructions"]
    items = list(out["input"])
    # We send a leading system message as `instructions` (the Responses API's own place for it).
    if "instructions" not in out and items and items[0].get("role") == "system":
        out["instructions"] = _text(items.pop(0)["content"])
    out["input"] = _expected_items(items)
    out.setdefault("store", False)  # stateless: we send store=false unless extra says otherwise
    if out["store"] is False and "include" not in out and _reasons(out):
        # Recorded before pydantic-ai asked for it: with store=false we ask for encrypted
        # reasoning whenever the model reasons, or its reasoning could not be sent back.
        out["include"] = ["reasoning.encrypted_content"]
    out.setdefault("stream", False)  # we always state stream
    if out.get("tools"):
        # An empty description (null or "") is left out.
        out["tools"] = [
            {k: v for k, v in t.items() if k != "description" or v} for t in out["tools"]
        ]
    fmt = (out.get("text") or {}).get("format")
    if (
        isinstance(fmt, dict)
        and fmt.get("type") == "json_schema"
        and set(out["text"]) == {"format"}
    ):
        fmt = {k: v for k, v in fmt.items() if k != "description"}  # OutputSchema has none (yet)
        fmt.setdefault("strict", False)  # we always state strict; absent means false
        out["text"] = {"format": fmt}
    return out


def _reasons(body: dict[str, Any]) -> bool:
    """Whether the model reasons: OpenAI's o-series, gpt-5 and codex models (but -chat ones), or
    any model asked to through ``reasoning``."""
    model = body["model"]
    named = model.startswith(("o1", "o3", "o4", "gpt-5", "codex")) and "-chat" not in model
    return named or "reasoning" in body


def _expected_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        following = items[i + 1] if i + 1 < len(items) else {}
        if (
            item.get("role") == "assistant"
            and not _text(item.get("content"))
            and following.get("type") == "function_call"
        ):
            continue  # pydantic-ai's empty assistant text before tool calls is not sent
        if item.get("type") == "function_call":
            # We keep no item ids or statuses: calls are stateless (store=false).
            item = {k: v for k, v in item.items() if k not in ("id", "status")}
        elif item.get("phase") is not None:
            # A message item with its phase goes back as a message item with that phase, its
            # text as one output_text; no id or status (stateless), no empty annotations.
            text = {"type": "output_text", "text": _text(item["content"])}
            item = {
                "type": "message",
                "role": "assistant",
                "content": [text],
                "phase": item["phase"],
            }
        out.append(item)
    return out


# --------------------------------------------------------------------------- expected results


def _usage(raw: dict[str, Any] | None) -> Usage:
    if not raw:
        return Usage()
    return Usage(
        raw.get("input_tokens") or 0,
        raw.get("output_tokens") or 0,
        (raw.get("input_tokens_details") or {}).get("cached_tokens") or 0,
        (raw.get("output_tokens_details") or {}).get("reasoning_tokens") or 0,
    )


def _expected(recorded: dict[str, Any], provider: str = PROVIDER) -> dict[str, Any]:
    """Text, tool calls, reasoning, usage and finish read straight from a response object."""
    output = recorded["output"]
    calls = [
        (o["call_id"], o["name"], o["arguments"]) for o in output if o["type"] == "function_call"
    ]
    status = recorded.get("status")
    return {
        # The answer: every output text but that of commentary (phase) message items.
        "text": "".join(
            p["text"]
            for o in output
            if o["type"] == "message" and o.get("phase") != "commentary"
            for p in o["content"]
            if p["type"] == "output_text"
        ),
        "phased": [
            (p["text"], o["phase"])
            for o in output
            if o["type"] == "message" and o.get("phase") is not None
            for p in o["content"]
            if p["type"] == "output_text"
        ],
        "calls": calls,
        "reasoning": "\n\n".join(
            p["text"]
            for o in output
            if o["type"] == "reasoning"
            for p in (*(o.get("summary") or ()), *(o.get("content") or ()))
        ),
        "parts": [
            p
            for o in output
            if o["type"] == "reasoning" and o.get("id")
            for p in reasoning_parts(o, provider)
        ],
        "usage": _usage(recorded.get("usage")),
        "finish": "tool_calls" if calls else "stop",
        "raw_finish": status,
        "model": recorded["model"],
        "id": recorded["id"],
    }


def _reasoning_of(response: Any) -> list[ReasoningPart]:
    """The reasoning parts of reasoning items with an id (those that can go back)."""
    return [p for p in response.message.content if type(p) is ReasoningPart and p.id]


def _model(server: ReplayServer, name: str = "gpt-5-mini", **options: Any) -> OpenAIResponsesModel:
    return OpenAIResponsesModel(name, api_key=PLANTED, base_url=f"{server.url}/v1", **options)


async def _collect(model: OpenAIResponsesModel, *args: Any, **kwargs: Any) -> list[StreamEvent]:
    return [event async for event in model.stream(*args, **kwargs)]


def _build(events: list[StreamEvent]) -> Any:
    builder = ResponseBuilder()
    for event in events:
        builder.add(event)
    return builder.build()


def _assert_no_key(err: BaseException) -> None:
    for text in (str(err), repr(err), getattr(err, "message", "")):
        assert PLANTED not in text
    if err.__cause__ is not None:
        assert PLANTED not in str(err.__cause__)


def _sse_events(recorded: str) -> list[dict[str, Any]]:
    return [
        json.loads(line.removeprefix("data: "))
        for line in recorded.splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]


# --------------------------------------------------------------------------- replay


@pytest.mark.parametrize("slot", CASES, ids=[c.id for c in CASES])
async def test_replay_cassette(slot: Case | Unreplayable, server: ReplayServer) -> None:
    case = replayable(slot)
    request, response = case.interaction.request, case.interaction.response
    body = without_nulls(request.body)
    try:
        with expressible(case.id):
            messages, tools, settings = rebuild(body)
    except BelugaError as exc:  # e.g. temperature=-1, refused on the client since issue 7
        pytest.skip(f"the recorded request cannot be made through beluga: {exc.message}")
    server.replay(case.interaction)
    streaming = bool(body.get("stream"))
    prefix = request.path.removesuffix("/responses")  # /v1, /api/v1 (OpenRouter), /openai/v1
    result: Any = None
    error: BelugaError | None = None
    async with OpenAIResponsesModel(
        body["model"], api_key=PLANTED, base_url=f"{server.url}{prefix}"
    ) as model:
        try:
            if streaming:
                result = await _collect(model, messages, tools=tools, settings=settings)
            else:
                result = await model.generate(messages, tools=tools, settings=settings)
        except BelugaError as exc:
            error = exc

    # What we sent has the recorded shape.
    assert len(server.requests) == 1 and not server.unexpected
    sent = server.requests[0]
    assert (sent.method, sent.path) == ("POST", request.path)
    assert sent.headers["authorization"] == f"Bearer {PLANTED}"
    assert sent.json() == expected_body(body)

    if response.status >= 400:
        assert_recorded_error(error, response, STATUS_CODES, case.id, [PLANTED])
        return
    assert error is None, f"unexpected {error!r}"
    if streaming:
        _assert_stream_matches(result, str(response.body or ""))
    else:
        _assert_response_matches(result, response.parsed_body)


def _assert_response_matches(
    result: Any, recorded: dict[str, Any], provider: str = PROVIDER
) -> None:
    want = _expected(recorded, provider)
    assert result.text == want["text"]
    phased = [(p.text, p.phase) for p in result.message.content if type(p) is TextPart and p.phase]
    assert phased == want["phased"]
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == want["calls"]
    assert result.reasoning == want["reasoning"]
    assert _reasoning_of(result) == want["parts"]
    assert result.usage == want["usage"]
    assert_usage_total(result.usage, recorded.get("usage"))
    assert (result.finish_reason, result.raw_finish_reason) == (want["finish"], want["raw_finish"])
    assert (result.model, result.response_id) == (want["model"], want["id"])


def _assert_stream_matches(events: list[StreamEvent], recorded: str) -> None:
    data = _sse_events(recorded)
    (completed,) = [d["response"] for d in data if d["type"] == "response.completed"]
    want = _expected(completed)
    # One text delta per recorded delta: nothing buffered or merged.
    pieces = [d["delta"] for d in data if d["type"] == "response.output_text.delta"]
    assert [e.text for e in events if type(e) is TextDelta] == pieces
    assert "".join(pieces) == want["text"]
    finishes = [e for e in events if type(e) is FinishEvent]
    assert len(finishes) == 1 and events[-1] is finishes[0]
    built = _build(events)
    assert built.text == want["text"]
    assert built.reasoning == want["reasoning"]
    # Reasoning parts as the streamed items hold them (OpenRouter's final object renames them).
    done = sorted(
        (d["output_index"], d["item"])
        for d in data
        if d["type"] == "response.output_item.done" and d["item"]["type"] == "reasoning"
    )
    assert _reasoning_of(built) == [
        p for _, item in done if item.get("id") for p in reasoning_parts(item)
    ]
    assert [(c.id, c.name, c.arguments) for c in built.tool_calls] == want["calls"]
    assert built.usage == want["usage"]
    assert_usage_total(built.usage, completed.get("usage"))
    assert (built.finish_reason, built.raw_finish_reason) == (want["finish"], want["raw_finish"])
    assert (built.model, built.response_id) == (want["model"], want["id"])


def _with_reasoning_history(case: Case) -> bool:
    if case.skip_reason is not None:
        return False
    try:
        messages, _, _ = rebuild(case.interaction.request.body)
    except BelugaError:  # a request the client refuses: test_replay_cassette skips it
        return False
    return any(m.role == "assistant" and has_reasoning(m) for m in messages)


HISTORY_CASES = safe_select(CASES, _with_reasoning_history)


async def _our_reply(interaction: Interaction) -> Message:
    """The assistant message our parser makes of a recorded answer (whole or streamed)."""
    response = interaction.response
    if response.is_json:
        return parse_response(response.parsed_body, "test", "replay", PROVIDER).message
    data = _sse_events(str(response.body))
    events = stream_events(aiter_of(data), "test", "replay", PROVIDER)
    return build([e async for e in events]).message


@pytest.mark.parametrize("case", HISTORY_CASES, ids=[c.id for c in HISTORY_CASES])
async def test_reasoning_sent_back_is_what_we_parsed(case: Case) -> None:
    """Each earlier turn holding reasoning in a recorded history is, reasoning parts included,
    the message our parser made of the answer that produced it."""
    earlier = [
        i
        for i in case.cassette.interactions[: case.interaction.index]
        if i.request.path.endswith("/responses") and i.response.status < 400
    ]
    replies = [reasoning_of(await _our_reply(i)) for i in earlier]
    messages, _, _ = rebuild(case.interaction.request.body)
    turns = [reasoning_of(m) for m in messages if m.role == "assistant" and has_reasoning(m)]
    assert turns and all(t in replies for t in turns)


def test_reasoning_round_trips_are_replayed() -> None:
    if not is_reference_set():
        pytest.skip(
            "how many recordings replay a reasoning history is known for the shared set only"
        )
    assert len(HISTORY_CASES) >= 3  # encrypted reasoning before calls, and before text


def test_every_cassette_is_accounted_for() -> None:
    """Each interaction is either replayed or skipped with a reason (listed by pytest -ra), and
    at least one is replayed: a set where every recording is skipped proves nothing."""
    assert_accounted_for(CASES, WHAT)


NULLS = dict.fromkeys(
    [
        "tools",
        "tool_choice",
        "background",
        "conversation",
        "previous_response_id",
        "context_management",
        "include",
        "temperature",
    ]
)


async def test_options_recorded_as_null_are_not_features_in_use(server: ReplayServer) -> None:
    """A recording whose SDK wrote unset options out as ``null`` replays like one without them:
    skip rules test values, not the presence of keys, and no null is expected on the wire."""
    case = first_replayable(CASES, lambda c: c.interaction.response.status == 200)
    body = {**case.interaction.request.body, **NULLS}
    nulled = Case(case.cassette, with_request_body(case.interaction, body))
    assert nulled.skip_reason is None
    await test_replay_cassette(nulled, server)


# --------------------------------------------------------------------------- hand-made payloads


def _response(
    output: list[dict[str, Any]] | None = None, status: str = "completed", **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "resp_test",
        "object": "response",
        "created_at": 1752720361,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "model": "gpt-5-mini-2025-08-07",
        "output": [_message("Paris.")] if output is None else output,
        "usage": {
            "input_tokens": 14,
            "input_tokens_details": {"cached_tokens": 4},
            "output_tokens": 7,
            "output_tokens_details": {"reasoning_tokens": 2},
            "total_tokens": 21,
        },
    }
    body.update(overrides)
    return body


def _message(text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def _call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": "completed",
    }


def _reasoning(*summaries: str, content: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": s} for s in summaries],
        "content": [{"type": "reasoning_text", "text": c} for c in content],
    }


_ANSWER = {"type": "object", "properties": {"city": {"type": "string"}}}
_CLOSED = {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
_STRICT_ANSWER = {
    "type": "object",
    "properties": {"city": {"type": ["string", "null"]}},
    "required": ["city"],
    "additionalProperties": False,
}


async def test_request_maps_every_setting_and_part(server: ReplayServer) -> None:
    server.enqueue(Reply.json(_response()))
    png = b"\x89PNG\r\n\x1a\nfake"
    messages = [
        Message.system("Be brief."),
        Message.user(
            [
                TextPart("Look:"),
                ImagePart(data=png, media_type="image/png", detail="low"),
                ImagePart(url="https://example.com/a.jpg"),
                FilePart(data=b"%PDF-1.4", media_type="application/pdf", name="doc.pdf"),
                FilePart(base64="aGk=", media_type="text/plain"),
                FilePart(url="https://example.com/a.pdf"),
            ],
            name="ann",
        ),
        Message.assistant("Checking.", tool_calls=[ToolCall("call_1", "lookup", '{"q":"x"}')]),
        Message.tool("call_1", "found"),
        Message.system("Now answer."),
        Message.assistant(tool_calls=[ToolCall("call_2", "draw", "{}")]),
        Message.tool("call_2", [TextPart("drawn:"), ImagePart(url="https://example.com/d.png")]),
    ]
    tools = [
        ToolDefinition("lookup", "Look up.", {"type": "object", "properties": {}}, True),
        ToolDefinition("draw"),
    ]
    settings = ModelSettings(
        temperature=0.2,
        max_tokens=50,
        top_p=0.9,
        tool_choice="lookup",
        parallel_tool_calls=False,
        output=OutputSchema(_ANSWER, "answer"),
        extra={"reasoning": {"effort": "low", "summary": "auto"}, "temperature": 0.3},
    )
    async with _model(server) as model:
        await model.generate(messages, tools=tools, settings=settings)
    sent = server.requests[0].json()
    assert server.requests[0].path == "/v1/responses"
    assert sent["instructions"] == "Be brief."
    assert sent["input"] == [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Look:"},
                {
                    "type": "input_image",
                    "image_url": "data:image/png;base64," + base64.b64encode(png).decode(),
                    "detail": "low",
                },
                {"type": "input_image", "image_url": "https://example.com/a.jpg", "detail": "auto"},
                {
                    "type": "input_file",
                    "file_data": "data:application/pdf;base64,"
                    + base64.b64encode(b"%PDF-1.4").decode(),
                    "filename": "doc.pdf",
                },
                {
                    "type": "input_file",
                    "file_data": "data:text/plain;base64,aGk=",
                    "filename": "file.plain",
                },
                {"type": "input_file", "file_url": "https://example.com/a.pdf"},
            ],
        },
        {"role": "assistant", "content": "Checking."},
        {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": '{"q":"x"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "found"},
        {"role": "system", "content": "Now answer."},
        {"type": "function_call", "call_id": "call_2", "name": "draw", "arguments": "{}"},
        {
            "type": "function_call_output",
            "call_id": "call_2",
            "output": [
                {"type": "input_text", "text": "drawn:"},
                {"type": "input_image", "image_url": "https://example.com/d.png", "detail": "auto"},
            ],
        },
    ]
    assert sent["tools"] == [
        {
            "type": "function",
            "name": "lookup",
            "description": "Look up.",
            "parameters": _CLOSED,  # a strict tool goes in the strict form
            "strict": True,
        },
        {
            "type": "function",
            "name": "draw",
            "parameters": {"type": "object", "properties": {}},
            "strict": False,  # not strict unless asked, as in Chat Completions
        },
    ]
    assert sent["tool_choice"] == {"type": "function", "name": "lookup"}
    assert sent["parallel_tool_calls"] is False
    assert sent["max_output_tokens"] == 50 and "max_tokens" not in sent
    assert sent["top_p"] == 0.9
    assert sent["text"] == {
        "format": {
            "type": "json_schema",
            "name": "answer",
            "schema": _STRICT_ANSWER,  # the strict form: closed, every field required
            "strict": True,
        }
    }
    assert sent["reasoning"] == {"effort": "low", "summary": "auto"}
    assert sent["temperature"] == 0.3  # extra is merged last and wins
    assert (sent["store"], sent["stream"]) == (False, False)
    # gpt-5-mini reasons and nothing is stored: its reasoning can only go back encrypted.
    assert sent["include"] == ["reasoning.encrypted_content"]


async def test_plain_prompt_and_store_override(server: ReplayServer) -> None:
    server.enqueue(Reply.json(_response()))
    async with _model(server, settings=ModelSettings(extra={"store": True})) as model:
        result = await model.generate("What is the capital of France?")
    assert server.requests[0].json() == {
        "model": "gpt-5-mini",
        "input": [{"role": "user", "content": "What is the capital of France?"}],
        "store": True,
        "stream": False,
    }
    assert result.text == "Paris."


@pytest.mark.parametrize(
    ("settings", "messages", "match"),
    [
        (ModelSettings(seed=7), [Message.user("hi")], "no 'seed'"),
        (ModelSettings(stop=("END",)), [Message.user("hi")], "no 'stop'"),
        (None, [Message.user([AudioPart(data=b"RIFF", media_type="audio/wav")])], "AudioPart"),
        (None, [Message.user([VideoPart(url="https://example.com/v.mp4")])], "VideoPart"),
        (None, [Message.system([ImagePart(url="https://example.com/a.png")])], "text only"),
        (
            None,
            [Message.user("hi"), Message.assistant([ImagePart(url="https://example.com/a.png")])],
            "text only",
        ),
    ],
    ids=["seed", "stop", "audio", "video", "system-image", "assistant-image"],
)
async def test_unsupported_input_is_rejected_before_sending(
    server: ReplayServer, settings: ModelSettings | None, messages: list[Message], match: str
) -> None:
    async with _model(server) as model:
        for streaming in (False, True):
            with pytest.raises(BelugaError, match=match) as info:
                if streaming:
                    await _collect(model, messages, settings=settings)
                else:
                    await model.generate(messages, settings=settings)
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


async def test_parses_reasoning_calls_and_usage(server: ReplayServer) -> None:
    output = [
        _reasoning("**Plan**\n\nLook it up.", "**Check**"),
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},  # ignored
        _message("Calling."),
        _call("call_9", "f", '{"a": 1}'),
        _call("call_10", "g", ""),
    ]
    server.enqueue(Reply.json(_response(output)))
    async with _model(server) as model:
        result = await model.generate("hi", tools=[ToolDefinition("f"), ToolDefinition("g")])
    assert result.tool_calls == (ToolCall("call_9", "f", '{"a": 1}'), ToolCall("call_10", "g"))
    assert result.text == "Calling."
    assert result.reasoning == "**Plan**\n\nLook it up.\n\n**Check**"
    assert result.usage == Usage(14, 7, 4, 2)
    assert (result.finish_reason, result.raw_finish_reason) == ("tool_calls", "completed")
    assert (result.model, result.response_id) == ("gpt-5-mini-2025-08-07", "resp_test")


@pytest.mark.parametrize(
    ("status", "details", "content", "reason", "raw"),
    [
        ("incomplete", {"reason": "max_output_tokens"}, None, "length", "max_output_tokens"),
        ("incomplete", {"reason": "content_filter"}, None, "content_filter", "content_filter"),
        (
            "completed",
            None,
            [{"type": "refusal", "refusal": "I can't."}],
            "content_filter",
            "refusal",
        ),
        ("completed", None, None, "stop", "completed"),
    ],
    ids=["max-output-tokens", "content-filter", "refusal", "completed"],
)
async def test_finish_reasons(
    server: ReplayServer,
    status: str,
    details: dict[str, Any] | None,
    content: list[dict[str, Any]] | None,
    reason: str,
    raw: str,
) -> None:
    message = _message("Par")
    if content is not None:
        message["content"] = content
    server.enqueue(Reply.json(_response([message], status, incomplete_details=details)))
    async with _model(server) as model:
        result = await model.generate("hi")
    assert (result.finish_reason, result.raw_finish_reason) == (reason, raw)
    assert result.text == ("I can't." if content else "Par")


@pytest.mark.parametrize(
    ("error", "code", "retryable"),
    [
        (
            {"code": "server_error", "message": "The model failed"},
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
        ),
        ({"code": "rate_limit_exceeded", "message": "Slow down"}, ErrorCode.RATE_LIMITED, True),
        ({"code": "invalid_prompt", "message": f"bad {PLANTED}"}, ErrorCode.INVALID_REQUEST, False),
        ({"code": "image_too_large", "message": "big"}, ErrorCode.INVALID_REQUEST, False),
        (
            {"code": "image_content_policy_violation", "message": "no"},
            ErrorCode.CONTENT_FILTERED,
            False,
        ),
    ],
)
async def test_failed_response_raises(
    server: ReplayServer, error: dict[str, Any], code: ErrorCode, retryable: bool
) -> None:
    server.enqueue(Reply.json(_response([], "failed", error=error)))
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="failed response") as info:
            await model.generate("hi")
    assert (info.value.code, info.value.retryable) == (code, retryable)
    _assert_no_key(info.value)


async def test_background_response_is_refused(server: ReplayServer) -> None:
    server.enqueue(Reply.json(_response([], "queued", usage=None)))
    async with _model(server, settings=ModelSettings(extra={"background": True})) as model:
        with pytest.raises(BelugaError, match="background mode") as info:
            await model.generate("hi")
    assert info.value.code is ErrorCode.INVALID_REQUEST


# --------------------------------------------------------------------------- streaming


def _ev(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, **fields}


def _events(final: dict[str, Any], *deltas: dict[str, Any], end: str = "completed") -> list[Any]:
    created = {**final, "status": "in_progress", "output": [], "usage": None}
    return [
        _ev("response.created", response=created),
        *deltas,
        _ev(f"response.{end}", response=final),
    ]


def _stream_reply(events: list[Any], **options: Any) -> Reply:
    return Reply.sse(
        [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events], done=False, **options
    )


async def test_stream_text_reasoning_calls_and_usage(server: ReplayServer) -> None:
    thought = {**_reasoning("Plan", "Check"), "encrypted_content": "ENC"}
    final = _response(
        [
            thought,
            _message("Calling"),
            _call("call_a", "get", '{"x":1}'),
            _call("call_b", "put", "{}"),
        ]
    )
    call_a = {**_call("call_a", "get", ""), "status": "in_progress"}
    summary = "response.reasoning_summary_text.delta"
    events = _events(
        final,
        _ev("response.output_item.added", output_index=0, item=_reasoning()),
        _ev(summary, output_index=0, item_id="rs_1", summary_index=0, delta="Pl"),
        _ev(summary, output_index=0, item_id="rs_1", summary_index=0, delta="an"),
        _ev(summary, output_index=0, item_id="rs_1", summary_index=1, delta="Check"),
        _ev("response.output_item.done", output_index=0, item=thought),
        _ev("response.output_item.added", output_index=1, item=_message("")),
        _ev("response.output_text.delta", output_index=1, content_index=0, delta="Call"),
        _ev("response.output_text.delta", output_index=1, content_index=0, delta="ing"),
        _ev("response.output_item.added", output_index=2, item=call_a),
        _ev("response.function_call_arguments.delta", output_index=2, delta='{"x":'),
        _ev("response.function_call_arguments.delta", output_index=2, delta="1}"),
        _ev("response.output_item.done", output_index=2, item=_call("call_a", "get", '{"x":1}')),
        # A server that sends a whole call at once, without argument deltas.
        _ev("response.output_item.done", output_index=3, item=_call("call_b", "put", "{}")),
    )
    server.enqueue(_stream_reply(events), Reply.json(final))
    async with _model(server) as model:
        tools = [ToolDefinition("get"), ToolDefinition("put")]
        streamed = await _collect(model, "hi", tools=tools)
        generated = await model.generate("hi", tools=tools)
    sent = server.requests[0].json()
    assert sent["stream"] is True and "stream_options" not in sent
    assert streamed == [
        ReasoningDelta("Pl", id="rs_1", provider=PROVIDER),
        ReasoningDelta("an", provider=PROVIDER),
        ReasoningDelta("Check", id="rs_1", provider=PROVIDER),
        ReasoningDelta("", redacted="ENC", provider=PROVIDER),
        TextDelta("Call"),
        TextDelta("ing"),
        ToolCallDelta(0, "call_a", "get", ""),
        ToolCallDelta(0, None, None, '{"x":'),
        ToolCallDelta(0, None, None, "1}"),
        ToolCallDelta(1, "call_b", "put", "{}"),
        UsageEvent(Usage(14, 7, 4, 2)),
        FinishEvent("tool_calls", "completed", "gpt-5-mini-2025-08-07", "resp_test"),
    ]
    # A stream adds up to what generate returns for the same response.
    assert _build(streamed) == generated
    assert generated.message.content == (
        ReasoningPart("Plan", id="rs_1", provider=PROVIDER),
        ReasoningPart("Check", redacted="ENC", id="rs_1", provider=PROVIDER),
        TextPart("Calling"),
    )
    assert generated.reasoning == "Plan\n\nCheck"


async def test_reasoning_of_items_without_id(server: ReplayServer) -> None:
    """A compatible server that gives reasoning items no id: one part per item, its pieces
    joined by a blank line, in stream and generate alike; it cannot be sent back."""
    thought = {k: v for k, v in _reasoning("Plan", content=("Raw",)).items() if k != "id"}
    final = _response([thought, _message("Done.")])
    summary = "response.reasoning_summary_text.delta"
    events = _events(
        final,
        _ev(summary, output_index=0, summary_index=0, delta="Pl"),
        _ev(summary, output_index=0, summary_index=0, delta="an"),
        _ev("response.reasoning_text.delta", output_index=0, content_index=0, delta="Raw"),
        _ev("response.output_item.done", output_index=0, item=thought),
        _ev("response.output_text.delta", output_index=1, content_index=0, delta="Done."),
    )
    server.enqueue(_stream_reply(events), Reply.json(final), Reply.json(_response()))
    async with _model(server, "gpt-4.1") as model:
        streamed = _build(await _collect(model, "hi"))
        generated = await model.generate("hi")
        assert streamed == generated
        assert generated.message.content == (
            ReasoningPart("Plan\n\nRaw", provider=PROVIDER),
            TextPart("Done."),
        )
        await model.generate([Message.user("hi"), generated.message, Message.user("more")])
    sent = server.requests[-1].json()
    assert [i.get("type", i.get("role")) for i in sent["input"]] == ["user", "assistant", "user"]
    assert "include" not in sent  # gpt-4.1 does not reason: encrypted reasoning is refused


async def test_reasoning_goes_back_as_items(server: ReplayServer) -> None:
    """This provider's reasoning goes back as reasoning items (one per id, summaries in order)
    before the turn's text and calls: encrypted, or by id when store is on. Parts that cannot
    go back, and other providers' reasoning, are left out."""
    server.enqueue(Reply.json(_response()), Reply.json(_response()))
    turn = Message.assistant(
        [
            ReasoningPart("Theirs.", signature="s", provider="anthropic"),
            ReasoningPart("A", id="rs_1", provider=PROVIDER),
            ReasoningPart("B", redacted="ENC1", id="rs_1", provider=PROVIDER),
            ReasoningPart(id="rs_2", provider=PROVIDER),  # stored on the server only
            ReasoningPart("No id.", provider=PROVIDER),
            TextPart("Calling."),
        ],
        tool_calls=[ToolCall("call_1", "f", "{}")],
    )
    history = [Message.user("hi"), turn, Message.tool("call_1", "ok")]
    tools = [ToolDefinition("f")]
    async with _model(server) as model:
        await model.generate(history, tools=tools)
        await model.generate(history, tools=tools, settings=ModelSettings(extra={"store": True}))
    stateless, stored = (r.json() for r in server.requests)
    summaries = [{"type": "summary_text", "text": t} for t in "AB"]
    first = {"type": "reasoning", "id": "rs_1", "summary": summaries, "encrypted_content": "ENC1"}
    rest = [
        {"role": "assistant", "content": "Calling."},
        {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "ok"},
    ]
    assert stateless["input"][1:] == [first, *rest]
    assert stateless["include"] == ["reasoning.encrypted_content"] and not stateless["store"]
    second = {"type": "reasoning", "id": "rs_2", "summary": []}
    assert stored["input"][1:] == [first, second, *rest]
    assert "include" not in stored and stored["store"] is True


async def test_stream_incomplete_and_refusal(server: ReplayServer) -> None:
    final = _response(
        [_message("Par")], "incomplete", incomplete_details={"reason": "max_output_tokens"}
    )
    refused = _response([{**_message(""), "content": [{"type": "refusal", "refusal": "No."}]}])
    server.enqueue(
        _stream_reply(
            _events(final, _ev("response.output_text.delta", delta="Par"), end="incomplete")
        ),
        _stream_reply(_events(refused, _ev("response.refusal.delta", delta="No."))),
    )
    async with _model(server) as model:
        cut = await _collect(model, "hi")
        declined = await _collect(model, "hi")
    assert cut[-1] == FinishEvent(
        "length", "max_output_tokens", "gpt-5-mini-2025-08-07", "resp_test"
    )
    assert _build(cut).text == "Par"
    assert declined[-1].reason == "content_filter"  # type: ignore[union-attr]
    assert _build(declined).text == "No."


@pytest.mark.parametrize(
    ("failure", "code", "retryable", "match"),
    [
        (
            _ev(
                "response.failed",
                response=_response([], "failed", error={"code": "server_error", "message": "boom"}),
            ),
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
            "failed response mid-stream",
        ),
        (
            _ev("error", code="rate_limit_exceeded", message="Slow down", param=None),
            ErrorCode.RATE_LIMITED,
            True,
            "error mid-stream",
        ),
        (
            _ev("error", code="invalid_request_error", message=f"bad key {PLANTED}", param=None),
            ErrorCode.INVALID_REQUEST,
            False,
            "error mid-stream",
        ),
        (  # the SDK raises on a top-level "error" object itself
            _ev("error", error={"type": "server_error", "message": f"oops {PLANTED}"}),
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
            "error mid-stream",
        ),
    ],
    ids=["response.failed", "error-rate-limit", "error-invalid", "error-object"],
)
async def test_error_events_inside_a_stream(
    server: ReplayServer, failure: dict[str, Any], code: ErrorCode, retryable: bool, match: str
) -> None:
    events = [_ev("response.output_text.delta", delta="Hel"), failure]
    server.enqueue(_stream_reply(events))
    seen: list[StreamEvent] = []
    async with _model(server) as model:
        with pytest.raises(BelugaError, match=match) as info:
            async for event in model.stream("hi"):
                seen.append(event)
    assert seen == [TextDelta("Hel")]
    assert (info.value.code, info.value.retryable) == (code, retryable)
    _assert_no_key(info.value)


async def test_stream_cut_midway(server: ReplayServer) -> None:
    events = _events(
        _response(), *(_ev("response.output_text.delta", delta=w) for w in ("Hel", "lo"))
    )
    reply = _stream_reply(events)
    assert reply.chunks is not None
    first, second = reply.chunks[0], reply.chunks[1]
    sent = sum(len(f"{len(c):x}\r\n".encode() + c + b"\r\n") for c in (first, second))
    reply.cut_after = sent + 20
    server.enqueue(reply)
    seen: list[StreamEvent] = []
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="cut") as info:
            async for event in model.stream("hi"):
                seen.append(event)
    assert seen == [TextDelta("Hel")]
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)


async def test_stream_that_ends_without_completing(server: ReplayServer) -> None:
    server.enqueue(_stream_reply([_ev("response.output_text.delta", delta="Hel")]))
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="ended before") as info:
            await _collect(model, "hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)


async def test_stream_closed_early_releases_the_connection(server: ReplayServer) -> None:
    deltas = [_ev("response.output_text.delta", delta=str(i)) for i in range(50)]
    server.enqueue(_stream_reply(_events(_response(), *deltas)), Reply.json(_response()))
    async with _model(server) as model:
        async for event in model.stream("hi"):
            assert event == TextDelta("0")
            break
        result = await model.generate("again")
    assert result.text == "Paris."


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "body", "headers", "code", "retryable", "retry_after"),
    [
        (
            401,
            {
                "error": {
                    "message": f"Incorrect API key provided: {PLANTED}.",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            },
            {},
            ErrorCode.AUTH_FAILED,
            False,
            None,
        ),
        (404, {"error": {"message": "no such model"}}, {}, ErrorCode.NOT_FOUND, False, None),
        (
            429,
            {"error": {"message": "slow down", "type": "requests"}},
            {"retry-after": "7"},
            ErrorCode.RATE_LIMITED,
            True,
            7.0,
        ),
        (
            429,
            {"error": {"message": "slow down"}},
            {"retry-after-ms": "1500", "retry-after": "9"},
            ErrorCode.RATE_LIMITED,
            True,
            1.5,
        ),
        (
            429,
            {
                "error": {
                    "message": "quota",
                    "type": "insufficient_quota",
                    "code": "insufficient_quota",
                }
            },
            {"retry-after": "1"},
            ErrorCode.CAPACITY_EXCEEDED,
            False,
            None,
        ),
        (
            500,
            {"error": {"message": "oops", "type": "server_error"}},
            {},
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
            None,
        ),
        (
            503,
            {"error": {"message": "overloaded"}},
            {"retry-after": "2"},
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
            2.0,
        ),
    ],
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
    _assert_no_key(err)
    assert len(server.requests) == 1  # the SDK's own retries are off


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
            Reply.text("404 page not found"),
            ErrorCode.PROVIDER_UNAVAILABLE,
            False,
            "instead of a Responses API response",
        ),
        (
            Reply.json({"error": {"message": "quota", "code": "insufficient_quota"}}),
            ErrorCode.CAPACITY_EXCEEDED,
            False,
            "quota",
        ),
    ],
    ids=["malformed-json", "text-plain", "error-in-200"],
)
async def test_bad_bodies(
    server: ReplayServer, reply: Reply, code: ErrorCode, retryable: bool, match: str
) -> None:
    server.enqueue(reply)
    async with _model(server) as model:
        with pytest.raises(BelugaError, match=match) as info:
            await model.generate("hi")
    assert (info.value.code, info.value.retryable) == (code, retryable)


async def test_key_is_redacted_even_when_the_server_echoes_it(server: ReplayServer) -> None:
    server.enqueue(Reply.text(f"upstream said: Bearer {PLANTED}", status=502))
    async with _model(server) as model:
        with pytest.raises(BelugaError) as info:
            await model.generate("hi")
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    _assert_no_key(info.value)
    assert PLANTED not in repr(model)


async def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{unused_port()}/v1"
    async with OpenAIResponsesModel(api_key=PLANTED, base_url=url) as model:
        with pytest.raises(BelugaError, match="could not reach") as info:
            await _collect(model, "hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)
    _assert_no_key(info.value)


# --------------------------------------------------------------------------- construction


def test_missing_key_is_a_config_error() -> None:
    with pytest.raises(BelugaError, match="OPENAI_API_KEY") as info:
        OpenAIResponsesModel()
    assert info.value.code is ErrorCode.INVALID_CONFIG


async def test_created_from_the_registry_with_env_key(
    server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{server.url}/v1")
    server.enqueue(Reply.json(_response()))
    model = create("openai_responses", default_headers={"X-Trace": "1"})
    assert isinstance(model, OpenAIResponsesModel) and model.model_name == "gpt-5-mini"
    async with model:
        await model.generate("hi")
    headers = server.requests[0].headers
    assert headers["authorization"] == f"Bearer {PLANTED}" and headers["x-trace"] == "1"
    assert PLANTED not in repr(model) and server.url in repr(model)


async def test_aclose_closes_the_client_it_created(server: ReplayServer) -> None:
    model = _model(server)
    client = model._client
    await model.aclose()
    assert client.is_closed()


def test_import_does_not_load_the_sdk() -> None:
    code = "import sys, beluga.llms.providers.openai_responses; print('openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]


# --------------------------------------------------------------------------- tracing


async def test_stream_records_one_genai_span(server: ReplayServer, telemetry: Telemetry) -> None:
    events = _events(_response(), _ev("response.output_text.delta", delta="Paris."))
    server.enqueue(_stream_reply(events))
    async with _model(server) as model:
        await _collect(model, "What is the capital of France?")
    chat = [s for s in telemetry.finished_spans() if s.name.startswith("chat ")]
    assert [s.name for s in chat] == ["chat gpt-5-mini"]
    attrs = dict(chat[0].attributes or {})
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.response.model"] == "gpt-5-mini-2025-08-07"
    assert attrs["gen_ai.response.id"] == "resp_test"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (14, 7)
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 4
    assert PLANTED not in repr(attrs)
