from __future__ import annotations

import multiprocessing
import pickle
import threading
from concurrent.futures import ProcessPoolExecutor

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


class _Unpicklable(Exception):
    """Like many SDK errors: holds something that cannot cross a process boundary."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.lock = threading.Lock()


def test_an_error_pickles_with_all_its_fields() -> None:
    err = BelugaError(
        "llms.openai.generate",
        ErrorCode.RATE_LIMITED,
        "slow down",
        retryable=False,
        retry_after=2.5,
        cause=_Unpicklable("429 from upstream"),
    )
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is BelugaError
    assert (back.op, back.code, back.message) == (err.op, err.code, err.message)
    assert (back.retryable, back.retry_after) == (False, 2.5)
    assert str(back) == str(err)
    assert str(back.cause) == "_Unpicklable: 429 from upstream" and back.__cause__ is back.cause


def test_subclasses_pickle_with_their_own_attributes() -> None:
    from beluga.config.errors import ConfigError

    err = ConfigError("beluga.yaml", "llm.default", "unknown provider", "use openai")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is ConfigError
    assert (back.source, back.key_path, back.fix) == ("beluga.yaml", "llm.default", "use openai")
    assert back.code is ErrorCode.INVALID_CONFIG and str(back) == str(err)


def test_a_pickled_cause_keeps_no_secret() -> None:
    register_secret(KEY)
    err = BelugaError("op", ErrorCode.AUTH_FAILED, "bad key", cause=ValueError(f"key {KEY}"))
    data = pickle.dumps(err)
    assert KEY.encode() not in data and KEY not in str(pickle.loads(data).cause)


def _fail_in_a_worker(code: str) -> None:
    raise BelugaError("worker", ErrorCode(code), "failed over there", retry_after=1.0)


def test_an_error_crosses_a_process_boundary() -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        future = pool.submit(_fail_in_a_worker, "timeout")
        with pytest.raises(BelugaError) as info:
            future.result(timeout=60)
    assert info.value.code is ErrorCode.TIMEOUT and info.value.retryable
    assert info.value.retry_after == 1.0 and info.value.op == "worker"
