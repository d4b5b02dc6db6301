"""Error handling shared by every provider adapter.

One table maps an HTTP status to an :class:`ErrorCode` and whether retrying can help, one parser
reads the server's back-off hint, and one set of builders words the failures every SDK has
(timeouts, refused connections, cut streams, bodies that are not JSON), so that retry and
fallback behave the same whichever provider failed. :func:`stainless_error` maps the exceptions
of the two Stainless-generated SDKs (``openai``, ``anthropic``) once.

Where an error arose decides whether retrying can help. A body the server sent that does not
decode (``JSONDecodeError``, ``UnicodeDecodeError``) is the server's: PROVIDER_UNAVAILABLE,
retryable. Anything else the SDK or our own code raises is ours: a request that could not be
encoded (a lone surrogate, NaN; ``_preflight`` refuses these before sending, this is the net
behind it) is INVALID_REQUEST, any other exception INTERNAL, and neither is retryable, so the
router neither retries it nor cools a healthy provider down for it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import redact

__all__ = [
    "error_for_status",
    "is_decode_error",
    "is_transport_error",
    "not_json",
    "our_code",
    "own_failure",
    "retry_after_from",
    "scrub",
    "stainless_error",
    "status_code",
    "stream_cut",
    "timed_out",
    "unreachable",
]

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


# --------------------------------------------------------------------------- SDK exceptions


def scrub(exc: BaseException) -> None:
    """Redact an SDK exception's own text in place: it becomes our ``__cause__`` and so
    reaches tracebacks, and an error body may echo a key back (AWS signature errors echo the
    signed headers)."""
    exc.args = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)
    for attr in ("message", "api_message"):
        value = getattr(exc, attr, None)
        if isinstance(value, str):
            setattr(exc, attr, redact(value))
    response = getattr(exc, "response", None)  # botocore's ClientError
    error = response.get("Error") if isinstance(response, dict) else None
    if isinstance(error, dict) and isinstance(error.get("Message"), str):
        error["Message"] = redact(error["Message"])


def timed_out(op: str, where: str, cause: BaseException, detail: str = "") -> BelugaError:
    said = f" ({detail})" if detail else ""
    return BelugaError(
        op,
        ErrorCode.TIMEOUT,
        f"{where} did not answer in time{said}; raise timeout= or retry",
        cause=cause,
    )


def stream_cut(where: str, detail: str) -> str:
    return f"the stream from {where} was cut before it finished ({detail}); retry"


def unreachable(
    op: str,
    where: str,
    cause: BaseException,
    detail: str,
    *,
    streaming: bool = False,
    check: str = "base_url and that the server is up",
) -> BelugaError:
    """A refused or dropped connection: before the answer (``check`` what) or mid-stream."""
    if streaming:
        text = stream_cut(where, detail)
    else:
        text = f"could not reach {where} ({detail}); check {check}, then retry"
    return BelugaError(op, ErrorCode.PROVIDER_UNAVAILABLE, text, retryable=True, cause=cause)


def not_json(op: str, where: str, cause: BaseException) -> BelugaError:
    """A body the server sent that does not decode: its fault, so a retry may help."""
    return BelugaError(
        op,
        ErrorCode.PROVIDER_UNAVAILABLE,
        f"{where} sent a response that is not valid JSON; check base_url, then retry",
        retryable=True,
        cause=cause,
    )


def own_failure(op: str, exc: BaseException, sdk: str) -> BelugaError:
    """An exception raised on this side, not by the server: a request that cannot be encoded
    (INVALID_REQUEST) or a bug (INTERNAL); never retryable."""
    detail = f"{type(exc).__name__}: {exc}"
    text = str(exc)
    if isinstance(exc, UnicodeEncodeError) or "JSON compliant" in text or "JSON serial" in text:
        return BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"the request could not be encoded, so nothing was sent ({detail}); remove lone "
            "surrogates from the text, and NaN, infinite numbers or other values JSON cannot "
            "hold from settings.extra and tool schemas",
            retryable=False,
            cause=exc,
        )
    return BelugaError(
        op,
        ErrorCode.INTERNAL,
        f"the {sdk} failed ({detail}); this is a bug, not the server's answer: please report it",
        retryable=False,
        cause=exc,
    )


def is_decode_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from decoding a body the server sent."""
    return isinstance(exc, json.JSONDecodeError | UnicodeDecodeError)


def is_transport_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from the HTTP layer under an SDK (a connection dropped mid-body);
    checked by module name so that no HTTP library is imported here."""
    return type(exc).__module__.split(".", 1)[0] in ("httpx", "httpx2", "httpcore", "h11")


def stainless_error(
    exc: BaseException,
    op: str,
    where: str,
    sdk: Any,
    *,
    streaming: bool,
    api_error: Callable[[Any], BelugaError],
) -> BelugaError:
    """The :class:`BelugaError` for an exception raised while calling a Stainless SDK
    (``openai``, ``anthropic``: the same exception tree); ``api_error`` maps the server's
    own errors (an HTTP error status, or an error event inside a stream)."""
    if isinstance(exc, BelugaError):
        return exc
    scrub(exc)
    if isinstance(exc, sdk.APITimeoutError):
        return timed_out(op, where, exc)
    if isinstance(exc, sdk.APIConnectionError):
        detail = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
        return unreachable(op, where, exc, detail, streaming=streaming)
    if isinstance(exc, sdk.APIError):
        return api_error(exc)
    if is_decode_error(exc):
        return not_json(op, where, exc)
    if streaming and is_transport_error(exc):
        return unreachable(op, where, exc, type(exc).__name__, streaming=True)
    return own_failure(op, exc, f"{sdk.__name__} SDK")


@contextmanager
def our_code(op: str, what: str = "response parser") -> Iterator[None]:
    """Run our own code (reading an answer) so that a bug in it is one INTERNAL error, not a
    raw exception the router would take for a provider failure."""
    try:
        yield
    except BelugaError:
        raise
    except Exception as exc:
        raise own_failure(op, exc, what) from exc
