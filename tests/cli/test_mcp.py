"""``beluga mcp tools`` against the demo MCP server over stdio and streamable HTTP."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from beluga.cli.main import app
from tests.tools.mcp_servers.harness import DEMO, dead_port, http_demo

pytest.importorskip("mcp")

runner = CliRunner()


def test_lists_the_tools_of_a_stdio_server_as_json() -> None:
    result = runner.invoke(app, ["mcp", "tools", "--json", "--timeout", "60", sys.executable, DEMO])
    assert result.exit_code == 0, result.output
    tools = {t["name"]: t for t in json.loads(result.stdout)}
    assert tools["echo_text"]["mcp_name"] == "echo.text"
    assert tools["add"]["description"] == "Add two integers."
    assert tools["add"]["parameters"]["required"] == ["a", "b"]


def test_lists_the_tools_of_an_http_server_as_a_table() -> None:
    with http_demo() as demo:
        result = runner.invoke(
            app, ["mcp", "tools", demo.url, "--prefix", "demo", "-H", "Authorization: Bearer x"]
        )
    assert result.exit_code == 0, result.output
    assert f"Tools of {demo.url}" in result.stdout
    assert "demo_echo_text (echo.text)" in result.stdout
    assert "a*, b*" in result.stdout


def test_a_server_that_cannot_be_reached_is_one_line_and_exit_1() -> None:
    secret = "Bearer cli-secret-0a9b8c7d"
    url = f"http://127.0.0.1:{dead_port()}/mcp"
    result = runner.invoke(app, ["mcp", "tools", url, "-H", f"Authorization: {secret}"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot connect to MCP server '{url}'")
    assert len(result.stderr.strip().splitlines()) == 1
    assert secret not in result.output


def test_a_missing_command_is_exit_1() -> None:
    result = runner.invoke(app, ["mcp", "tools", "beluga-no-such-mcp-server"])
    assert result.exit_code == 1
    assert "command not found" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["http://127.0.0.1:1/mcp", "-H", "Authorization"],
        ["http://127.0.0.1:1/mcp", "extra-argument"],
        ["python", "server.py", "-H", "A: b"],
        ["python", "server.py", "-e", "NO_VALUE"],
        [],
    ],
)
def test_bad_usage_is_exit_2(args: list[str]) -> None:
    assert runner.invoke(app, ["mcp", "tools", *args]).exit_code == 2


def test_without_the_mcp_sdk_the_exit_code_is_3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)
    result = runner.invoke(app, ["mcp", "tools", "some-server"])
    assert result.exit_code == 3
    assert "pip install 'beluga-ai[mcp]'" in result.stderr
