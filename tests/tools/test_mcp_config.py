"""MCPServerConfig (an ``mcp:`` entry of beluga.yaml), MCPServer's option checks, and the tool
names providers accept."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import redact
from beluga.schema import ToolDefinition
from beluga.tools._mcp_content import exposed_names, sanitize_name
from beluga.tools.mcp import MCPServer, MCPServerConfig

PROVIDER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


def test_a_stdio_entry() -> None:
    config = MCPServerConfig.model_validate(
        {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"], "prefix": "gh"}
    )
    server = MCPServer.from_config(config)
    assert server.name == "npx server-github"
    assert server.prefix == "gh"
    assert repr(server) == "MCPServer(name='npx server-github', command='npx')"


def test_an_http_entry_with_options() -> None:
    server = MCPServer.from_config(
        {
            "url": "https://mcp.example.com/mcp",
            "headers": {"Authorization": "Bearer cfg-secret-77aa"},
            "timeout": 5,
            "requires_approval": ["delete_repo"],
            "protocol": "legacy",
        }
    )
    assert (server.name, server.timeout, server.protocol) == (
        "https://mcp.example.com/mcp",
        5,
        "legacy",
    )


def test_env_and_header_values_are_secrets_in_every_dump_and_the_redactor() -> None:
    config = MCPServerConfig(command="server", env={"GITHUB_TOKEN": "env-secret-3f9e"})
    http = MCPServerConfig(url="http://127.0.0.1:1/mcp", headers={"X-Key": "hdr-secret-8c1d"})
    for secret, model in (("env-secret-3f9e", config), ("hdr-secret-8c1d", http)):
        assert secret not in repr(model)
        assert secret not in str(model.model_dump())
        assert secret not in model.model_dump_json()
        assert redact(f"value {secret}") == "value [REDACTED]"
    assert config.options()["env"] == {"GITHUB_TOKEN": "env-secret-3f9e"}
    assert http.options()["headers"] == {"X-Key": "hdr-secret-8c1d"}


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({}, "give either command"),
        ({"command": "x", "url": "http://h/mcp"}, "give either command"),
        ({"url": "http://h/mcp", "args": ["a"]}, "args, env and cwd are for a command"),
        ({"command": "x", "headers": {"A": "b"}}, "headers are for a url server"),
        ({"command": "x", "timeout": 0}, "greater than 0"),
        ({"command": "x", "protocol": "v1"}, "'auto' or 'legacy'"),
        ({"command": "x", "unknown": 1}, "Extra inputs are not permitted"),
    ],
)
def test_bad_entries_say_what_is_wrong(entry: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(fragment)):
        MCPServerConfig.model_validate(entry)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({}, "give command= (stdio) or url= (streamable HTTP), exactly one"),
        ({"command": "x", "url": "http://h"}, "exactly one"),
        ({"url": "http://h", "env": {"A": "b"}}, "args=, env= and cwd= are for command="),
        ({"command": "x", "headers": {"A": "b"}}, "headers= are for url="),
        ({"command": "x", "args": "--flag"}, "args= is a list of arguments"),
        ({"command": "x", "timeout": -1}, "timeout= must be a positive number"),
        ({"command": "x", "connect_timeout": 0}, "connect_timeout= must be a positive number"),
    ],
)
def test_bad_options_are_invalid_config(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(BelugaError, match=re.escape(fragment)) as caught:
        MCPServer(**options)  # type: ignore[arg-type]
    assert caught.value.code is ErrorCode.INVALID_CONFIG


def test_constructing_registers_header_and_env_values_as_secrets() -> None:
    MCPServer.http("http://127.0.0.1:1/mcp", headers={"Authorization": "Bearer ctor-secret-1a"})
    MCPServer.stdio("server", env={"TOKEN": "ctor-env-secret-2b"})
    assert "ctor-secret-1a" not in redact("Bearer ctor-secret-1a")
    assert redact("x ctor-env-secret-2b") == "x [REDACTED]"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("add", "add"),
        ("echo.text", "echo_text"),
        ("files/read file", "files_read_file"),
        ("2fa", "_2fa"),
        ("-x", "_-x"),
        ("_private", "_private"),
        ("...", "tool"),
        ("get-weather", "get-weather"),
    ],
)
def test_sanitize_name(name: str, expected: str) -> None:
    assert sanitize_name(name) == expected


@given(st.text(min_size=1, max_size=200))
def test_every_sanitized_name_is_one_providers_and_tool_definitions_accept(name: str) -> None:
    clean = sanitize_name(name)
    assert PROVIDER_NAME.match(clean), clean
    ToolDefinition(name=clean)


@given(st.lists(st.text(min_size=1, max_size=80), min_size=1, max_size=20, unique=True))
def test_exposed_names_stay_unique_and_map_back(names: list[str]) -> None:
    exposed = exposed_names(names, "srv")
    assert sorted(exposed.values()) == sorted(names)
    assert all(PROVIDER_NAME.match(n) for n in exposed)


def test_names_that_sanitize_alike_get_a_suffix() -> None:
    assert exposed_names(["a.b", "a_b", "a b"], None) == {
        "a_b": "a.b",
        "a_b_2": "a_b",
        "a_b_3": "a b",
    }


def test_long_names_keep_a_hash_of_the_whole() -> None:
    one, two = "x" * 70 + "one", "x" * 70 + "two"
    assert len(sanitize_name(one)) == 64 and sanitize_name(one) != sanitize_name(two)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"max_retries": -1}, "max_retries= must be an integer >= 0"),
        ({"max_retries": True}, "max_retries= must be an integer >= 0"),
        ({"requires_approval": [1]}, "requires_approval= is True, False or a list"),
    ],
)
def test_bad_tool_options_are_invalid_config(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(BelugaError, match=re.escape(fragment)):
        MCPServer(command="x", **options)  # type: ignore[arg-type]


async def test_without_the_mcp_sdk_connecting_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)
    server = MCPServer.stdio("server")
    with pytest.raises(BelugaError) as caught:
        await server.list_tools()
    assert caught.value.code is ErrorCode.INVALID_CONFIG
    assert "pip install 'beluga-ai[mcp]'" in caught.value.message
