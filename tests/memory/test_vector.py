"""Vector-recall memory: relevant earlier turns of the same session, plus the recent ones."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.embeddings import EmbedInput
from beluga.embeddings.testing import HashingEmbedder
from beluga.memory import VectorMemory
from beluga.memory.base import MessageStore
from beluga.memory.stores import InMemoryStore
from beluga.schema import Message, ToolCall
from beluga.vectorstores.testing import InMemoryVectorStore
from tests.memory.conftest import turn

FACTS = [
    ("My dog is called Rex.", "Rex is a fine name for a dog."),
    ("The capital of France is Paris.", "Yes, Paris."),
    ("I work as a plumber in Lyon.", "Plumbing is useful work."),
    ("Tomorrow I fly to Tokyo.", "Have a good flight."),
    ("I like green tea.", "Green tea is pleasant."),
    ("My sister plays the violin.", "Violins are hard to learn."),
]


def chat(question: str, answer: str) -> list[Message]:
    return [Message.user(question), Message.assistant(answer)]


def memory_over(store: MessageStore, **options: int) -> VectorMemory:
    return VectorMemory(store, HashingEmbedder(), InMemoryVectorStore(), **options)


def users(messages: Sequence[Message]) -> list[str]:
    return [m.text for m in messages if m.role == "user"]


async def test_a_relevant_old_turn_comes_back_before_the_recent_ones(store: MessageStore) -> None:
    memory = memory_over(store, top_k=1, recent_turns=2)
    for question, answer in FACTS:
        await memory.save("s", chat(question, answer))
    loaded = await memory.load("s", query=[Message.user("What is my dog called?")])
    assert users(loaded) == [FACTS[0][0], FACTS[4][0], FACTS[5][0]]  # chronological
    assert [m.role for m in loaded] == ["user", "assistant"] * 3


async def test_no_turn_crosses_from_one_session_to_another() -> None:
    vectors = InMemoryVectorStore()
    store = InMemoryStore()
    memory = VectorMemory(store, HashingEmbedder(), vectors, top_k=3, recent_turns=1)
    for question, answer in FACTS:
        await memory.save("alice", chat(question, answer))
    await memory.save("bob", chat("Hello there.", "Hi."))
    await memory.save("bob", chat("Nice weather.", "Indeed."))
    loaded = await memory.load("bob", query=[Message.user("What is my dog called?")])
    assert users(loaded) == ["Hello there.", "Nice weather."]
    alice = {m.text for m in await store.messages("alice")}
    assert not alice & {m.text for m in loaded}


async def test_a_recalled_turn_that_is_also_recent_appears_once() -> None:
    memory = memory_over(InMemoryStore(), top_k=2, recent_turns=2)
    for question, answer in FACTS:
        await memory.save("s", chat(question, answer))
    loaded = await memory.load("s", query=[Message.user("my sister and her violin")])
    assert users(loaded).count(FACTS[5][0]) == 1
    assert len(set(users(loaded))) == len(users(loaded)) == 4


async def test_a_recalled_turn_keeps_its_tool_call_with_the_result() -> None:
    memory = memory_over(InMemoryStore(), top_k=1, recent_turns=1)
    call = ToolCall("c1", "weather", '{"city": "Oslo"}')
    await memory.save(
        "s",
        [
            Message.user("What is the weather in Oslo?"),
            Message.assistant(tool_calls=[call]),
            Message.tool("c1", "snow, minus five"),
            Message.assistant("Snowy in Oslo."),
        ],
    )
    for question, answer in FACTS:
        await memory.save("s", chat(question, answer))
    loaded = await memory.load("s", query=[Message.user("weather in Oslo again?")])
    assert [m.role for m in loaded[:4]] == ["user", "assistant", "tool", "assistant"]
    assert loaded[1].tool_calls[0].id == loaded[2].tool_call_id


async def test_a_turn_saved_in_two_parts_is_indexed_whole_once() -> None:
    vectors = InMemoryVectorStore()
    memory = VectorMemory(InMemoryStore(), HashingEmbedder(), vectors)
    await memory.save("s", [Message.user("Where is Rex?")])
    await memory.save("s", [Message.assistant("Rex sleeps in the garden.")])
    assert len(vectors) == 1
    (hit,) = await vectors.search(HashingEmbedder().vector("garden"), k=1)
    assert "garden" in hit.document.text and hit.document.metadata["turn"] == 0


async def test_clear_forgets_the_session_and_its_vectors_only() -> None:
    vectors = InMemoryVectorStore()
    memory = VectorMemory(InMemoryStore(), HashingEmbedder(), vectors)
    await memory.save("a", turn(1) + turn(2))
    await memory.save("b", turn(3))
    assert len(vectors) == 3
    await memory.clear("a")
    assert len(vectors) == 1
    assert await memory.load("a", query=[Message.user("question 1")]) == []


async def test_vectors_of_a_history_cleared_behind_its_back_are_ignored() -> None:
    store = InMemoryStore()
    memory = memory_over(store, top_k=1, recent_turns=1)
    for question, answer in FACTS:
        await memory.save("s", chat(question, answer))
    await store.clear("s")  # the vectors stay behind
    await memory.save("s", chat("Hello.", "Hi."))
    await memory.save("s", chat("Bye.", "Bye."))
    loaded = await memory.load("s", query=[Message.user("My dog is called Rex.")])
    assert users(loaded) == ["Bye."]  # the stale turn 0 vector is not the new turn 0


class FlakyEmbedder(HashingEmbedder):
    """Fails while ``down``."""

    down = False

    async def embed(self, inputs: Sequence[EmbedInput]) -> list[list[float]]:
        if self.down:
            raise BelugaError("test", ErrorCode.PROVIDER_UNAVAILABLE, "embedder is down")
        return await super().embed(inputs)


async def test_a_failing_embedder_keeps_the_history_and_shows_the_recent_turns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    embedder = FlakyEmbedder()
    memory = VectorMemory(InMemoryStore(), embedder, InMemoryVectorStore(), recent_turns=2)
    await memory.save("s", chat(*FACTS[0]))
    embedder.down = True
    with caplog.at_level(logging.WARNING, logger="beluga.memory"):
        for question, answer in FACTS[1:]:
            await memory.save("s", chat(question, answer))
        loaded = await memory.load("s", query=[Message.user("What is my dog called?")])
    assert users(loaded) == [FACTS[4][0], FACTS[5][0]]
    assert memory.failures == 6
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    assert len(await memory.store.messages("s")) == 12
    embedder.down = False
    loaded = await memory.load("s", query=[Message.user("What is my dog called?")])
    assert users(loaded)[0] == FACTS[0][0]  # indexed before the outage


async def test_without_a_user_query_it_is_the_recent_turns() -> None:
    embedder = HashingEmbedder()
    memory = VectorMemory(InMemoryStore(), embedder, InMemoryVectorStore(), recent_turns=1)
    for question, answer in FACTS:
        await memory.save("s", chat(question, answer))
    calls = embedder.calls
    assert users(await memory.load("s")) == [FACTS[5][0]]
    assert embedder.calls == calls  # nothing to embed, no search


def test_sizes_must_be_positive() -> None:
    with pytest.raises(BelugaError, match="top_k=0"):
        memory_over(InMemoryStore(), top_k=0)


async def test_an_agent_is_given_the_recalled_turn() -> None:
    from beluga.agents import Agent
    from beluga.llms.testing import AgentInfo, FunctionModel

    seen: list[list[str]] = []

    def answer(messages: Sequence[Message], info: AgentInfo) -> str:
        seen.append([m.text for m in messages if m.role == "user"])
        return "ok"

    memory = memory_over(InMemoryStore(), top_k=1, recent_turns=1)
    agent = Agent(FunctionModel(answer), memory=memory)
    for question, _ in FACTS:
        await agent.run(question, session_id="me")
    await agent.run("What is my dog called?", session_id="me")
    assert seen[-1] == [FACTS[0][0], FACTS[5][0], "What is my dog called?"]


async def test_reindex_restores_recall_into_a_new_vector_store(store: MessageStore) -> None:
    first = memory_over(store, top_k=1, recent_turns=1)
    for question, answer in FACTS:
        await first.save("s", chat(question, answer))
    fresh = InMemoryVectorStore()  # the vectors were lost (a restart of an in-memory store)
    again = VectorMemory(store, HashingEmbedder(), fresh, top_k=1, recent_turns=1)
    query = [Message.user("What is my dog called?")]
    assert users(await again.load("s", query=query)) == [FACTS[5][0]]
    assert await again.reindex("s") == len(FACTS)
    assert len(fresh) == len(FACTS)
    assert users(await again.load("s", query=query)) == [FACTS[0][0], FACTS[5][0]]
