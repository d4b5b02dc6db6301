"""Summary memory: recent turns verbatim, older ones folded incrementally into a stored summary."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from beluga.config import BelugaConfig
from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.testing import AgentInfo, FunctionModel
from beluga.memory import SummaryMemory, WindowMemory
from beluga.memory.base import MessageStore
from beluga.memory.stores import InMemoryStore, SqliteStore
from beluga.memory.summary import SUMMARY_PREFIX, transcript
from beluga.schema import Message
from tests.memory.conftest import turn


class Summarizer:
    """A summarizer double: the summary lists every question it was shown, and it records the
    part of the conversation each call was given."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.fail = False
        self.model = FunctionModel(self.answer, model="summarizer")

    def answer(self, messages: Sequence[Message], info: AgentInfo) -> str:
        if self.fail:
            raise BelugaError("test", ErrorCode.PROVIDER_UNAVAILABLE, "summarizer is down")
        assert info.settings.max_tokens == 50
        prompt = messages[-1].text
        previous = prompt.split("Summary so far:\n", 1)[1].split("\n\n", 1)[0]
        part = prompt.split("Next part of the conversation:\n", 1)[1]
        self.parts.append(part)
        asked = re.findall(r"User: (question \d+)", part)
        known = [] if previous == "(none yet)" else previous.removeprefix("asked: ").split(", ")
        return "asked: " + ", ".join([*known, *asked])


def questions(messages: Sequence[Message]) -> list[str]:
    return [m.text for m in messages if m.role == "user"]


async def test_older_turns_fold_into_a_summary_and_each_is_summarized_once(
    store: MessageStore,
) -> None:
    summarizer = Summarizer()
    memory = SummaryMemory(store, summarizer.model, keep_turns=2, max_summary_tokens=50)
    for i in range(6):
        await memory.save("s", turn(i))
    loaded = await memory.load("s")
    assert loaded[0].role == "system"
    everything = "asked: question 0, question 1, question 2, question 3"
    assert loaded[0].text == SUMMARY_PREFIX + everything
    assert questions(loaded[1:]) == ["question 4", "question 5"]
    seen = [q for part in summarizer.parts for q in re.findall(r"question \d+", part)]
    assert sorted(seen) == [f"question {i}" for i in range(4)]  # each turn sent exactly once
    assert await memory.summary("s") == "asked: question 0, question 1, question 2, question 3"
    # The whole history is still in the store, under the summary.
    assert len([m for m in await store.messages("s") if m.role == "user"]) == 6


async def test_the_summary_survives_a_restart_without_calling_the_model(tmp_path: Path) -> None:
    summarizer = Summarizer()
    first = SummaryMemory(
        SqliteStore(tmp_path / "m.db"), summarizer.model, keep_turns=1, max_summary_tokens=50
    )
    for i in range(3):
        await first.save("s", turn(i))
    await first.aclose()
    calls = len(summarizer.parts)
    second = SummaryMemory(
        SqliteStore(tmp_path / "m.db"), summarizer.model, keep_turns=1, max_summary_tokens=50
    )
    loaded = await second.load("s")
    assert loaded[0].text.endswith("asked: question 0, question 1")
    assert questions(loaded) == ["question 2"]
    assert len(summarizer.parts) == calls
    await second.aclose()


async def test_a_failing_summarizer_keeps_every_turn_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    summarizer = Summarizer()
    summarizer.fail = True
    memory = SummaryMemory(InMemoryStore(), summarizer.model, keep_turns=1, max_summary_tokens=50)
    with caplog.at_level(logging.WARNING, logger="beluga.memory"):
        for i in range(4):
            await memory.save("s", turn(i))
    assert questions(await memory.load("s")) == [f"question {i}" for i in range(4)]
    assert memory.failures == 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "summarizer is down" in warnings[0].getMessage()
    assert "question" not in warnings[0].getMessage()  # no conversation content in logs
    summarizer.fail = False
    await memory.save("s", turn(4))
    loaded = await memory.load("s")
    assert loaded[0].text.endswith("asked: question 0, question 1, question 2, question 3")
    assert questions(loaded) == ["question 4"]


async def test_a_summarizer_that_hangs_times_out_and_degrades() -> None:
    never = asyncio.Event()

    async def hang(messages: Sequence[Message], info: AgentInfo) -> str:
        await never.wait()
        return "never"

    memory = SummaryMemory(
        InMemoryStore(), FunctionModel(hang), keep_turns=1, max_summary_tokens=50, timeout=0.05
    )
    await memory.save("s", turn(0) + turn(1))
    assert memory.failures == 1
    assert questions(await memory.load("s")) == ["question 0", "question 1"]


async def test_an_empty_summary_is_a_failure_not_a_lost_history() -> None:
    memory = SummaryMemory(InMemoryStore(), FunctionModel(lambda m, i: "  "), keep_turns=1)
    await memory.save("s", turn(0) + turn(1))
    assert memory.failures == 1
    assert len(await memory.load("s")) == 4


async def test_tool_calls_stay_with_their_results_and_reach_the_summarizer() -> None:
    summarizer = Summarizer()
    memory = SummaryMemory(InMemoryStore(), summarizer.model, keep_turns=1, max_summary_tokens=50)
    await memory.save("s", turn(1, tool=True))
    await memory.save("s", turn(2, tool=True))
    loaded = await memory.load("s")
    assert [m.role for m in loaded] == ["system", "user", "assistant", "tool", "assistant"]
    assert loaded[2].tool_calls[0].id == loaded[3].tool_call_id == "c2"
    assert 'Assistant called tool lookup (c1): {"q": 1}' in summarizer.parts[0]
    assert "Tool lookup returned: found 1" in summarizer.parts[0]


async def test_other_strategies_never_show_the_summary_record() -> None:
    store = InMemoryStore()
    summarizer = Summarizer()
    await SummaryMemory(store, summarizer.model, keep_turns=1, max_summary_tokens=50).save(
        "s", turn(0) + turn(1)
    )
    assert any(m.role == "system" for m in await store.messages("s"))
    window = await WindowMemory(store, turns=5).load("s")
    assert [m.role for m in window] == ["user", "assistant", "user", "assistant"]


async def test_a_model_named_in_the_config_is_resolved_on_first_use_and_closed() -> None:
    config = BelugaConfig.model_validate({"llm": {"default": "test"}})
    memory = SummaryMemory(InMemoryStore(), "test", keep_turns=1, config=config)
    assert memory.model_name == "test"
    await memory.save("s", turn(0) + turn(1))
    assert memory.failures == 0
    assert (await memory.load("s"))[0].text == SUMMARY_PREFIX + "success (no tool calls)"
    model = memory._model
    await memory.aclose()
    assert memory._model is None and model is not None


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(BelugaError, match="keep_turns=0"):
        SummaryMemory(InMemoryStore(), "test", keep_turns=0)
    with pytest.raises(BelugaError, match="pass a ChatModel"):
        SummaryMemory(InMemoryStore(), 42)  # type: ignore[arg-type]


def test_the_transcript_cuts_long_texts_and_names_tool_errors() -> None:
    messages = [
        Message.user("x" * 3000),
        Message.tool("c9", "boom", name="fetch", is_error=True),
    ]
    lines = transcript(messages).splitlines()
    assert len(lines[0]) < 2100 and lines[0].endswith("[...]")
    assert lines[1] == "Tool fetch failed: boom"


async def test_an_agent_sees_the_summary_then_the_recent_turns(tmp_path: Path) -> None:
    from beluga.agents import Agent

    seen: list[list[str]] = []

    def answer(messages: Sequence[Message], info: AgentInfo) -> str:
        seen.append([f"{m.role}:{m.text}" for m in messages])
        return f"answer {len(seen)}"

    summarizer = Summarizer()
    store = SqliteStore(tmp_path / "agent.db")
    memory = SummaryMemory(store, summarizer.model, keep_turns=1, max_summary_tokens=50)
    agent = Agent(FunctionModel(answer), memory=memory)
    for i in range(3):
        await agent.run(f"question {i}", session_id="me")
    assert seen[-1] == [
        f"system:{SUMMARY_PREFIX}asked: question 0",
        "user:question 1",
        "assistant:answer 2",
        "user:question 2",
    ]
    await store.aclose()
