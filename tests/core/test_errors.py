from __future__ import annotations

import pytest

from beluga.core import BelugaError, ErrorCode, register_secret

KEY = "sk-test-PLANTED0123456789abcdef"


@pytest.mark.parametrize(
    ("code", "retryable"),
    [
        (ErrorCode.RATE_LIMITED, True),
        (ErrorCode.TIMEOUT, True),
        (ErrorCode.PROVIDER_UNAVAILABLE, True),
        (ErrorCode.CAPACITY_EXCEEDED, True),
        (ErrorCode.AUTH_FAILED, False),
        (ErrorCode.INVALID_REQUEST, False),
        (ErrorCode.INVALID_CONFIG, False),
        (ErrorCode.CONTENT_FILTERED, False),
    ],
)
def test_retryable_defaults_follow_the_code(code: ErrorCode, retryable: bool) -> None:
    assert BelugaError("op", code, "x").retryable is retryable


def test_explicit_retryable_wins() -> None:
    err = BelugaError("op", ErrorCode.RATE_LIMITED, "quota gone", retryable=False)
    assert err.retryable is False


def test_str_and_repr_name_op_and_code() -> None:
    err = BelugaError("llms.openai.generate", ErrorCode.TIMEOUT, "no answer in 5s")
    assert str(err) == "llms.openai.generate: [timeout] no answer in 5s"
    assert "code='timeout'" in repr(err)
    assert "retryable=True" in repr(err)


def test_secret_never_in_str_or_repr() -> None:
    register_secret(KEY)
    err = BelugaError("op", ErrorCode.AUTH_FAILED, f"Incorrect API key provided: {KEY}")
    for text in (str(err), repr(err), err.message, str(err.args)):
        assert KEY not in text
        assert "[REDACTED]" in text


def test_cause_is_chained() -> None:
    cause = ValueError("inner")
    err = BelugaError("op", ErrorCode.INTERNAL, "outer", cause=cause)
    assert err.__cause__ is cause
    assert err.cause is cause
