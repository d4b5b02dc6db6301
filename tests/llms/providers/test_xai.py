"""XAIChatModel against recorded xAI gRPC traffic and hand-made failures.

xAI's cassettes (``<BELUGA_CASSETTES>/xai/``) record the gRPC API: each interaction holds the
request (``request_sample``/``request_stream``: proto JSON and the raw protobuf bytes) and the
answer (``response_sample``: JSON and raw bytes; ``response_stream``: one of each per chunk). A
local ``grpc.aio`` server on 127.0.0.1 answers with the recorded raw bytes (or, when a recording
has none, the JSON re-serialized with the SDK's own classes) and keeps the raw request bytes, so
each case checks the request our adapter put on the wire against the recorded one and our parsed
result against the recorded answer. Interactions using a feature we do not support are skipped
with the reason kept in :data:`SKIPPED`, never dropped.
"""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import sys
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2
from xai_sdk.proto import chat_pb2

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms import ModelSettings, create
from beluga.llms.providers._xai_wire import load_protos, parse_response, stream_events
from beluga.llms.providers.xai import XAIChatModel
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
)
from tests.conftest import Telemetry
from tests.support.cassettes import (
    Unexpressible,
    Unreplayable,
    assert_accounted_for,
    cassette_root,
    expressible,
    in_use,
    is_reference_set,
    replayable,
    safe_select,
)
from tests.support.reasoning import aiter_of, build, has_reasoning, reasoning_of
from tests.support.replay_server import unused_port

PLANTED = "xai-PLANTED0123456789abcdefghij"
PROVIDER = "x_ai"  # the gen_ai.provider.name our reasoning parts carry
CLIENT_SIDE = "TOOL_CALL_TYPE_CLIENT_SIDE_TOOL"
FINISH = {
    "REASON_STOP": "stop",
    "REASON_MAX_LEN": "length",
    "REASON_TOOL_CALLS": "tool_calls",
    "REASON_MAX_CONTEXT": "length",
    "REASON_TIME_LIMIT": "length",
}
# Built-in tools that xAI runs on its side; beluga only offers client-side function tools.
SERVER_SIDE_TOOLS = {
    "web_search": "xAI's server-side web_search tool",
    "x_search": "xAI's server-side x_search tool",
    "code_execution": "xAI's server-side code_execution tool",
    "collections_search": "xAI's server-side collections_search tool",
    "attachment_search": "xAI's server-side attachment_search tool",
    "image_generation": "xAI's server-side image_generation tool",
    "mcp": "a remote MCP server called by xAI (mcp tool)",
}
UNSUPPORTED_KEYS = {
    "search_parameters": "xAI Live Search (search_parameters)",
    "logprobs": "logprobs",
    "top_logprobs": "logprobs",
    "previous_response_id": "a conversation stored on xAI's side (previous_response_id)",
}
UNSUPPORTED_ROLES = {"ROLE_DEVELOPER", "ROLE_FUNCTION"}
# Options our ModelSettings models; any other recorded field goes through settings.extra.
MODELED = frozenset(
    {"model", "messages", "tools", "tool_choice", "parallel_tool_calls", "temperature"}
    | {"max_tokens", "top_p", "stop", "seed", "response_format"}
)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# --------------------------------------------------------------------------- cassettes


@dataclass(frozen=True)
class Case:
    cassette: str
    index: int
    streaming: bool
    request: dict[str, Any]  # GetCompletionsRequest, proto JSON with proto field names
    response: Any  # GetChatCompletionResponse JSON, or the list of GetChatCompletionChunk JSON
    raw: bytes | list[bytes] | None

    @property
    def id(self) -> str:
        return f"xai/{self.cassette}#{self.index}"

    @property
    def skip_reason(self) -> str | None:
        req = self.request
        for tool in req.get("tools") or ():
            for kind in set(tool) - {"function"}:
                what = SERVER_SIDE_TOOLS.get(kind, f"xAI's {kind} tool")
                return f"uses {what}; beluga offers function tools only"
        for key, what in UNSUPPORTED_KEYS.items():
            if in_use(req.get(key)):
                return f"uses {what}, not supported"
        if (req.get("n") or 1) != 1:
            return "asks for several answers (n > 1), not supported"
        roles = {m.get("role") for m in req.get("messages") or ()}
        if roles & UNSUPPORTED_ROLES:
            return f"uses message roles {sorted(roles & UNSUPPORTED_ROLES)}, not supported"
        for m in req.get("messages") or ():
            for part in m.get("content") or ():
                if "file_id" in (part.get("file") or {}):
                    return "references a file uploaded to xAI by id, not supported"
        return None

    def wire_response(self) -> list[bytes]:
        """What the server sends: the recorded bytes, else the JSON as protobuf."""
        if self.streaming:
            if self.raw:
                assert isinstance(self.raw, list)
                return self.raw
            return [_pb(c, chat_pb2.GetChatCompletionChunk()) for c in self.response]
        if self.raw:
            assert isinstance(self.raw, bytes)
            return [self.raw]
        return [_pb(self.response, chat_pb2.GetChatCompletionResponse())]


def _pb(data: dict[str, Any], message: Any) -> bytes:
    return json_format.ParseDict(data, message).SerializeToString()  # type: ignore[no-any-return]


def _as_dict(message: Any) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)  # type: ignore[no-any-return]


def _load(path: Path) -> list[Case]:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
    name = path.name.removesuffix(".yaml").removesuffix(".xai")
    cases = []
    for i, item in enumerate(data.get("interactions") or ()):
        streaming = "request_stream" in item
        req = item["request_stream" if streaming else "request_sample"]
        # The raw bytes are what went on the wire; the JSON is a rendering of them.
        request = (
            _as_dict(chat_pb2.GetCompletionsRequest.FromString(req["raw"]))
            if req.get("raw")
            else req["json"]
        )
        if streaming:
            resp = item["response_stream"]
            response: Any = [c.get("chunk", c) for c in resp.get("chunks_json") or ()]
            raw: Any = resp.get("chunks_raw")
        else:
            resp = item["response_sample"]
            response, raw = resp.get("json"), resp.get("raw")
        cases.append(Case(name, i, streaming, request, response, raw))
    return cases


def _cases() -> list[Case | Unreplayable]:
    """Every interaction of every file; a file that cannot be read or decoded, or a missing
    folder, is one case that skips with why (collection never fails on a recording)."""
    folder = cassette_root() / "xai"
    if not folder.is_dir():
        return [Unreplayable("xai", None, f"no xai/ folder under {cassette_root()}")]
    cases: list[Case | Unreplayable] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            loaded = _load(path)
        except Exception as exc:
            why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            cases.append(Unreplayable("xai", path, f"xai/{path.name}: unreadable ({why[:200]})"))
            continue
        cases += loaded or [Unreplayable("xai", path, f"xai/{path.name}: no interactions")]
    return cases or [Unreplayable("xai", None, f"no xAI cassettes in {folder}")]


CASES = _cases()


# --------------------------------------------------------------------------- replay server


@dataclass
class Reply:
    """One answer: ``messages`` (serialized protobuf), then optionally an error status, or a
    cut (the server stops, dropping the connection). ``delay`` holds everything back."""

    messages: list[bytes] = field(default_factory=list)
    code: grpc.StatusCode | None = None
    details: str = ""
    trailing: tuple[tuple[str, str | bytes], ...] = ()
    delay: float = 0.0
    cut: bool = False
    pause: float = 0.0  # between streamed messages


@dataclass(frozen=True)
class Received:
    method: str
    body: bytes
    metadata: dict[str, Any]

    def request(self) -> dict[str, Any]:
        return _as_dict(chat_pb2.GetCompletionsRequest.FromString(self.body))


class GrpcReplay:
    """Serves queued replies on 127.0.0.1 for ``xai_api.Chat``; keeps the raw request bytes."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.cancelled = 0
        self._queue: deque[Reply] = deque()
        self._server: Any = None
        self._cut: asyncio.Future[None] | None = None
        self.port = 0

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def enqueue(self, *replies: Reply) -> None:
        self._queue.extend(replies)

    async def start(self) -> None:
        handler = grpc.method_handlers_generic_handler(
            "xai_api.Chat",
            {  # no (de)serializers: requests arrive and answers leave as raw bytes
                "GetCompletion": grpc.unary_unary_rpc_method_handler(self._unary),
                "GetCompletionChunk": grpc.unary_stream_rpc_method_handler(self._stream),
            },
        )
        self._server = grpc.aio.server()
        self._server.add_generic_rpc_handlers((handler,))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()

    async def aclose(self) -> None:
        await (self._cut or self._server.stop(None))

    async def _take(self, method: str, body: bytes, context: Any) -> Reply:
        self.received.append(Received(method, body, dict(context.invocation_metadata() or ())))
        if not self._queue:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "replay: nothing queued")
        reply = self._queue.popleft()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return reply

    async def _unary(self, body: bytes, context: Any) -> bytes:
        reply = await self._take("GetCompletion", body, context)
        if reply.code is not None:
            await context.abort(reply.code, reply.details, trailing_metadata=reply.trailing)
        return reply.messages[0]

    async def _stream(self, body: bytes, context: Any) -> AsyncIterator[bytes]:
        reply = await self._take("GetCompletionChunk", body, context)
        try:
            for message in reply.messages:
                yield message
                if reply.pause:
                    await asyncio.sleep(reply.pause)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if reply.cut:  # GOAWAY and close: the stream is cut (from a task: stop cancels us)
            self._cut = asyncio.ensure_future(self._server.stop(0))
            await asyncio.sleep(10)
        if reply.code is not None:
            await context.abort(reply.code, reply.details, trailing_metadata=reply.trailing)


@pytest.fixture
async def grpc_server() -> AsyncIterator[GrpcReplay]:
    replay = GrpcReplay()
    await replay.start()
    yield replay
    await replay.aclose()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No developer key, and no gRPC proxy between the client and 127.0.0.1."""
    for name in ("XAI_API_KEY", "grpc_proxy", "GRPC_PROXY"):
        monkeypatch.delenv(name, raising=False)


def _model(server: GrpcReplay, name: str = "grok-4", **options: Any) -> XAIChatModel:
    return XAIChatModel(name, api_key=PLANTED, base_url=server.target, **options)


async def _collect(model: XAIChatModel, *args: Any, **kwargs: Any) -> list[StreamEvent]:
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
        assert PLANTED not in str(err.__cause__) and PLANTED not in repr(err.__cause__)


def _assert_stream_shape(events: list[StreamEvent]) -> None:
    """At most one UsageEvent, right before the one FinishEvent, which comes last."""
    finishes = [e for e in events if type(e) is FinishEvent]
    assert len(finishes) == 1 and events[-1] is finishes[0]
    usages = [i for i, e in enumerate(events) if type(e) is UsageEvent]
    assert usages in ([], [len(events) - 2])


# --------------------------------------------------------------------------- rebuild inputs

_DETAILS = {"DETAIL_AUTO": "auto", "DETAIL_LOW": "low", "DETAIL_HIGH": "high"}


def _parts(content: list[dict[str, Any]]) -> list[ContentPart]:
    parts: list[ContentPart] = []
    for p in content:
        if "text" in p:
            parts.append(TextPart(p["text"]))
        elif "image_url" in p:
            url, detail = p["image_url"]["image_url"], _DETAILS.get(p["image_url"].get("detail"))
            if url.startswith("data:"):
                head, _, data = url.partition(",")
                media = head.removeprefix("data:").removesuffix(";base64")
                parts.append(ImagePart(base64=data, media_type=media, detail=detail))  # type: ignore[arg-type]
            else:
                parts.append(ImagePart(url=url, detail=detail))  # type: ignore[arg-type]
        else:
            raise Unexpressible(f"unknown content part {sorted(p)} in a recorded request")
    return parts


def _reasoning(message: dict[str, Any]) -> list[ReasoningPart]:
    """The reasoning part our parser makes of a message's reasoning text and encrypted blob."""
    text, encrypted = message.get("reasoning_content", ""), message.get("encrypted_content")
    if not (text or encrypted):
        return []
    return [ReasoningPart(text, redacted=encrypted, provider=PROVIDER)]


def rebuild(req: dict[str, Any]) -> tuple[list[Message], list[ToolDefinition], ModelSettings]:
    """Our inputs that should produce the recorded request."""
    messages: list[Message] = []
    unanswered: list[str] = []  # calls of the last assistant turn without a result yet
    for m in req["messages"]:
        role, content = m["role"], m.get("content") or []
        if role == "ROLE_SYSTEM":
            messages.append(Message.system(_parts(content)))
        elif role == "ROLE_USER":
            messages.append(Message.user(_parts(content), name=m.get("name")))
        elif role == "ROLE_ASSISTANT":
            calls = [
                ToolCall(c["id"], c["function"]["name"], c["function"].get("arguments", ""))
                for c in m.get("tool_calls") or ()
            ]
            text = "".join(p.get("text", "") for p in content)
            messages.append(Message.assistant([*_reasoning(m), *_parts(content)], tool_calls=calls))
            assert messages[-1].text == text
            unanswered = [c.id for c in calls]
        else:
            call_id = m.get("tool_call_id") or unanswered[0]
            unanswered.remove(call_id)
            messages.append(Message.tool(call_id, _parts(content)))
    tools = [
        ToolDefinition(
            t["function"]["name"],
            t["function"].get("description", ""),
            json.loads(t["function"].get("parameters") or "{}"),
            t["function"].get("strict"),
        )
        for t in req.get("tools") or ()
    ]
    options: dict[str, Any] = {
        k: req[k]
        for k in ("temperature", "max_tokens", "top_p", "seed", "parallel_tool_calls")
        if k in req
    }
    if "stop" in req:
        options["stop"] = tuple(req["stop"])
    if choice := req.get("tool_choice"):
        modes = {
            "TOOL_MODE_AUTO": "auto",
            "TOOL_MODE_NONE": "none",
            "TOOL_MODE_REQUIRED": "required",
        }
        options["tool_choice"] = choice.get("function_name") or modes[choice["mode"]]
    extra = {k: v for k, v in req.items() if k not in MODELED}
    fmt = req.get("response_format")
    if fmt and fmt.get("format_type") == "FORMAT_TYPE_JSON_SCHEMA":
        schema = json.loads(fmt["schema"])
        options["output"] = OutputSchema(schema, schema.get("title", "output"))
    elif fmt:
        extra["response_format"] = fmt
    return messages, tools, ModelSettings(**options, extra=extra)


def expected_request(recorded: dict[str, Any]) -> dict[str, Any]:
    """The recorded request with the differences we accept, each for a stated reason."""
    out = copy.deepcopy(recorded)
    unanswered: list[str] = []
    for m in out["messages"]:
        if m["role"] == "ROLE_ASSISTANT":
            unanswered = [c["id"] for c in m.get("tool_calls") or ()]
        elif m["role"] == "ROLE_TOOL":
            # The recorder (pydantic-ai) did not always say which call a result answers; we
            # always send tool_call_id, taken here in call order.
            m.setdefault("tool_call_id", unanswered[0])
            unanswered.remove(m["tool_call_id"])
    return out


# --------------------------------------------------------------------------- expected results


def _usage(raw: dict[str, Any] | None) -> Usage:
    raw = raw or {}
    reasoning = raw.get("reasoning_tokens", 0)
    usage = Usage(
        raw.get("prompt_tokens", 0),
        raw.get("completion_tokens", 0) + reasoning,
        raw.get("cached_prompt_text_tokens", 0),
        reasoning,
    )
    # xAI's total counts reasoning apart from completion tokens: our output includes it.
    assert usage.total_tokens == raw.get("total_tokens", 0)
    assert usage.cached_tokens <= usage.input_tokens
    return usage


def _client_calls(message: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (c["id"], c["function"]["name"], c["function"].get("arguments") or "{}")
        for c in message.get("tool_calls") or ()
        if c.get("type", CLIENT_SIDE) == CLIENT_SIDE
    ]


def _assert_response_matches(result: Any, recorded: dict[str, Any]) -> None:
    answers = [
        o
        for o in recorded["outputs"]
        if o.get("message", {}).get("role", "ROLE_ASSISTANT") == "ROLE_ASSISTANT"
    ]
    output = answers[-1]
    message = output["message"]
    assert result.text == message.get("content", "")
    assert result.reasoning == message.get("reasoning_content", "")
    assert [p for p in result.message.content if type(p) is ReasoningPart] == _reasoning(message)
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == _client_calls(message)
    assert result.usage == _usage(recorded.get("usage"))
    finish = output.get("finish_reason")
    assert result.raw_finish_reason == finish
    assert result.finish_reason == FINISH.get(finish or "", "stop")
    assert (result.model, result.response_id) == (recorded["model"], recorded["id"])


def _assert_stream_matches(events: list[StreamEvent], chunks: list[dict[str, Any]]) -> None:
    _assert_stream_shape(events)
    pieces: list[str] = []
    reasoning: list[str] = []
    encrypted: list[str] = []
    calls: list[tuple[str, str, str]] = []
    usage: dict[str, Any] | None = None
    finish: str | None = None
    for chunk in chunks:
        usage = chunk.get("usage") or usage
        for output in chunk.get("outputs") or ():
            delta = output.get("delta") or {}
            finish = output.get("finish_reason") or finish
            if delta.get("role") == "ROLE_TOOL":
                continue
            if delta.get("content"):
                pieces.append(delta["content"])
            reasoning.append(delta.get("reasoning_content", ""))
            if delta.get("encrypted_content"):
                encrypted.append(delta["encrypted_content"])
            calls += [c for c in _client_calls(delta) if c[0] not in {x[0] for x in calls}]
    # One text delta per recorded content delta: nothing is buffered or merged.
    assert [e.text for e in events if type(e) is TextDelta] == pieces
    deltas = [e for e in events if type(e) is ToolCallDelta]
    assert [e.index for e in deltas] == list(range(len(calls)))
    builder = ResponseBuilder()
    for event in events:
        builder.add(event)
    built = builder.build()
    assert built.text == "".join(pieces)
    assert built.reasoning == "".join(reasoning)
    thoughts = [p for p in built.message.content if type(p) is ReasoningPart]
    assert all(p.provider == PROVIDER for p in thoughts)
    assert [p.redacted for p in thoughts if p.redacted] == encrypted
    assert [(c.id, c.name, c.arguments) for c in built.tool_calls] == calls
    assert built.usage == _usage(usage)
    assert built.raw_finish_reason == finish
    assert built.finish_reason == FINISH.get(finish or "", "stop")
    assert (built.model, built.response_id) == (chunks[0]["model"], chunks[0]["id"])


# --------------------------------------------------------------------------- replay


@pytest.mark.parametrize("slot", CASES, ids=[c.id for c in CASES])
async def test_replay_cassette(slot: Case | Unreplayable, grpc_server: GrpcReplay) -> None:
    case = replayable(slot)
    with expressible(case.id):
        messages, tools, settings = rebuild(case.request)
    grpc_server.enqueue(Reply(case.wire_response()))
    async with _model(grpc_server, case.request["model"]) as model:
        if case.streaming:
            result: Any = await _collect(model, messages, tools=tools, settings=settings)
        else:
            result = await model.generate(messages, tools=tools, settings=settings)

    (sent,) = grpc_server.received
    assert sent.method == ("GetCompletionChunk" if case.streaming else "GetCompletion")
    assert sent.metadata["authorization"] == f"Bearer {PLANTED}"
    assert sent.request() == expected_request(case.request)
    if case.streaming:
        _assert_stream_matches(result, case.response)
    else:
        _assert_response_matches(result, case.response)


def _with_reasoning_history(case: Case) -> bool:
    if case.skip_reason is not None:
        return False
    messages, _, _ = rebuild(case.request)
    return any(m.role == "assistant" and has_reasoning(m) for m in messages)


HISTORY_CASES = safe_select(CASES, _with_reasoning_history)


async def _our_reply(case: Case) -> Message:
    """The assistant message our parser makes of a recorded answer (whole or streamed)."""
    pb = load_protos()
    if case.streaming:
        chunks = [chat_pb2.GetChatCompletionChunk.FromString(b) for b in case.wire_response()]
        events = stream_events(pb, aiter_of(chunks), "test", "replay", PROVIDER)
        return build([e async for e in events]).message
    (raw,) = case.wire_response()
    response = chat_pb2.GetChatCompletionResponse.FromString(raw)
    return parse_response(pb, response, "test", "replay", PROVIDER).message


@pytest.mark.parametrize("case", HISTORY_CASES, ids=[c.id for c in HISTORY_CASES])
async def test_reasoning_sent_back_is_what_we_parsed(case: Case) -> None:
    """Each earlier turn holding reasoning in a recorded history is, reasoning part included,
    the message our parser made of the answer that produced it."""
    earlier = [
        c
        for c in CASES
        if isinstance(c, Case) and c.cassette == case.cassette and c.index < case.index
    ]
    replies = [reasoning_of(await _our_reply(c)) for c in earlier]
    messages, _, _ = rebuild(case.request)
    turns = [reasoning_of(m) for m in messages if m.role == "assistant" and has_reasoning(m)]
    assert turns and all(t in replies for t in turns)


def test_reasoning_round_trips_are_replayed() -> None:
    if not is_reference_set():
        pytest.skip("the count of reasoning round trips is known for the shared recordings only")
    assert HISTORY_CASES  # reasoning text with its encrypted content


def test_every_cassette_is_accounted_for() -> None:
    """Each interaction is either replayed or skipped with a reason (listed by pytest -ra), and
    at least one is replayed: a set where every recording is skipped proves nothing."""
    assert_accounted_for(CASES, "xAI")


# --------------------------------------------------------------------------- hand-made payloads


def _response(**fields: Any) -> bytes:
    body: dict[str, Any] = {
        "id": "resp-1",
        "model": "grok-4-0709",
        "outputs": [
            {
                "finish_reason": "REASON_STOP",
                "message": {"role": "ROLE_ASSISTANT", "content": "Paris."},
            }
        ],
        "usage": {
            "prompt_tokens": 14,
            "completion_tokens": 3,
            "reasoning_tokens": 5,
            "cached_prompt_text_tokens": 4,
            "total_tokens": 22,
        },
    }
    body.update(fields)
    return _pb(body, chat_pb2.GetChatCompletionResponse())


def _chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **fields: Any) -> bytes:
    output: dict[str, Any] = {"delta": {"role": "ROLE_ASSISTANT", **(delta or {})}}
    if finish:
        output["finish_reason"] = finish
    body = {"id": "resp-s", "model": "grok-4-0709", "outputs": [output], **fields}
    return _pb(body, chat_pb2.GetChatCompletionChunk())


def _call(cid: str, name: str, args: str, kind: str = CLIENT_SIDE) -> dict[str, Any]:
    return {"id": cid, "type": kind, "function": {"name": name, "arguments": args}}


async def test_request_maps_every_setting_and_part(grpc_server: GrpcReplay) -> None:
    grpc_server.enqueue(Reply([_response()]))
    png = b"\x89PNG\r\n\x1a\nfake"
    messages = [
        Message.system("Be brief."),
        Message.user(
            [
                TextPart("Look:"),
                ImagePart(data=png, media_type="image/png", detail="low"),
                ImagePart(url="https://example.com/a.jpg"),
                FilePart(data=b"%PDF-1.4", media_type="application/pdf", name="doc.pdf"),
                FilePart(url="https://example.com/b.txt"),
            ],
            name="ann",
        ),
        # Malformed arguments go back as they were: the model is told about its mistake.
        Message.assistant("Checking.", tool_calls=[ToolCall("call_1", "lookup", '{"q": "x')]),
        Message.tool("call_1", "bad arguments"),
    ]
    tools = [ToolDefinition("lookup", "Look up.", {"type": "object", "properties": {}}, True)]
    settings = ModelSettings(
        temperature=0.25,
        max_tokens=50,
        top_p=0.5,
        stop=("END",),
        seed=7,
        tool_choice="lookup",
        parallel_tool_calls=False,
        output=OutputSchema({"type": "object"}, "answer"),
        extra={"reasoning_effort": "EFFORT_LOW", "temperature": 0.5},
    )
    async with _model(grpc_server) as model:
        await model.generate(messages, tools=tools, settings=settings)
    assert grpc_server.received[0].request() == {
        "model": "grok-4",
        "messages": [
            {"role": "ROLE_SYSTEM", "content": [{"text": "Be brief."}]},
            {
                "role": "ROLE_USER",
                "name": "ann",
                "content": [
                    {"text": "Look:"},
                    {
                        "image_url": {
                            "image_url": "data:image/png;base64,iVBORw0KGgpmYWtl",
                            "detail": "DETAIL_LOW",
                        }
                    },
                    {
                        "image_url": {
                            "image_url": "https://example.com/a.jpg",
                            "detail": "DETAIL_AUTO",
                        }
                    },
                    {
                        "file": {
                            "data": "JVBERi0xLjQ=",
                            "filename": "doc.pdf",
                            "mime_type": "application/pdf",
                        }
                    },
                    {"file": {"url": "https://example.com/b.txt"}},
                ],
            },
            {
                "role": "ROLE_ASSISTANT",
                "content": [{"text": "Checking."}],
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": CLIENT_SIDE,
                        "status": "TOOL_CALL_STATUS_COMPLETED",
                        "function": {"name": "lookup", "arguments": '{"q": "x'},
                    }
                ],
            },
            {"role": "ROLE_TOOL", "content": [{"text": "bad arguments"}], "tool_call_id": "call_1"},
        ],
        "tools": [
            {
                "function": {
                    "name": "lookup",
                    "description": "Look up.",
                    "strict": True,
                    "parameters": '{"type": "object", "properties": {}}',
                }
            }
        ],
        "tool_choice": {"function_name": "lookup"},
        "parallel_tool_calls": False,
        "temperature": 0.5,  # extra wins
        "max_tokens": 50,
        "top_p": 0.5,
        "stop": ["END"],
        "seed": 7,
        "response_format": {
            "format_type": "FORMAT_TYPE_JSON_SCHEMA",
            "schema": '{"type": "object"}',
        },
        "reasoning_effort": "EFFORT_LOW",
    }


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"mode": "TOOL_MODE_AUTO"}),
        ("none", {"mode": "TOOL_MODE_NONE"}),
        ("required", {"mode": "TOOL_MODE_REQUIRED"}),
        ("get", {"function_name": "get"}),
    ],
)
async def test_tool_choice(grpc_server: GrpcReplay, choice: str, expected: dict[str, Any]) -> None:
    grpc_server.enqueue(Reply([_response()]))
    async with _model(grpc_server) as model:
        settings = ModelSettings(tool_choice=choice)
        await model.generate("hi", tools=[ToolDefinition("get")], settings=settings)
    assert grpc_server.received[0].request()["tool_choice"] == expected


@pytest.mark.parametrize(
    ("settings", "parts", "match"),
    [
        (ModelSettings(tool_choice="nope"), (), "names no tool"),
        (ModelSettings(extra={"no_such_field": 1}), (), "settings.extra"),
        (None, (AudioPart(data=b"RIFF", media_type="audio/wav"),), "AudioPart"),
    ],
    ids=["unknown-tool", "bad-extra", "audio"],
)
async def test_bad_requests_fail_before_sending(
    grpc_server: GrpcReplay, settings: ModelSettings | None, parts: tuple[Any, ...], match: str
) -> None:
    prompt = Message.user([TextPart("hi"), *parts])
    async with _model(grpc_server) as model:
        with pytest.raises(BelugaError, match=match) as info:
            await model.generate(prompt, tools=[ToolDefinition("get")], settings=settings)
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert grpc_server.received == []


async def test_generate_parses_reasoning_calls_and_usage(grpc_server: GrpcReplay) -> None:
    message = {
        "role": "ROLE_ASSISTANT",
        "reasoning_content": "Think.",
        "tool_calls": [
            _call("ws_1", "web_search", "{}", "TOOL_CALL_TYPE_WEB_SEARCH_TOOL"),
            _call("call_1", "get", '{"a":1}'),
        ],
    }
    outputs = [{"finish_reason": "REASON_TOOL_CALLS", "message": message}]
    grpc_server.enqueue(Reply([_response(outputs=outputs)]))
    async with _model(grpc_server) as model:
        result = await model.generate("hi", tools=[ToolDefinition("get")])
    assert result.tool_calls == (ToolCall("call_1", "get", '{"a":1}'),)  # not the server's
    assert (result.text, result.reasoning) == ("", "Think.")
    assert (result.finish_reason, result.raw_finish_reason) == ("tool_calls", "REASON_TOOL_CALLS")
    assert result.usage == Usage(14, 8, 4, 5)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("REASON_MAX_LEN", "length"),
        ("REASON_MAX_CONTEXT", "length"),
        ("REASON_TIME_LIMIT", "length"),
        ("REASON_INVALID", "stop"),
    ],
)
async def test_finish_reasons(grpc_server: GrpcReplay, raw: str, reason: str) -> None:
    outputs = [{"finish_reason": raw, "message": {"role": "ROLE_ASSISTANT", "content": "x"}}]
    grpc_server.enqueue(Reply([_response(outputs=outputs)]))
    async with _model(grpc_server) as model:
        result = await model.generate("hi")
    assert result.finish_reason == reason
    assert result.raw_finish_reason == (None if raw == "REASON_INVALID" else raw)


async def test_stream_events(grpc_server: GrpcReplay) -> None:
    usage = {"prompt_tokens": 10, "completion_tokens": 2, "reasoning_tokens": 3, "total_tokens": 15}
    grpc_server.enqueue(
        Reply(
            [
                _chunk({"reasoning_content": "Hmm"}, usage={**usage, "completion_tokens": 1}),
                _chunk({"content": "Calling"}),
                _chunk({"tool_calls": [_call("c1", "get", '{"x":1}')]}),
                # A server-side tool's call and output are not ours to run.
                _chunk({"tool_calls": [_call("s1", "x", "{}", "TOOL_CALL_TYPE_X_SEARCH_TOOL")]}),
                _chunk({"role": "ROLE_TOOL", "content": "server tool output"}),
                _chunk({"tool_calls": [_call("c2", "put", "{}"), _call("c1", "get", '{"x":1}')]}),
                _chunk(finish="REASON_TOOL_CALLS", usage=usage),
                _chunk(usage={}),  # an empty usage does not replace the total
            ]
        )
    )
    async with _model(grpc_server) as model:
        events = await _collect(model, "hi", tools=[ToolDefinition("get"), ToolDefinition("put")])
    assert events == [
        ReasoningDelta("Hmm", provider=PROVIDER),
        TextDelta("Calling"),
        ToolCallDelta(0, "c1", "get", '{"x":1}'),
        ToolCallDelta(1, "c2", "put", "{}"),
        UsageEvent(Usage(10, 5, 0, 3)),
        FinishEvent("tool_calls", "REASON_TOOL_CALLS", "grok-4-0709", "resp-s"),
    ]


async def test_reasoning_goes_back_with_its_encrypted_content(grpc_server: GrpcReplay) -> None:
    """Reasoning text and encrypted content come back as one part, from generate and stream
    alike, and go back in the assistant turn's two fields; other providers' reasoning does not."""
    message = {
        "role": "ROLE_ASSISTANT",
        "reasoning_content": "Think.",
        "encrypted_content": "ENC==",
        "tool_calls": [_call("call_1", "get", '{"a":1}')],
    }
    outputs = [{"finish_reason": "REASON_TOOL_CALLS", "message": message}]
    grpc_server.enqueue(
        Reply([_response(outputs=outputs)]),
        Reply(
            [
                _chunk({"reasoning_content": "Thi"}),
                _chunk({"reasoning_content": "nk.", "encrypted_content": "ENC=="}),
                _chunk({"tool_calls": [_call("call_1", "get", '{"a":1}')]}),
                _chunk(finish="REASON_TOOL_CALLS"),
            ]
        ),
        Reply([_response()]),
    )
    tools = [ToolDefinition("get")]
    async with _model(grpc_server) as model:
        whole = await model.generate("hi", tools=tools)
        streamed = _build(await _collect(model, "hi", tools=tools))
        assert whole.message == streamed.message
        assert whole.message.content == (
            ReasoningPart("Think.", redacted="ENC==", provider=PROVIDER),
        )
        history = [
            Message.user("hi"),
            Message.assistant(
                [
                    ReasoningPart("Theirs.", signature="s", provider="anthropic"),
                    *whole.message.content,
                ],
                tool_calls=whole.tool_calls,
            ),
            Message.tool("call_1", "sunny"),
        ]
        await model.generate(history, tools=tools)
    sent = grpc_server.received[-1].request()["messages"][1]
    assert (sent["reasoning_content"], sent["encrypted_content"]) == ("Think.", "ENC==")


async def test_stream_closed_early_cancels_the_call(grpc_server: GrpcReplay) -> None:
    chunks = [_chunk({"content": str(i)}) for i in range(50)] + [_chunk(finish="REASON_STOP")]
    grpc_server.enqueue(Reply(chunks, pause=0.02), Reply([_response()]))
    async with _model(grpc_server) as model:
        async for event in model.stream("hi"):
            assert event == TextDelta("0")
            break
        assert (await model.generate("again")).text == "Paris."
    for _ in range(50):
        if grpc_server.cancelled:
            break
        await asyncio.sleep(0.01)
    assert grpc_server.cancelled == 1


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (grpc.StatusCode.UNAUTHENTICATED, ErrorCode.AUTH_FAILED, False),
        (grpc.StatusCode.PERMISSION_DENIED, ErrorCode.AUTH_FAILED, False),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, ErrorCode.RATE_LIMITED, True),
        (grpc.StatusCode.UNAVAILABLE, ErrorCode.PROVIDER_UNAVAILABLE, True),
        (grpc.StatusCode.INTERNAL, ErrorCode.PROVIDER_UNAVAILABLE, True),
        (grpc.StatusCode.ABORTED, ErrorCode.PROVIDER_UNAVAILABLE, True),
        (grpc.StatusCode.DEADLINE_EXCEEDED, ErrorCode.TIMEOUT, True),
        (grpc.StatusCode.INVALID_ARGUMENT, ErrorCode.INVALID_REQUEST, False),
        (grpc.StatusCode.NOT_FOUND, ErrorCode.NOT_FOUND, False),
        (grpc.StatusCode.UNIMPLEMENTED, ErrorCode.NOT_FOUND, False),
        (grpc.StatusCode.CANCELLED, ErrorCode.CANCELED, False),
    ],
    ids=lambda v: v.name if isinstance(v, grpc.StatusCode) else None,
)
@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_grpc_errors(
    grpc_server: GrpcReplay,
    status: grpc.StatusCode,
    code: ErrorCode,
    retryable: bool,
    streaming: bool,
) -> None:
    grpc_server.enqueue(Reply(code=status, details=f"request failed for key {PLANTED}"))
    async with _model(grpc_server) as model:
        with pytest.raises(BelugaError) as info:
            if streaming:
                await _collect(model, "hi")
            else:
                await model.generate("hi")
    err = info.value
    assert (err.code, err.retryable) == (code, retryable)
    assert status.name in err.message and "request failed" in err.message
    _assert_no_key(err)
    assert len(grpc_server.received) == 1  # gRPC's own retries are off


def _retry_info(seconds: int, nanos: int) -> bytes:
    detail = status_pb2.Status(code=grpc.StatusCode.RESOURCE_EXHAUSTED.value[0], message="slow")
    detail.details.add().Pack(
        error_details_pb2.RetryInfo(retry_delay={"seconds": seconds, "nanos": nanos})
    )
    return detail.SerializeToString()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("trailing", "expected"),
    [
        ((("retry-after", "7"),), 7.0),
        ((("retry-after-ms", "1500"),), 1.5),
        ((("grpc-status-details-bin", _retry_info(2, 500_000_000)),), 2.5),
        ((), None),
    ],
    ids=["retry-after", "retry-after-ms", "RetryInfo", "none"],
)
async def test_rate_limit_carries_the_server_hint(
    grpc_server: GrpcReplay, trailing: tuple[tuple[str, Any], ...], expected: float | None
) -> None:
    grpc_server.enqueue(
        Reply(code=grpc.StatusCode.RESOURCE_EXHAUSTED, details="slow", trailing=trailing)
    )
    async with _model(grpc_server) as model:
        with pytest.raises(BelugaError) as info:
            await model.generate("hi")
    assert (info.value.code, info.value.retry_after) == (ErrorCode.RATE_LIMITED, expected)


async def test_error_mid_stream(grpc_server: GrpcReplay) -> None:
    grpc_server.enqueue(
        Reply(
            [_chunk({"content": "Hel"})],
            code=grpc.StatusCode.RESOURCE_EXHAUSTED,
            details=f"quota for {PLANTED}",
            trailing=(("retry-after", "3"),),
        )
    )
    events: list[StreamEvent] = []
    async with _model(grpc_server) as model:
        with pytest.raises(BelugaError, match="mid-stream") as info:
            async for event in model.stream("hi"):
                events.append(event)
    assert events == [TextDelta("Hel")]
    err = info.value
    assert (err.code, err.retryable, err.retry_after) == (ErrorCode.RATE_LIMITED, True, 3.0)
    _assert_no_key(err)


@pytest.mark.parametrize("status", [grpc.StatusCode.INTERNAL, None], ids=["INTERNAL", "cut"])
async def test_stream_cut_midway(grpc_server: GrpcReplay, status: grpc.StatusCode | None) -> None:
    # Either the server fails the stream after a chunk, or it goes away (GOAWAY, socket closed).
    reply = Reply([_chunk({"content": "Hel"})], code=status, details="upstream reset")
    reply.cut = status is None
    grpc_server.enqueue(reply)
    events: list[StreamEvent] = []
    async with _model(grpc_server) as model:
        with pytest.raises(BelugaError, match="cut") as info:
            async for event in model.stream("hi"):
                events.append(event)
    assert events == [TextDelta("Hel")]
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)


async def test_stream_that_ends_without_finishing(grpc_server: GrpcReplay) -> None:
    grpc_server.enqueue(Reply([_chunk({"content": "Hel"})]))
    async with _model(grpc_server) as model:
        with pytest.raises(BelugaError, match="ended before") as info:
            await _collect(model, "hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_connection_refused(streaming: bool) -> None:
    target = f"127.0.0.1:{unused_port()}"
    async with XAIChatModel("grok-4", api_key=PLANTED, base_url=target) as model:
        with pytest.raises(BelugaError, match="could not reach") as info:
            if streaming:
                await _collect(model, "hi")
            else:
                await model.generate("hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)
    _assert_no_key(info.value)


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_client_deadline(grpc_server: GrpcReplay, streaming: bool) -> None:
    grpc_server.enqueue(Reply([_response()], delay=3))
    async with _model(grpc_server, timeout=0.2) as model:
        with pytest.raises(BelugaError) as info:
            if streaming:
                await _collect(model, "hi")
            else:
                await model.generate("hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.TIMEOUT, True)


# --------------------------------------------------------------------------- construction


def test_missing_key_is_a_config_error() -> None:
    with pytest.raises(BelugaError, match="XAI_API_KEY") as info:
        XAIChatModel("grok-4")
    assert info.value.code is ErrorCode.INVALID_CONFIG


@pytest.mark.parametrize(
    ("base_url", "target", "secure"),
    [
        (None, "api.x.ai:443", True),
        ("127.0.0.1:50051", "127.0.0.1:50051", False),
        ("localhost:7", "localhost:7", False),
        ("[::1]:7", "[::1]:7", False),
        ("grpc.example.com:8443", "grpc.example.com:8443", True),
        ("https://grpc.example.com", "grpc.example.com:443", True),
        ("http://10.0.0.5:9000/", "10.0.0.5:9000", False),
    ],
)
def test_base_url(base_url: str | None, target: str, secure: bool) -> None:
    model = XAIChatModel(api_key=PLANTED, base_url=base_url)
    assert (model._target, model._secure) == (target, secure)
    assert model.model_name == "grok-4-fast-reasoning"
    assert PLANTED not in repr(model) and target in repr(model)


@pytest.mark.parametrize("base_url", ["ftp://x:1", "http://", "host:notaport"])
def test_bad_base_url_is_a_config_error(base_url: str) -> None:
    with pytest.raises(BelugaError, match="base_url") as info:
        XAIChatModel(api_key=PLANTED, base_url=base_url)
    assert info.value.code is ErrorCode.INVALID_CONFIG


async def test_registry_and_env_key(
    grpc_server: GrpcReplay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XAI_API_KEY", PLANTED)
    grpc_server.enqueue(Reply([_response()]))
    model = create("xai:grok-4-fast", base_url=grpc_server.target, timeout=5)
    assert isinstance(model, XAIChatModel)
    async with model:
        assert (await model.generate("hi")).text == "Paris."
    assert grpc_server.received[0].metadata["authorization"] == f"Bearer {PLANTED}"
    assert grpc_server.received[0].request()["model"] == "grok-4-fast"


async def test_aclose_closes_the_channel(grpc_server: GrpcReplay) -> None:
    grpc_server.enqueue(Reply([_response()]), Reply([_response()]))
    model = _model(grpc_server)
    await model.generate("hi")
    channel = model._channel
    await model.aclose()
    with pytest.raises(Exception, match=r"(?i)closed"):
        await channel.unary_unary("/xai_api.Chat/GetCompletion")(b"")
    assert (await model.generate("again")).text == "Paris."  # a new channel
    await model.aclose()


async def test_loopback_server_is_reached_without_the_proxy(
    grpc_server: GrpcReplay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("grpc_proxy", f"http://127.0.0.1:{unused_port()}")  # nothing listens
    grpc_server.enqueue(Reply([_response()]))
    async with _model(grpc_server) as model:
        assert (await model.generate("hi")).text == "Paris."


def test_model_made_outside_a_loop_works_on_each_loop() -> None:
    # A grpc.aio channel only works on the loop it was made on: one is made per loop.
    model = XAIChatModel(api_key=PLANTED, base_url=f"127.0.0.1:{unused_port()}")
    for _ in range(2):
        with pytest.raises(BelugaError, match="could not reach"):
            asyncio.run(model.generate("hi"))


def test_import_does_not_load_the_sdk() -> None:
    code = (
        "import sys, beluga.llms.providers.xai;"
        "print('xai_sdk' in sys.modules, 'grpc' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------- tracing


async def test_generate_records_one_genai_span(
    grpc_server: GrpcReplay, telemetry: Telemetry
) -> None:
    grpc_server.enqueue(Reply([_response()]))
    async with _model(grpc_server) as model:
        await model.generate("What is the capital of France?")
    spans = telemetry.finished_spans()
    assert [s.name for s in spans] == ["chat grok-4"]  # and none from the SDK
    attrs = dict(spans[0].attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "x_ai"
    assert attrs["gen_ai.request.model"] == "grok-4"
    assert attrs["gen_ai.response.model"] == "grok-4-0709"
    assert attrs["gen_ai.response.id"] == "resp-1"
    assert tuple(attrs["gen_ai.response.finish_reasons"]) == ("stop",)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (14, 8)
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 4
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 5
    assert PLANTED not in repr(attrs)


async def test_failed_stream_span_carries_the_error_type(
    grpc_server: GrpcReplay, telemetry: Telemetry
) -> None:
    grpc_server.enqueue(Reply(code=grpc.StatusCode.UNAUTHENTICATED, details=f"bad key {PLANTED}"))
    async with _model(grpc_server) as model:
        with pytest.raises(BelugaError):
            await _collect(model, "hi")
    (span,) = [s for s in telemetry.finished_spans() if s.name == "chat grok-4"]
    assert (span.attributes or {})["error.type"] == "auth_failed"
    texts = [repr(dict(span.attributes or {})), str(span.status.description)]
    texts += [repr(dict(e.attributes or {})) for e in span.events]
    assert all(PLANTED not in t for t in texts)


@pytest.mark.parametrize("kind", ["generate", "stream"])
@pytest.mark.parametrize(
    ("prompt", "settings", "said"),
    [
        ("lone \ud800 surrogate", None, "lone surrogate"),
        (
            "hi",
            ModelSettings(extra={"top_k": float("nan")}),
            "settings.extra (at ['top_k']) is nan",
        ),
    ],
    ids=["surrogate", "nan"],
)
async def test_unencodable_requests_are_refused_before_the_rpc(
    grpc_server: GrpcReplay, kind: str, prompt: str, settings: ModelSettings | None, said: str
) -> None:
    # Before: protobuf raised a raw UnicodeEncodeError, and NaN went to the server.
    async with _model(grpc_server) as model:
        with pytest.raises(BelugaError) as info:
            if kind == "generate":
                await model.generate(prompt, settings=settings)
            else:
                await _collect(model, prompt, settings=settings)
    assert (info.value.code, info.value.retryable) == (ErrorCode.INVALID_REQUEST, False)
    assert said in info.value.message
    assert grpc_server.received == []
