"""Every call leaves a metrics record with role, tokens, cost and status."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from beluga.core import BelugaError, ErrorCode, apply
from beluga.llms.metered import metered
from beluga.llms.metrics import CallRecord, MetricsRecorder, open_store
from beluga.llms.pricing import Price, PriceTable
from beluga.llms.router import Role, Router
from beluga.llms.testing import AgentInfo, FunctionModel
from beluga.schema import ChatResponse, Message, StreamEvent, TextDelta, Usage, UsageEvent


def answer(text: str, usage: Usage, model: str = "gpt-4o-mini") -> FunctionModel:
    def fn(_: Sequence[Message], __: AgentInfo) -> ChatResponse:
        return ChatResponse(Message.assistant(text), usage, "stop", model)

    return FunctionModel(fn, model=model)


def failing(code: ErrorCode) -> FunctionModel:
    def fn(_: Sequence[Message], __: AgentInfo) -> str:
        raise BelugaError("llms.fake", code, "down for maintenance")

    return FunctionModel(fn, model="claude-sonnet-4-5")


@pytest.fixture
def recorder(tmp_path: Path) -> MetricsRecorder:
    return MetricsRecorder(open_store(f"sqlite://{tmp_path}/m.db"), interval=0.01)


def records(recorder: MetricsRecorder) -> list[CallRecord]:
    recorder.flush()
    return sorted(recorder.store.export(), key=lambda r: r.ts)


async def test_generate_records_tokens_and_cost(recorder: MetricsRecorder) -> None:
    prices = PriceTable({"gpt-4o-mini": Price(0.15, 0.60, 0.075)})
    usage = Usage(1000, 500, cached_tokens=400, reasoning_tokens=100)
    model = apply(answer("hi", usage), metered(recorder, prices=prices, role="coder"))
    await model.generate("x")
    (rec,) = records(recorder)
    assert (rec.provider, rec.model, rec.role, rec.status, rec.operation) == (
        "function",
        "gpt-4o-mini",
        "coder",
        "ok",
        "chat",
    )
    assert (rec.input_tokens, rec.output_tokens, rec.cached_tokens, rec.reasoning_tokens) == (
        1000,
        500,
        400,
        100,
    )
    # 600 fresh input, 400 cached input, 500 output (reasoning billed as output)
    assert rec.cost_usd == pytest.approx((600 * 0.15 + 400 * 0.075 + 500 * 0.60) / 1e6)
    assert rec.latency_s > 0 and rec.ttft_s is None
    recorder.close()


async def test_stream_records_time_to_first_token(recorder: MetricsRecorder) -> None:
    async def chunks(_: Sequence[Message], __: AgentInfo) -> AsyncIterator[str | StreamEvent]:
        yield "a"
        yield UsageEvent(Usage(3, 1))

    model = apply(FunctionModel(stream_function=chunks, model="gpt-4o"), metered(recorder))
    assert [e.text async for e in model.stream("x") if isinstance(e, TextDelta)] == ["a"]
    (rec,) = records(recorder)
    assert rec.operation == "stream"
    assert rec.ttft_s is not None and 0 < rec.ttft_s <= rec.latency_s
    assert (rec.input_tokens, rec.output_tokens) == (3, 1)
    assert rec.cost_usd == pytest.approx((3 * 2.5 + 1 * 10.0) / 1e6)  # built-in gpt-4o price
    recorder.close()


async def test_failures_record_their_code_and_no_secret(recorder: MetricsRecorder) -> None:
    def leak(_: Sequence[Message], __: AgentInfo) -> str:
        raise BelugaError("llms.fake", ErrorCode.AUTH_FAILED, "bad key sk-live-0123456789abcdefXYZ")

    model = apply(FunctionModel(leak), metered(recorder))
    with pytest.raises(BelugaError):
        await model.generate("x")
    (rec,) = records(recorder)
    assert rec.status == "auth_failed"
    assert rec.cost_usd is None
    assert "0123456789abcdefXYZ" not in (rec.error or "")
    recorder.close()


async def test_router_records_every_attempt_with_its_role(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/m.db"
    recorder = MetricsRecorder(open_store(url), interval=0.01)
    router = Router(
        {"a": failing(ErrorCode.PROVIDER_UNAVAILABLE), "b": answer("ok", Usage(10, 2))},
        roles={"planner": Role("a", ["b"])},
        default="b",
        recorder=recorder,
    )
    assert (await router.generate("x", role="planner")).text == "ok"
    assert (await router.generate("y")).text == "ok"
    await router.aclose()  # flushes and closes the recorder
    store = open_store(url)
    got = [(r.model, r.role, r.status) for r in sorted(store.export(), key=lambda r: r.ts)]
    store.close()
    assert got == [
        ("claude-sonnet-4-5", "planner", "provider_unavailable"),
        ("gpt-4o-mini", "planner", "ok"),
        ("gpt-4o-mini", None, "ok"),
    ]
