"""MCPServer over streamable HTTP against the demo MCP server running in its own process on
127.0.0.1 (a free port), started for these tests and killed after."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import ImagePart, TextPart
from beluga.tools import RunContext, ToolResult
from beluga.tools.mcp import MCPServer, MCPServerConfig
from tests.tools.mcp_servers.harness import STARTUP, HttpDemo, dead_port, http_demo

pytest.importorskip("mcp")

CTX: RunContext[None] = RunContext(None)
SECRET = "Bearer hdr-secret-5d0f1e77"


@pytest.fixture(scope="module")
def running() -> Iterator[HttpDemo]:
    with http_demo() as demo:
        yield demo


@pytest.fixture
async def server(running: HttpDemo) -> AsyncIterator[MCPServer]:
    async with MCPServer.http(
        running.url, headers={"Authorization": SECRET}, connect_timeout=STARTUP
    ) as live:
        yield live


async def call(server: MCPServer, name: str, /, **arguments: Any) -> ToolResult:
    tools = {t.mcp_name: t for t in await server.list_tools(CTX)}
    return await tools[name].call(arguments, CTX)


def texts(result: ToolResult) -> list[str]:
    return [p.text for p in result.content if isinstance(p, TextPart)]


async def test_lists_and_calls_tools_over_http(server: MCPServer, running: HttpDemo) -> None:
    names = {t.definition.name for t in await server.list_tools(CTX)}
    assert {"add", "echo_text", "picture", "grow"} <= names
    assert texts(await call(server, "add", a=20, b=22)) == ["42"]
    (image,) = (await call(server, "picture")).content
    assert isinstance(image, ImagePart) and image.as_bytes().startswith(b"\x89PNG")
    assert server.name == f"http://127.0.0.1:{running.port}/mcp"


async def test_headers_are_sent_with_every_request(server: MCPServer) -> None:
    assert texts(await call(server, "header", name="Authorization")) == [SECRET]


async def test_is_error_and_invalid_params_over_http(server: MCPServer) -> None:
    assert (await call(server, "refuse", reason="x")).is_error
    from beluga.tools import ToolRetry

    with pytest.raises(ToolRetry, match="n must be positive"):
        await call(server, "positive", n=0)


async def test_list_changes_are_followed_over_http(running: HttpDemo) -> None:
    async with MCPServer.http(running.url, connect_timeout=STARTUP) as server:
        await call(server, "grow")
        deadline = time.monotonic() + STARTUP
        while "added" not in {t.mcp_name for t in await server.list_tools(CTX)}:
            assert time.monotonic() < deadline, "the added tool was never listed"
            await asyncio.sleep(0.05)
        assert texts(await call(server, "added", x=5)) == ["10"]


async def test_a_timeout_over_http(running: HttpDemo) -> None:
    async with MCPServer.http(running.url, timeout=0.5, connect_timeout=STARTUP) as server:
        with pytest.raises(BelugaError) as caught:
            await call(server, "slow", seconds=30)
        assert caught.value.code is ErrorCode.TIMEOUT
        assert texts(await call(server, "add", a=1, b=1)) == ["2"]


async def test_a_crash_mid_call_then_recovery_once_the_server_is_back() -> None:
    with http_demo() as demo:
        async with MCPServer.http(demo.url, name="flaky", connect_timeout=STARTUP) as server:
            assert texts(await call(server, "add", a=1, b=2)) == ["3"]
            with pytest.raises(BelugaError) as caught:
                await call(server, "crash")
            assert caught.value.code is ErrorCode.PROVIDER_UNAVAILABLE
            assert caught.value.retryable
            assert "MCP server 'flaky' closed the connection" in caught.value.message
            demo.process.wait(timeout=STARTUP)
            listed = await server.list_tools(CTX)  # the last listing, while the server is down
            assert "add" in {t.mcp_name for t in listed}
            with pytest.raises(BelugaError) as down:
                await call(server, "add", a=1, b=2)
            assert down.value.code is ErrorCode.PROVIDER_UNAVAILABLE
            assert "cannot connect to MCP server 'flaky'" in down.value.message
            demo.restart()
            assert texts(await call(server, "add", a=2, b=3)) == ["5"]


async def test_no_server_at_the_url_fails_fast_without_leaking_secrets() -> None:
    url = f"http://user:pw-secret-9a8b@127.0.0.1:{dead_port()}/mcp?token=query-secret-4c2d"
    server = MCPServer.http(
        url, headers={"X-Api-Key": "key-secret-1b2c3d"}, connect_timeout=STARTUP
    )
    shown = repr(server)
    with pytest.raises(BelugaError) as caught:
        await server.list_tools(CTX)
    error = caught.value
    assert error.code is ErrorCode.PROVIDER_UNAVAILABLE
    assert error.message.startswith(
        f"cannot connect to MCP server 'http://127.0.0.1:{dead_port_of(url)}/mcp'"
    )
    for secret in ("pw-secret-9a8b", "query-secret-4c2d", "key-secret-1b2c3d"):
        assert secret not in shown
        assert secret not in str(error) and secret not in repr(error)


def dead_port_of(url: str) -> int:
    return int(url.split("127.0.0.1:")[1].split("/")[0])


def test_the_config_of_an_http_server_masks_its_headers() -> None:
    config = MCPServerConfig(url="http://127.0.0.1:1/mcp", headers={"Authorization": SECRET})
    assert SECRET not in repr(config) and SECRET not in str(config.model_dump())
    assert SECRET not in config.model_dump_json()
    assert config.options()["headers"] == {"Authorization": SECRET}
    assert SECRET not in repr(MCPServer.from_config(config))


async def test_refused_credentials_are_auth_failed_naming_no_secret() -> None:
    with http_demo(token="right-token-1234") as demo:
        wrong = MCPServer.http(
            demo.url, headers={"Authorization": "Bearer wrong-token-5678"}, connect_timeout=STARTUP
        )
        with pytest.raises(BelugaError) as caught:
            await wrong.list_tools(CTX)
        assert caught.value.code is ErrorCode.AUTH_FAILED
        assert "refused the credentials (HTTP 401)" in caught.value.message
        assert "wrong-token-5678" not in str(caught.value)

        right = MCPServer.http(
            demo.url, headers={"Authorization": "Bearer right-token-1234"}, connect_timeout=STARTUP
        )
        async with right:
            assert texts(await call(right, "add", a=1, b=2)) == ["3"]
            assert texts(await call(right, "revoke")) == ["revoked"]
            with pytest.raises(BelugaError) as revoked:
                await call(right, "add", a=1, b=2)
            assert revoked.value.code is ErrorCode.AUTH_FAILED
            assert "during the call to tool 'add' (HTTP 401)" in revoked.value.message
