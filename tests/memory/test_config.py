"""The summary and vector strategies of the memory: section, and the traces of every strategy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from beluga.agents.config import validate_agents
from beluga.config import BelugaConfig, ConfigError, parse_config
from beluga.embeddings.testing import HashingEmbedder
from beluga.llms.testing import FunctionModel
from beluga.memory import (
    MemoryConfig,
    SummaryMemory,
    VectorMemory,
    WindowMemory,
    build_memory,
    validate_memory,
)
from beluga.memory.stores import InMemoryStore
from beluga.schema import Message
from beluga.vectorstores.testing import InMemoryVectorStore
from tests.conftest import Telemetry
from tests.memory.conftest import turn

EMBEDDER = "beluga.embeddings.testing:HashingEmbedder"
VECTORS = "beluga.vectorstores.testing:InMemoryVectorStore"


def root(memory: dict[str, Any], **extra: Any) -> BelugaConfig:
    return parse_config({"memory": memory, **extra}, source="beluga.yaml")


def test_summary_builds_with_the_default_model_checked(tmp_path: Path) -> None:
    config = root({"strategy": "summary", "path": str(tmp_path / "m.db"), "keep_turns": 3})
    memory = build_memory(MemoryConfig.of(config), root=config)
    assert isinstance(memory, SummaryMemory)
    assert (memory.model_name, memory.keep_turns, memory.max_summary_tokens) == ("local", 3, 300)
    assert "strategy summary (model llm.default, 3 turns kept)" in validate_memory(config)


def test_a_summarizer_naming_nothing_is_a_config_error_at_its_key() -> None:
    config = root({"strategy": "summary", "model": "nope"})
    with pytest.raises(ConfigError) as info:
        validate_memory(config)
    assert "beluga.yaml (memory.model)" in str(info.value)
    assert "'nope' names no role" in str(info.value)


def test_a_role_is_a_valid_summarizer() -> None:
    config = root(
        {"strategy": "summary", "model": "cheap"},
        llm={"roles": {"cheap": {"provider": "test"}}},
    )
    memory = build_memory(MemoryConfig.of(config), root=config)
    assert isinstance(memory, SummaryMemory) and memory.model_name == "cheap"


def test_vector_builds_from_import_paths() -> None:
    config = root({"strategy": "vector", "embedder": EMBEDDER, "vector_store": VECTORS, "top_k": 2})
    memory = build_memory(MemoryConfig.of(config), root=config)
    assert isinstance(memory, VectorMemory)
    assert isinstance(memory.embedder, HashingEmbedder)
    assert isinstance(memory.vectors, InMemoryVectorStore)
    assert (memory.top_k, memory.recent_turns) == (2, 4)


def test_vector_without_an_embedder_explains_what_it_needs() -> None:
    with pytest.raises(ConfigError) as info:
        root({"strategy": "vector", "vector_store": VECTORS})
    text = str(info.value)
    assert "needs embedder" in text
    assert "vector recall needs an embedder and a vector store configured" in text


@pytest.mark.parametrize(
    ("embedder", "words"),
    [
        ("openai", "is not an import path"),
        ("beluga.nothing_here:X", "beluga.nothing_here"),
        ("math:pi", "gives a float, not an Embedder"),
        ("json:dumps", "calling json:dumps failed (TypeError)"),
    ],
)
def test_a_bad_embedder_is_a_config_error_at_its_key(embedder: str, words: str) -> None:
    config = root({"strategy": "vector", "embedder": embedder, "vector_store": VECTORS})
    with pytest.raises(ConfigError) as info:
        validate_memory(config)
    assert "(memory.embedder)" in str(info.value)
    assert words in str(info.value)


def test_an_option_of_another_strategy_is_refused() -> None:
    with pytest.raises(ConfigError, match="keep_turns is an option of strategy 'summary'"):
        root({"strategy": "window", "keep_turns": 2})
    with pytest.raises(ConfigError, match="embedder is an option of strategy 'vector'"):
        root({"strategy": "summary", "embedder": EMBEDDER})


def test_an_agents_memory_entry_is_checked_at_its_own_key() -> None:
    config = root(
        {},
        agents={"helper": {"model": "test", "memory": {"strategy": "summary", "model": "nah"}}},
    )
    with pytest.raises(ConfigError) as info:
        validate_agents(config)
    assert "(agents.helper.memory.model)" in str(info.value)
    assert str(info.value).count("beluga.yaml") == 1  # one location, not an error in an error


async def test_every_operation_is_a_span_without_the_conversation(telemetry: Telemetry) -> None:
    memory = WindowMemory(InMemoryStore(), turns=2)
    await memory.save("user-7", turn(1, tool=True))
    await memory.load("user-7")
    await memory.clear("user-7")
    spans = {s.name: s for s in telemetry.finished_spans()}
    assert {"memory.save window", "memory.load window", "memory.clear window"} <= set(spans)
    load = spans["memory.load window"].attributes or {}
    assert load["beluga.memory.strategy"] == "window"
    assert load["beluga.memory.store"] == "memory"
    assert load["gen_ai.conversation.id"] == "user-7"
    assert load["beluga.memory.messages"] == 4
    values = " ".join(str(v) for s in spans.values() for v in (s.attributes or {}).values())
    assert "question" not in values and "found" not in values


async def test_the_summarizer_call_is_a_child_of_the_save(telemetry: Telemetry) -> None:
    def fail(messages: Any, info: Any) -> str:
        raise RuntimeError("down")

    memory = SummaryMemory(InMemoryStore(), FunctionModel(lambda m, i: "short"), keep_turns=1)
    await memory.save("s", turn(1) + turn(2))
    spans = telemetry.finished_spans()
    (save,) = [s for s in spans if s.name == "memory.save summary"]
    (chat,) = [s for s in spans if s.name == "chat function"]
    assert chat.parent is not None and chat.parent.span_id == save.context.span_id
    assert (save.attributes or {})["beluga.memory.summarized_messages"] == 2

    failing = SummaryMemory(InMemoryStore(), FunctionModel(fail), keep_turns=1)
    await failing.save("s", turn(1) + turn(2))
    (save,) = [s for s in telemetry.finished_spans() if s.name == "memory.save summary"][-1:]
    events = [e for e in save.events if e.name == "beluga.memory.degraded"]
    assert len(events) == 1
    assert (events[0].attributes or {})["beluga.memory.side_path"] == "summary"
    assert len(await failing.load("s")) == 4


async def test_recall_is_a_span_inside_the_load(telemetry: Telemetry) -> None:
    memory = VectorMemory(
        InMemoryStore(), HashingEmbedder(), InMemoryVectorStore(), top_k=1, recent_turns=1
    )
    for i in range(3):
        await memory.save("s", turn(i))
    await memory.load("s", query=[Message.user("question 0")])
    spans = {s.name: s for s in telemetry.finished_spans()}
    recall, load = spans["memory.recall vector"], spans["memory.load vector"]
    assert recall.parent is not None and recall.parent.span_id == load.context.span_id
    assert (recall.attributes or {})["beluga.memory.recalled_turns"] == 1
    assert (spans["memory.save vector"].attributes or {})["beluga.memory.embedded_turns"] == 1


def test_an_invalid_agents_memory_mapping_names_its_key_and_the_fix() -> None:
    config = root({}, agents={"helper": {"model": "test", "memory": {"strategy": "vector"}}})
    with pytest.raises(ConfigError) as info:
        validate_agents(config)
    text = str(info.value)
    assert "(agents.helper.memory)" in text
    assert "strategy 'vector' needs embedder and vector_store" in text
