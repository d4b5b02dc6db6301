"""The ReAct reader on messy model text: unit cases for each form, and properties."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from beluga.agents._react_json import loads_lenient, object_at
from beluga.agents._react_parse import Action, Reply, parse_reply
from beluga.agents._react_prompt import format_action
from beluga.schema import ToolCall, ToolDefinition

ADD = ToolDefinition(
    "add",
    "Add two integers.",
    {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}},
)
UPPER = ToolDefinition(
    "upper", "Upper-case a string.", {"type": "object", "properties": {"s": {"type": "string"}}}
)
TOOLS = [ADD, UPPER]


def actions(text: str) -> list[tuple[str, Any]]:
    return [(a.name, json.loads(a.arguments)) for a in parse_reply(text, TOOLS).actions]


def test_the_canonical_format() -> None:
    reply = parse_reply(
        'Thought: I need the sum.\nAction: add\nAction Input: {"a": 1, "b": 2}', TOOLS
    )
    assert reply == Reply(thought="I need the sum.", actions=(Action("add", '{"a": 1, "b": 2}'),))


def test_case_and_spacing_variants_of_the_labels() -> None:
    text = 'ACTION: add\nAction_Input: {"a": 1, "b": 2}\naction :upper\nactioninput:"x"'
    assert actions(text) == [("add", {"a": 1, "b": 2}), ("upper", {"s": "x"})]


def test_markdown_bold_headers_and_backticks() -> None:
    text = '**Thought:** hmm\n## **Action:** `add`\n**Action Input**: {"a": 1, "b": 2}'
    reply = parse_reply(text, TOOLS)
    assert reply.thought == "hmm"
    assert actions(text) == [("add", {"a": 1, "b": 2})]


def test_code_fence_around_the_json() -> None:
    text = 'Action: add\nAction Input:\n```json\n{"a": 1, "b": 2}\n```\nand then nothing'
    assert actions(text) == [("add", {"a": 1, "b": 2})]


def test_trailing_commas_single_quotes_python_literals_and_bare_keys() -> None:
    text = "Action: upper\nAction Input: {'s': 'it\\'s, }', }\n"
    assert actions(text) == [("upper", {"s": "it's, }"})]
    assert actions("Action: add\nAction Input: {a: 1, b: True,}") == [("add", {"a": 1, "b": True})]


def test_a_missing_action_input_is_no_arguments() -> None:
    assert actions("Thought: go\nAction: add\n") == [("add", {})]
    assert actions("Action: add\nThought: wait") == [("add", {})]


def test_a_bare_string_input_for_a_one_parameter_tool() -> None:
    assert actions("Action: upper\nAction Input: hello world\n") == [
        ("upper", {"s": "hello world"})
    ]
    assert actions("Action: upper\nAction Input: 'quoted'") == [("upper", {"s": "quoted"})]


def test_a_bare_input_for_a_tool_of_several_parameters_is_left_for_the_tool_to_reject() -> None:
    reply = parse_reply("Action: add\nAction Input: one and two", TOOLS)
    assert reply.actions == (Action("add", "one and two"),)


def test_several_actions_in_one_reply_are_parallel_calls() -> None:
    text = (
        "Thought: both at once\n"
        'Action 1: add\nAction Input 1: {"a": 2, "b": 3}\n\n'
        'Action 2: upper\nAction Input 2: {"s": "hi"}\n'
    )
    assert actions(text) == [("add", {"a": 2, "b": 3}), ("upper", {"s": "hi"})]


def test_a_hallucinated_observation_and_what_follows_it_are_cut() -> None:
    text = (
        'Action: add\nAction Input: {"a": 1, "b": 2}\nObservation: 3\n'
        'Action: upper\nAction Input: {"s": "x"}\nFinal Answer: 3'
    )
    reply = parse_reply(text, TOOLS)
    assert [a.name for a in reply.actions] == ["add"]
    assert reply.answer == ""


def test_an_answer_written_after_an_action_waits_for_the_tool() -> None:
    reply = parse_reply('Action: add\nAction Input: {"a": 1, "b": 2}\nFinal Answer: 3', TOOLS)
    assert [a.name for a in reply.actions] == ["add"]


def test_final_answer_anywhere() -> None:
    assert parse_reply("I know it. Final Answer: 42", TOOLS) == Reply(
        thought="I know it.", answer="42"
    )
    reply = parse_reply("Thought: done\n**Final Answer:** **Paris**, of course", TOOLS)
    assert (reply.thought, reply.answer) == ("done", "**Paris**, of course")
    assert parse_reply("final answer:\n\nmulti\nline", TOOLS).answer == "multi\nline"


def test_a_reply_with_neither_is_all_answer() -> None:
    assert parse_reply("  Paris is the capital.\n", TOOLS) == Reply(
        thought="", answer="Paris is the capital."
    )


def test_an_action_label_inside_a_sentence_is_not_an_action() -> None:
    text = 'Thought: I will take action: add them\nAction: add\nAction Input: {"a": 5, "b": 1}'
    assert actions(text) == [("add", {"a": 5, "b": 1})]


def test_the_tool_is_found_by_name_in_the_action_line() -> None:
    assert actions("Action: use the Upper tool\nAction Input: x") == [("upper", {"s": "x"})]
    assert actions("Action: functions.add\nAction Input: {}") == [("add", {})]


def test_an_exact_name_wins_over_a_case_insensitive_one() -> None:
    tools = [ToolDefinition("Add"), ToolDefinition("add")]
    assert [a.name for a in parse_reply("Action: add\nAction: Add", tools).actions] == [
        "add",
        "Add",
    ]
    assert [a.name for a in parse_reply("Action: ADD", tools).actions] == ["add"]


def test_an_unknown_tool_is_kept_for_the_agent_to_report() -> None:
    assert actions('Action: search\nAction Input: {"q": "x"}') == [("search", {"q": "x"})]


def test_the_langchain_json_blob() -> None:
    text = 'Action:\n```json\n{"action": "upper", "action_input": {"s": "x"}}\n```'
    assert actions(text) == [("upper", {"s": "x"})]


def test_final_answer_given_as_an_action() -> None:
    assert parse_reply('Action: Final Answer\nAction Input: "done"', TOOLS).answer == "done"


def test_a_labels_inside_the_json_input_do_not_split_it() -> None:
    text = 'Action: upper\nAction Input: {"s": "Observation: no\\nAction: add"}\nObservation: X'
    assert actions(text) == [("upper", {"s": "Observation: no\nAction: add"})]


def test_an_input_cut_short_is_closed() -> None:
    assert actions('Action: upper\nAction Input: {"s": "unfinish') == [("upper", {"s": "unfinish"})]


def test_without_actions_only_the_answer_is_read() -> None:
    reply = parse_reply("Action: add\nAction Input: {}\nFinal Answer: 7", TOOLS, actions=False)
    assert (reply.actions, reply.answer) == ((), "7")


def test_lenient_json_leaves_valid_json_as_is_and_repairs_the_rest() -> None:
    assert loads_lenient('{"a": [1, 2.5e3, null]}') == ({"a": [1, 2500.0, None]},)
    assert loads_lenient("{'a': None, 'b': 'x\\u00e9',}") == ({"a": None, "b": "x\u00e9"},)
    assert loads_lenient("{'a': ") is None
    assert object_at('xx {"a": 1} tail', 3) == ({"a": 1}, 11, True)
    assert object_at("{'a': [1, 2,]} tail", 0) == ({"a": [1, 2]}, 14, False)


# -- properties -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
arguments = st.dictionaries(st.text(), json_values, max_size=5)
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_\-]{0,20}", fullmatch=True).filter(
    lambda n: n.replace("_", " ").strip().lower() not in ("final answer", "finish", "answer")
)
noise = st.text().map(lambda t: t.replace(":", " ").replace("：", " "))


@given(st.text())
def test_the_reader_never_raises(text: str) -> None:
    reply = parse_reply(text, TOOLS)
    assert reply.actions or isinstance(reply.answer, str)


@given(st.text(alphabet=st.sampled_from("Action Input:Final Answer Observation{}[]'\",\n`*#tT")))
def test_the_reader_never_raises_on_label_soup(text: str) -> None:
    parse_reply(text, TOOLS)


@given(names, arguments, noise, noise, st.text())
def test_an_action_we_format_parses_back_from_noise(
    name: str, args: dict[str, Any], before: str, after: str, invented: str
) -> None:
    tool = ToolDefinition(name, "", {"type": "object", "properties": {"x": {}, "y": {}}})
    rendered = format_action(ToolCall("c1", name, json.dumps(args)))
    for text in (
        f"{before}\n{rendered}\n{after}",
        f"{before}\n{rendered}\nObservation: {invented}",
    ):
        reply = parse_reply(text, [tool, ADD])
        assert reply.actions, text
        assert reply.actions[0].name == name
        assert json.loads(reply.actions[0].arguments) == args


@given(st.lists(st.tuples(names, arguments), min_size=1, max_size=4), noise)
def test_several_formatted_actions_parse_back_in_order(
    calls: list[tuple[str, dict[str, Any]]], before: str
) -> None:
    tools = [ToolDefinition(n, "") for n in {n for n, _ in calls}]
    text = before + "".join(
        "\n" + format_action(ToolCall(f"c{i}", n, json.dumps(a))) for i, (n, a) in enumerate(calls)
    )
    reply = parse_reply(text, tools)
    assert [(a.name, json.loads(a.arguments)) for a in reply.actions] == calls
