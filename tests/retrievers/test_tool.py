"""A retriever as an agent's tool, on the scripted test model."""

from __future__ import annotations

import json
from collections.abc import Sequence

from beluga.agents import Agent
from beluga.llms.testing import AgentInfo, FunctionModel
from beluga.retrievers import BM25Retriever, format_hits
from beluga.schema import Document, Message, ToolCall
from beluga.tools import RunContext
from beluga.vectorstores.base import ScoredDocument


def test_format_hits_cites_sources() -> None:
    doc = Document("x" * 50, id="a", metadata={"source": "docs/a.md", "heading_path": ["A", "B"]})
    text = format_hits([ScoredDocument(doc, 1.0)], max_chars=10)
    assert text.startswith("[1] docs/a.md | A > B\n") and text.endswith("…")
    assert format_hits([]) == "No document matched the query."


async def test_tool_definition_and_fixed_filter(documents: list[Document]) -> None:
    retriever = BM25Retriever(documents)
    tool = retriever.as_tool("search_docs", "Search the docs.", k=2, filter={"topic": "bm25"})
    assert tool.definition.name == "search_docs"
    assert tool.definition.description == "Search the docs."
    assert tool.definition.parameters["required"] == ["query"]
    result = await tool.call({"query": "BM25 rank"}, RunContext(None))
    text = result.content[0].text  # type: ignore[union-attr]
    assert "docs/bm25.md" in text and "docs/hybrid.md" not in text


async def test_agent_searches_then_answers_from_the_passage(documents: list[Document]) -> None:
    def model(messages: Sequence[Message], info: AgentInfo) -> Message:
        if messages[-1].role != "tool":
            assert [t.name for t in info.tools] == ["search_docs"]
            call = ToolCall("c1", "search_docs", json.dumps({"query": "conversation memory"}))
            return Message.assistant(tool_calls=(call,))
        passage = messages[-1].text
        assert "docs/memory.md" in passage
        return Message.assistant("Memory lives in SQLite or Redis [docs/memory.md].")

    agent = Agent(FunctionModel(model), tools=[BM25Retriever(documents).as_tool("search_docs")])
    result = await agent.run("Where is memory stored?")
    assert result.output == "Memory lives in SQLite or Redis [docs/memory.md]."
