"""Azure Speech's WebSocket protocol (USP) for the loopback tests of the Azure adapters.

Text messages are header lines (``Path``, ``X-RequestId``, ``Content-Type``, ``X-Timestamp``),
a blank line and a JSON body; binary messages start with a 2-byte big-endian header length,
the same header lines, then the payload (audio). An empty ``audio`` message ends the audio
stream. The message names and bodies follow Azure's protocol documentation and what the SDK
sends and accepts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["Usp", "binary", "parse", "text"]


@dataclass
class Usp:
    """One parsed message: its path, headers and body (text or bytes)."""

    path: str
    headers: dict[str, str]
    body: str | bytes

    def json(self) -> Any:
        assert isinstance(self.body, str)
        return json.loads(self.body) if self.body else None


def _headers(block: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in block.split("\r\n"):
        if ":" in line:
            name, _, value = line.partition(":")
            out[name.strip()] = value.strip()
    return out


def parse(message: str | bytes) -> Usp:
    """A client message as (path, headers, body)."""
    if isinstance(message, str):
        head, _, body = message.partition("\r\n\r\n")
        headers = _headers(head)
        return Usp(headers.get("Path", ""), headers, body)
    size = int.from_bytes(message[:2], "big")
    headers = _headers(message[2 : 2 + size].decode())
    return Usp(headers.get("Path", ""), headers, message[2 + size :])


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def text(path: str, request_id: str, body: Any, content_type: str = "application/json") -> str:
    """A server text message."""
    payload = body if isinstance(body, str) else json.dumps(body)
    return (
        f"X-RequestId:{request_id}\r\nContent-Type:{content_type}; charset=utf-8\r\n"
        f"Path:{path}\r\nX-Timestamp:{_stamp()}\r\n\r\n{payload}"
    )


def binary(path: str, request_id: str, payload: bytes, stream_id: str | None = None) -> bytes:
    """A server binary message (synthesized audio)."""
    lines = f"X-RequestId:{request_id}\r\nPath:{path}\r\nX-Timestamp:{_stamp()}\r\n"
    if stream_id:
        lines += f"X-StreamId:{stream_id}\r\n"
    head = lines.encode()
    return len(head).to_bytes(2, "big") + head + payload
