"""The strict form of output schemas (OpenAI structured outputs), and its fallback."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field

from beluga.schema import OutputSchema
from beluga.schema._strict import drop_added_nulls, strict_json_schema


class Address(BaseModel):
    street: str
    city: str = "Paris"


class Person(BaseModel):
    """A person."""

    name: str
    age: int | None = None
    nickname: str = ""
    home: Address | None = None
    work: Address = Field(default_factory=lambda: Address(street="x"), description="Office.")
    pets: list[Address] = []


def _objects(node: Any) -> list[dict[str, Any]]:
    """Every object schema inside ``node``."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append(node)
        for value in node.values():
            found.extend(_objects(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_objects(value))
    return found


def _assert_strict(schema: dict[str, Any]) -> None:
    """What OpenAI's strict mode checks: every object closed, every property required, no
    sibling of ``$ref``, no ``default``."""
    assert schema["type"] == "object"
    objects = _objects(schema)
    assert objects
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            assert "default" not in node and "oneOf" not in node
            assert "$ref" not in node or len(node) == 1, node
            for key, value in node.items():
                if key != "properties":
                    walk(value)
                else:
                    for sub in value.values():
                        walk(sub)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)


def test_pydantic_schema_gets_the_strict_form() -> None:
    schema, strict = OutputSchema.of(Person).request_schema()
    assert strict is True
    _assert_strict(schema)
    props = schema["properties"]
    assert props["age"] == {"anyOf": [{"type": "integer"}, {"type": "null"}], "title": "Age"}
    assert props["nickname"]["type"] == ["string", "null"]  # optional, not nullable before
    assert props["work"]["description"] == "Office."  # kept outside the wrapped $ref
    assert {"type": "null"} in props["work"]["anyOf"]
    address = schema["$defs"]["Address"]
    assert address["required"] == ["street", "city"]
    assert address["properties"]["city"]["type"] == ["string", "null"]


def test_strict_form_accepts_what_the_original_accepts() -> None:
    original = OutputSchema.of(Person).schema
    strict = strict_json_schema(original)
    assert strict is not None
    full = {
        "name": "Ann",
        "age": 30,
        "nickname": "A",
        "home": {"street": "a", "city": "b"},
        "work": {"street": "c", "city": "d"},
        "pets": [{"street": "e", "city": "f"}],
    }
    jsonschema.validate(full, original)
    jsonschema.validate(full, strict)
    with pytest.raises(jsonschema.ValidationError):  # closed now
        jsonschema.validate({**full, "extra": 1}, strict)
    with pytest.raises(jsonschema.ValidationError):  # every field present
        jsonschema.validate({"name": "Ann"}, strict)


def test_the_original_schema_is_not_changed() -> None:
    out = OutputSchema.of(Person)
    before = repr(out.schema)
    out.request_schema()
    assert repr(out.schema) == before
    assert "additionalProperties" not in out.schema


def test_nulls_the_strict_form_added_mean_left_out() -> None:
    text = (
        '{"name": "Ann", "age": null, "nickname": null, "home": null,'
        ' "work": {"street": "s", "city": null}, "pets": [{"street": "p", "city": null}]}'
    )
    person = OutputSchema.of(Person).parse(text)
    assert person == Person(
        name="Ann",
        age=None,
        home=None,
        work=Address(street="s"),
        pets=[Address(street="p")],
    )
    assert person.nickname == ""  # the default, not a validation error


def test_a_null_the_schema_allows_is_kept() -> None:
    value, dropped = drop_added_nulls({"age": None}, OutputSchema.of(Person).schema)
    assert value == {"age": None} and dropped is False


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    lives: int = 9


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"
    good: bool = True


class Pet(BaseModel):
    pet: Annotated[Cat | Dog, Field(discriminator="kind")]


def test_discriminated_union_becomes_any_of_and_nulls_drop_in_the_right_branch() -> None:
    out = OutputSchema.of(Pet)
    schema, strict = out.request_schema()
    assert strict is True
    _assert_strict(schema)
    assert "discriminator" not in repr(schema)
    pet = out.parse('{"pet": {"kind": "dog", "good": null}}')
    assert pet == Pet(pet=Dog())


class Node(BaseModel):
    value: int
    children: list[Node] = []


def test_recursive_model_keeps_its_references() -> None:
    schema, strict = OutputSchema.of(Node).request_schema()
    assert strict is True
    assert schema["type"] == "object" and "$ref" not in schema
    assert schema["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    node = OutputSchema.of(Node).parse('{"value": 1, "children": [{"value": 2, "children": null}]}')
    assert node == Node(value=1, children=[Node(value=2)])


class Limited(BaseModel):
    code: str = Field(max_length=5, description="A code.")
    words: list[str] = Field(min_length=1)


def test_constraints_strict_mode_rejects_move_into_the_description() -> None:
    out = OutputSchema.of(Limited)
    schema, strict = out.request_schema()
    assert strict is True
    code = schema["properties"]["code"]
    assert "maxLength" not in code and code["description"] == "A code. (maxLength=5)"
    assert schema["properties"]["words"]["minItems"] == 1  # strict mode takes this one
    with pytest.raises(Exception, match="did not match"):  # the parse still checks it
        out.parse('{"code": "toolong", "words": ["a"]}')


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object"},  # a free-form object
        {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": True},
        {"type": "object", "properties": {}, "additionalProperties": {"type": "integer"}},
        {"type": "object", "patternProperties": {"^x": {"type": "string"}}},
        {"type": "object", "properties": {"a": {}}},  # any value
        {"type": "object", "properties": {"a": {"type": "array"}}},  # array of anything
        {"type": "object", "properties": {"a": {"not": {"type": "string"}}}},
        {"type": "array", "items": {"type": "string"}},  # the root must be an object
        {"anyOf": [{"type": "object", "properties": {}}, {"type": "string"}]},
    ],
)
def test_schema_without_a_strict_form_is_sent_non_strict(schema: dict[str, Any]) -> None:
    assert strict_json_schema(schema) is None
    assert OutputSchema(schema).request_schema() == (schema, False)


def test_models_with_open_parts_fall_back() -> None:
    class Tags(BaseModel):
        tags: dict[str, int]

    class Pair(BaseModel):
        pair: tuple[int, str]

    assert OutputSchema.of(Tags).request_schema()[1] is False
    assert OutputSchema.of(Pair).request_schema()[1] is False


def test_strict_off_sends_the_schema_as_given() -> None:
    out = OutputSchema.of(Person, strict=False)
    assert out.request_schema() == (out.schema, False)


def test_already_strict_schema_is_unchanged() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": ["integer", "null"]}},
        "required": ["a", "b"],
        "additionalProperties": False,
    }
    assert strict_json_schema(schema) == schema
