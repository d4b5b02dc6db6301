"""HTTP-status and header handling shared by every provider adapter.

One table maps a status to an :class:`ErrorCode` and whether retrying can help, and one parser
reads the server's back-off hint, so that retry and fallback behave the same whichever provider
failed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from beluga.core.errors import BelugaError, ErrorCode

__all__ = ["error_for_status", "retry_after_from", "status_code"]

_BY_STATUS: dict[int, tuple[ErrorCode, bool]] = {
    400: (ErrorCode.INVALID_REQUEST, False),
    401: (ErrorCode.AUTH_FAILED, False),
    402: (ErrorCode.CAPACITY_EXCEEDED, False),  # billing: out of credit
    403: (ErrorCode.AUTH_FAILED, False),
    404: (ErrorCode.NOT_FOUND, False),
    408: (ErrorCode.TIMEOUT, True),
    409: (ErrorCode.PROVIDER_UNAVAILABLE, True),
    413: (ErrorCode.INVALID_REQUEST, False),
    422: (ErrorCode.INVALID_REQUEST, False),
    429: (ErrorCode.RATE_LIMITED, True),
    529: (ErrorCode.PROVIDER_UNAVAILABLE, True),  # Anthropic "overloaded"
}

_NEXT_STEP: dict[ErrorCode, str] = {
    ErrorCode.INVALID_REQUEST: "check the request (model name, messages, tool schemas)",
    ErrorCode.AUTH_FAILED: "check the API key and its permissions for this model",
    ErrorCode.NOT_FOUND: "check the model name and the base URL",
    ErrorCode.TIMEOUT: "retry, or raise the timeout",
    ErrorCode.PROVIDER_UNAVAILABLE: "retry later or fall back to another provider",
    ErrorCode.RATE_LIMITED: "slow down, retry after the server's hint, or raise your quota",
    ErrorCode.CAPACITY_EXCEEDED: "check the account's credit and quota with the provider",
}


def status_code(status: int) -> tuple[ErrorCode, bool]:
    """The error code of an HTTP status and whether a retry can help."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ErrorCode.PROVIDER_UNAVAILABLE, True
    return ErrorCode.INVALID_REQUEST, False


def error_for_status(
    op: str,
    status: int,
    server_message: str,
    *,
    provider: str,
    headers: Mapping[str, str] | None = None,
    cause: BaseException | None = None,
) -> BelugaError:
    """A :class:`BelugaError` for an HTTP error answer, with the next step and retry hint."""
    code, retryable = status_code(status)
    step = _NEXT_STEP.get(code, "see the provider's message")
    text = server_message.strip() or "no message"
    if len(text) > 500:
        text = text[:500] + "..."
    return BelugaError(
        op,
        code,
        f"{provider} answered HTTP {status}: {text}; {step}",
        retryable=retryable,
        cause=cause,
        retry_after=retry_after_from(headers),
    )


def retry_after_from(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(float(value) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
