"""What the speech providers share on the wire: WebSocket connect/close and HTTP errors.

Every cloud STT/TTS adapter maps failures the same way: a refused handshake by its HTTP status
(401 auth_failed, 429 rate_limited, ...), a socket the server drops mid-stream to a retryable
``provider_unavailable``, a policy close (1008) to ``invalid_request``. The key never appears:
it is registered as a secret, and URLs shown in errors lose their query string.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import register_secret
from beluga.llms.providers._errors import error_for_status

if TYPE_CHECKING:
    import httpx
    from websockets.asyncio.client import ClientConnection

__all__ = [
    "closed_error",
    "http_error",
    "missing_key",
    "server_error",
    "ws_connect",
]


def missing_key(op: str, provider: str, env: str, key: str | None) -> str:
    """``key`` registered as a secret, or an auth error saying where to put one."""
    if not key:
        raise BelugaError(
            op,
            ErrorCode.AUTH_FAILED,
            f"no {provider} API key: pass api_key=... or set {env}",
        )
    register_secret(key)
    return key


async def ws_connect(
    url: str,
    *,
    op: str,
    provider: str,
    headers: Mapping[str, str] | None = None,
    open_timeout: float = 10.0,
) -> ClientConnection:
    """Open a WebSocket, mapping a refused handshake and an unreachable host to BelugaErrors."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidHandshake, InvalidStatus

    where = url.split("?", 1)[0]
    try:
        return await connect(
            url,
            additional_headers=dict(headers or {}),
            open_timeout=open_timeout,
            max_size=None,
            ping_interval=20,
        )
    except InvalidStatus as exc:
        response = exc.response
        body = response.body.decode("utf-8", "replace") if response.body else ""
        detail = response.headers.get("dg-error") or _message(body) or response.reason_phrase
        raise error_for_status(
            op,
            response.status_code,
            detail,
            provider=provider,
            headers={k.lower(): v for k, v in response.headers.raw_items()},
        ) from None
    except TimeoutError as exc:
        raise BelugaError(
            op, ErrorCode.TIMEOUT, f"{provider} did not open {where} in {open_timeout}s; retry"
        ) from exc
    except (OSError, InvalidHandshake) as exc:
        raise BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"cannot connect to {provider} at {where} ({type(exc).__name__}); "
            "check the network or the base URL, or retry",
            retryable=True,
        ) from None


def closed_error(op: str, provider: str, exc: BaseException) -> BelugaError:
    """The server closed the socket before the session ended."""
    code_num = getattr(getattr(exc, "rcvd", None), "code", None)
    reason = getattr(getattr(exc, "rcvd", None), "reason", "") or "no reason given"
    if code_num == 1008:
        return BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"{provider} closed the stream: {reason}; check the audio format and options",
        )
    if code_num in {4001, 4003}:
        return BelugaError(op, ErrorCode.AUTH_FAILED, f"{provider} refused the key: {reason}")
    return BelugaError(
        op,
        ErrorCode.PROVIDER_UNAVAILABLE,
        f"{provider} closed the stream mid-way (close code {code_num}: {reason}); retry",
        retryable=True,
    )


def server_error(op: str, provider: str, message: str, status: int | None = None) -> BelugaError:
    """An error the server reported inside the stream (an ``error`` message)."""
    if status is not None:
        return error_for_status(op, status, message, provider=provider)
    lowered = message.lower()
    if "auth" in lowered or "api key" in lowered or "unauthorized" in lowered:
        return BelugaError(op, ErrorCode.AUTH_FAILED, f"{provider}: {message}; check the key")
    if "rate" in lowered or "quota" in lowered or "concurren" in lowered:
        return BelugaError(op, ErrorCode.RATE_LIMITED, f"{provider}: {message}; slow down")
    return BelugaError(op, ErrorCode.INVALID_REQUEST, f"{provider}: {message}")


async def http_error(op: str, provider: str, response: httpx.Response) -> BelugaError:
    """The BelugaError for an HTTP error answer (the body read, its message extracted)."""
    body = (await response.aread()).decode("utf-8", "replace")
    return error_for_status(
        op, response.status_code, _message(body), provider=provider, headers=response.headers
    )


def _message(body: str) -> str:
    """The human message inside a JSON error body (OpenAI, Google, ElevenLabs shapes)."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return body
    for _ in range(3):
        if isinstance(data, dict):
            inner = data.get("error") or data.get("detail") or data.get("message")
            if isinstance(inner, str):
                return inner
            if inner is None:
                break
            data = inner
    return body
