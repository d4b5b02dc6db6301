from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from beluga.core import BelugaError, ErrorCode
from beluga.schema import ImagePart, TextPart, ToolCall
from beluga.tools import RunContext, Tool, ToolResult, ToolRetry
from beluga.tools.builtins import http_fetch
from beluga.tools.builtins.fetch import HostAllowList
from beluga.tools.execute import run_tool
from tests.support.replay_server import ReplayServer, Reply


@pytest.fixture
async def server() -> AsyncIterator[ReplayServer]:
    async with ReplayServer() as s:
        yield s


def _ctx() -> RunContext[None]:
    return RunContext(None)


async def _fetch(tool: Tool, url: str, **extra: object) -> ToolResult:
    return await tool.call({"url": url, **extra}, _ctx())


def _text(result: ToolResult) -> str:
    return "".join(p.text for p in result.content if isinstance(p, TextPart))


async def test_fetches_an_allowed_host(server: ReplayServer) -> None:
    server.enqueue(Reply.text("hello", content_type="text/plain; charset=utf-8"))
    result = await _fetch(http_fetch(["127.0.0.1"]), f"{server.url}/page?q=1")
    text = _text(result)
    assert text.startswith("HTTP 200 OK\nContent-Type: text/plain; charset=utf-8\n")
    assert f"URL: {server.url}/page\n" in text
    assert text.endswith("\n\nhello")
    assert server.requests[0].method == "GET" and server.requests[0].path == "/page?q=1"


async def test_the_schema_is_just_the_url_for_get_only() -> None:
    definition = http_fetch(["example.com"]).definition
    assert definition.name == "http_fetch"
    assert list(definition.parameters["properties"]) == ["url"]
    assert "example.com" in definition.description


async def test_a_host_off_the_list_is_refused_before_any_request(server: ReplayServer) -> None:
    tool = http_fetch(["example.com", "*.example.org"])
    url = f"http://localhost:{server.port}/"
    with pytest.raises(ToolRetry, match="host 'localhost' is not allowed") as info:
        await _fetch(tool, url)
    assert "example.com, *.example.org" in info.value.message
    assert server.requests == []


async def test_a_port_restricted_entry_refuses_other_ports(server: ReplayServer) -> None:
    tool = http_fetch([f"127.0.0.1:{server.port + 1}"])
    with pytest.raises(ToolRetry, match="not allowed"):
        await _fetch(tool, f"{server.url}/")
    server.enqueue(Reply.text("ok"))
    assert _text(await _fetch(http_fetch([f"127.0.0.1:{server.port}"]), server.url)).endswith("ok")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://127.0.0.1/file", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("/relative/path", "only http and https"),
        ("http://user:secret@127.0.0.1/", "user info"),
        ("http://user@127.0.0.1/", "user info"),
        ("http://[::1/", "invalid URL"),
    ],
)
async def test_urls_breaking_a_rule_are_refused(url: str, reason: str) -> None:
    with pytest.raises(ToolRetry, match=reason) as info:
        await _fetch(http_fetch(["127.0.0.1"]), url)
    assert "secret" not in info.value.message


async def test_a_redirect_to_a_forbidden_host_is_refused(server: ReplayServer) -> None:
    server.enqueue(
        Reply(302, [("location", f"http://localhost:{server.port}/admin")]),
        Reply.text("the admin page"),
    )
    with pytest.raises(ToolRetry, match="redirected to host 'localhost' is not allowed"):
        await _fetch(http_fetch(["127.0.0.1"]), f"{server.url}/start")
    assert [r.path for r in server.requests] == ["/start"]


@pytest.mark.parametrize(
    ("location", "reason"),
    [("file:///etc/passwd", "only http and https"), ("http://u:p@127.0.0.1/", "user info")],
)
async def test_a_redirect_breaking_a_rule_is_refused(
    server: ReplayServer, location: str, reason: str
) -> None:
    server.enqueue(Reply(301, [("location", location)]))
    with pytest.raises(ToolRetry, match=f"redirected to .*{reason}"):
        await _fetch(http_fetch(["127.0.0.1"]), server.url)
    assert len(server.requests) == 1


async def test_allowed_redirects_are_followed(server: ReplayServer) -> None:
    server.enqueue(Reply(302, [("location", "/next")]), Reply.text("arrived"))
    result = await _fetch(http_fetch(["127.0.0.1"]), f"{server.url}/start")
    assert _text(result).endswith("arrived")
    assert f"URL: {server.url}/next" in _text(result)
    assert [r.path for r in server.requests] == ["/start", "/next"]


async def test_a_redirect_loop_stops(server: ReplayServer) -> None:
    server.enqueue(*[Reply(302, [("location", "/again")]) for _ in range(10)])
    with pytest.raises(ToolRetry, match="more than 5 redirects"):
        await _fetch(http_fetch(["127.0.0.1"]), server.url)
    assert len(server.requests) == 6


async def test_a_declared_body_over_the_limit_is_refused(server: ReplayServer) -> None:
    server.enqueue(Reply.text("x" * 5000))
    with pytest.raises(ToolRetry, match="larger than the 1000 bytes") as info:
        await _fetch(http_fetch(["127.0.0.1"], max_bytes=1000), server.url)
    assert "(5000 bytes)" in info.value.message


async def test_a_streamed_body_is_cut_at_the_limit(server: ReplayServer) -> None:
    server.enqueue(Reply(200, [("content-type", "text/plain")], chunks=[b"y" * 400] * 10))
    with pytest.raises(ToolRetry, match="larger than the 1000 bytes"):
        await _fetch(http_fetch(["127.0.0.1"], max_bytes=1000), server.url)


async def test_a_body_at_the_limit_is_returned(server: ReplayServer) -> None:
    server.enqueue(Reply(200, [("content-type", "text/plain")], chunks=[b"z" * 500] * 2))
    result = await _fetch(http_fetch(["127.0.0.1"], max_bytes=1000), server.url)
    assert _text(result).endswith("z" * 1000)


async def test_an_error_status_is_shown_to_the_model(server: ReplayServer) -> None:
    server.enqueue(Reply.json({"error": "nope"}, status=404))
    result = await _fetch(http_fetch(["127.0.0.1"]), server.url)
    assert not result.is_error
    text = _text(result)
    assert text.startswith("HTTP 404 Not Found\nContent-Type: application/json")
    assert text.endswith('{"error": "nope"}')


async def test_an_image_comes_back_as_an_image_part(server: ReplayServer) -> None:
    server.enqueue(Reply(200, [("content-type", "image/png")], b"\x89PNG\r\n"))
    result = await _fetch(http_fetch(["127.0.0.1"]), server.url)
    head, image = result.content
    assert isinstance(head, TextPart) and "image/png" in head.text
    assert image == ImagePart(data=b"\x89PNG\r\n", media_type="image/png")


async def test_other_binary_bodies_are_refused(server: ReplayServer) -> None:
    server.enqueue(Reply(200, [("content-type", "application/octet-stream")], b"\x00\x01"))
    with pytest.raises(ToolRetry, match="binary"):
        await _fetch(http_fetch(["127.0.0.1"]), server.url)


async def test_more_methods_and_a_body(server: ReplayServer) -> None:
    tool = http_fetch(["127.0.0.1"], methods=("GET", "POST"))
    props = tool.definition.parameters["properties"]
    assert props["method"]["enum"] == ["GET", "POST"]
    server.enqueue(Reply.text("created", status=201))
    result = await _fetch(tool, server.url, method="POST", body="payload")
    assert _text(result).startswith("HTTP 201 Created")
    assert server.requests[0].method == "POST" and server.requests[0].body == b"payload"
    with pytest.raises(ToolRetry, match="method: Input should be 'GET' or 'POST'"):
        await _fetch(tool, server.url, method="DELETE")


async def test_an_unreachable_host_is_an_error_for_the_model() -> None:
    from tests.support.replay_server import unused_port

    result = await run_tool(
        http_fetch(["127.0.0.1"]),
        ToolCall("c", "http_fetch", f'{{"url": "http://127.0.0.1:{unused_port()}/"}}'),
        _ctx(),
    )
    assert result.is_error and "failed (ConnectError)" in _text(result)


async def test_a_slow_server_times_out(server: ReplayServer) -> None:
    server.enqueue(Reply(200, [("content-type", "text/plain")], b"late", delay=30))
    result = await run_tool(
        http_fetch(["127.0.0.1"], timeout=0.2),
        ToolCall("c", "http_fetch", f'{{"url": "{server.url}/"}}'),
        _ctx(),
    )
    assert result.is_error
    assert "time" in _text(result)


async def test_a_transport_replaces_the_network() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=f"mocked {request.url.host}")

    tool = http_fetch(["api.example.com"], transport=httpx.MockTransport(handle))
    assert _text(await _fetch(tool, "https://api.example.com/v1")).endswith(
        "mocked api.example.com"
    )


def test_wildcards_match_subdomains_only() -> None:
    allow = HostAllowList(["*.example.com", "Exact.ORG"])
    assert allow.allows(httpx.URL("https://a.example.com/"))
    assert allow.allows(httpx.URL("https://a.b.example.com/"))
    assert not allow.allows(httpx.URL("https://example.com/"))
    assert not allow.allows(httpx.URL("https://evilexample.com/"))
    assert not allow.allows(httpx.URL("https://example.com.evil.net/"))
    assert allow.allows(httpx.URL("https://exact.org./"))
    assert not allow.allows(httpx.URL("https://sub.exact.org/"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"allowed_hosts": []}, "non-empty list"),
        ({"allowed_hosts": "example.com"}, "non-empty list"),
        ({"allowed_hosts": ["http://example.com/path"]}, "not a host name"),
        ({"allowed_hosts": ["*"]}, "not a host name"),
        ({"allowed_hosts": ["example.com"], "methods": ("GET", "BREW")}, "methods"),
        ({"allowed_hosts": ["example.com"], "max_bytes": 0}, "positive"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(BelugaError, match=match) as info:
        http_fetch(**kwargs)  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_CONFIG
