"""The pieces every wire module shares (``_wire``), and each wire reading a reported total.

A server that counts thinking only in its total (Gemini's OpenAI-compatible endpoint and proxies
in front of Gemini report ``completion_tokens`` without it) must not be under-counted: usage,
cost and metrics all read :class:`Usage`.
"""

from __future__ import annotations

from typing import Any

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms import ModelSettings
from beluga.llms.providers._bedrock_wire import parse_response as bedrock_response
from beluga.llms.providers._openai_wire import parse_completion, stream_events
from beluga.llms.providers._responses_reply import parse_response as responses_response
from beluga.llms.providers._responses_reply import stream_events as responses_stream
from beluga.llms.providers._wire import sampling, tool_choice, with_total
from beluga.schema import ToolDefinition, Usage, UsageEvent
from tests.support.reasoning import aiter_of

TOOLS = [ToolDefinition("lookup", "", {"type": "object", "properties": {}})]
MODES = {"auto": lambda: {"type": "auto"}, "none": lambda: {"type": "none"}}


# --------------------------------------------------------------------------- settings


def test_sampling_puts_set_options_under_the_providers_names() -> None:
    settings = ModelSettings(temperature=0.0, max_tokens=5, stop=("END", "STOP"), seed=None)
    names = {"temperature": "temp", "max_tokens": "limit", "stop": "stops", "seed": "seed"}
    # 0.0 is a value, not "unset"; stop goes out as a list; an unset seed is left out.
    assert sampling(settings, names) == {"temp": 0.0, "limit": 5, "stops": ["END", "STOP"]}


def test_sampling_leaves_out_fields_the_api_has_no_name_for() -> None:
    assert sampling(ModelSettings(seed=7, top_p=0.5), {"top_p": "topP"}) == {"topP": 0.5}


def test_tool_choice_modes_are_fresh_values() -> None:
    first = tool_choice("auto", TOOLS, "op", MODES, lambda n: n)
    first["changed"] = True
    assert tool_choice("auto", TOOLS, "op", MODES, lambda n: n) == {"type": "auto"}


def test_tool_choice_names_a_tool_of_the_call() -> None:
    assert tool_choice("lookup", TOOLS, "op", MODES, lambda n: {"name": n}) == {"name": "lookup"}
    with pytest.raises(BelugaError) as info:
        tool_choice("lokup", TOOLS, "chat test", MODES, lambda n: n)
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert "'lokup'" in info.value.message and "lookup" in info.value.message


# --------------------------------------------------------------------------- totals


@pytest.mark.parametrize(
    ("usage", "total", "expected"),
    [
        (Usage(10, 5), 15, Usage(10, 5)),  # consistent: unchanged
        (Usage(10, 5), None, Usage(10, 5)),  # not reported
        (Usage(10, 5), 12, Usage(10, 5)),  # smaller (a server's rounding): never subtract
        (Usage(10, 5), "99", Usage(10, 5)),  # not a count
        (Usage(21, 0), 81, Usage(21, 60, reasoning_tokens=60)),  # thinking only in the total
        # the thinking also reported as reasoning_tokens beside completion: not counted twice
        (Usage(21, 0, reasoning_tokens=60), 81, Usage(21, 60, reasoning_tokens=60)),
        (Usage(21, 4, reasoning_tokens=60), 85, Usage(21, 64, reasoning_tokens=60)),
        # reasoning inside the output, and more of it only in the total: both count
        (Usage(10, 30, reasoning_tokens=20), 50, Usage(10, 40, reasoning_tokens=30)),
    ],
)
def test_with_total(usage: Usage, total: Any, expected: Usage) -> None:
    assert with_total(usage, total) == expected


GEMINI_COMPAT_USAGE = {
    "prompt_tokens": 21,
    "completion_tokens": 4,
    "total_tokens": 85,
    "completion_tokens_details": {"reasoning_tokens": 60},
}


def test_chat_completion_counts_what_only_the_total_holds() -> None:
    body = {
        "id": "c1",
        "model": "gemini-2.5-flash",
        "choices": [
            {"message": {"role": "assistant", "content": "Paris"}, "finish_reason": "stop"}
        ],
        "usage": GEMINI_COMPAT_USAGE,
    }
    usage = parse_completion(body, "op", "server", "openai").usage
    assert usage == Usage(21, 64, reasoning_tokens=60)
    assert usage.total_tokens == 85


async def test_chat_completion_stream_counts_what_only_the_total_holds() -> None:
    chunks = [
        {"id": "c1", "model": "m", "choices": [{"delta": {"content": "Paris"}}]},
        {"id": "c1", "model": "m", "choices": [{"delta": {}, "finish_reason": "stop"}]},
        {"id": "c1", "model": "m", "choices": [], "usage": GEMINI_COMPAT_USAGE},
    ]
    events = [e async for e in stream_events(aiter_of(chunks), "op", "server", "openai")]
    usage = [e.usage for e in events if isinstance(e, UsageEvent)]
    assert usage == [Usage(21, 64, reasoning_tokens=60)]


RESPONSES_USAGE = {"input_tokens": 30, "output_tokens": 2, "total_tokens": 50}


def test_responses_counts_what_only_the_total_holds() -> None:
    body = {
        "id": "r1",
        "model": "m",
        "status": "completed",
        "output": [{"type": "message", "content": [{"type": "output_text", "text": "ok"}]}],
        "usage": RESPONSES_USAGE,
    }
    assert responses_response(body, "op", "server", "openai").usage == Usage(
        30, 20, reasoning_tokens=18
    )


async def test_responses_stream_counts_what_only_the_total_holds() -> None:
    final = {"id": "r1", "model": "m", "status": "completed", "usage": RESPONSES_USAGE}
    events = [
        {"type": "response.output_text.delta", "delta": "ok"},
        {"type": "response.completed", "response": final},
    ]
    got = [e async for e in responses_stream(aiter_of(events), "op", "server", "openai")]
    assert [e.usage for e in got if isinstance(e, UsageEvent)] == [
        Usage(30, 20, reasoning_tokens=18)
    ]


def test_bedrock_counts_what_only_the_total_holds() -> None:
    data = {
        "output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
        "stopReason": "end_turn",
        # cache reads are part of the total already; 7 more tokens are in no other field
        "usage": {
            "inputTokens": 10,
            "outputTokens": 3,
            "cacheReadInputTokens": 5,
            "totalTokens": 25,
        },
    }
    usage = bedrock_response(data, "op", "server", "m", None, "aws.bedrock").usage
    assert usage == Usage(15, 10, cached_tokens=5, reasoning_tokens=7)


def test_gemini_counts_what_only_the_total_holds() -> None:
    gt = pytest.importorskip("google.genai.types")
    from beluga.llms.providers._gemini_reply import parse_response as gemini_response

    response = gt.GenerateContentResponse(
        candidates=[
            gt.Candidate(
                content=gt.Content(role="model", parts=[gt.Part(text="ok")]), finish_reason="STOP"
            )
        ],
        usage_metadata=gt.GenerateContentResponseUsageMetadata(
            prompt_token_count=8,
            candidates_token_count=2,
            thoughts_token_count=5,
            total_token_count=19,
        ),
    )
    usage = gemini_response(response, "op", "server", "gcp.gemini").usage
    assert usage == Usage(8, 11, reasoning_tokens=5 + 4)  # thoughts, and 4 more in the total


def test_xai_counts_what_only_the_total_holds() -> None:
    pytest.importorskip("xai_sdk")
    from xai_sdk.proto import usage_pb2  # type: ignore[import-untyped]

    from beluga.llms.providers._xai_wire import _usage

    raw = usage_pb2.SamplingUsage(
        prompt_tokens=10, completion_tokens=2, reasoning_tokens=3, total_tokens=20
    )
    assert _usage(raw) == Usage(10, 10, reasoning_tokens=3 + 5)


# -- strict tools ------------------------------------------------------------------------------

_OPTIONAL = {"type": "object", "properties": {"city": {"type": "string"}}}
_OPTIONAL_STRICT = {
    "type": "object",
    "properties": {"city": {"type": ["string", "null"]}},
    "required": ["city"],
    "additionalProperties": False,
}
_FREE_FORM = {"type": "object", "properties": {"data": {"type": "object"}}}


def _sent_tool(api: str, tool: ToolDefinition) -> tuple[dict[str, Any], Any]:
    """The parameters and ``strict`` flag ``api``'s request carries for ``tool``."""
    from beluga.llms.providers import _openai_wire, _responses_wire
    from beluga.schema import Message

    messages, settings = [Message.user("hi")], ModelSettings()
    if api == "chat":
        body, _ = _openai_wire.build_request("m", messages, [tool], settings, "t", stream=False)
        function = body["tools"][0]["function"]
        return function["parameters"], function.get("strict")
    body, _ = _responses_wire.build_request(
        "m", messages, [tool], settings, "t", stream=False, provider="openai"
    )
    return body["tools"][0]["parameters"], body["tools"][0]["strict"]


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_a_strict_tool_is_sent_in_the_strict_form(api: str) -> None:
    tool = ToolDefinition("lookup", "Look up.", _OPTIONAL, strict=True)
    assert _sent_tool(api, tool) == (_OPTIONAL_STRICT, True)
    assert tool.parameters == _OPTIONAL  # the definition itself is left as given


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_a_strict_tool_without_a_strict_form_is_sent_not_strict(api: str) -> None:
    # A free-form object cannot be strict: OpenAI would reject the request.
    tool = ToolDefinition("store", "", _FREE_FORM, strict=True)
    assert _sent_tool(api, tool) == (_FREE_FORM, False)


@pytest.mark.parametrize(("api", "no_flag"), [("chat", None), ("responses", False)])
def test_a_tool_not_asking_for_strict_is_sent_as_written(api: str, no_flag: bool | None) -> None:
    assert _sent_tool(api, ToolDefinition("lookup", "", _OPTIONAL)) == (_OPTIONAL, no_flag)
    assert _sent_tool(api, ToolDefinition("lookup", "", _OPTIONAL, strict=False)) == (
        _OPTIONAL,
        False,
    )
