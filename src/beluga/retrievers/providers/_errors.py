"""Failures of a cloud reranker call, mapped once for the SDK and the REST adapters.

The Cohere SDK and the REST adapters both sit on httpx: a refused or dropped connection
(``ConnectError``, ``RemoteProtocolError``, ``ReadError``) is PROVIDER_UNAVAILABLE and
retryable, a timeout TIMEOUT, an HTTP error status goes through
:func:`beluga.core.provider_errors.error_for_status` with the server's own message and its
``retry-after``, and a body that is not JSON is the server's fault (retryable).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from beluga.core.errors import BelugaError
from beluga.core.provider_errors import (
    error_for_status,
    is_decode_error,
    is_transport_error,
    not_json,
    own_failure,
    scrub,
    timed_out,
    unreachable,
)

__all__ = ["http_error", "server_message", "status_error"]


def server_message(body: Any) -> str:
    """The human part of an error body: ``message`` (Cohere), ``detail`` (Voyage, Jina,
    FastAPI), or the body itself."""
    if isinstance(body, Mapping):
        for key in ("message", "detail", "error"):
            value = body.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, Mapping | list):
                return str(value)
    return body if isinstance(body, str) else str(body or "")


def status_error(
    op: str, status: int, body: Any, *, provider: str, headers: Mapping[str, str] | None
) -> BelugaError:
    return error_for_status(op, status, server_message(body), provider=provider, headers=headers)


def http_error(exc: BaseException, op: str, where: str) -> BelugaError:
    """The :class:`BelugaError` for an exception raised by the HTTP layer or our parsing."""
    if isinstance(exc, BelugaError):
        return exc
    scrub(exc)
    name = type(exc).__name__
    if is_transport_error(exc):
        if "Timeout" in name:
            return timed_out(op, where, exc)
        return unreachable(op, where, exc, name)
    if is_decode_error(exc):
        return not_json(op, where, exc)
    return own_failure(op, exc, "reranker adapter")
