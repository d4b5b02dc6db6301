"""One error type for the whole framework.

Retry and fallback decide on ``retryable``; users read ``message``, which says what to do next.
Every text that leaves a :class:`BelugaError` passes through the redactor, so a credential that
slipped into a provider's error body never reaches a log line, a span or a traceback.

A :class:`BelugaError` pickles (Ray and multiprocessing send errors between processes) with its
op, code, message, ``retryable`` and ``retry_after``, subclasses' own attributes included; its
``cause``, often an SDK exception that cannot be pickled, travels as a plain ``Exception`` that
keeps the cause's type name and (redacted) text.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from beluga.core.redaction import redact

__all__ = ["BelugaError", "ErrorCode"]


class ErrorCode(StrEnum):
    """What went wrong, independent of which provider or service said it."""

    INVALID_CONFIG = "invalid_config"
    AUTH_FAILED = "auth_failed"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    INVALID_REQUEST = "invalid_request"
    CONTENT_FILTERED = "content_filtered"
    NOT_FOUND = "not_found"
    CAPACITY_EXCEEDED = "capacity_exceeded"
    CANCELED = "canceled"
    INTERNAL = "internal"


_RETRYABLE_BY_DEFAULT = frozenset(
    {
        ErrorCode.RATE_LIMITED,
        ErrorCode.TIMEOUT,
        ErrorCode.PROVIDER_UNAVAILABLE,
        ErrorCode.CAPACITY_EXCEEDED,
    }
)


class BelugaError(Exception):
    """An operation failed.

    ``op`` names the operation (``"llms.openai.generate"``), ``code`` classifies the failure,
    ``retryable`` tells retry and fallback whether trying again can help, and ``retry_after``
    carries a server's hint in seconds when it gave one.
    """

    __slots__ = ("cause", "code", "message", "op", "retry_after", "retryable")

    def __init__(
        self,
        op: str,
        code: ErrorCode,
        message: str,
        *,
        retryable: bool | None = None,
        cause: BaseException | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.op = op
        self.code = code
        self.message = redact(message)
        self.retryable = code in _RETRYABLE_BY_DEFAULT if retryable is None else retryable
        self.cause = cause
        self.retry_after = retry_after
        super().__init__(self.message)
        if cause is not None:
            self.__cause__ = cause

    def __str__(self) -> str:
        return f"{self.op}: [{self.code.value}] {self.message}"

    def __reduce__(self) -> tuple[Any, ...]:
        fields = (self.op, self.code, self.message, self.retryable, self.retry_after)
        cause = _portable(self.cause)
        return (_restore, (type(self), *fields, cause), dict(self.__dict__) or None)

    def __repr__(self) -> str:
        return (
            f"BelugaError(op={self.op!r}, code={self.code.value!r}, "
            f"message={self.message!r}, retryable={self.retryable!r})"
        )


def _portable(cause: BaseException | None) -> BaseException | None:
    """``cause`` as something that pickles: a BelugaError as itself, anything else as a plain
    ``Exception`` with its type name and redacted text."""
    if cause is None or isinstance(cause, BelugaError):
        return cause
    return Exception(redact(f"{type(cause).__name__}: {cause}"))


def _restore(
    cls: type[BelugaError],
    op: str,
    code: ErrorCode,
    message: str,
    retryable: bool,
    retry_after: float | None,
    cause: BaseException | None,
) -> BelugaError:
    """Rebuild a pickled error without calling ``cls.__init__`` (subclasses take other
    arguments); their attributes come back from the pickled state."""
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.op, error.code, error.message = op, code, message
    error.retryable, error.retry_after, error.cause = retryable, retry_after, cause
    if cause is not None:
        error.__cause__ = cause
    return error
