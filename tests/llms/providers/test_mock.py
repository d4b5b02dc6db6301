"""The mock provider: seeded schedules at absolute deadlines, answers, usage and injected faults."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms import ModelSettings, create
from beluga.llms.providers import mock as mock_module
from beluga.llms.providers._mock_timing import Delay, Faults, Schedule, parse_delay
from beluga.llms.providers.mock import MockChatModel
from beluga.schema import OutputSchema, TextDelta, ToolCallDelta, ToolDefinition, UsageEvent


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("fixed:200ms", Delay("fixed", 0.2)),
        ("normal:200ms,20ms", Delay("normal", 0.2, 0.02)),
        ("lognormal:1s,0.25", Delay("lognormal", 1.0, 0.25)),
        ("uniform:100,300", Delay("uniform", 0.1, 0.3)),
        ("exponential:50ms", Delay("exponential", 0.05)),
        ("250us", Delay("fixed", 0.00025)),
        (15, Delay("fixed", 0.015)),
    ],
)
def test_delays_parse_from_text(spec: str | int, expected: Delay) -> None:
    assert parse_delay(spec) == expected


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("gamma:1,2", "unknown distribution"),
        ("normal:200ms", "takes 2 values"),
        ("uniform:300,100", "low <= high"),
        ("fixed:soon", "not a duration"),
        (-5, "cannot be negative"),
    ],
)
def test_bad_delays_say_what_to_write(spec: str | int, why: str) -> None:
    with pytest.raises(BelugaError, match=why) as info:
        parse_delay(spec, "ttft")
    assert info.value.code is ErrorCode.INVALID_CONFIG
    assert "fixed:200ms" in info.value.message


def test_draws_follow_the_distribution_medians() -> None:
    rng = random.Random(0)
    for delay in (parse_delay("lognormal:200ms,0.3"), parse_delay("exponential:50ms")):
        draws = sorted(delay.draw(rng) for _ in range(20001))
        assert draws[10000] == pytest.approx(delay.median, rel=0.03)
        assert draws[0] >= 0


def test_schedule_offsets_are_absolute_and_seeded() -> None:
    ttft, itl = parse_delay("normal:100ms,10ms"), parse_delay("normal:10ms,1ms")
    a = Schedule.draw(random.Random(4), ttft, itl, 50, Faults())
    b = Schedule.draw(random.Random(4), ttft, itl, 50, Faults())
    assert a == b and len(a.offsets) == 50
    gaps = [y - x for x, y in zip(a.offsets, a.offsets[1:], strict=False)]
    assert all(g >= 0 for g in gaps)
    assert sum(gaps) / len(gaps) == pytest.approx(0.01, rel=0.1)


def test_fault_rates_are_checked() -> None:
    with pytest.raises(BelugaError, match="add up to more than 1"):
        Faults(0.6, 0.6)
    with pytest.raises(BelugaError, match="not a rate"):
        Faults(cut=2)


async def test_stream_waits_for_each_absolute_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    targets: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(delay: float) -> None:
        targets.append(loop.time() + delay)
        await real_sleep(0)

    monkeypatch.setattr(mock_module.asyncio, "sleep", recording_sleep)
    model = MockChatModel("m", ttft="fixed:40ms", itl="fixed:5ms", output_tokens=6, seed=1)
    start = loop.time()
    events = [e async for e in model.stream("hi")]
    assert [type(e) for e in events][:6] == [TextDelta] * 6
    expected = [start + 0.040 + 0.005 * i for i in range(6)]
    assert targets == pytest.approx(expected, abs=2e-3)  # start is read just before the call


async def test_answer_length_usage_and_cached_tokens() -> None:
    model = create("mock:gpt-4o-mini", ttft=0, itl=0, output_tokens=4, cached_fraction=0.5)
    assert model.provider == "mock" and model.model_name == "gpt-4o-mini"
    response = await model.generate("one two three four")
    assert response.text == "the quick brown fox "
    assert (response.usage.input_tokens, response.usage.output_tokens) == (4, 4)
    assert response.usage.cached_tokens == 2
    longer = await model.generate("x", settings=ModelSettings(max_tokens=9))
    assert longer.usage.output_tokens == 9 and len(longer.text.split()) == 9


async def test_tools_and_structured_output() -> None:
    model = MockChatModel(ttft=0, itl=0, output_tokens=5)
    tool = ToolDefinition(
        "lookup",
        "find",
        {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
    )
    events = [e async for e in model.stream("find it", tools=[tool])]
    calls = [e for e in events if isinstance(e, ToolCallDelta)]
    assert calls[0].name == "lookup"
    assert json.loads("".join(c.arguments or "" for c in calls)) == {"q": "a"}
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    out = await model.generate("x", settings=ModelSettings(output=OutputSchema.of(schema)))
    assert json.loads(out.text) == {"n": 0}
    assert any(isinstance(e, UsageEvent) for e in events)


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"rate_limit_rate": 1.0}, ErrorCode.RATE_LIMITED),
        ({"server_error_rate": 1.0}, ErrorCode.PROVIDER_UNAVAILABLE),
        ({"cut_rate": 1.0}, ErrorCode.PROVIDER_UNAVAILABLE),
    ],
)
async def test_injected_faults_are_retryable_errors(
    options: dict[str, float], code: ErrorCode
) -> None:
    model = MockChatModel(ttft=0, itl=0, output_tokens=8, **options)
    with pytest.raises(BelugaError) as info:
        async for _ in model.stream("hi"):
            pass
    assert info.value.code is code and info.value.retryable


async def test_fault_rate_is_honoured_over_many_calls() -> None:
    model = MockChatModel(ttft=0, itl=0, output_tokens=1, server_error_rate=0.2, seed=9)
    failures = 0
    for _ in range(500):
        try:
            await model.generate("hi")
        except BelugaError:
            failures += 1
    assert 70 <= failures <= 130


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(BelugaError, match="tokens_per_s"):
        MockChatModel(tokens_per_s=0)
    with pytest.raises(BelugaError, match="output_tokens"):
        MockChatModel(output_tokens=0)
    assert MockChatModel(tokens_per_s=50).itl == Delay("fixed", 0.02)
