"""BedrockChatModel against recorded Converse traffic and hand-made failures.

Every interaction of every cassette in ``bedrock/`` becomes one case: the inputs are rebuilt from
the recorded request, the recorded answer is served from a local server -- JSON as recorded,
``application/vnd.amazon.eventstream`` bodies byte for byte, one chunk per event frame as AWS
flushed them -- and both the body our adapter sent and our parsed result are compared with the
recording. Interactions we cannot replay are skipped with the reason kept in :data:`SKIPPED`.

botocore signs every request (SigV4 with dummy keys, or a bearer key); the replay server ignores
signatures. No test leaves 127.0.0.1: the credential chain is never consulted (explicit keys),
instance metadata is disabled, and no AWS config file of the developer is read.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from botocore.eventstream import EventStreamBuffer

from beluga.config import parse_config
from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms import ModelSettings, create, from_config
from beluga.llms.providers import bedrock as bedrock_module
from beluga.llms.providers._bedrock_wire import parse_response, stream_events
from beluga.llms.providers.bedrock import BedrockChatModel
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
    RecordedResponse,
    Unexpressible,
    Unreplayable,
    assert_accounted_for,
    assert_recorded_error,
    assert_same_calls,
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

PLANTED = "PLANTEDsecretKEY0123456789abcdefghijklmn"
ACCESS_KEY = "AKIDBELUGATEST0000000"
NOVA = "us.amazon.nova-micro-v1:0"

# Our finish reasons for Bedrock's stopReason (the adapter's table, written out independently).
FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
# Converse request keys this adapter does not offer; a recorded request using one is skipped.
UNSUPPORTED_KEYS = {
    "guardrailConfig": "applies a Bedrock guardrail (guardrailConfig), not supported",
    "performanceConfig": "asks for latency-optimized inference (performanceConfig), not supported",
    "requestMetadata": "tags the request (requestMetadata), not supported",
    "promptVariables": "fills a prompt-management template (promptVariables), not supported",
    "additionalModelResponseFieldPaths": (
        "asks for extra response fields (additionalModelResponseFieldPaths), not supported"
    ),
    "serviceTier": "picks a service tier (serviceTier), not supported",
}
SUPPORTED_BLOCKS = frozenset(
    {"text", "image", "document", "video", "audio", "toolUse", "toolResult", "reasoningContent"}
)
PROVIDER = "aws.bedrock"  # the gen_ai.provider.name our reasoning parts carry
# Content blocks we cannot produce from beluga messages, with the reason.
UNSUPPORTED_BLOCKS = {
    "cachePoint": "marks prompt-cache points (cachePoint blocks), not supported",
    "guardContent": "marks guarded content (guardContent), not supported",
    "citationsContent": "sends citations back in the history, not supported",
}
DOC_TYPES = {
    "pdf": "application/pdf",
    "txt": "text/plain",
    "csv": "text/csv",
    "md": "text/markdown",
    "html": "text/html",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@pytest.fixture(autouse=True)
def _aws_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer AWS setting reaches botocore, and it never asks instance metadata."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_BEARER_TOKEN_BEDROCK",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


# --------------------------------------------------------------------------- event streams


def _frames(raw: bytes) -> list[bytes]:
    """Split an event-stream body into its frames (each starts with its total length)."""
    out, at = [], 0
    while at + 4 <= len(raw):
        size = struct.unpack(">I", raw[at : at + 4])[0]
        out.append(raw[at : at + size])
        at += size
    assert at == len(raw), "the recorded event stream ends inside a frame"
    return out


def _decode(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event type, payload) of every frame, decoded by botocore (CRCs checked)."""
    buffer = EventStreamBuffer()
    buffer.add_data(raw)
    return [
        (
            str(m.headers.get(":event-type") or m.headers.get(":exception-type")),
            json.loads(m.payload),
        )
        for m in buffer
    ]


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream frame (prelude, string headers, payload, both CRC32s), for tests."""
    head = b"".join(
        bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode()
        for k, v in headers.items()
    )
    prelude = struct.pack(">II", 12 + len(head) + len(payload) + 4, len(head))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    message = prelude + head + payload
    return message + struct.pack(">I", binascii.crc32(message))


def event(kind: str, body: dict[str, Any]) -> bytes:
    headers = {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}
    return frame(headers, json.dumps(body, separators=(",", ":")).encode())


def exception_event(kind: str, message: str) -> bytes:
    headers = {
        ":exception-type": kind,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return frame(headers, json.dumps({"message": message}).encode())


def stream_reply(frames: list[bytes], *, cut_after: int | None = None) -> Reply:
    return Reply(
        200,
        [("content-type", "application/vnd.amazon.eventstream")],
        chunks=frames,
        cut_after=cut_after,
    )


def reply_for(response: RecordedResponse) -> Reply:
    """The recorded answer: event streams byte-exact (one chunk per frame), JSON as recorded."""
    body: Any = response.body
    if isinstance(body, bytes):
        assert "eventstream" in response.content_type
        return stream_reply(_frames(body))
    if isinstance(body, str):  # some cassettes keep JSON answers as text
        return Reply(response.status, [("content-type", response.content_type)], body.encode())
    return Reply.recorded(response)


def recorded_json(response: RecordedResponse) -> Any:
    if response.parsed_body is not None:
        return response.parsed_body
    return json.loads(response.body) if isinstance(response.body, str) else None


# --------------------------------------------------------------------------- cases

WHAT = "Bedrock"


def _request_body(interaction: Interaction) -> Any:
    req = interaction.request
    if req.body is not None:
        return req.body
    try:
        return json.loads(req.raw_body) if req.raw_body else None
    except json.JSONDecodeError:
        return None


def _block_kinds(turns: Any) -> list[str]:
    """Kinds of every content block of the recorded turns, tool results' content included."""
    kinds: list[str] = []
    for turn in turns:
        for block in turn.get("content") or ():
            kinds.extend(block)
            for inner in (block.get("toolResult") or {}).get("content") or ():
                kinds.extend(inner)
    return kinds


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
        host, path = urlsplit(req.uri).netloc, req.path
        if not host.startswith("bedrock-runtime."):
            return f"not a Bedrock call ({req.method} {host}{path}: another API in the same test)"
        if path.endswith("/count-tokens"):
            return "the CountTokens API (counting tokens before a call), not supported"
        if not path.endswith(("/converse", "/converse-stream")):
            return f"not a Converse call ({path})"
        body = _request_body(self.interaction)
        if not isinstance(body, dict):
            return "the recorded request body is not valid JSON (cut short in the cassette)"
        for key, reason in UNSUPPORTED_KEYS.items():
            if in_use(body.get(key)):
                return reason
        for kind in _block_kinds(body.get("messages") or ()):
            if kind not in SUPPORTED_BLOCKS:
                return UNSUPPORTED_BLOCKS.get(kind, f"uses {kind} content blocks, not supported")
        for block in body.get("system") or ():
            if {k for k, v in block.items() if v is not None} != {"text"}:
                return f"uses system blocks {sorted(block)}, only text is supported"
        return None


CASES = replay_cases(["bedrock"], Case)


# --------------------------------------------------------------------------- rebuild inputs


def _media(kind: str, block: dict[str, Any]) -> ContentPart:
    source, fmt = block["source"], block["format"]
    where: dict[str, Any] = (  # blobs travel as base64 text; S3 objects by URI
        {"base64": source["bytes"]} if "bytes" in source else {"url": source["s3Location"]["uri"]}
    )
    if kind == "image":
        return ImagePart(**where, media_type=f"image/{fmt}")
    if kind == "video":
        return VideoPart(**where, media_type=f"video/{fmt}")
    if kind == "audio":
        return AudioPart(**where, media_type=f"audio/{fmt}")
    return FilePart(**where, media_type=DOC_TYPES[fmt], name=block.get("name"))


def _parts(blocks: list[dict[str, Any]]) -> list[ContentPart]:
    parts: list[ContentPart] = []
    for block in blocks:
        (kind, value), *_ = block.items()
        if kind == "text":
            parts.append(TextPart(value))
        elif kind == "reasoningContent":
            parts.append(_reasoning(value))
        elif kind in ("image", "document", "video", "audio"):
            parts.append(_media(kind, value))
        else:  # Case.skip_reason keeps every other kind out
            raise Unexpressible(f"unknown content block {kind!r} in a recorded request")
    return parts


def _reasoning(block: dict[str, Any]) -> ReasoningPart:
    """The reasoning part our parser makes of a ``reasoningContent`` block (blobs as base64)."""
    if "redactedContent" in block:
        return ReasoningPart(redacted=block["redactedContent"], provider=PROVIDER)
    signed = block["reasoningText"]
    return ReasoningPart(signed["text"], signature=signed.get("signature"), provider=PROVIDER)


def _messages(turn: dict[str, Any]) -> list[Message]:
    blocks = turn["content"]
    if turn["role"] == "assistant":
        calls = [
            ToolCall(
                b["toolUse"]["toolUseId"], b["toolUse"]["name"], json.dumps(b["toolUse"]["input"])
            )
            for b in blocks
            if "toolUse" in b
        ]
        return [
            Message.assistant(_parts([b for b in blocks if "toolUse" not in b]), tool_calls=calls)
        ]
    out = [
        Message.tool(
            b["toolResult"]["toolUseId"],
            _parts(b["toolResult"]["content"]),
            is_error=b["toolResult"].get("status") == "error",
        )
        for b in blocks
        if "toolResult" in b
    ]
    rest = [b for b in blocks if "toolResult" not in b]
    if rest:
        out.append(Message.user(_parts(rest)))
    return out


def rebuild(body: dict[str, Any]) -> tuple[list[Message], list[ToolDefinition], ModelSettings]:
    """Our inputs that should produce ``body``."""
    messages = [Message.system(b["text"]) for b in body.get("system") or ()]
    for turn in body["messages"]:
        messages.extend(_messages(turn))
    config = body.get("toolConfig") or {}
    tools = [
        ToolDefinition(
            t["toolSpec"]["name"],
            t["toolSpec"].get("description", ""),
            t["toolSpec"]["inputSchema"]["json"],
            t["toolSpec"].get("strict"),
        )
        for t in config.get("tools") or ()
    ]
    options: dict[str, Any] = {}
    choice = config.get("toolChoice")
    if choice is not None:
        options["tool_choice"] = (
            "auto"
            if "auto" in choice
            else "required"
            if "any" in choice
            else choice["tool"]["name"]
        )
    inference = body.get("inferenceConfig") or {}
    for ours, theirs in (
        ("max_tokens", "maxTokens"),
        ("temperature", "temperature"),
        ("top_p", "topP"),
    ):
        if theirs in inference:
            options[ours] = inference[theirs]
    if "stopSequences" in inference:
        options["stop"] = tuple(inference["stopSequences"])
    fmt = (body.get("outputConfig") or {}).get("textFormat")
    if fmt:
        schema = fmt["structure"]["jsonSchema"]
        options["output"] = OutputSchema(json.loads(schema["schema"]), schema["name"])
    extra = dict(body.get("additionalModelRequestFields") or {})
    return messages, tools, ModelSettings(**options, extra=extra)


def expected_body(body: dict[str, Any]) -> dict[str, Any]:
    """The recorded body with the differences we accept, each for a stated reason."""
    out = dict(body)
    # pydantic-ai always sends `system` and `inferenceConfig`, empty or not; we leave them out
    # when empty, which means the same to Converse.
    for key in ("system", "inferenceConfig"):
        if not out.get(key):
            out.pop(key, None)
    # We send a tool result's status only for errors: "success" is the default, and some models
    # (Writer's, see test_bedrock_writer_...) reject the field.
    out["messages"] = [
        {**turn, "content": [_without_success(b) for b in turn["content"]]}
        for turn in out["messages"]
    ]
    return out


def _without_success(block: dict[str, Any]) -> dict[str, Any]:
    result = block.get("toolResult")
    if result is None or result.get("status") != "success":
        return block
    return {"toolResult": {k: v for k, v in result.items() if k != "status"}}


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of native structured output travels as a string: compare it parsed."""
    fmt = (body.get("outputConfig") or {}).get("textFormat")
    if not fmt:
        return body
    schema = fmt["structure"]["jsonSchema"]
    parsed = {**schema, "schema": json.loads(schema["schema"])}
    return {**body, "outputConfig": {"textFormat": {**fmt, "structure": {"jsonSchema": parsed}}}}


# --------------------------------------------------------------------------- expected results


def expected_usage(raw: dict[str, Any]) -> Usage:
    read, write = raw.get("cacheReadInputTokens", 0), raw.get("cacheWriteInputTokens", 0)
    return Usage(raw["inputTokens"] + read + write, raw["outputTokens"], read)


def _model(server: ReplayServer, name: str = NOVA, **options: Any) -> BedrockChatModel:
    return BedrockChatModel(
        name,
        region="us-east-1",
        base_url=server.url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=PLANTED,
        **options,
    )


async def _collect(model: BedrockChatModel, *args: Any, **kwargs: Any) -> list[StreamEvent]:
    return [e async for e in model.stream(*args, **kwargs)]


def _built(events: list[StreamEvent]) -> Any:
    builder = ResponseBuilder()
    for e in events:
        builder.add(e)
    return builder.build()


def _assert_no_secret(err: BaseException) -> None:
    for text in (str(err), repr(err), getattr(err, "message", "")):
        assert PLANTED not in text
    if err.__cause__ is not None:
        assert PLANTED not in str(err.__cause__)
        assert PLANTED not in repr(err.__cause__)


# --------------------------------------------------------------------------- replay


@pytest.mark.parametrize("slot", CASES, ids=[c.id for c in CASES])
async def test_replay_cassette(slot: Case | Unreplayable, server: ReplayServer) -> None:
    case = replayable(slot)
    request, response = case.interaction.request, case.interaction.response
    body = without_nulls(_request_body(case.interaction), "inferenceConfig", "toolConfig")
    model_id = unquote(urlsplit(request.uri).path.split("/")[2])
    streaming = request.path.endswith("/converse-stream")
    with expressible(case.id):
        messages, tools, settings = rebuild(body)
    server.enqueue(reply_for(response))
    result: Any = None
    error: BelugaError | None = None
    async with _model(server, model_id) as model:
        try:
            if streaming:
                result = await _collect(model, messages, tools=tools, settings=settings)
            else:
                result = await model.generate(messages, tools=tools, settings=settings)
        except BelugaError as exc:
            error = exc

    # What we sent has the recorded shape, at the recorded path.
    assert len(server.requests) == 1 and not server.unexpected
    sent = server.requests[0]
    assert (sent.method, sent.path) == ("POST", request.path)
    assert sent.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")
    assert _comparable(sent.json()) == _comparable(expected_body(body))

    if response.status >= 400:
        assert_recorded_error(error, response, {}, case.id, [PLANTED])
        _assert_no_secret(error)
        return
    assert error is None, f"unexpected {error!r}"
    if streaming:
        assert isinstance(response.body, bytes)
        _assert_stream_matches(result, response.body, model_id)
    else:
        _assert_response_matches(result, recorded_json(response), model_id)


def _assert_response_matches(result: Any, recorded: dict[str, Any], model_id: str) -> None:
    blocks = recorded["output"]["message"]["content"]
    assert result.text == "".join(b.get("text", "") for b in blocks)
    expected_calls = [
        (b["toolUse"]["toolUseId"], b["toolUse"]["name"], b["toolUse"]["input"])
        for b in blocks
        if "toolUse" in b
    ]
    calls = [(c.id, c.name, json.loads(c.arguments)) for c in result.tool_calls]
    assert calls == expected_calls
    thoughts = [_reasoning(b["reasoningContent"]) for b in blocks if "reasoningContent" in b]
    assert [p for p in result.message.content if type(p) is ReasoningPart] == thoughts
    assert result.reasoning == "\n\n".join(p.text for p in thoughts if p.text)
    usage = recorded["usage"]
    assert result.usage == expected_usage(usage)
    assert result.usage.total_tokens == usage["totalTokens"]
    assert result.raw_finish_reason == recorded["stopReason"]
    assert result.finish_reason == FINISH[recorded["stopReason"]]
    assert result.model == model_id


def _assert_stream_matches(events: list[StreamEvent], raw: bytes, model_id: str) -> None:
    recorded = _decode(raw)
    texts = [
        p["delta"]["text"]
        for k, p in recorded
        if k == "contentBlockDelta" and p["delta"].get("text")
    ]
    blocks: dict[int, dict[str, Any]] = {}  # reasoning blocks rebuilt from their deltas
    calls: dict[int, list[Any]] = {}  # toolUse blocks: [id, name, concatenated input JSON]
    for k, p in recorded:
        if k == "contentBlockStart" and "toolUse" in (p.get("start") or {}):
            use = p["start"]["toolUse"]
            calls[p["contentBlockIndex"]] = [use["toolUseId"], use["name"], ""]
        if k == "contentBlockDelta" and "toolUse" in p["delta"]:
            calls[p["contentBlockIndex"]][2] += p["delta"]["toolUse"].get("input") or ""
        if k == "contentBlockDelta" and "reasoningContent" in p["delta"]:
            block = blocks.setdefault(p["contentBlockIndex"], {"reasoningText": {"text": ""}})
            delta = p["delta"]["reasoningContent"]
            block["reasoningText"]["text"] += delta.get("text", "")
            if "signature" in delta:
                block["reasoningText"]["signature"] = delta["signature"]
            if "redactedContent" in delta:
                blocks[p["contentBlockIndex"]] = {"redactedContent": delta["redactedContent"]}
    thoughts = [_reasoning(blocks[i]) for i in sorted(blocks)]
    (stop,) = [p["stopReason"] for k, p in recorded if k == "messageStop"]
    (usage,) = [p["usage"] for k, p in recorded if k == "metadata"]
    # One text delta per recorded non-empty text delta: nothing is buffered or merged.
    assert [e.text for e in events if type(e) is TextDelta] == texts
    assert [type(e) for e in events[-2:]] == [UsageEvent, FinishEvent]
    assert sum(type(e) is FinishEvent for e in events) == 1
    built = _built(events)
    assert built.text == "".join(texts)
    assert [p for p in built.message.content if type(p) is ReasoningPart] == thoughts
    assert built.reasoning == "\n\n".join(p.text for p in thoughts if p.text)
    assert_same_calls(built.tool_calls, [tuple(calls[i]) for i in sorted(calls)])
    assert built.usage == expected_usage(usage)
    assert built.usage.total_tokens == usage["totalTokens"]
    assert (built.raw_finish_reason, built.finish_reason) == (stop, FINISH[stop])
    assert built.model == model_id


def test_every_cassette_is_accounted_for() -> None:
    """Each interaction is either replayed or skipped with a reason (listed by pytest -ra), and
    at least one is replayed: a set where every recording is skipped proves nothing."""
    assert_accounted_for(CASES, WHAT)


NULLS = dict.fromkeys(
    ["toolConfig", "guardrailConfig", "performanceConfig", "requestMetadata", "serviceTier"]
)


async def test_options_recorded_as_null_are_not_features_in_use(server: ReplayServer) -> None:
    """A recording whose SDK wrote unset options out as ``null`` replays like one without them:
    skip rules test values, not the presence of keys, and no null is expected on the wire."""
    case = first_replayable(CASES, lambda c: c.interaction.response.status == 200)
    body = {**case.interaction.request.body, **NULLS}
    config = dict(body.get("inferenceConfig") or {})
    body["inferenceConfig"] = {**dict.fromkeys(["stopSequences", "topP"]), **config}
    nulled = Case(case.cassette, with_request_body(case.interaction, body))
    assert nulled.skip_reason is None
    await test_replay_cassette(nulled, server)


def _with_reasoning_history(case: Case) -> bool:
    if case.skip_reason is not None:
        return False
    messages, _, _ = rebuild(_request_body(case.interaction))
    return any(m.role == "assistant" and has_reasoning(m) for m in messages)


HISTORY_CASES = safe_select(CASES, _with_reasoning_history)


async def _our_reply(interaction: Interaction) -> Message:
    """The assistant message our parser makes of a recorded answer (whole or streamed)."""
    response = interaction.response
    model_id = unquote(urlsplit(interaction.request.uri).path.split("/")[2])
    if isinstance(response.body, bytes):
        payloads = [{kind: body} for kind, body in _decode(response.body)]
        events = stream_events(aiter_of(payloads), "test", "replay", model_id, None, PROVIDER)
        return build([e async for e in events]).message
    data = recorded_json(response)
    return parse_response(data, "test", "replay", model_id, None, PROVIDER).message


@pytest.mark.parametrize("case", HISTORY_CASES, ids=[c.id for c in HISTORY_CASES])
async def test_reasoning_sent_back_is_what_we_parsed(case: Case) -> None:
    """Each earlier turn holding reasoning in a recorded history is, reasoning parts included,
    the message our parser made of the answer that produced it."""
    earlier = case.cassette.interactions[: case.interaction.index]
    replies = [reasoning_of(await _our_reply(i)) for i in earlier if i.response.status < 400]
    messages, _, _ = rebuild(_request_body(case.interaction))
    turns = [reasoning_of(m) for m in messages if m.role == "assistant" and has_reasoning(m)]
    assert turns and all(t in replies for t in turns)


def test_reasoning_round_trips_are_replayed() -> None:
    if not is_reference_set():
        pytest.skip(
            "how many recordings replay a reasoning history is known for the shared set only"
        )
    assert len(HISTORY_CASES) >= 5  # signed (budget, adaptive, effort, legacy) and redacted


def test_frame_encoder_reproduces_recorded_frames() -> None:
    """The test helper that builds hand-made streams writes frames exactly as AWS does."""
    streams = [
        i.response.body
        for c in cassettes("bedrock")
        for i in c.interactions
        if isinstance(i.response.body, bytes) and "eventstream" in i.response.content_type
    ]
    if not streams:
        pytest.skip("no recorded event streams")
    for raw in streams:
        assert isinstance(raw, bytes)
        buffer = EventStreamBuffer()
        buffer.add_data(raw)
        for original, message in zip(_frames(raw), buffer, strict=True):
            assert frame(dict(message.headers), message.payload) == original


# --------------------------------------------------------------------------- hand-made payloads


def _answer(
    content: list[dict[str, Any]] | None = None,
    stop: str = "end_turn",
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": content or [{"text": "Paris."}]}},
        "stopReason": stop,
        "usage": usage or {"inputTokens": 14, "outputTokens": 7, "totalTokens": 21},
        "metrics": {"latencyMs": 12},
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_request_maps_every_setting_and_part(server: ReplayServer) -> None:
    server.enqueue(Reply.json(_answer()))
    png, pdf = b"\x89PNG\r\n\x1a\nfake", b"%PDF-1.4 fake"
    messages = [
        Message.system("Be brief."),
        Message.user(
            [
                TextPart("Look:"),
                ImagePart(data=png, media_type="image/png"),
                ImagePart(url="s3://bucket/cat.jpg"),
                FilePart(data=pdf, media_type="application/pdf", name="report.v2 (final).pdf"),
                FilePart(base64=_b64(b"a,b"), media_type="text/csv"),
                VideoPart(url="s3://bucket/clip.mp4"),
                AudioPart(data=b"ID3", media_type="audio/mpeg"),
            ]
        ),
        Message.assistant("Checking.", tool_calls=[ToolCall("t1", "lookup", '{"q": "x"}')]),
        Message.assistant(tool_calls=[ToolCall("t2", "lookup", "")]),
        Message.tool("t1", "found"),
        Message.tool("t2", [TextPart("boom")], is_error=True),
        Message.user("And now?"),
        Message.system("Answer in French."),
    ]
    tools = [
        ToolDefinition("lookup", "Look up.", {"type": "object", "properties": {}}, strict=True),
        ToolDefinition("other"),
    ]
    settings = ModelSettings(
        temperature=0.2,
        max_tokens=50,
        top_p=0.9,
        stop=("END",),
        seed=7,  # no Converse field: not sent
        parallel_tool_calls=False,  # no Converse field: not sent
        tool_choice="lookup",
        output=OutputSchema({"type": "object", "properties": {"a": {"type": "string"}}}, "answer"),
        extra={"top_k": 20, "thinking": {"type": "adaptive"}},
    )
    async with _model(server) as model:
        await model.generate(messages, tools=tools, settings=settings)
    sent = server.requests[0]
    assert sent.path == "/model/us.amazon.nova-micro-v1%3A0/converse"
    body = sent.json()
    assert body["system"] == [{"text": "Be brief."}, {"text": "Answer in French."}]
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"text": "Look:"},
                {"image": {"format": "png", "source": {"bytes": _b64(png)}}},
                {
                    "image": {
                        "format": "jpeg",
                        "source": {"s3Location": {"uri": "s3://bucket/cat.jpg"}},
                    }
                },
                {
                    "document": {
                        "format": "pdf",
                        "name": "report-v2 (final)-pdf",  # Bedrock allows no other characters
                        "source": {"bytes": _b64(pdf)},
                    }
                },
                {
                    "document": {
                        "format": "csv",
                        "name": "Document 2",
                        "source": {"bytes": _b64(b"a,b")},
                    }
                },
                {
                    "video": {
                        "format": "mp4",
                        "source": {"s3Location": {"uri": "s3://bucket/clip.mp4"}},
                    }
                },
                {"audio": {"format": "mp3", "source": {"bytes": _b64(b"ID3")}}},
            ],
        },
        {  # consecutive assistant turns merged: Converse needs alternating roles
            "role": "assistant",
            "content": [
                {"text": "Checking."},
                {"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {"q": "x"}}},
                {"toolUse": {"toolUseId": "t2", "name": "lookup", "input": {}}},
            ],
        },
        {  # tool results and the user's next words share one user turn
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "t1", "content": [{"text": "found"}]}},
                {
                    "toolResult": {
                        "toolUseId": "t2",
                        "content": [{"text": "boom"}],
                        "status": "error",
                    }
                },
                {"text": "And now?"},
            ],
        },
    ]
    assert body["inferenceConfig"] == {
        "maxTokens": 50,
        "temperature": 0.2,
        "topP": 0.9,
        "stopSequences": ["END"],
    }
    assert body["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "lookup",
                    "description": "Look up.",
                    "inputSchema": {"json": {"type": "object", "properties": {}}},
                    "strict": True,
                }
            },
            {
                "toolSpec": {
                    "name": "other",
                    "inputSchema": {"json": {"type": "object", "properties": {}}},
                }
            },
        ],
        "toolChoice": {"tool": {"name": "lookup"}},
    }
    assert body["additionalModelRequestFields"] == {"top_k": 20, "thinking": {"type": "adaptive"}}
    schema = body["outputConfig"]["textFormat"]
    assert schema["type"] == "json_schema"
    assert schema["structure"]["jsonSchema"]["name"] == "answer"
    assert settings.output is not None
    assert json.loads(schema["structure"]["jsonSchema"]["schema"]) == settings.output.schema
    assert set(body) == {
        "messages",
        "system",
        "inferenceConfig",
        "toolConfig",
        "additionalModelRequestFields",
        "outputConfig",
    }


@pytest.mark.parametrize(
    ("choice", "history", "expected"),
    [
        ("auto", False, {"auto": {}}),
        ("required", False, {"any": {}}),
        (None, False, None),
        ("none", False, "omitted"),
        # Converse requires toolConfig once the history holds tool calls: tools, no choice.
        ("none", True, None),
    ],
)
async def test_tool_choice(
    server: ReplayServer, choice: str | None, history: bool, expected: Any
) -> None:
    server.enqueue(Reply.json(_answer()))
    messages = [Message.user("hi")]
    if history:
        messages += [
            Message.assistant(tool_calls=[ToolCall("t1", "a")]),
            Message.tool("t1", "ok"),
        ]
    async with _model(server) as model:
        await model.generate(
            messages, tools=[ToolDefinition("a")], settings=ModelSettings(tool_choice=choice)
        )
    body = server.requests[0].json()
    if expected == "omitted":
        assert "toolConfig" not in body
    else:
        assert [t["toolSpec"]["name"] for t in body["toolConfig"]["tools"]] == ["a"]
        assert body["toolConfig"].get("toolChoice") == expected


async def test_default_settings_are_merged_with_call_settings(server: ReplayServer) -> None:
    server.enqueue(Reply.json(_answer()))
    async with _model(server, settings=ModelSettings(temperature=0.5, max_tokens=9)) as model:
        await model.generate("hi", settings=ModelSettings(max_tokens=2))
    body = server.requests[0].json()
    assert body == {
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "inferenceConfig": {"maxTokens": 2, "temperature": 0.5},
    }


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (Message.user([ImagePart(url="https://example.com/a.png")]), "s3://"),
        (Message.user([FilePart(url="https://example.com/a.pdf")]), "s3://"),
        (Message.user([FilePart(data=b"x", media_type="application/zip")]), "application/zip"),
        (Message.user([ImagePart(data=b"x", media_type="image/tiff")]), "image/tiff"),
        (Message.system([ImagePart(url="s3://b/a.png")]), "text only"),
        (Message.assistant(tool_calls=[ToolCall("t", "f", "{bad")]), "not valid JSON"),
    ],
)
async def test_unsupported_input_is_rejected_before_sending(
    server: ReplayServer, message: Message, match: str
) -> None:
    async with _model(server) as model:
        with pytest.raises(BelugaError, match=match) as info:
            await model.generate([Message.user("hi"), message])
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


async def test_parses_tool_calls_reasoning_and_cache_usage(server: ReplayServer) -> None:
    content: list[dict[str, Any]] = [
        {"reasoningContent": {"reasoningText": {"text": "Think.", "signature": "sig"}}},
        {"reasoningContent": {"redactedContent": _b64(b"hidden")}},
        {"text": "Let me check."},
        {"toolUse": {"toolUseId": "tu_1", "name": "f", "input": {"city": "Zürich", "n": [1]}}},
        {"toolUse": {"toolUseId": "tu_2", "name": "g", "input": {}}},
    ]
    usage = {
        "inputTokens": 3,
        "outputTokens": 20,
        "cacheReadInputTokens": 100,
        "cacheWriteInputTokens": 50,
        "totalTokens": 173,
    }
    server.enqueue(
        Reply.json(_answer(content, "tool_use", usage), headers={"x-amzn-RequestId": "req-1"})
    )
    async with _model(server) as model:
        result = await model.generate("hi", tools=[ToolDefinition("f"), ToolDefinition("g")])
    assert result.text == "Let me check." and result.reasoning == "Think."
    assert result.message.content == (
        ReasoningPart("Think.", signature="sig", provider=PROVIDER),
        ReasoningPart(redacted=_b64(b"hidden"), provider=PROVIDER),
        TextPart("Let me check."),
    )
    assert [(c.id, c.name, c.args()) for c in result.tool_calls] == [
        ("tu_1", "f", {"city": "Zürich", "n": [1]}),
        ("tu_2", "g", {}),
    ]
    # Cache reads and writes are part of input_tokens (Usage's convention), unlike Bedrock's.
    assert result.usage == Usage(153, 20, 100)
    assert result.usage.total_tokens == 173
    assert (result.finish_reason, result.raw_finish_reason) == ("tool_calls", "tool_use")
    assert (result.model, result.response_id) == (NOVA, "req-1")


async def test_reasoning_goes_back_signed_and_in_order(server: ReplayServer) -> None:
    """Signed and redacted reasoning blocks come back as parts, from generate and stream alike,
    and go back in place on the next turn; unsigned reasoning and other providers' do not."""
    content: list[dict[str, Any]] = [
        {"reasoningContent": {"reasoningText": {"text": "One.", "signature": "sig-1"}}},
        {"reasoningContent": {"redactedContent": _b64(b"hidden")}},
        {"reasoningContent": {"reasoningText": {"text": "Three.", "signature": "sig-3"}}},
        {"text": "Calling."},
        {"toolUse": {"toolUseId": "tu_1", "name": "f", "input": {"a": 1}}},
    ]
    frames = [
        event("messageStart", {"role": "assistant"}),
        _delta(0, {"reasoningContent": {"text": "On"}}),
        _delta(0, {"reasoningContent": {"text": "e."}}),
        _delta(0, {"reasoningContent": {"signature": "sig-1"}}),
        _delta(1, {"reasoningContent": {"redactedContent": _b64(b"hidden")}}),
        _delta(2, {"reasoningContent": {"text": "Three."}}),
        _delta(2, {"reasoningContent": {"signature": "sig-3"}}),
        _delta(3, {"text": "Calling."}),
        event(
            "contentBlockStart",
            {"contentBlockIndex": 4, "start": {"toolUse": {"toolUseId": "tu_1", "name": "f"}}},
        ),
        _delta(4, {"toolUse": {"input": '{"a": 1}'}}),
        event("messageStop", {"stopReason": "tool_use"}),
    ]
    server.enqueue(
        Reply.json(_answer(content, "tool_use")), stream_reply(frames), Reply.json(_answer())
    )
    tools = [ToolDefinition("f")]
    async with _model(server) as model:
        whole = await model.generate("hi", tools=tools)
        streamed = _built(await _collect(model, "hi", tools=tools))
        assert streamed.message == whole.message
        assert whole.reasoning == "One.\n\nThree."
        history = [
            Message.user("hi"),
            Message.assistant(
                [
                    ReasoningPart("Theirs.", signature="x", provider="anthropic"),
                    ReasoningPart("Unsigned.", provider=PROVIDER),
                    *whole.message.content,
                ],
                tool_calls=whole.tool_calls,
            ),
            Message.tool("tu_1", "done"),
        ]
        await model.generate(history, tools=tools)
    sent = server.requests[-1].json()["messages"][1]
    assert sent == {"role": "assistant", "content": content}


async def test_redacted_reasoning_that_is_not_base64_is_refused(server: ReplayServer) -> None:
    history = [
        Message.user("hi"),
        Message.assistant(
            [ReasoningPart(redacted="not base64!", provider=PROVIDER), TextPart("x")]
        ),
        Message.user("more"),
    ]
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="not base64") as info:
            await model.generate(history)
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert server.requests == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
        ("malformed_tool_use", "error"),
        ("something_new", "stop"),
    ],
)
async def test_finish_reasons(server: ReplayServer, raw: str, reason: str) -> None:
    server.enqueue(Reply.json(_answer(stop=raw)))
    async with _model(server) as model:
        result = await model.generate("hi")
    assert (result.finish_reason, result.raw_finish_reason) == (reason, raw)


# --------------------------------------------------------------------------- streaming


def _delta(index: int, delta: dict[str, Any]) -> bytes:
    return event("contentBlockDelta", {"contentBlockIndex": index, "delta": delta})


def _tool_stream() -> list[bytes]:
    return [
        event("messageStart", {"role": "assistant"}),
        _delta(0, {"reasoningContent": {"text": "Plan"}}),
        _delta(0, {"reasoningContent": {"signature": "sig"}}),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        _delta(1, {"text": "Calling"}),
        event("contentBlockStop", {"contentBlockIndex": 1}),
        event(
            "contentBlockStart",
            {"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "tu_a", "name": "get"}}},
        ),
        _delta(2, {"toolUse": {"input": '{"x":'}}),
        _delta(2, {"toolUse": {"input": "1}"}}),
        event("contentBlockStop", {"contentBlockIndex": 2}),
        event(
            "contentBlockStart",
            {"contentBlockIndex": 3, "start": {"toolUse": {"toolUseId": "tu_b", "name": "put"}}},
        ),
        event("contentBlockStop", {"contentBlockIndex": 3}),
        event("messageStop", {"stopReason": "tool_use"}),
        event(
            "metadata",
            {
                "usage": {
                    "inputTokens": 9,
                    "outputTokens": 5,
                    "cacheReadInputTokens": 3,
                    "totalTokens": 17,
                },
                "metrics": {"latencyMs": 5},
            },
        ),
    ]


async def test_stream_tool_calls_reasoning_and_usage(server: ReplayServer) -> None:
    server.enqueue(stream_reply(_tool_stream()))
    async with _model(server) as model:
        events = await _collect(model, "hi", tools=[ToolDefinition("get"), ToolDefinition("put")])
    assert server.requests[0].path == "/model/us.amazon.nova-micro-v1%3A0/converse-stream"
    assert events == [
        ReasoningDelta("Plan", provider=PROVIDER),
        ReasoningDelta("", signature="sig", provider=PROVIDER),
        TextDelta("Calling"),
        ToolCallDelta(0, "tu_a", "get"),
        ToolCallDelta(0, None, None, '{"x":'),
        ToolCallDelta(0, None, None, "1}"),
        ToolCallDelta(1, "tu_b", "put"),
        UsageEvent(Usage(12, 5, 3)),
        FinishEvent("tool_calls", "tool_use", NOVA, None),
    ]
    built = _built(events)
    assert built.tool_calls == (ToolCall("tu_a", "get", '{"x":1}'), ToolCall("tu_b", "put"))
    assert (built.text, built.reasoning) == ("Calling", "Plan")


async def test_stream_without_metadata_still_finishes(server: ReplayServer) -> None:
    server.enqueue(
        stream_reply(
            [
                event("messageStart", {"role": "assistant"}),
                _delta(0, {"text": "Hi"}),
                event("messageStop", {"stopReason": "max_tokens"}),
            ]
        )
    )
    async with _model(server) as model:
        events = await _collect(model, "hi")
    assert events == [TextDelta("Hi"), FinishEvent("length", "max_tokens", NOVA, None)]


async def test_stream_closed_early_releases_the_connection(server: ReplayServer) -> None:
    frames = [event("messageStart", {"role": "assistant"})]
    frames += [_delta(0, {"text": str(i)}) for i in range(50)]
    frames += [event("messageStop", {"stopReason": "end_turn"})]
    server.enqueue(stream_reply(frames), Reply.json(_answer()))
    async with _model(server) as model:
        async for item in model.stream("hi"):
            assert item == TextDelta("0")
            break
        assert (await model.generate("again")).text == "Paris."


# --------------------------------------------------------------------------- errors


def _aws_error(status: int, code: str | None, message: str) -> Reply:
    """An error answer as Bedrock sends it: the error name in ``x-amzn-errortype``."""
    headers = {"x-amzn-errortype": f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
    return Reply.json({"message": message}, status=status, headers=headers if code else None)


@pytest.mark.parametrize(
    ("status", "name", "code", "retryable"),
    [
        (400, "ValidationException", ErrorCode.INVALID_REQUEST, False),
        (403, "AccessDeniedException", ErrorCode.AUTH_FAILED, False),
        (403, "UnrecognizedClientException", ErrorCode.AUTH_FAILED, False),
        (403, "ExpiredTokenException", ErrorCode.AUTH_FAILED, False),
        (404, "ResourceNotFoundException", ErrorCode.NOT_FOUND, False),
        (408, "ModelTimeoutException", ErrorCode.TIMEOUT, True),
        (424, "ModelErrorException", ErrorCode.PROVIDER_UNAVAILABLE, True),
        (429, "ThrottlingException", ErrorCode.RATE_LIMITED, True),
        (429, "ModelNotReadyException", ErrorCode.PROVIDER_UNAVAILABLE, True),
        (400, "ServiceQuotaExceededException", ErrorCode.CAPACITY_EXCEEDED, False),
        (500, "InternalServerException", ErrorCode.PROVIDER_UNAVAILABLE, True),
        (503, "ServiceUnavailableException", ErrorCode.PROVIDER_UNAVAILABLE, True),
        (502, None, ErrorCode.PROVIDER_UNAVAILABLE, True),  # a proxy's bare 502
    ],
)
@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_http_errors(
    server: ReplayServer,
    status: int,
    name: str | None,
    code: ErrorCode,
    retryable: bool,
    streaming: bool,
) -> None:
    # AWS error messages may echo what was signed; the planted secret must never come through.
    server.enqueue(_aws_error(status, name, f"request failed near {PLANTED}; see docs"))
    async with _model(server) as model:
        with pytest.raises(BelugaError) as info:
            if streaming:
                await _collect(model, "hi")
            else:
                await model.generate("hi")
    err = info.value
    assert (err.code, err.retryable) == (code, retryable)
    assert f"HTTP {status}" in err.message and "request failed near" in err.message
    if name:
        assert name in err.message
    _assert_no_secret(err)
    assert len(server.requests) == 1  # botocore's own retries are off


async def test_retry_after_hint_is_kept(server: ReplayServer) -> None:
    reply = _aws_error(429, "ThrottlingException", "Too many requests")
    reply.headers.append(("retry-after", "3"))
    server.enqueue(reply)
    async with _model(server) as model:
        with pytest.raises(BelugaError) as info:
            await model.generate("hi")
    assert (info.value.code, info.value.retry_after) == (ErrorCode.RATE_LIMITED, 3.0)


async def test_malformed_json_answer(server: ReplayServer) -> None:
    server.enqueue(Reply.text("{not json", content_type="application/json"))
    async with _model(server) as model:
        with pytest.raises(BelugaError, match=r"output\.message") as info:
            await model.generate("hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)


@pytest.mark.parametrize(
    ("kind", "code", "retryable"),
    [
        ("throttlingException", ErrorCode.RATE_LIMITED, True),
        ("modelStreamErrorException", ErrorCode.PROVIDER_UNAVAILABLE, True),
        ("internalServerException", ErrorCode.PROVIDER_UNAVAILABLE, True),
        ("serviceUnavailableException", ErrorCode.PROVIDER_UNAVAILABLE, True),
        ("validationException", ErrorCode.INVALID_REQUEST, False),
    ],
)
async def test_exception_event_inside_the_stream(
    server: ReplayServer, kind: str, code: ErrorCode, retryable: bool
) -> None:
    frames = [
        event("messageStart", {"role": "assistant"}),
        _delta(0, {"text": "Hel"}),
        exception_event(kind, f"it broke ({PLANTED})"),
        _delta(0, {"text": "lo"}),
    ]
    server.enqueue(stream_reply(frames))
    events: list[StreamEvent] = []
    async with _model(server) as model:
        with pytest.raises(BelugaError) as info:
            async for item in model.stream("hi"):
                events.append(item)
    assert events == [TextDelta("Hel")]
    err = info.value
    assert (err.code, err.retryable) == (code, retryable)
    assert "mid-stream" in err.message and kind in err.message and "it broke" in err.message
    _assert_no_secret(err)


def _cut_inside_third_frame(frames: list[bytes]) -> int:
    """Bytes on the wire (chunk framing included) up to the middle of the third frame."""
    wire = sum(len(f"{len(f):x}\r\n".encode()) + len(f) + 2 for f in frames[:2])
    return wire + len(f"{len(frames[2]):x}\r\n".encode()) + len(frames[2]) // 2


async def test_stream_cut_midway(server: ReplayServer) -> None:
    frames = [
        event("messageStart", {"role": "assistant"}),
        _delta(0, {"text": "Hel"}),
        _delta(0, {"text": "lo, this frame is cut in two"}),
        event("messageStop", {"stopReason": "end_turn"}),
    ]
    server.enqueue(stream_reply(frames, cut_after=_cut_inside_third_frame(frames)))
    events: list[StreamEvent] = []
    async with _model(server) as model:
        with pytest.raises(BelugaError) as info:
            async for item in model.stream("hi"):
                events.append(item)
    assert events == [TextDelta("Hel")]
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)
    assert "cut" in info.value.message


async def test_stream_that_ends_without_finishing(server: ReplayServer) -> None:
    # Whole frames, then a clean end of body: no messageStop ever came.
    frames = [event("messageStart", {"role": "assistant"}), _delta(0, {"text": "Hel"})]
    server.enqueue(stream_reply(frames))
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="ended before") as info:
            await _collect(model, "hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)


async def test_corrupt_frame_is_a_retryable_failure(server: ReplayServer) -> None:
    bad = bytearray(_delta(0, {"text": "lo"}))
    bad[-1] ^= 0xFF  # wrong message CRC: botocore's decoder refuses the frame
    server.enqueue(stream_reply([event("messageStart", {"role": "assistant"}), bytes(bad)]))
    async with _model(server) as model:
        with pytest.raises(BelugaError) as info:
            await _collect(model, "hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)
    assert "ChecksumMismatch" in info.value.message


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_connection_refused(streaming: bool) -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    model = BedrockChatModel(
        NOVA, base_url=url, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=PLANTED
    )
    async with model:
        with pytest.raises(BelugaError, match="could not reach") as info:
            if streaming:
                await _collect(model, "hi")
            else:
                await model.generate("hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)
    _assert_no_secret(info.value)


async def test_timeout(server: ReplayServer) -> None:
    reply = Reply.json(_answer())
    reply.delay = 5
    server.enqueue(reply)
    async with _model(server, timeout=0.3) as model:
        with pytest.raises(BelugaError, match=r"in time|deadline") as info:
            await model.generate("hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.TIMEOUT, True)


# --------------------------------------------------------------------------- secrets


async def test_secrets_never_reach_reprs_errors_or_logs(
    server: ReplayServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # botocore logs signed headers and bodies at DEBUG
    server.enqueue(
        Reply.json(_answer()),
        _aws_error(403, "InvalidSignatureException", f"signed x-amz-security-token:{PLANTED}"),
    )
    model = BedrockChatModel(
        NOVA,
        base_url=server.url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key="dummy-secret-access-key-0000",
        aws_session_token=PLANTED,
    )
    async with model:
        await model.generate("hi")
        with pytest.raises(BelugaError) as info:
            await model.generate("hi")
    assert server.requests[0].headers["x-amz-security-token"] == PLANTED  # it was sent...
    assert "AWS4-HMAC-SHA256" in server.requests[0].headers["authorization"]
    _assert_no_secret(info.value)  # ...and never shown
    assert repr(model) == f"BedrockChatModel(model={NOVA!r}, region='us-east-1')"
    # botocore logged the signed headers (the token among them), masked by our filter.
    assert "x-amz-security-token:[REDACTED]" in caplog.text
    assert PLANTED not in caplog.text
    assert "dummy-secret-access-key-0000" not in caplog.text + repr(model)


async def test_api_key_is_sent_as_a_bearer_token(
    server: ReplayServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.enqueue(Reply.json(_answer()))
    async with BedrockChatModel(NOVA, base_url=server.url, api_key=PLANTED) as model:
        await model.generate("hi")
    assert server.requests[0].headers["authorization"] == f"Bearer {PLANTED}"
    assert "Bearer [REDACTED]" in caplog.text  # botocore logs the headers at DEBUG, masked
    assert PLANTED not in caplog.text and PLANTED not in repr(model)


async def test_api_key_comes_from_the_environment(
    server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", PLANTED)
    server.enqueue(Reply.json(_answer()), Reply.json(_answer()))
    async with BedrockChatModel(NOVA, base_url=server.url) as model:
        await model.generate("hi")
    assert server.requests[0].headers["authorization"] == f"Bearer {PLANTED}"
    # Explicit AWS keys win over the environment's API key.
    async with _model(server) as model:
        await model.generate("hi")
    assert server.requests[1].headers["authorization"].startswith("AWS4-HMAC-SHA256")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"aws_access_key_id": ACCESS_KEY}, "both aws_access_key_id and aws_secret_access_key"),
        (
            {
                "aws_access_key_id": ACCESS_KEY,
                "aws_secret_access_key": PLANTED,
                "api_key": "k" * 20,
            },
            "either api_key",
        ),
        ({"profile": "no-such-profile"}, "ProfileNotFound"),
    ],
)
def test_bad_credentials_config(options: dict[str, Any], match: str) -> None:
    with pytest.raises(BelugaError, match=match) as info:
        BedrockChatModel(NOVA, **options)
    assert info.value.code is ErrorCode.INVALID_CONFIG
    _assert_no_secret(info.value)


async def test_no_credentials_at_all_is_a_config_error(server: ReplayServer) -> None:
    async with BedrockChatModel(NOVA, base_url=server.url) as model:
        with pytest.raises(BelugaError, match="credentials") as info:
            await model.generate("hi")
    assert info.value.code is ErrorCode.INVALID_CONFIG
    assert server.requests == []


def test_region_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    keys: dict[str, Any] = {"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": PLANTED}
    assert BedrockChatModel(**keys).region == "us-east-1"
    assert BedrockChatModel().model_name == "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    assert BedrockChatModel(**keys).region == "eu-west-3"
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert BedrockChatModel(**keys).region == "ap-south-1"
    model = BedrockChatModel(region="us-west-2", **keys)
    default = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert repr(model) == f"BedrockChatModel(model={default!r}, region='us-west-2')"


async def test_created_through_the_registry(server: ReplayServer) -> None:
    server.enqueue(Reply.json(_answer()))
    model = create(
        f"bedrock:{NOVA}",
        region="eu-central-1",
        base_url=server.url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=PLANTED,
    )
    assert isinstance(model, BedrockChatModel)
    async with model:
        assert (await model.generate("hi")).text == "Paris."
    assert server.requests[0].path == "/model/us.amazon.nova-micro-v1%3A0/converse"
    assert "/eu-central-1/bedrock/aws4_request" in server.requests[0].headers["authorization"]


async def test_created_from_beluga_yaml_keys(server: ReplayServer) -> None:
    config = parse_config(
        {
            "llm": {
                "default": "aws",
                "providers": {
                    "aws": {
                        "type": "bedrock",
                        "model": NOVA,
                        "region": "eu-west-1",
                        "base_url": server.url,
                        "timeout": 30,
                        "aws_access_key_id": ACCESS_KEY,
                        "aws_secret_access_key": PLANTED,
                        "settings": {"temperature": 0.1, "stop": ["END"]},
                    }
                },
            }
        },
        env={},
    )
    server.enqueue(Reply.json(_answer()))
    model = from_config(config)
    assert isinstance(model, BedrockChatModel) and model.region == "eu-west-1"
    async with model:
        await model.generate("hi")
    body = server.requests[0].json()
    assert body["inferenceConfig"] == {"temperature": 0.1, "stopSequences": ["END"]}


def test_import_does_not_load_the_sdk() -> None:
    code = (
        "import sys, beluga.llms.providers.bedrock;"
        "print('aiobotocore' in sys.modules, 'botocore' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


async def test_one_client_shared_by_concurrent_calls_and_closed(
    server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[object] = []
    real_warm = bedrock_module._warm

    def counting_warm(loader: Any) -> None:
        created.append(loader)
        real_warm(loader)

    monkeypatch.setattr(bedrock_module, "_warm", counting_warm)
    server.enqueue(*(Reply.json(_answer()) for _ in range(4)))
    model = _model(server)
    results = await asyncio.gather(*(model.generate("hi") for _ in range(3)))
    assert [r.text for r in results] == ["Paris."] * 3
    assert len(created) == 1  # one client for the three concurrent first calls
    await model.aclose()
    await model.aclose()  # idempotent
    assert (await model.generate("again")).text == "Paris."  # reopened on use
    assert len(created) == 2
    await model.aclose()


# --------------------------------------------------------------------------- tracing


async def test_generate_records_one_genai_span(server: ReplayServer, telemetry: Telemetry) -> None:
    usage = {"inputTokens": 4, "outputTokens": 7, "cacheReadInputTokens": 10, "totalTokens": 21}
    server.enqueue(Reply.json(_answer(usage=usage), headers={"x-amzn-RequestId": "req-9"}))
    async with _model(server) as model:
        await model.generate("What is the capital of France?", settings=ModelSettings(max_tokens=9))
    chat = [s for s in telemetry.finished_spans() if s.name.startswith("chat ")]
    assert [s.name for s in chat] == [f"chat {NOVA}"]
    attrs = dict(chat[0].attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "aws.bedrock"
    assert (attrs["gen_ai.request.model"], attrs["gen_ai.response.model"]) == (NOVA, NOVA)
    assert attrs["gen_ai.request.max_tokens"] == 9
    assert attrs["gen_ai.response.id"] == "req-9"
    assert tuple(attrs["gen_ai.response.finish_reasons"]) == ("stop",)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (14, 7)
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 10
    assert PLANTED not in repr(attrs)


async def test_failed_stream_span_carries_the_error_type(
    server: ReplayServer, telemetry: Telemetry
) -> None:
    frames = [
        event("messageStart", {"role": "assistant"}),
        exception_event("throttlingException", f"slow down {PLANTED}"),
    ]
    server.enqueue(stream_reply(frames))
    async with _model(server) as model:
        with pytest.raises(BelugaError):
            await _collect(model, "hi")
    (span,) = [s for s in telemetry.finished_spans() if s.name == f"chat {NOVA}"]
    assert (span.attributes or {})["error.type"] == "rate_limited"
    texts = [repr(dict(span.attributes or {})), str(span.status.description)]
    texts += [repr(dict(e.attributes or {})) for e in span.events]
    assert all(PLANTED not in t for t in texts)
