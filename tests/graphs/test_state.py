"""State schemas, reducers, and the stored JSON form (round trips, refusals)."""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass
from typing import Annotated, Any, NotRequired, TypedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from beluga.core.errors import BelugaError
from beluga.graphs._state import StateSpec, decode_value, encode_value
from beluga.schema import Document, Message, ToolCall


class Item(BaseModel):
    name: str
    qty: int = 1


@dataclass
class Box:
    label: str
    items: list[Item]


class TD(TypedDict):
    messages: Annotated[list[Message], operator.add]
    box: NotRequired[Box]
    count: NotRequired[int]
    docs: NotRequired[list[Document]]


def test_fields_and_reducers_are_read_from_annotations() -> None:
    spec = StateSpec(TD)
    assert list(spec.fields) == ["messages", "box", "count", "docs"]
    assert spec.reducers == {"messages": operator.add}
    values: dict[str, Any] = {"messages": [Message.user("a")]}
    spec.apply(values, {"messages": [Message.assistant("b")], "count": 2})
    spec.apply(values, {"count": 3})
    assert [m.text for m in values["messages"]] == ["a", "b"] and values["count"] == 3


def test_stored_form_is_json_and_restores_types() -> None:
    spec = StateSpec(TD)
    values: dict[str, Any] = {
        "messages": [
            Message.user("hi"),
            Message.assistant(tool_calls=[ToolCall("c1", "f", '{"a": 1}')]),
        ],
        "box": Box("b", [Item(name="x", qty=2)]),
        "count": 7,
        "docs": [Document("text", metadata={"k": "v"})],
    }
    text = json.dumps(spec.encode(values))
    back = spec.decode(json.loads(text))
    assert back["box"] == Box("b", [Item(name="x", qty=2)])
    assert isinstance(back["messages"][1], Message)
    assert back["messages"][1].tool_calls[0].name == "f"
    assert back["docs"][0].metadata == {"k": "v"}
    assert back["count"] == 7


def test_unstorable_values_are_refused_with_the_field() -> None:
    with pytest.raises(BelugaError, match=r"state field 'handle' holds a object"):
        encode_value(object(), "handle")
    with pytest.raises(BelugaError, match="dict key 1"):
        encode_value({1: "x"}, "m")
    with pytest.raises(BelugaError, match="does not fit its type"):
        StateSpec(TD).decode({"box": {"label": 3}})


def test_pydantic_and_dataclass_inputs_are_validated() -> None:
    class M(BaseModel):
        n: int
        tags: list[str] = []

    assert StateSpec(M).initial({"n": "3"}) == {"n": 3, "tags": []}
    with pytest.raises(BelugaError, match="invalid graph input"):
        StateSpec(M).initial({"n": "three"})
    with pytest.raises(BelugaError, match="not a field"):
        StateSpec(M).initial({"m": 1})

    @dataclass
    class D:
        n: int

    with pytest.raises(BelugaError, match="invalid graph input"):
        StateSpec(D).initial({})
    with pytest.raises(BelugaError, match="is a mapping"):
        StateSpec(D).initial(5)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text().filter(lambda k: k != "$wire"), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_json_values_round_trip_unchanged(value: Any) -> None:
    assert decode_value(json.loads(json.dumps(encode_value(value)))) == value
