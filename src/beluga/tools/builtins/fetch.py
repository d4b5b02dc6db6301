"""Fetch a URL over HTTP(S), only from hosts on an allow-list, within size and time limits.

Refused before anything is sent: a scheme other than ``http``/``https``, user info in the URL
(``https://user:pass@host``), a host not on the list, a method not allowed. Redirects are
followed by hand, and every hop is checked against the same rules, so an allowed host cannot
redirect the tool to a forbidden one. The body is streamed and reading stops at ``max_bytes``
with an error (a declared ``Content-Length`` over the limit is refused without reading).

Allow-list entries are host names or IP addresses, matched case-insensitively, optionally with
a port (``api.example.com:8443``); ``*.example.com`` matches every subdomain of example.com but
not example.com itself. Names are matched as written: a listed name is trusted whatever address
it resolves to. Proxies and credentials from the environment (``HTTP_PROXY``, ``.netrc``) are
not used.

The result is the status line, the content type and the final URL, then the body as text; an
``image/*`` body comes back as an image part (multimodal); other binary bodies are refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import httpx

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import display_url
from beluga.schema import ImagePart, TextPart
from beluga.tools.base import Tool, ToolResult, ToolRetry
from beluga.tools.function import FunctionTool

__all__ = ["HostAllowList", "http_fetch"]

MAX_REDIRECTS = 5
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
_TEXT_SUFFIXES = ("+json", "+xml")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass(slots=True, frozen=True)
class _Entry:
    host: str
    port: int | None
    wildcard: bool

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.wildcard:
            return host.endswith("." + self.host)
        return host == self.host


class HostAllowList:
    """The hosts a fetch may reach (see the module docstring for the entry syntax)."""

    __slots__ = ("_entries", "names")

    def __init__(self, hosts: Iterable[str]) -> None:
        self.names = tuple(hosts)
        if isinstance(hosts, str) or not self.names:
            raise _config("allowed_hosts must be a non-empty list of host names")
        self._entries = tuple(_entry(h) for h in self.names)

    def allows(self, url: httpx.URL) -> bool:
        host = url.host.lower().rstrip(".")
        port = url.port or (443 if url.scheme == "https" else 80)
        return any(e.matches(host, port) for e in self._entries)


def _entry(text: str) -> _Entry:
    raw = text.strip().lower()
    wildcard = raw.startswith("*.")
    try:
        parsed = httpx.URL(f"http://{raw[2:] if wildcard else raw}")
    except httpx.InvalidURL as exc:
        raise _config(f"allowed host {text!r} is not a host name ({exc})") from exc
    host = parsed.host.rstrip(".")
    if not host or "*" in host or parsed.path not in ("", "/") or parsed.userinfo:
        raise _config(
            f"allowed host {text!r} is not a host name; write 'example.com', "
            "'*.example.com' or 'example.com:8443'"
        )
    return _Entry(host, parsed.port, wildcard)


def http_fetch(
    allowed_hosts: Sequence[str],
    *,
    max_bytes: int = 1_000_000,
    timeout: float = 10,
    methods: Sequence[str] = ("GET",),
    name: str = "http_fetch",
    transport: httpx.AsyncBaseTransport | None = None,
) -> Tool:
    """A tool that fetches URLs from ``allowed_hosts`` (see the module docstring).

    ``timeout`` bounds the whole call (all redirects included); ``transport`` replaces the
    network (tests, or a custom connection pool)."""
    allow = HostAllowList(allowed_hosts)
    chosen = tuple(m.upper() for m in methods)
    if not chosen or not set(chosen) <= _METHODS:
        raise _config(f"methods must be among {sorted(_METHODS)}, not {list(methods)}")
    if max_bytes <= 0 or timeout <= 0:
        raise _config("max_bytes and timeout must be positive")
    fetcher = _Fetcher(allow, chosen, max_bytes, timeout, transport)
    hosts = ", ".join(allow.names)
    if chosen == ("GET",):

        async def fetch(url: str) -> ToolResult:
            return await fetcher.fetch(url, "GET", None)

        fetch.__doc__ = _doc(hosts)
        return FunctionTool(fetch, name=name, timeout=timeout)

    async def fetch_with(url: str, method: str = chosen[0], body: str | None = None) -> ToolResult:
        return await fetcher.fetch(url, method, body)

    fetch_with.__annotations__["method"] = Literal[chosen]  # the model sees the allowed list
    fetch_with.__doc__ = _doc(hosts, methods=True)
    return FunctionTool(fetch_with, name=name, timeout=timeout)


def _doc(hosts: str, *, methods: bool = False) -> str:
    extra = (
        "\n    method: The HTTP method.\n    body: Text to send as the request body."
        if methods
        else ""
    )
    return (
        f"Fetch a web page or API response over HTTP(S). Only these hosts can be reached: "
        f"{hosts}.\n\nArgs:\n    url: The absolute http:// or https:// URL to fetch.{extra}"
    )


class _Fetcher:
    __slots__ = ("allow", "max_bytes", "methods", "timeout", "transport")

    def __init__(
        self,
        allow: HostAllowList,
        methods: tuple[str, ...],
        max_bytes: int,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.allow, self.methods, self.max_bytes = allow, methods, max_bytes
        self.timeout, self.transport = timeout, transport

    async def fetch(self, url: str, method: str, body: str | None) -> ToolResult:
        method = method.upper()
        if method not in self.methods:
            raise ToolRetry(f"method {method} is not allowed; use one of {', '.join(self.methods)}")
        client = httpx.AsyncClient(
            transport=self.transport,
            timeout=self.timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": "beluga-http-fetch"},
        )
        async with client:
            request = client.build_request(method, self.check(url), content=body)
            for _ in range(MAX_REDIRECTS + 1):
                response = await self.send(client, request)
                if response.next_request is None:
                    return await self.read(response)
                await response.aclose()
                request = response.next_request
                self.check(str(request.url), redirect=True)
        raise ToolRetry(f"more than {MAX_REDIRECTS} redirects; try the final URL directly")

    def check(self, text: str, *, redirect: bool = False) -> httpx.URL:
        """``text`` as a URL the tool may fetch, or a refusal naming the rule it breaks."""
        where = "redirected to " if redirect else ""
        try:
            url = httpx.URL(text)
        except (httpx.InvalidURL, TypeError):
            raise ToolRetry(f"{where}an invalid URL; give an absolute http(s) URL") from None
        if url.scheme not in ("http", "https"):
            raise ToolRetry(f"{where}a {url.scheme or 'relative'} URL; only http and https")
        if url.userinfo:
            raise ToolRetry(f"{where}a URL with user info (user:password@); that is refused")
        if not self.allow.allows(url):
            raise ToolRetry(
                f"{where}host {url.host!r} is not allowed; allowed hosts: "
                f"{', '.join(self.allow.names)}"
            )
        return url

    async def send(self, client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
        try:
            return await client.send(request, stream=True)
        except httpx.TimeoutException:
            raise ToolRetry(f"{display_url(str(request.url))} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise ToolRetry(
                f"request to {display_url(str(request.url))} failed ({type(exc).__name__})"
            ) from None

    async def read(self, response: httpx.Response) -> ToolResult:
        try:
            declared = int(response.headers.get("content-length", "0"))
        except ValueError:
            declared = 0
        try:
            if declared > self.max_bytes:
                raise ToolRetry(self._too_big(declared))
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > self.max_bytes:
                    raise ToolRetry(self._too_big())
        except httpx.HTTPError as exc:
            raise ToolRetry(f"reading the response failed ({type(exc).__name__})") from None
        finally:
            await response.aclose()
        return self.result(response, bytes(data))

    def result(self, response: httpx.Response, data: bytes) -> ToolResult:
        content_type = response.headers.get("content-type", "")
        media = content_type.partition(";")[0].strip().lower()
        head = (
            f"HTTP {response.status_code} {response.reason_phrase}\n"
            f"Content-Type: {content_type or '(none)'}\n"
            f"URL: {display_url(str(response.url))}\n\n"
        )
        if media.startswith("image/") and data:
            return ToolResult((TextPart(head), ImagePart(data=data, media_type=media)))
        if data and media and not _is_text(media):
            raise ToolRetry(f"the response is binary ({media}); this tool returns text and images")
        encoding = response.charset_encoding or "utf-8"
        try:
            text = data.decode(encoding, errors="replace")
        except LookupError:
            text = data.decode("utf-8", errors="replace")
        return ToolResult((TextPart(head + text),))

    def _too_big(self, size: int | None = None) -> str:
        said = f" ({size} bytes)" if size is not None else ""
        return f"the response is larger than the {self.max_bytes} bytes this tool reads{said}"


def _is_text(media: str) -> bool:
    return media.startswith(_TEXT_TYPES) or media.endswith(_TEXT_SUFFIXES)


def _config(message: str) -> BelugaError:
    return BelugaError("tools.http_fetch", ErrorCode.INVALID_CONFIG, message)
