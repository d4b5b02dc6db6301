"""Agents declared in beluga.yaml: built by name, every mistake one ConfigError with its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from beluga.agents import Agent
from beluga.agents.config import AgentsConfig, build_agent, validate_agents
from beluga.config import ConfigError, load_config


def shout(text: str) -> str:
    """Say it louder.

    Args:
        text: What to say.
    """
    return text.upper()


class Answer:
    """Not a type pydantic can make a schema of, for the output_type error."""

    def __init__(self, _: Any) -> None: ...


def write(tmp_path: Path, agents: str) -> Path:
    path = tmp_path / "beluga.yaml"
    path.write_text("version: 1\nllm: {default: test}\nagents:\n" + agents, encoding="utf-8")
    return path


async def test_an_agent_is_built_with_its_tools_settings_and_limits(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
  helper:
    instructions: Be brief.
    tools: [calculator, "tests.agents.test_config:shout"]
    settings: {temperature: 0.1}
    limits: {max_steps: 3}
""",
    )
    agent = build_agent(load_config(path), "helper")
    assert isinstance(agent, Agent)
    assert agent.name == "helper"
    assert agent.limits.max_steps == 3
    assert agent.request_settings.temperature == 0.1
    result = await agent.run("hi")
    names = [c.name for m in result.all_messages() for c in m.tool_calls]
    assert names == ["calculator", "shout"]
    assert result.output == "success (no tool calls)"
    await agent.aclose()


def test_builtin_options_and_handoffs_resolve(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
  front:
    tools: [{builtin: http_fetch, allowed_hosts: [example.com]}]
    handoffs: [billing]
  billing: {model: test, description: Bills.}
""",
    )
    config = load_config(path)
    assert validate_agents(config) == ["billing", "front"]
    front = build_agent(config, "front")
    assert [a.name for a in front.handoffs] == ["billing"]


@pytest.mark.parametrize(
    ("agents", "key", "words"),
    [
        ("  a: {tools: [no_such_tool]}\n", "agents.a.tools[0]", "no_such_tool"),
        ("  a: {tools: ['tests.agents.test_config:missing']}\n", "agents.a.tools[0]", "missing"),
        ("  a: {tools: [{allowed_hosts: [x]}]}\n", "agents.a.tools[0]", "builtin"),
        ("  a: {tools: [{builtin: calculator, bogus: 1}]}\n", "agents.a.tools[0]", "options"),
        ("  a: {tools: [{mcp: {command: x, url: y}}]}\n", "agents.a.tools[0].mcp", "command"),
        ("  a: {handoffs: [b]}\n", "agents.a.handoffs", "no agent 'b'"),
        ("  a: {handoffs: [b]}\n  b: {handoffs: [a]}\n", "agents.b.handoffs", "loop"),
        ("  a: {limits: {max_stepz: 3}}\n", "agents.a", "max_stepz"),
        ("  a: {settings: {temprature: 1}}\n", "agents.a.settings.temprature", "temprature"),
        ("  a: {output_type: Answer}\n", "agents.a.output_type", "import path"),
        ("  a: {output_type: 'tests.agents.test_config:Nope'}\n", "agents.a.output_type", "Nope"),
        ("  a: {modle: test}\n", "agents.a.modle", "modle"),
    ],
)
def test_every_mistake_is_one_config_error_naming_its_key(
    tmp_path: Path, agents: str, key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as info:
        validate_agents(load_config(write(tmp_path, agents)))
    assert info.value.key_path == key, str(info.value)
    assert words in str(info.value)


def test_an_unknown_agent_lists_the_declared_ones(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "  one: {}\n  two: {}\n"))
    with pytest.raises(ConfigError, match="one, two"):
        build_agent(config, "three")


def test_the_section_is_registered_and_empty_by_default() -> None:
    from beluga.config import BelugaConfig

    assert AgentsConfig.of(BelugaConfig()).agents == {}


def scripted_mcp_user(**_: Any) -> Any:
    """A model that calls the MCP server's ``add`` tool, then answers with its result."""
    from beluga.llms.testing import FunctionModel
    from beluga.schema import ChatResponse, Message, ToolCall, Usage

    def answer(messages: Any, info: Any) -> Any:
        results = [m for m in messages if m.role == "tool"]
        if results:
            return f"the sum is {results[-1].text}"
        names = sorted(t.name for t in info.tools)
        assert {"m_add", "m_echo_text", "m_picture"} <= set(names)  # prefixed, sanitized
        call = ToolCall("call_1", "m_add", '{"a": 20, "b": 22}')
        return ChatResponse(Message.assistant(tool_calls=(call,)), Usage(3, 2), "tool_calls")

    return FunctionModel(answer)


async def test_an_agent_declared_with_an_mcp_server_calls_its_tools_over_stdio(
    tmp_path: Path,
) -> None:
    pytest.importorskip("mcp")
    import json
    import sys

    from beluga.llms.registry import registry
    from tests.tools.mcp_servers.harness import DEMO

    registry.register("scripted-mcp", "tests.agents.test_config:scripted_mcp_user")
    try:
        server = json.dumps({"command": sys.executable, "args": [DEMO], "prefix": "m"})
        path = write(
            tmp_path, f"  calc:\n    model: scripted-mcp\n    tools: [{{mcp: {server}}}]\n"
        )
        agent = build_agent(load_config(path), "calc")
        async with agent:
            result = await agent.run("add 20 and 22")
        assert result.output == "the sum is 42"
        tool_message = next(m for m in result.all_messages() if m.role == "tool")
        assert tool_message.text == "42"
    finally:
        registry.unregister("scripted-mcp")
