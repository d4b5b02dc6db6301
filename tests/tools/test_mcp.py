"""MCPServer over stdio against a real MCP server (tests/tools/mcp_servers/demo.py) written with
the ``mcp`` SDK and spawned with this interpreter."""

from __future__ import annotations

import asyncio
import base64
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import AudioPart, FilePart, ImagePart, TextPart
from beluga.tools import RunContext, Tool, ToolResult, ToolRetry, Toolset
from beluga.tools.mcp import MCPServer, MCPTool
from tests.tools.mcp_servers.harness import DEMO, STARTUP, process_gone

pytest.importorskip("mcp")

CTX: RunContext[None] = RunContext(None)


def demo(**options: Any) -> MCPServer:
    options.setdefault("connect_timeout", STARTUP)
    return MCPServer.stdio(sys.executable, [DEMO], **options)


@pytest.fixture
async def server() -> AsyncIterator[MCPServer]:
    async with demo() as live:
        yield live


async def tool(server: MCPServer, name: str) -> MCPTool:
    tools = {t.mcp_name: t for t in await server.list_tools(CTX)}
    return tools[name]


async def call(server: MCPServer, name: str, /, **arguments: Any) -> ToolResult:
    return await (await tool(server, name)).call(arguments, CTX)


def texts(result: ToolResult) -> list[str]:
    return [p.text for p in result.content if isinstance(p, TextPart)]


async def test_an_mcp_server_is_a_toolset_of_beluga_tools(server: MCPServer) -> None:
    tools = await server.list_tools(CTX)
    assert isinstance(server, Toolset)
    assert all(isinstance(t, Tool) for t in tools)
    add = next(t for t in tools if t.mcp_name == "add")
    assert add.definition.description == "Add two integers."
    assert set(add.definition.parameters["properties"]) == {"a", "b"}
    assert add.definition.parameters["required"] == ["a", "b"]
    assert add.timeout == 60.0 and add.max_retries == 1 and not add.requires_approval


async def test_names_are_sanitized_for_providers_and_calls_use_the_server_name(
    server: MCPServer,
) -> None:
    echo = await tool(server, "echo.text")
    assert echo.definition.name == "echo_text"
    assert texts(await echo.call({"text": "hi"}, CTX)) == ["hi"]


async def test_prefix_goes_before_every_tool_name() -> None:
    async with demo(prefix="files") as server:
        names = {t.definition.name for t in await server.list_tools(CTX)}
    assert {"files_add", "files_echo_text"} <= names
    assert all(n.startswith("files_") for n in names)


async def test_the_listing_is_cached_until_the_server_says_it_changed(server: MCPServer) -> None:
    first = await server.list_tools(CTX)
    assert await server.list_tools(CTX) is first


async def test_text_result(server: MCPServer) -> None:
    result = await call(server, "add", a=2, b=3)
    assert result == ToolResult((TextPart("5"),))


async def test_image_and_audio_results_become_media_parts(server: MCPServer) -> None:
    (image,) = (await call(server, "picture")).content
    assert isinstance(image, ImagePart) and image.media_type == "image/png"
    assert image.as_bytes().startswith(b"\x89PNG")
    (audio,) = (await call(server, "sound")).content
    assert isinstance(audio, AudioPart) and audio.media_type == "audio/wav"
    assert audio.as_bytes().startswith(b"RIFF")


async def test_embedded_resources_and_links(server: MCPServer) -> None:
    text, blob, link = (await call(server, "documents")).content
    assert text == TextPart("the notes")
    assert isinstance(blob, FilePart)
    assert (blob.name, blob.media_type, blob.as_bytes()) == (
        "report.pdf",
        "application/pdf",
        b"%PDF-1.4",
    )
    assert isinstance(link, TextPart)
    assert link.text == "[resource: manual](https://example.invalid/manual) — the manual"


async def test_structured_content_is_the_text_when_there_is_no_content(server: MCPServer) -> None:
    assert texts(await call(server, "only_structured")) == ['{"total": 42}']


async def test_is_error_becomes_an_error_result_for_the_model(server: MCPServer) -> None:
    result = await call(server, "refuse", reason="no")
    assert result.is_error and texts(result) == ["refused: no"]


async def test_invalid_params_from_the_server_is_a_tool_retry(server: MCPServer) -> None:
    with pytest.raises(ToolRetry, match="n must be positive, got -1"):
        await call(server, "positive", n=-1)
    assert texts(await call(server, "positive", n=4)) == ["4"]


async def test_a_tool_added_at_run_time_is_listed_after_the_notification(
    server: MCPServer,
) -> None:
    assert "added" not in {t.mcp_name for t in await server.list_tools(CTX)}
    assert texts(await call(server, "grow")) == ["grown"]
    added = await until_listed(server, "added")
    assert texts(await added.call({"x": 21}, CTX)) == ["42"]


async def test_handshake_era_servers_are_followed_by_their_notifications() -> None:
    async with demo(protocol="legacy") as server:
        await call(server, "grow")
        added = await until_listed(server, "added")
        assert texts(await added.call({"x": 1}, CTX)) == ["2"]


async def until_listed(server: MCPServer, name: str) -> MCPTool:
    """The tool ``name`` once a listing has it (the notification may trail the answer)."""
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        for t in await server.list_tools(CTX):
            if t.mcp_name == name:
                return t
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} was never listed")


async def test_a_crash_mid_call_is_a_retryable_error_and_the_next_call_reconnects(
    server: MCPServer,
) -> None:
    before = int(texts(await call(server, "pid"))[0])
    with pytest.raises(BelugaError) as caught:
        await call(server, "crash")
    error = caught.value
    assert error.code is ErrorCode.PROVIDER_UNAVAILABLE and error.retryable
    name = f"{Path(sys.executable).name} demo.py"  # the server's name is its command line
    assert f"MCP server '{name}' closed the connection" in error.message
    assert "the next call reconnects" in error.message
    after = int(texts(await call(server, "pid"))[0])
    assert after != before
    assert texts(await call(server, "add", a=1, b=1)) == ["2"]


async def test_a_missing_command_fails_at_once_with_a_clear_error() -> None:
    server = MCPServer.stdio("beluga-no-such-mcp-server", ["--stdio"], connect_timeout=STARTUP)
    with pytest.raises(BelugaError) as caught:
        await server.list_tools(CTX)
    assert caught.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    assert caught.value.message.startswith(
        "cannot connect to MCP server 'beluga-no-such-mcp-server': command not found"
    )
    assert "check the command" in caught.value.message


async def test_a_server_that_exits_before_the_handshake_is_a_clear_error() -> None:
    server = MCPServer.stdio(sys.executable, ["-c", "import sys; sys.exit(4)"], name="quitter")
    with pytest.raises(BelugaError, match="cannot connect to MCP server 'quitter'") as caught:
        async with server:
            pass
    assert caught.value.code is ErrorCode.PROVIDER_UNAVAILABLE


async def test_a_server_that_never_answers_the_handshake_times_out() -> None:
    silent = MCPServer.stdio(
        sys.executable, ["-c", "import time; time.sleep(600)"], name="silent", connect_timeout=1
    )
    with pytest.raises(BelugaError) as caught:
        await silent.connect()
    assert caught.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    assert "did not complete the MCP handshake within 1 s" in caught.value.message
    assert not leftover_tasks()


async def test_a_call_longer_than_the_timeout_is_a_timeout_error() -> None:
    async with demo(timeout=0.5) as server:
        with pytest.raises(BelugaError) as caught:
            await call(server, "slow", seconds=30)
        assert caught.value.code is ErrorCode.TIMEOUT
        assert "did not answer the call to tool 'slow' within 0.5 s" in caught.value.message
        assert texts(await call(server, "add", a=1, b=2)) == ["3"]


async def test_a_cancelled_call_leaves_the_connection_usable(server: MCPServer) -> None:
    slow = await tool(server, "slow")
    task = asyncio.create_task(slow.call({"seconds": 30}, CTX))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert texts(await call(server, "add", a=2, b=2)) == ["4"]


async def test_parallel_calls_share_one_connection(server: MCPServer) -> None:
    add = await tool(server, "add")
    pids = await asyncio.gather(*(call(server, "pid") for _ in range(4)))
    results = await asyncio.gather(*(add.call({"a": i, "b": i}, CTX) for i in range(8)))
    assert [texts(r) for r in results] == [[str(2 * i)] for i in range(8)]
    assert len(set(map(str, pids))) == 1


async def test_env_reaches_the_server_and_stays_secret() -> None:
    secret = "mcp-env-secret-71c3"
    async with demo(env={"DEMO_TOKEN": secret}) as server:
        assert texts(await call(server, "environment", name="DEMO_TOKEN")) == [secret]
        assert secret not in repr(server)
        assert secret not in repr(await server.list_tools(CTX))
    failing = MCPServer.stdio("beluga-no-such-mcp-server", env={"DEMO_TOKEN": secret})
    with pytest.raises(BelugaError) as caught:
        await failing.connect()
    assert secret not in str(caught.value) and secret not in repr(caught.value)


async def test_requires_approval_for_every_tool_or_by_name() -> None:
    async with demo(requires_approval=True) as every:
        assert all(t.requires_approval for t in await every.list_tools(CTX))
    async with demo(requires_approval=["add", "echo_text"]) as some:
        approval = {t.mcp_name: t.requires_approval for t in await some.list_tools(CTX)}
    assert approval["add"] and approval["echo.text"]
    assert not approval["picture"]


async def test_closing_stops_the_server_and_leaves_no_task() -> None:
    server = demo()
    pid = int(texts(await call(server, "pid"))[0])  # connected lazily, from this task
    await server.aclose()
    assert process_gone(pid)
    assert not leftover_tasks()
    assert texts(await call(server, "add", a=3, b=4)) == ["7"]  # connects again
    await server.aclose()


async def test_nested_async_with_closes_with_the_outermost_block() -> None:
    server = demo()
    async with server:
        async with server:
            pid = int(texts(await call(server, "pid"))[0])
        assert texts(await call(server, "pid")) == [str(pid)]
    assert process_gone(pid)


async def test_connect_and_close_from_different_tasks() -> None:
    server = demo()
    await asyncio.create_task(server.connect())
    assert texts(await call(server, "add", a=1, b=1)) == ["2"]
    await asyncio.create_task(server.aclose())
    assert not leftover_tasks()


def leftover_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


def test_tool_results_decode_base64_once() -> None:
    from beluga.tools._mcp_content import to_tool_result

    class Block:
        type = "image"
        data = base64.b64encode(b"\x89PNG").decode()
        mime_type = "image/png"

    (part,) = to_tool_result([Block()], None, False).content
    assert isinstance(part, ImagePart) and part.base64 == Block.data


def test_one_server_used_by_two_event_loops_reconnects_in_the_second() -> None:
    server = demo()
    first = asyncio.run(call(server, "pid"))  # the loop's end cancels, and closes, its connection
    assert process_gone(int(texts(first)[0]))

    async def again() -> list[str]:
        try:
            return texts(await call(server, "add", a=5, b=6))
        finally:
            await server.aclose()

    assert asyncio.run(again()) == ["11"]
