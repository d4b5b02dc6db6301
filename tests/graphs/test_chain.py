"""Chains: template -> model -> parser, callables, nesting, and clear errors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel

from beluga.core.errors import BelugaError
from beluga.graphs import START, Chain, StateGraph
from beluga.llms.testing import AgentInfo, FunctionModel
from beluga.prompts import PromptTemplate
from beluga.schema import Message


class Answer(BaseModel):
    city: str
    population: int


@dataclass
class Point:
    x: int
    y: int


def json_model(payload: dict[str, Any]) -> FunctionModel:
    def answer(messages: Sequence[Message], info: AgentInfo) -> str:
        assert messages[-1].text == "Population of Paris? Answer in JSON."
        return json.dumps(payload)

    return FunctionModel(answer)


async def test_prompt_model_parser() -> None:
    chain = Chain(
        PromptTemplate("Population of {{ city }}? Answer in JSON."),
        json_model({"city": "Paris", "population": 2100000}),
        Answer,
        name="facts",
    )
    assert await chain.run({"city": "Paris"}) == Answer(city="Paris", population=2100000)
    assert chain.run_sync({"city": "Paris"}).population == 2100000


async def test_callables_dataclass_parser_nesting_and_pipe() -> None:
    async def double(p: Point) -> Point:
        return Point(p.x * 2, p.y * 2)

    inner = Chain(lambda text: text.strip(), Point)
    chain = inner | double | (lambda p: p.x + p.y)
    assert await chain.run('  {"x": 1, "y": 2}  ') == 6
    assert await Chain(inner, double)('{"x": 3, "y": 4}') == Point(6, 8)


async def test_a_chain_is_the_body_of_a_node() -> None:
    chain = Chain(lambda n: n + 1, lambda n: n * 10)
    g: StateGraph[Any] = StateGraph(None)

    async def node(state: dict[str, Any]) -> dict[str, Any]:
        return {"n": await chain(state["n"])}

    g.add_node("calc", node).add_edge(START, "calc")
    assert (await g.compile().run({"n": 4})).values == {"n": 50}


async def test_errors_say_what_was_wrong() -> None:
    with pytest.raises(BelugaError, match="at least one step"):
        Chain()
    with pytest.raises(BelugaError, match="chain step 1 is a int"):
        Chain(lambda x: x, 5)
    with pytest.raises(BelugaError, match="does not parse as Answer"):
        await Chain(Answer).run('{"city": "x"}')
    with pytest.raises(BelugaError, match="renders a mapping"):
        await Chain(PromptTemplate("{{ a }}")).run("not a mapping")
