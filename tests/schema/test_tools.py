"""Structured output: ``OutputSchema.of`` any type pydantic validates, ``response.output``."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import AsyncIterator, Sequence

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from beluga.core import BelugaError, ErrorCode
from beluga.llms import ModelSettings
from beluga.llms.testing import AgentInfo, FunctionModel, TestModel
from beluga.schema import (
    ChatResponse,
    FinishEvent,
    Message,
    OutputSchema,
    ResponseBuilder,
    StreamEvent,
    TextDelta,
)


class City(BaseModel):
    name: str
    population: int = 0


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


class Movie(TypedDict):
    title: str
    year: int


def _answer(text: str) -> FunctionModel:
    return FunctionModel(lambda _messages, _info: text)


async def test_output_is_the_pydantic_model_instance() -> None:
    out = OutputSchema.of(City)
    response = await TestModel().generate("a city", settings=ModelSettings(output=out))
    assert isinstance(response.output, City)
    assert response.output is response.output  # parsed once


@pytest.mark.parametrize(
    ("model", "text", "expected"),
    [
        (City, '{"name": "Oslo", "population": null}', City(name="Oslo")),
        (Point, '{"x": 1.5, "y": null}', Point(1.5)),
        (Movie, '{"title": "Heat", "year": 1995}', Movie(title="Heat", year=1995)),
        (list[City], '[{"name": "Rome", "population": 3}]', [City(name="Rome", population=3)]),
    ],
)
async def test_output_validates_into_the_requested_type(
    model: type, text: str, expected: object
) -> None:
    out = OutputSchema.of(model)
    assert out.output_type is model
    response = await _answer(text).generate("x", settings=ModelSettings(output=out))
    assert response.output == expected


def test_schema_names_come_from_the_type() -> None:
    assert OutputSchema.of(City).name == "City"
    assert OutputSchema.of(Point).name == "Point"
    assert OutputSchema.of(Movie).schema["required"] == ["title", "year"]
    assert OutputSchema.of(City, name="place").name == "place"


async def test_raw_schema_gives_the_parsed_json() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    response = await _answer('{"n": 3}').generate(
        "x", settings=ModelSettings(output=OutputSchema(schema, "count"))
    )
    assert response.output == {"n": 3}


async def test_answer_that_does_not_match_is_a_clear_error() -> None:
    response = await _answer('{"name": 5}').generate(
        "x", settings=ModelSettings(output=OutputSchema.of(City))
    )
    with pytest.raises(BelugaError) as caught:
        _ = response.output
    assert caught.value.code is ErrorCode.INVALID_REQUEST
    message = caught.value.message
    assert "did not match the output schema 'City'" in message
    assert "name: Input should be a valid string" in message


async def test_answer_that_is_not_json_says_so() -> None:
    response = await _answer("Sure! Here it is:").generate(
        "x", settings=ModelSettings(output=OutputSchema.of(City))
    )
    with pytest.raises(BelugaError, match="did not match the output schema 'City': it is not JSON"):
        _ = response.output


def test_a_cut_answer_says_to_raise_max_tokens() -> None:
    response = ChatResponse(
        Message.assistant('{"name": "Os'),
        finish_reason="length",
        output_schema=OutputSchema.of(City),
    )
    with pytest.raises(BelugaError, match="cut off at max_tokens"):
        _ = response.output


def test_output_without_a_requested_schema_explains_how_to_ask() -> None:
    with pytest.raises(BelugaError, match=r"ModelSettings\(output=OutputSchema.of"):
        _ = ChatResponse(Message.assistant("{}")).output


async def test_streams_folded_with_the_schema_give_output() -> None:
    async def chunks(_: Sequence[Message], __: AgentInfo) -> AsyncIterator[str | StreamEvent]:
        yield '{"name": '
        yield '"Lima"}'

    out = OutputSchema.of(City)
    builder = ResponseBuilder(out)
    async for event in FunctionModel(stream_function=chunks).stream(
        "x", settings=ModelSettings(output=out)
    ):
        builder.add(event)
    assert builder.build().output == City(name="Lima")


def test_builder_without_a_schema_leaves_output_unset() -> None:
    builder = ResponseBuilder()
    builder.add(TextDelta("{}"))
    builder.add(FinishEvent("stop"))
    assert builder.build().output_schema is None


def test_of_a_value_that_is_no_type_is_a_clear_error() -> None:
    with pytest.raises(BelugaError, match="cannot make a JSON schema from 5"):
        OutputSchema.of(5)  # type: ignore[arg-type]


def test_equal_schemas_compare_equal_whatever_their_type() -> None:
    assert OutputSchema.of(City) == OutputSchema(OutputSchema.of(City).schema, "City")


def test_copies_and_pickles_parse_their_own_output() -> None:
    response = ChatResponse(
        Message.assistant('{"name": "Oslo"}'), output_schema=OutputSchema.of(City)
    )
    assert copy.deepcopy(response).output == City(name="Oslo")
    assert response.output == City(name="Oslo")
    assert copy.deepcopy(response).output == City(name="Oslo")


def test_a_null_answer_is_parsed_once_too() -> None:
    response = ChatResponse(Message.assistant("null"), output_schema=OutputSchema({"type": "null"}))
    assert response.output is None and response.output is None
