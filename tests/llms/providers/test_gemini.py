"""GeminiChatModel against recorded Gemini API traffic and hand-made failures.

Every interaction of every cassette in ``google/`` becomes one case: the inputs are rebuilt from
the recorded request, the recorded response is served from a local server, and both the body our
adapter sent and our parsed result are compared with the recording. Thoughts and thought
signatures in a recorded history are rebuilt as our messages hold them (reasoning parts and
:attr:`ToolCall.signature`) and each case runs on a fresh model, so the signatures sent back come
from the messages alone; :func:`test_reasoning_sent_back_is_what_we_parsed` checks that those
messages are what our parser made of the answers that produced them. Interactions we cannot
replay are skipped with the reason kept in :data:`SKIPPED`, never dropped.
"""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from google.genai import types as gt

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms import ModelSettings, create
from beluga.llms.providers._gemini_reply import parse_response, stream_events
from beluga.llms.providers.gemini import GeminiChatModel
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
    assert_usage_total,
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

PLANTED = "AIzaPLANTED0123456789abcdefghijklmnopq"
PROVIDER = "google"  # the cassettes' folder
GEMINI = "gcp.gemini"  # the gen_ai.provider.name our reasoning parts carry
SKIP_SIGNATURE = b"skip_thought_signature_validator"
# Placeholders Google documents for calls that carry no real signature; any of them is "a dummy".
PLACEHOLDERS = frozenset({SKIP_SIGNATURE, b"context_engineering_is_the_way_to_go"})

# Our reading of Gemini finish reasons (STOP with calls is tool_calls).
FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
}
STATUS_CODES = {
    400: ErrorCode.INVALID_REQUEST,
    401: ErrorCode.AUTH_FAILED,
    403: ErrorCode.AUTH_FAILED,
    404: ErrorCode.NOT_FOUND,
    429: ErrorCode.RATE_LIMITED,
    500: ErrorCode.PROVIDER_UNAVAILABLE,
    503: ErrorCode.PROVIDER_UNAVAILABLE,
}

# Features this adapter does not offer; a recorded request using one is skipped with the reason.
BUILT_IN_TOOLS = {
    "googleSearch": "the built-in Google Search tool",
    "googleSearchRetrieval": "the built-in Google Search retrieval tool",
    "fileSearch": "the built-in File Search tool (file search stores)",
    "codeExecution": "the built-in code execution tool",
    "urlContext": "the built-in URL context tool",
    "googleMaps": "the built-in Google Maps tool",
    "computerUse": "the built-in computer use tool",
    "enterpriseWebSearch": "the built-in enterprise web search tool",
    "retrieval": "Vertex retrieval",
}
UNSUPPORTED_KEYS = {
    "modelArmorConfig": "Model Armor screening (Vertex AI), not supported",
    "labels": "Vertex AI billing labels, not supported",
    "cachedContent": "explicit context caches, not modelled",
}
UNSUPPORTED_GENERATION = {
    "responseSchema": "asks for structured output in the legacy OpenAPI `responseSchema` dialect; "
    "beluga sends JSON Schema as `responseJsonSchema`",
    "responseLogprobs": "asks for logprobs, not supported",
    "logprobs": "asks for logprobs, not supported",
    "candidateCount": "asks for several candidates, not supported",
}
# generationConfig keys our ModelSettings models (the rest travels through settings.extra).
MODELED = frozenset({"temperature", "topP", "maxOutputTokens", "stopSequences", "seed"})


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


# --------------------------------------------------------------------------- cases

WHAT = "Gemini"

_OPENAPI_KEYS = frozenset({"type", "properties", "required", "description", "items", "enum"})


def _json_schema(schema: Any) -> Any:
    """The JSON Schema an older SDK turned into this OpenAPI ``parameters`` schema (uppercase
    types), or None if it used OpenAPI-only keywords."""
    if not isinstance(schema, dict) or set(schema) - _OPENAPI_KEYS:
        return None
    out = dict(schema)
    if isinstance(out.get("type"), str):
        out["type"] = out["type"].lower()
    if "properties" in out:
        props = {k: _json_schema(v) for k, v in out["properties"].items()}
        if any(v is None for v in props.values()):
            return None
        out["properties"] = props
    if "items" in out and (out := {**out, "items": _json_schema(out["items"])})["items"] is None:
        return None
    return out


def _is_model_call(path: str) -> bool:
    return path.endswith((":generateContent", ":streamGenerateContent"))


@dataclass(frozen=True)
class Case:
    cassette: Cassette
    interaction: Interaction

    @property
    def id(self) -> str:
        return f"{self.cassette.id}#{self.interaction.index}"

    @property
    def streaming(self) -> bool:
        return self.interaction.request.path.endswith(":streamGenerateContent")

    @property
    def skip_reason(self) -> str | None:
        req, resp = self.interaction.request, self.interaction.response
        host = urlsplit(req.uri).netloc
        if "aiplatform.googleapis.com" in host:
            return (
                f"a Vertex AI endpoint ({host}); this adapter speaks the Gemini Developer API "
                "(generativelanguage.googleapis.com)"
            )
        if not _is_model_call(req.path):
            kind = "a countTokens call" if req.path.endswith(":countTokens") else "not a model call"
            return f"{kind} ({req.method} {host}{req.path}), made by the recording test itself"
        body = req.body
        if not isinstance(body, dict):
            return "the recorded request has no JSON body (not recorded in the cassette)"
        for key, reason in UNSUPPORTED_KEYS.items():
            if in_use(body.get(key)):
                return f"uses {reason}"
        for tool in body.get("tools") or ():
            for key, value in tool.items():
                if key != "functionDeclarations" and value is not None:
                    return f"uses {BUILT_IN_TOOLS.get(key, key)}, not supported"
            for decl in tool.get("functionDeclarations") or ():
                if "parameters" in decl and _json_schema(decl["parameters"]) is None:
                    return (
                        "declares a tool in an OpenAPI `parameters` schema with no JSON Schema twin"
                    )
        tool_config = {k: v for k, v in (body.get("toolConfig") or {}).items() if v is not None}
        if set(tool_config) - {"functionCallingConfig"}:
            extra = sorted(set(tool_config) - {"functionCallingConfig"})
            return f"uses toolConfig {extra} (server-side tool invocations), not supported"
        generation = body.get("generationConfig") or {}
        for key, reason in UNSUPPORTED_GENERATION.items():
            value = generation.get(key)
            if in_use(value) and not (key == "candidateCount" and value == 1):
                return reason
        if not (resp.is_json or resp.is_event_stream):
            return f"the recorded response is not JSON ({resp.content_type})"
        return None


CASES = replay_cases([PROVIDER], Case)


# --------------------------------------------------------------------------- rebuild inputs


def _parameters(declaration: dict[str, Any]) -> dict[str, Any]:
    if "parameters_json_schema" in declaration:
        return declaration["parameters_json_schema"]  # type: ignore[no-any-return]
    schema = _json_schema(declaration["parameters"])
    assert schema is not None
    return schema  # type: ignore[no-any-return]


def _b64(text: str) -> bytes:
    """Base64 in either alphabet (the SDK sends the URL-safe one, the API answers standard)."""
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _media(kind: str, mime: str | None, **source: Any) -> ContentPart:
    top = (mime or "").split("/", 1)[0]
    cls = {"image": ImagePart, "audio": AudioPart, "video": VideoPart}.get(top, FilePart)
    return cls(media_type=mime, **source)  # type: ignore[no-any-return]


def _user_parts(parts: list[dict[str, Any]]) -> list[ContentPart]:
    out: list[ContentPart] = []
    for p in parts:
        if "text" in p:
            out.append(TextPart(p["text"]))
        elif "inlineData" in p:
            blob = p["inlineData"]
            mime = blob.get("mimeType") or blob.get("mime_type")
            out.append(_media("inline", mime, data=_b64(blob["data"])))
        elif "fileData" in p:
            ref = p["fileData"]
            mime = ref.get("mimeType") or ref.get("mime_type")
            out.append(_media("file", mime, url=ref.get("fileUri") or ref.get("file_uri")))
        else:
            raise Unexpressible(f"unknown user part {sorted(p)} in a recorded request")
    return out


def _result_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _signature(part: dict[str, Any]) -> str | None:
    """A part's thought signature as our types hold it (standard base64); a placeholder is no
    signature: the recorder put it there for a call Gemini did not make."""
    recorded = part.get("thoughtSignature")
    if recorded is None or _b64(recorded) in PLACEHOLDERS:
        return None
    return base64.b64encode(_b64(recorded)).decode()


def model_turn(parts: list[dict[str, Any]]) -> Message:
    """The assistant message our parser makes of these model parts: thoughts as reasoning parts
    (a signature on a text part closes the thought before it, or stands alone), text joined
    after them, calls with their signatures."""
    content: list[ContentPart] = []
    text: list[str] = []
    calls: list[ToolCall] = []
    open_thought = False  # the last reasoning part can still take a signature
    for p in parts:
        signature = _signature(p)
        if "functionCall" in p:
            call = p["functionCall"]
            args = json.dumps(call.get("args") or {})
            calls.append(ToolCall(call.get("id", ""), call["name"], args, signature=signature))
            open_thought = False
        elif p.get("thought"):
            if open_thought:
                last = content.pop()
                assert isinstance(last, ReasoningPart)
                p = {**p, "text": last.text + p["text"]}
            content.append(ReasoningPart(p["text"], signature=signature, provider=GEMINI))
            open_thought = signature is None
        else:
            if signature is not None and open_thought:
                last = content.pop()
                assert isinstance(last, ReasoningPart)
                content.append(ReasoningPart(last.text, signature=signature, provider=GEMINI))
            elif signature is not None:
                content.append(ReasoningPart(signature=signature, provider=GEMINI))
            text.append(p["text"])
            open_thought = False
    if "".join(text):
        content.append(TextPart("".join(text)))
    return Message.assistant(content, tool_calls=calls)


def rebuild(body: dict[str, Any]) -> tuple[list[Message], list[ToolDefinition], ModelSettings]:
    """Our inputs that should produce ``body``."""
    messages = [
        Message.system(p["text"]) for p in (body.get("systemInstruction") or {}).get("parts", ())
    ]
    for content in body["contents"]:
        parts = content["parts"]
        if content["role"] == "model":
            messages.append(model_turn(parts))
        elif all("functionResponse" in p for p in parts):
            for p in parts:
                fr = p["functionResponse"]
                response = fr["response"]
                is_error = "error" in response
                value = response["error"] if is_error else response["return_value"]
                # No name=: the adapter must find it from the call in the history.
                messages.append(Message.tool(fr["id"], _result_text(value), is_error=is_error))
        else:
            messages.append(Message.user(_user_parts(parts)))
    tools = [
        ToolDefinition(d["name"], d.get("description", ""), _parameters(d))
        for t in body.get("tools") or ()
        for d in t["functionDeclarations"]
    ]
    gen = dict(body.get("generationConfig") or {})
    options: dict[str, Any] = {}
    for key, name in (("temperature", "temperature"), ("topP", "top_p"), ("seed", "seed")):
        if key in gen:
            options[name] = gen.pop(key)
    if "maxOutputTokens" in gen:
        options["max_tokens"] = gen.pop("maxOutputTokens")
    if "stopSequences" in gen:
        options["stop"] = tuple(gen.pop("stopSequences"))
    if "responseJsonSchema" in gen:
        assert gen.pop("responseMimeType") == "application/json"
        options["output"] = OutputSchema(gen.pop("responseJsonSchema"))
    extra = {_snake(k): v for k, v in gen.items()}  # responseModalities, topK, thinkingConfig
    mode = ((body.get("toolConfig") or {}).get("functionCallingConfig") or {}).get("mode")
    if mode is not None:
        allowed = body["toolConfig"]["functionCallingConfig"].get("allowedFunctionNames")
        if mode == "AUTO":
            options["tool_choice"] = "auto"
        elif mode == "NONE":
            options["tool_choice"] = "none"
        elif mode == "ANY" and allowed and len(allowed) == 1:
            options["tool_choice"] = allowed[0]
        elif mode == "ANY" and (not allowed or set(allowed) == {t.name for t in tools}):
            options["tool_choice"] = "required"
        else:  # VALIDATED, or a subset of tools: through extra, as a config field
            extra["tool_config"] = body["toolConfig"]
    return messages, tools, ModelSettings(**options, extra=extra)


# --------------------------------------------------------------------------- expected body


def _validates(model: str) -> bool:
    """Whether the model checks thought signatures: all but Gemini 1.x and 2.x."""
    return not model.startswith(("gemini-1.", "gemini-2."))


def _canon(value: Any, key: str = "") -> Any:
    """A body in one spelling: the SDK writes some nested keys in snake_case (``mime_type``,
    ``include_thoughts``) where the recorder's SDK version wrote camelCase, and bytes in
    URL-safe base64 where responses use the standard alphabet."""
    if isinstance(value, list):
        return [_canon(v, key) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for k, v in value.items():
        if key in ("inlineData", "fileData", "thinkingConfig"):
            k = _camel(k)
        if k == "thoughtSignature" or (key == "inlineData" and k == "data"):
            out[k] = _b64(v)
        elif k in ("args", "response", "parameters_json_schema", "responseJsonSchema"):
            out[k] = v  # user data: keys as given
        else:
            out[k] = _canon(v, k)
    return out


def expected_body(body: dict[str, Any], model: str) -> dict[str, Any]:
    """The recorded body with the differences we accept, each for a stated reason."""
    out = copy.deepcopy(body)
    system = out.get("systemInstruction")
    if system is not None:
        system.pop("role", None)  # the recorder gave the system instruction role "user"; we omit it
    for content in out["contents"]:
        parts = []
        first_call = True
        for part in content["parts"]:
            if "functionCall" in part:
                signature = part.get("thoughtSignature")
                if signature is not None and _b64(signature) in PLACEHOLDERS:
                    # Any documented placeholder will do; we send skip_thought_signature_validator.
                    part["thoughtSignature"] = base64.b64encode(SKIP_SIGNATURE).decode()
                elif signature is None and first_call and _validates(model):
                    # An unsigned first call gets the placeholder where signatures are checked.
                    part["thoughtSignature"] = base64.b64encode(SKIP_SIGNATURE).decode()
                first_call = False
            if "functionResponse" in part:
                response = part["functionResponse"]
                value = response["response"]
                # We send the key Gemini documents ("output"); the recorder used "return_value".
                if "return_value" in value:
                    response["response"] = {"output": _result_text(value["return_value"])}
            parts.append(part)
        content["parts"] = parts or [{"text": ""}]
    config = (out.get("toolConfig") or {}).get("functionCallingConfig") or {}
    allowed = config.get("allowedFunctionNames")
    names = {d["name"] for t in out.get("tools") or () for d in t["functionDeclarations"]}
    if config.get("mode") == "ANY" and allowed and len(allowed) > 1 and set(allowed) == names:
        del config["allowedFunctionNames"]  # "any of all tools" is what mode ANY means alone
    for tool in out.get("tools") or ():
        for decl in tool["functionDeclarations"]:
            if "parameters" in decl:
                # The recorder's older SDK sent the OpenAPI dialect; we send JSON Schema as is.
                decl["parameters_json_schema"] = _json_schema(decl.pop("parameters"))
    out.setdefault("generationConfig", {})
    canonical: dict[str, Any] = _canon(out)
    return canonical


# --------------------------------------------------------------------------- expected results


def _usage(raw: dict[str, Any] | None) -> Usage:
    if not raw:
        return Usage()

    def audio(details: Any) -> int:
        return sum(d.get("tokenCount", 0) for d in details or () if d.get("modality") == "AUDIO")

    thoughts = raw.get("thoughtsTokenCount", 0)
    return Usage(
        raw.get("promptTokenCount", 0) + raw.get("toolUsePromptTokenCount", 0),
        raw.get("candidatesTokenCount", 0) + thoughts,
        raw.get("cachedContentTokenCount", 0),
        thoughts,
        audio(raw.get("promptTokensDetails")),
        audio(raw.get("candidatesTokensDetails")),
    )


def _finish(raw: str | None, has_calls: bool) -> str:
    reason = FINISH.get(raw or "STOP", "stop")
    return "tool_calls" if reason == "stop" and has_calls else reason


def _split(parts: list[dict[str, Any]]) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    text = [p["text"] for p in parts if p.get("text") and not p.get("thought")]
    thoughts = [p["text"] for p in parts if p.get("text") and p.get("thought")]
    calls = [p["functionCall"] for p in parts if "functionCall" in p]
    return text, thoughts, calls


def _assert_calls(result: tuple[ToolCall, ...], recorded: list[dict[str, Any]]) -> None:
    assert [(c.name, c.args()) for c in result] == [
        (c["name"], c.get("args") or {}) for c in recorded
    ]
    for ours, theirs in zip(result, recorded, strict=True):
        assert ours.id == theirs["id"] if "id" in theirs else ours.id.startswith("call_")


def _assert_reasoning(message: Message, parts: list[dict[str, Any]]) -> None:
    """The reasoning parts and call signatures of ``message`` are those of the recorded parts."""
    want = model_turn(parts)
    assert [p for p in message.content if type(p) is ReasoningPart] == [
        p for p in want.content if type(p) is ReasoningPart
    ]
    assert [c.signature for c in message.tool_calls] == [c.signature for c in want.tool_calls]


def _assert_response_matches(result: ChatResponse, recorded: dict[str, Any]) -> None:
    candidate = recorded["candidates"][0]
    parts = (candidate.get("content") or {}).get("parts") or []
    text, thoughts, calls = _split(parts)
    assert result.text == "".join(text)
    assert result.reasoning == "".join(thoughts)
    _assert_reasoning(result.message, parts)
    _assert_calls(result.tool_calls, calls)
    assert result.usage == _usage(recorded.get("usageMetadata"))
    assert_usage_total(result.usage, recorded.get("usageMetadata"), "totalTokenCount")
    assert result.raw_finish_reason == candidate.get("finishReason")
    assert result.finish_reason == _finish(candidate.get("finishReason"), bool(calls))
    assert result.model == recorded.get("modelVersion")
    assert result.response_id == recorded.get("responseId")


def _sse_chunks(body: str) -> list[dict[str, Any]]:
    return [
        json.loads(line.removeprefix("data: "))
        for line in body.splitlines()
        if line.startswith("data: ")
    ]


def _assert_stream_matches(events: list[StreamEvent], body: str) -> None:
    chunks = _sse_chunks(body)
    text: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    finish: str | None = None
    usage: dict[str, Any] | None = None
    for chunk in chunks:
        usage = chunk.get("usageMetadata") or usage
        for candidate in chunk.get("candidates", [])[:1]:
            parts += (candidate.get("content") or {}).get("parts") or []
            t, th, c = _split((candidate.get("content") or {}).get("parts") or [])
            text += t
            thoughts += th
            calls += c
            finish = candidate.get("finishReason") or finish
    # One delta per recorded part: nothing is buffered or merged.
    assert [e.text for e in events if type(e) is TextDelta] == text
    assert [e.text for e in events if type(e) is ReasoningDelta and e.text] == thoughts
    deltas = [e for e in events if type(e) is ToolCallDelta]
    assert [d.index for d in deltas] == list(range(len(calls)))
    assert all(d.id and d.name for d in deltas)  # each call arrives whole
    usages = [e for e in events if type(e) is UsageEvent]
    assert usages == ([UsageEvent(_usage(usage))] if usage else [])
    finishes = [e for e in events if type(e) is FinishEvent]
    assert len(finishes) == 1 and events[-1] is finishes[0]
    builder = ResponseBuilder()
    for event in events:
        builder.add(event)
    built = builder.build()
    assert (built.text, built.reasoning) == ("".join(text), "".join(thoughts))
    _assert_reasoning(built.message, parts)
    _assert_calls(built.tool_calls, calls)
    assert built.usage == _usage(usage)
    assert_usage_total(built.usage, usage, "totalTokenCount")
    assert built.raw_finish_reason == finish
    assert built.finish_reason == _finish(finish, bool(calls))
    assert built.model == chunks[0].get("modelVersion")
    assert built.response_id == chunks[0].get("responseId")


# --------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _no_google_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No developer key, Vertex switch or endpoint override reaches these tests."""
    for name in (
        "GOOGLE_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_CLOUD_LOCATION",
        "GOOGLE_GENAI_API_VERSION",
        "GOOGLE_GEMINI_BASE_URL",
        "GOOGLE_GENAI_HTTP_CLIENT",
    ):
        monkeypatch.delenv(name, raising=False)


def _model(server: ReplayServer, name: str = "gemini-2.5-flash", **options: Any) -> GeminiChatModel:
    return GeminiChatModel(name, api_key=PLANTED, base_url=server.url, **options)


async def _collect(model: GeminiChatModel, *args: Any, **kwargs: Any) -> list[StreamEvent]:
    return [event async for event in model.stream(*args, **kwargs)]


async def _run(
    model: GeminiChatModel, streaming: bool, *args: Any, **kwargs: Any
) -> ChatResponse | list[StreamEvent]:
    if streaming:
        return await _collect(model, *args, **kwargs)
    return await model.generate(*args, **kwargs)


def _built(result: ChatResponse | list[StreamEvent]) -> ChatResponse:
    if isinstance(result, ChatResponse):
        return result
    builder = ResponseBuilder()
    for event in result:
        builder.add(event)
    return builder.build()


def _assert_no_key(err: BaseException) -> None:
    for text in (str(err), repr(err), getattr(err, "message", "")):
        assert PLANTED not in text
    if err.__cause__ is not None:
        assert PLANTED not in str(err.__cause__)


def _model_name(case: Case) -> str:
    return case.interaction.request.path.rsplit("/", 1)[-1].split(":", 1)[0]


# --------------------------------------------------------------------------- replay


@pytest.mark.parametrize("slot", CASES, ids=[c.id for c in CASES])
async def test_replay_cassette(slot: Case | Unreplayable, server: ReplayServer) -> None:
    case = replayable(slot)
    request, response = case.interaction.request, case.interaction.response
    body = without_nulls(request.body, "generationConfig", "toolConfig")
    # A fresh model for every case: signatures travel in the messages, never in the adapter.
    with expressible(case.id):
        messages, tools, settings = rebuild(body)
    server.replay(case.interaction)
    result: ChatResponse | list[StreamEvent] | None = None
    error: BelugaError | None = None
    async with _model(server, _model_name(case)) as model:
        try:
            result = await _run(model, case.streaming, messages, tools=tools, settings=settings)
        except BelugaError as exc:
            error = exc

    # What we sent has the recorded shape.
    assert len(server.requests) == 1 and not server.unexpected
    sent = server.requests[-1]
    assert (sent.method, sent.path) == (
        "POST",
        urlsplit(request.uri).path + ("?alt=sse" if case.streaming else ""),
    )
    assert sent.headers["x-goog-api-key"] == PLANTED
    assert "key=" not in sent.path
    assert _canon(sent.json()) == expected_body(body, _model_name(case))

    if response.status >= 400:
        assert_recorded_error(error, response, STATUS_CODES, case.id, [PLANTED])
        return
    assert error is None, f"unexpected {error!r}"
    if case.streaming:
        assert isinstance(result, list)
        _assert_stream_matches(result, response.body or "")
    else:
        assert isinstance(result, ChatResponse)
        _assert_response_matches(result, response.parsed_body)


def _with_reasoning_history(case: Case) -> bool:
    if case.skip_reason is not None:
        return False
    messages, _, _ = rebuild(case.interaction.request.body)
    return any(m.role == "assistant" and has_reasoning(m) for m in messages)


HISTORY_CASES = safe_select(CASES, _with_reasoning_history)


def _sent_back(message: Message) -> tuple[Any, ...]:
    """Reasoning parts and calls with their signatures; call ids aside (Gemini's answers often
    have none, and the recorder named the calls itself)."""
    reasoning, calls = reasoning_of(message)
    return reasoning, tuple(c[1:] for c in calls)


async def _our_reply(interaction: Interaction) -> Message:
    """The assistant message our parser makes of a recorded answer (whole or streamed)."""
    response = interaction.response
    if response.is_json:
        data = gt.GenerateContentResponse._from_response(response=response.parsed_body, kwargs={})
        return parse_response(data, "test", "replay", GEMINI).message
    chunks = [
        gt.GenerateContentResponse._from_response(response=c, kwargs={})
        for c in _sse_chunks(str(response.body))
    ]
    events = stream_events(aiter_of(chunks), "test", "replay", GEMINI)
    return build([e async for e in events]).message


@pytest.mark.parametrize("case", HISTORY_CASES, ids=[c.id for c in HISTORY_CASES])
async def test_reasoning_sent_back_is_what_we_parsed(case: Case) -> None:
    """Each earlier model turn holding thoughts or signatures in a recorded history is what our
    parser made of the answer that produced it (found among the cassette's earlier answers;
    turns another provider made, recorded in the same test, are not Gemini's)."""
    earlier = [
        i
        for i in case.cassette.interactions[: case.interaction.index]
        if _is_model_call(i.request.path) and i.response.status < 400
    ]
    replies = [_sent_back(await _our_reply(i)) for i in earlier]
    messages, _, _ = rebuild(case.interaction.request.body)
    turns = [_sent_back(m) for m in messages if m.role == "assistant" and has_reasoning(m)]
    assert turns and all(t in replies for t in turns)


def test_reasoning_round_trips_are_replayed() -> None:
    if not is_reference_set():
        pytest.skip(
            "how many recordings replay a reasoning history is known for the shared set only"
        )
    assert len(HISTORY_CASES) >= 5  # thought + text signature, signed calls (stream too)


def test_every_cassette_is_accounted_for() -> None:
    """Each interaction is either replayed or skipped with a reason (listed by pytest -ra), and
    at least one is replayed: a set where every recording is skipped proves nothing."""
    assert_accounted_for(CASES, WHAT)


NULLS = dict.fromkeys(["tools", "cachedContent", "labels", "modelArmorConfig"])


async def test_options_recorded_as_null_are_not_features_in_use(server: ReplayServer) -> None:
    """A recording whose SDK wrote unset options out as ``null`` replays like one without them:
    skip rules test values, not the presence of keys, and no null is expected on the wire."""
    case = first_replayable(
        CASES, lambda c: c.interaction.response.status == 200 and not c.streaming
    )
    body = {**case.interaction.request.body, **NULLS}
    body["toolConfig"] = {"functionCallingConfig": None, "retrievalConfig": None}
    generation = dict(body.get("generationConfig") or {})
    body["generationConfig"] = {
        **dict.fromkeys(["candidateCount", "responseLogprobs", "responseSchema", "topK"]),
        **generation,
    }
    nulled = Case(case.cassette, with_request_body(case.interaction, body))
    assert nulled.skip_reason is None
    await test_replay_cassette(nulled, server)


# --------------------------------------------------------------------------- hand-made payloads


def _response(
    parts: list[dict[str, Any]] | None = None,
    finish: str | None = "STOP",
    usage: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    candidate: dict[str, Any] = {
        "content": {"parts": [{"text": "Paris."}] if parts is None else parts, "role": "model"},
        "index": 0,
    }
    if finish is not None:
        candidate["finishReason"] = finish
    body: dict[str, Any] = {
        "candidates": [candidate],
        "usageMetadata": usage or {"promptTokenCount": 14, "candidatesTokenCount": 7},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "resp-1",
    }
    body.update(overrides)
    return body


def _call(name: str, args: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"functionCall": {"name": name, "args": args or {}}, **extra}


async def test_request_maps_every_setting_and_part(server: ReplayServer) -> None:
    server.enqueue(Reply.json(_response()))
    png = b"\x89PNG\r\n\x1a\nfake"
    messages = [
        Message.system("Be brief."),
        Message.user(
            [
                TextPart("Look:"),
                ImagePart(data=png, media_type="image/png"),
                ImagePart(base64="aGk=", media_type="image/jpeg"),
                ImagePart(url="https://example.com/a.jpg"),
                AudioPart(url="data:audio/wav;base64,UklGRg=="),
                VideoPart(url="https://youtu.be/lCdaVNyHtjU"),
                FilePart(url="gs://bucket/doc.pdf", media_type="application/pdf"),
                FilePart(data=b"%PDF-1.4", media_type="application/pdf"),
            ],
            name="ann",  # Gemini has no participant names: dropped
        ),
        Message.system("Answer in French."),  # hoisted into system_instruction
        Message.assistant(
            "Checking.",
            tool_calls=[ToolCall("call_1", "lookup", '{"q":"x"}'), ToolCall("call_2", "lookup")],
        ),
        Message.tool("call_1", "found", name="lookup"),
        Message.tool("call_2", "boom", is_error=True),  # name from the call in the history
        Message.assistant(),  # an empty turn is one empty text part
        Message.user("Again?"),
    ]
    tools = [ToolDefinition("lookup", "Look up.", {"type": "object", "properties": {}})]
    settings = ModelSettings(
        temperature=0.2,
        max_tokens=50,
        top_p=0.9,
        stop=("END",),
        seed=7,
        tool_choice="lookup",
        parallel_tool_calls=False,  # no Gemini equivalent
        output=OutputSchema({"type": "object"}, "answer"),
        extra={"top_k": 5, "thinkingConfig": {"thinking_budget": 0}, "customField": {"a": 1}},
    )
    async with _model(server) as model:
        await model.generate(messages, tools=tools, settings=settings)
    sent = server.requests[0]
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent.headers["x-goog-api-key"] == PLANTED
    assert _canon(sent.json()) == _canon(
        {
            "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Answer in French."}]},
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"text": "Look:"},
                        {
                            "inlineData": {
                                "data": base64.b64encode(png).decode(),
                                "mimeType": "image/png",
                            }
                        },
                        {"inlineData": {"data": "aGk=", "mimeType": "image/jpeg"}},
                        {
                            "fileData": {
                                "fileUri": "https://example.com/a.jpg",
                                "mimeType": "image/jpeg",
                            }
                        },
                        {"inlineData": {"data": "UklGRg==", "mimeType": "audio/wav"}},
                        {"fileData": {"fileUri": "https://youtu.be/lCdaVNyHtjU"}},
                        {
                            "fileData": {
                                "fileUri": "gs://bucket/doc.pdf",
                                "mimeType": "application/pdf",
                            }
                        },
                        {
                            "inlineData": {
                                "data": base64.b64encode(b"%PDF-1.4").decode(),
                                "mimeType": "application/pdf",
                            }
                        },
                    ],
                },
                {
                    "role": "model",
                    "parts": [
                        {"text": "Checking."},
                        # Unsigned calls, and Gemini 2.x checks no signature: none is added.
                        {"functionCall": {"id": "call_1", "name": "lookup", "args": {"q": "x"}}},
                        {"functionCall": {"id": "call_2", "name": "lookup", "args": {}}},
                    ],
                },
                {
                    "role": "user",
                    "parts": [
                        {
                            "functionResponse": {
                                "id": "call_1",
                                "name": "lookup",
                                "response": {"output": "found"},
                            }
                        },
                        {
                            "functionResponse": {
                                "id": "call_2",
                                "name": "lookup",
                                "response": {"error": "boom"},
                            }
                        },
                    ],
                },
                {"role": "model", "parts": [{"text": ""}]},
                {"role": "user", "parts": [{"text": "Again?"}]},
            ],
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "lookup",
                            "description": "Look up.",
                            "parameters_json_schema": {"type": "object", "properties": {}},
                        }
                    ]
                }
            ],
            "toolConfig": {
                "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["lookup"]}
            },
            "generationConfig": {
                "temperature": 0.2,
                "topP": 0.9,
                "topK": 5.0,
                "maxOutputTokens": 50,
                "stopSequences": ["END"],
                "seed": 7,
                "responseMimeType": "application/json",
                "responseJsonSchema": {"type": "object"},
                "thinkingConfig": {"thinkingBudget": 0},
            },
            "customField": {"a": 1},  # not a config field: merged into the body as is
        }
    )


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        ("b", {"mode": "ANY", "allowedFunctionNames": ["b"]}),
    ],
)
async def test_tool_choice(server: ReplayServer, choice: str, expected: dict[str, Any]) -> None:
    server.enqueue(Reply.json(_response()))
    async with _model(server) as model:
        await model.generate(
            "hi",
            tools=[ToolDefinition("a"), ToolDefinition("b")],
            settings=ModelSettings(tool_choice=choice),
        )
    assert server.requests[0].json()["toolConfig"] == {"functionCallingConfig": expected}


async def test_no_tool_config_without_tools_or_choice(server: ReplayServer) -> None:
    server.enqueue(Reply.json(_response()), Reply.json(_response()))
    async with _model(server) as model:
        await model.generate("hi", settings=ModelSettings(tool_choice="required"))
        await model.generate("hi", tools=[ToolDefinition("a")])
    assert "toolConfig" not in server.requests[0].json()
    assert "tools" not in server.requests[0].json()
    assert "toolConfig" not in server.requests[1].json()


@pytest.mark.parametrize(
    ("messages", "settings", "match"),
    [
        ([Message.user("hi")], ModelSettings(tool_choice="nope"), "names no tool"),
        ([Message.user("hi"), Message.tool("call_x", "r")], None, "name="),
        (
            [Message.system([ImagePart(url="https://example.com/a.png")]), Message.user("hi")],
            None,
            "system message can carry text only",
        ),
        (
            [
                Message.assistant(tool_calls=[ToolCall("c", "a")]),
                Message.tool("c", [ImagePart(url="https://example.com/a.png")]),
            ],
            None,
            "tool result can carry text only",
        ),
        ([Message.assistant(tool_calls=[ToolCall("c", "a", "{oops")])], None, "not valid JSON"),
        ([Message.user("hi")], ModelSettings(extra={"temperature": "hot"}), "SDK rejected"),
    ],
    ids=[
        "unknown-tool-choice",
        "tool-result-without-name",
        "system-media",
        "tool-media",
        "bad-args",
        "bad-extra",
    ],
)
async def test_invalid_requests_fail_before_sending(
    server: ReplayServer, messages: list[Message], settings: ModelSettings | None, match: str
) -> None:
    async with _model(server) as model:
        with pytest.raises(BelugaError, match=match) as info:
            await model.generate(messages, tools=[ToolDefinition("a")], settings=settings)
    assert (info.value.code, info.value.retryable) == (ErrorCode.INVALID_REQUEST, False)
    assert not server.requests


async def test_response_parts_usage_and_ids(server: ReplayServer) -> None:
    usage = {
        "promptTokenCount": 100,
        "candidatesTokenCount": 20,
        "thoughtsTokenCount": 30,
        "cachedContentTokenCount": 40,
        "toolUsePromptTokenCount": 5,
        "promptTokensDetails": [
            {"modality": "TEXT", "tokenCount": 90},
            {"modality": "AUDIO", "tokenCount": 10},
        ],
        "candidatesTokensDetails": [{"modality": "AUDIO", "tokenCount": 3}],
    }
    parts: list[dict[str, Any]] = [
        {"text": "Let me think.", "thought": True},
        {"text": "The answer: "},
        {"text": "42", "thoughtSignature": "c2ln"},
        _call("lookup", {"q": "ü"}, thoughtSignature="c2lnLWE="),
        {"functionCall": {"id": "fc-7", "name": "other", "args": {}}},
    ]
    server.enqueue(Reply.json(_response(parts, usage=usage)))
    async with _model(server) as model:
        result = await model.generate(
            "hi", tools=[ToolDefinition("lookup"), ToolDefinition("other")]
        )
    assert (result.text, result.reasoning) == ("The answer: 42", "Let me think.")
    # The text part's signature follows the text before it, so it stands alone.
    assert result.message.content == (
        ReasoningPart("Let me think.", provider=GEMINI),
        ReasoningPart(signature="c2ln", provider=GEMINI),
        TextPart("The answer: 42"),
    )
    assert [c.signature for c in result.tool_calls] == ["c2lnLWE=", None]
    first, second = result.tool_calls
    assert first.id.startswith("call_") and (first.name, first.args()) == ("lookup", {"q": "ü"})
    assert (second.id, second.name, second.arguments) == ("fc-7", "other", "{}")
    assert result.usage == Usage(105, 50, 40, 30, 10, 3)
    assert (result.finish_reason, result.raw_finish_reason) == ("tool_calls", "STOP")
    assert (result.model, result.response_id) == ("gemini-2.5-flash", "resp-1")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "error"),
        ("LANGUAGE", "stop"),
        ("OTHER", "stop"),
    ],
)
@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_finish_reasons(
    server: ReplayServer, raw: str, expected: str, streaming: bool
) -> None:
    if streaming:
        server.enqueue(Reply.sse([_response(finish=raw)], done=False))
    else:
        server.enqueue(Reply.json(_response(finish=raw)))
    async with _model(server) as model:
        built = _built(await _run(model, streaming, "hi"))
    assert (built.finish_reason, built.raw_finish_reason) == (expected, raw)


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_blocked_prompt_is_content_filtered(server: ReplayServer, streaming: bool) -> None:
    blocked = {
        "promptFeedback": {"blockReason": "PROHIBITED_CONTENT", "blockReasonMessage": "Nope."},
        "usageMetadata": {"promptTokenCount": 9},
        "modelVersion": "gemini-2.5-flash",
    }
    server.enqueue(Reply.sse([blocked], done=False) if streaming else Reply.json(blocked))
    async with _model(server) as model:
        with pytest.raises(BelugaError, match=r"PROHIBITED_CONTENT: Nope\.") as info:
            await _run(model, streaming, "hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.CONTENT_FILTERED, False)


async def test_answer_without_candidates(server: ReplayServer) -> None:
    server.enqueue(Reply.json({"something": "else"}))
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="without any candidate") as info:
            await model.generate("hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, False)


async def test_stream_events(server: ReplayServer) -> None:
    def usage(out: int) -> dict[str, Any]:
        return {"promptTokenCount": 12, "candidatesTokenCount": out, "thoughtsTokenCount": 4}

    server.enqueue(
        Reply.sse(
            [
                _response([{"text": "Plan", "thought": True}], finish=None, usage=usage(0)),
                _response([{"text": "Call"}, {"text": "ing"}], finish=None, usage=usage(2)),
                _response(
                    [_call("a", {"x": 1}, thoughtSignature="c2ln"), _call("b")],
                    finish=None,
                    usage=usage(9),
                ),
                _response(
                    [{"text": "", "thoughtSignature": "c2ln"}], finish="STOP", usage=usage(11)
                ),
            ],
            done=False,
        )
    )
    async with _model(server) as model:
        events = await _collect(model, "hi", tools=[ToolDefinition("a"), ToolDefinition("b")])
    calls = [e for e in events if type(e) is ToolCallDelta]
    assert [(c.index, c.name, c.arguments) for c in calls] == [(0, "a", '{"x": 1}'), (1, "b", "{}")]
    assert all(c.id and c.id.startswith("call_") for c in calls)
    assert [c.signature for c in calls] == ["c2ln", None]
    others = [e for e in events if type(e) is not ToolCallDelta]
    assert others == [
        ReasoningDelta("Plan", provider=GEMINI),
        TextDelta("Call"),
        TextDelta("ing"),
        ReasoningDelta("", "c2ln", provider=GEMINI),
        UsageEvent(Usage(12, 15, 0, 4)),  # the last cumulative usage, once
        FinishEvent("tool_calls", "STOP", "gemini-2.5-flash", "resp-1"),
    ]


async def test_stream_that_ends_without_finishing(server: ReplayServer) -> None:
    server.enqueue(Reply.sse([_response(finish=None)], done=False))
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="ended before") as info:
            await _collect(model, "hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_thought_signatures_round_trip(server: ReplayServer, streaming: bool) -> None:
    """Signatures live in the messages: a history sent from a fresh model (another process, say)
    carries them back where Gemini put them; no state is kept in the adapter."""
    signed = _response(
        [{"text": "Plan.", "thought": True}, _call("a", thoughtSignature="c2lnLWE="), _call("b")]
    )
    texted = _response(
        [{"text": "Think.", "thought": True}, {"text": "Done.", "thoughtSignature": "c2lnLXQ="}]
    )
    for body in (signed, texted):
        server.enqueue(Reply.sse([body], done=False) if streaming else Reply.json(body))
    server.enqueue(Reply.json(_response()))
    tools = [ToolDefinition(n) for n in "abc"]
    async with _model(server, "gemini-3-pro-preview") as model:
        one = _built(await _run(model, streaming, "hi", tools=tools))
        two = _built(await _run(model, streaming, "go on", tools=tools))
    assert [c.signature for c in one.tool_calls] == ["c2lnLWE=", None]
    assert two.message.content == (
        ReasoningPart("Think.", signature="c2lnLXQ=", provider=GEMINI),
        TextPart("Done."),
    )
    history = [
        Message.user("hi"),
        one.message,
        *(Message.tool(c.id, "ok") for c in one.tool_calls),
        two.message,
        Message.user("and?"),
        Message.assistant(
            [ReasoningPart("Other.", signature="x", provider="anthropic")],
            tool_calls=[ToolCall("call_elsewhere", "a")],  # another provider's call
        ),
        Message.tool("call_elsewhere", "ok"),
    ]
    async with _model(server, "gemini-3-pro-preview") as fresh:
        await fresh.generate(history, tools=tools)
    turns = [c["parts"] for c in server.requests[2].json()["contents"] if c["role"] == "model"]
    shapes = [
        [({k for k in p if k != "thoughtSignature"}, p.get("thoughtSignature")) for p in turn]
        for turn in turns
    ]
    assert [[(keys, _b64(s) if s else None) for keys, s in turn] for turn in shapes] == [
        # The thought, then Gemini's signature on the call it signed only.
        [({"text", "thought"}, None), ({"functionCall"}, b"sig-a"), ({"functionCall"}, None)],
        # The thought, then the signature on the text part it came on.
        [({"text", "thought"}, None), ({"text"}, b"sig-t")],
        # Another provider's reasoning is dropped; its call gets the documented placeholder.
        [({"functionCall"}, SKIP_SIGNATURE)],
    ]


async def test_a_signature_that_is_not_base64_is_refused(server: ReplayServer) -> None:
    history = [
        Message.user("hi"),
        Message.assistant(tool_calls=[ToolCall("call_1", "a", signature="not base64!")]),
        Message.tool("call_1", "ok"),
    ]
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="not base64") as info:
            await model.generate(history, tools=[ToolDefinition("a")])
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert server.requests == []


async def test_no_placeholder_for_models_that_ignore_signatures(server: ReplayServer) -> None:
    server.enqueue(Reply.json(_response()), Reply.json(_response()))
    history = [
        Message.user("hi"),
        Message.assistant(tool_calls=[ToolCall("call_1", "a")]),
        Message.tool("call_1", "ok"),
    ]
    for name in ("gemini-2.5-flash", "gemini-3-flash-preview"):
        async with _model(server, name) as model:
            await model.generate(history, tools=[ToolDefinition("a")])
    sent = [r.json()["contents"][1]["parts"][0].get("thoughtSignature") for r in server.requests]
    assert [_b64(s) if s else None for s in sent] == [None, SKIP_SIGNATURE]


async def test_stream_closed_early_releases_the_connection(server: ReplayServer) -> None:
    server.enqueue(
        Reply.sse(
            [_response([{"text": str(i)}], finish=None) for i in range(50)] + [_response()],
            done=False,
        ),
        Reply.json(_response()),
    )
    async with _model(server) as model:
        async for event in model.stream("hi"):
            assert event == TextDelta("0")
            break
        result = await model.generate("again")
    assert result.text == "Paris."


# --------------------------------------------------------------------------- errors


def _google_error(code: int, status: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = list(details)
    return {"error": error}


def _retry_info(delay: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}


@pytest.mark.parametrize(
    ("status", "body", "headers", "code", "retryable", "retry_after"),
    [
        (
            400,
            _google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload."),
            {},
            ErrorCode.INVALID_REQUEST,
            False,
            None,
        ),
        (
            400,
            _google_error(
                400,
                "INVALID_ARGUMENT",
                f"API key not valid: {PLANTED}. Please pass a valid API key.",
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"},
            ),
            {},
            ErrorCode.AUTH_FAILED,
            False,
            None,
        ),
        (
            401,
            _google_error(401, "UNAUTHENTICATED", "Missing credentials."),
            {},
            ErrorCode.AUTH_FAILED,
            False,
            None,
        ),
        (
            403,
            _google_error(403, "PERMISSION_DENIED", "No access."),
            {},
            ErrorCode.AUTH_FAILED,
            False,
            None,
        ),
        (
            404,
            _google_error(404, "NOT_FOUND", "models/x is not found."),
            {},
            ErrorCode.NOT_FOUND,
            False,
            None,
        ),
        (
            429,
            _google_error(
                429,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota. Please retry in 43.2s.",
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                _retry_info("43s"),
            ),
            {},
            ErrorCode.RATE_LIMITED,
            True,
            43.0,
        ),
        (
            429,
            _google_error(429, "RESOURCE_EXHAUSTED", "Slow down.", _retry_info("0.5s")),
            {"retry-after": "9"},
            ErrorCode.RATE_LIMITED,
            True,
            0.5,  # the structured RetryInfo wins over the header
        ),
        (
            429,
            _google_error(429, "RESOURCE_EXHAUSTED", "Slow down."),
            {"retry-after": "7"},
            ErrorCode.RATE_LIMITED,
            True,
            7.0,
        ),
        (
            500,
            _google_error(500, "INTERNAL", "Internal error."),
            {},
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
            None,
        ),
        (
            503,
            _google_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
            {},
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
            None,
        ),
    ],
    ids=[
        "400",
        "400-bad-key",
        "401",
        "403",
        "404",
        "429-retry-info",
        "429-both",
        "429-header",
        "500",
        "503",
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
            await _run(model, streaming, "hi")
    err = info.value
    assert (err.code, err.retryable, err.retry_after) == (code, retryable, retry_after)
    assert f"HTTP {status}" in err.message
    assert body["error"]["message"].split(PLANTED)[0][:20] in err.message  # the server's words
    _assert_no_key(err)
    assert len(server.requests) == 1  # the SDK's own retries are off


async def test_key_is_redacted_even_when_the_server_echoes_it(server: ReplayServer) -> None:
    url = f"https://generativelanguage.googleapis.com/v1beta/models/m:generateContent?key={PLANTED}"
    server.enqueue(Reply.text(f"upstream failed for {url}", status=502))
    async with _model(server) as model:
        with pytest.raises(BelugaError) as info:
            await model.generate("hi")
        assert PLANTED not in repr(model)
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    _assert_no_key(info.value)


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_malformed_json(server: ReplayServer, streaming: bool) -> None:
    if streaming:
        server.enqueue(Reply.sse(["data: {not json\n\n"], done=False))
    else:
        server.enqueue(Reply.text("{not json", content_type="application/json"))
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="not valid JSON") as info:
            await _run(model, streaming, "hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)


@pytest.mark.parametrize(
    ("error", "code", "retryable", "retry_after"),
    [
        (
            _google_error(503, "UNAVAILABLE", "The model is overloaded."),
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
            None,
        ),
        (
            _google_error(429, "RESOURCE_EXHAUSTED", "Quota.", _retry_info("2s")),
            ErrorCode.RATE_LIMITED,
            True,
            2.0,
        ),
        (
            _google_error(400, "INVALID_ARGUMENT", f"bad key {PLANTED}"),
            ErrorCode.INVALID_REQUEST,
            False,
            None,
        ),
        ({"error": {"message": "Something broke."}}, ErrorCode.PROVIDER_UNAVAILABLE, True, None),
    ],
    ids=["503", "429", "400", "no-code"],
)
async def test_error_event_inside_a_stream(
    server: ReplayServer,
    error: dict[str, Any],
    code: ErrorCode,
    retryable: bool,
    retry_after: float | None,
) -> None:
    server.enqueue(Reply.sse([_response([{"text": "Hel"}], finish=None), error], done=False))
    server.enqueue(Reply.sse([error], done=False))  # the error as the very first event
    events: list[StreamEvent] = []
    async with _model(server) as model:
        with pytest.raises(BelugaError) as info:
            async for event in model.stream("hi"):
                events.append(event)
        with pytest.raises(BelugaError) as first:
            await _collect(model, "hi")
    assert events == [TextDelta("Hel")]
    for err in (info.value, first.value):
        assert (err.code, err.retryable, err.retry_after) == (code, retryable, retry_after)
        _assert_no_key(err)
    assert len(server.requests) == 2  # no automatic continuation or retry


async def test_stream_cut_midway(server: ReplayServer) -> None:
    first = f"data: {json.dumps(_response([{'text': 'Hel'}], finish=None))}\n\n".encode()
    reply = Reply.sse(
        [
            _response([{"text": "Hel"}], finish=None),
            _response([{"text": "lo"}], finish=None),
            _response(),
        ],
        done=False,
    )
    reply.cut_after = len(f"{len(first):x}\r\n".encode() + first + b"\r\n") + 20
    server.enqueue(reply)
    events: list[StreamEvent] = []
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="cut") as info:
            async for event in model.stream("hi"):
                events.append(event)
    assert events == [TextDelta("Hel")]
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)
    assert len(server.requests) == 1  # the SDK did not resume the stream on its own


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_connection_refused(streaming: bool) -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    async with GeminiChatModel("gemini-2.5-flash", api_key=PLANTED, base_url=url) as model:
        with pytest.raises(BelugaError, match="could not reach") as info:
            await _run(model, streaming, "hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)
    _assert_no_key(info.value)


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_timeout(server: ReplayServer, streaming: bool) -> None:
    reply = Reply.json(_response())
    reply.delay = 5
    server.enqueue(reply)
    async with _model(server, timeout=0.2) as model:
        with pytest.raises(BelugaError) as info:
            await _run(model, streaming, "hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.TIMEOUT, True)


# --------------------------------------------------------------------------- construction


def test_missing_key_is_a_config_error() -> None:
    with pytest.raises(BelugaError, match="GEMINI_API_KEY") as info:
        GeminiChatModel("gemini-2.5-flash")
    assert info.value.code is ErrorCode.INVALID_CONFIG


@pytest.mark.parametrize(
    ("env", "sent"),
    [
        ({"GEMINI_API_KEY": PLANTED}, PLANTED),
        ({"GOOGLE_API_KEY": PLANTED}, PLANTED),
        (
            {"GOOGLE_API_KEY": PLANTED, "GEMINI_API_KEY": "AIzaOTHER0123456789abcdefghijklmnopqrs"},
            PLANTED,
        ),
    ],
    ids=["gemini", "google", "both-google-wins"],
)
async def test_key_comes_from_the_environment(
    server: ReplayServer, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], sent: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    server.enqueue(Reply.json(_response()))
    model = create("gemini:gemini-2.5-pro", base_url=server.url)
    assert isinstance(model, GeminiChatModel)
    async with model:
        await model.generate("hi")
    request = server.requests[0]
    assert request.headers["x-goog-api-key"] == sent
    assert request.path == "/v1beta/models/gemini-2.5-pro:generateContent"
    assert PLANTED not in repr(model) and server.url in repr(model)


async def test_injected_client_is_used_and_left_open(server: ReplayServer) -> None:
    import httpx
    from google import genai

    http = httpx.AsyncClient()
    client = genai.Client(
        api_key=PLANTED,
        http_options=genai.types.HttpOptions(
            base_url=server.url, api_version="v1beta", httpx_async_client=http
        ),
    )
    server.enqueue(Reply.json(_response()), Reply.json(_response([{"text": "Again."}])))
    async with GeminiChatModel("gemini-2.5-flash", client=client) as model:
        assert (await model.generate("hi")).text == "Paris."
        assert server.url in repr(model)
    again = await client.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert again.text == "Again."
    await http.aclose()
    client.close()


def test_import_does_not_load_the_sdk() -> None:
    code = (
        "import sys, beluga.llms.providers.gemini;"
        "print('google.genai' in sys.modules, 'httpx2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------- tracing


async def test_generate_records_one_genai_span(server: ReplayServer, telemetry: Telemetry) -> None:
    usage = {
        "promptTokenCount": 14,
        "candidatesTokenCount": 7,
        "thoughtsTokenCount": 3,
        "cachedContentTokenCount": 4,
    }
    server.enqueue(Reply.json(_response(usage=usage, modelVersion="gemini-2.5-flash-001")))
    async with _model(server) as model:
        await model.generate(
            "What is the capital of France?", settings=ModelSettings(temperature=0.1)
        )
    chat = [s for s in telemetry.finished_spans() if s.name.startswith("chat ")]
    assert [s.name for s in chat] == ["chat gemini-2.5-flash"]
    attrs = dict(chat[0].attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "gcp.gemini"
    assert attrs["gen_ai.request.model"] == "gemini-2.5-flash"
    assert attrs["gen_ai.request.temperature"] == 0.1
    assert attrs["gen_ai.response.model"] == "gemini-2.5-flash-001"
    assert attrs["gen_ai.response.id"] == "resp-1"
    assert list(attrs["gen_ai.response.finish_reasons"]) == ["stop"]  # type: ignore[arg-type]
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (14, 10)
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 4
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 3
    assert PLANTED not in repr(attrs)


async def test_failed_stream_span_carries_the_error_type(
    server: ReplayServer, telemetry: Telemetry
) -> None:
    body = _google_error(403, "PERMISSION_DENIED", f"key {PLANTED} has no access")
    server.enqueue(Reply.json(body, status=403))
    async with _model(server) as model:
        with pytest.raises(BelugaError):
            await _collect(model, "hi")
    (span,) = [s for s in telemetry.finished_spans() if s.name == "chat gemini-2.5-flash"]
    assert (span.attributes or {})["error.type"] == "auth_failed"
    assert (span.attributes or {})["gen_ai.provider.name"] == "gcp.gemini"
    texts = [repr(dict(span.attributes or {})), str(span.status.description)]
    texts += [repr(dict(e.attributes or {})) for e in span.events]
    assert all(PLANTED not in t for t in texts)
