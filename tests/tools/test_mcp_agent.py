"""A Beluga agent calls the tools of real MCP servers, over stdio and over streamable HTTP,
driven by a FunctionModel: parallel calls with text and image results, an approval, and a
server that crashes mid-call (the model sees the error, the next call reconnects)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

import pytest

from beluga.agents import Agent
from beluga.llms.testing import AgentInfo, FunctionModel, FunctionResult
from beluga.schema import ChatResponse, ImagePart, Message, ToolCall, Usage
from beluga.tools.mcp import MCPServer
from tests.tools.mcp_servers.harness import DEMO, STARTUP, HttpDemo, http_demo

pytest.importorskip("mcp")


@pytest.fixture(params=["stdio", "http"])
def transport(request: pytest.FixtureRequest) -> Iterator[HttpDemo | None]:
    if request.param == "stdio":
        yield None
    else:
        with http_demo() as demo:
            yield demo


@pytest.fixture
async def server(transport: HttpDemo | None) -> AsyncIterator[MCPServer]:
    if transport is None:
        live = MCPServer.stdio(sys.executable, [DEMO], prefix="demo", connect_timeout=STARTUP)
    else:
        live = MCPServer.http(transport.url, prefix="demo", connect_timeout=STARTUP)
    async with live:
        yield live


Step = Callable[[Sequence[Message], AgentInfo], FunctionResult]


def scripted(*steps: Step) -> FunctionModel:
    """A FunctionModel playing ``steps`` in order, one per request."""
    seen: list[int] = []

    def answer(messages: Sequence[Message], info: AgentInfo) -> FunctionResult:
        seen.append(len(seen))
        return steps[len(seen) - 1](messages, info)

    return FunctionModel(answer)


def calls(*pairs: tuple[str, str]) -> ChatResponse:
    tool_calls = tuple(ToolCall(f"call_{i}", name, args) for i, (name, args) in enumerate(pairs))
    return ChatResponse(Message.assistant(tool_calls=tool_calls), Usage(3, 2), "tool_calls")


def results(messages: Sequence[Message]) -> dict[str, Message]:
    """The tool results of the last step, by the name of the tool that answered."""
    names = {c.id: c.name for m in messages for c in m.tool_calls}
    return {names[m.tool_call_id or ""]: m for m in messages if m.role == "tool"}


async def test_an_agent_calls_mcp_tools_in_parallel_with_text_and_image_results(
    server: MCPServer,
) -> None:
    offered: list[set[str]] = []

    def first(messages: Sequence[Message], info: AgentInfo) -> FunctionResult:
        offered.append({t.name for t in info.tools})
        return calls(("demo_add", '{"a": 2, "b": 3}'), ("demo_picture", "{}"))

    def second(messages: Sequence[Message], info: AgentInfo) -> FunctionResult:
        answers = results(messages)
        image = answers["demo_picture"].content[0]
        assert isinstance(image, ImagePart) and image.media_type == "image/png"
        return f"the sum is {answers['demo_add'].text}"

    agent = Agent(scripted(first, second), tools=[server], name="mcp-user")
    result = await agent.run("add 2 and 3, then draw")
    assert result.output == "the sum is 5"
    assert result.tool_calls == 2
    assert {"demo_add", "demo_picture", "demo_echo_text"} <= offered[0]


async def test_an_mcp_server_that_crashes_mid_call_then_recovers_within_the_run(
    server: MCPServer, transport: HttpDemo | None
) -> None:
    def crash(messages: Sequence[Message], info: AgentInfo) -> FunctionResult:
        return calls(("demo_crash", "{}"))

    def retry(messages: Sequence[Message], info: AgentInfo) -> FunctionResult:
        failed = results(messages)["demo_crash"]
        assert failed.is_error
        assert "closed the connection" in failed.text and "reconnects" in failed.text
        if transport is not None:
            transport.restart()  # an HTTP server does not come back on its own
        return calls(("demo_add", '{"a": 40, "b": 2}'))

    def answer(messages: Sequence[Message], info: AgentInfo) -> FunctionResult:
        added = results(messages[-2:])["demo_add"]
        assert not added.is_error
        return f"recovered: {added.text}"

    agent = Agent(scripted(crash, retry, answer), tools=[server])
    result = await agent.run("try the flaky tool, then add")
    assert result.output == "recovered: 42"


async def test_approval_applies_to_mcp_tools() -> None:
    server = MCPServer.stdio(
        sys.executable, [DEMO], requires_approval=["add"], connect_timeout=STARTUP
    )

    def first(messages: Sequence[Message], info: AgentInfo) -> FunctionResult:
        return calls(("add", '{"a": 1, "b": 1}'))

    def second(messages: Sequence[Message], info: AgentInfo) -> FunctionResult:
        denied = results(messages)["add"]
        assert denied.is_error and "not now" in denied.text
        return "fine"

    async with server:
        agent = Agent(
            scripted(first, second), tools=[server], approve=lambda ctx, call: (False, "not now")
        )
        assert (await agent.run("add")).output == "fine"
