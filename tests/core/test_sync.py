"""run_sync: async code from scripts and notebooks, with or without a running loop."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from beluga.core import BelugaError, ErrorCode, run_sync
from beluga.llms.testing import TestModel

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


async def _where() -> tuple[str, str]:
    await asyncio.sleep(0)
    return threading.current_thread().name, _request_id.get()


def test_without_a_loop_it_runs_here() -> None:
    assert run_sync(_where()) == (threading.current_thread().name, "-")
    assert run_sync(TestModel(text="hi").generate("q")).text == "hi"


def test_exceptions_come_back_to_the_caller() -> None:
    async def fail() -> None:
        raise BelugaError("op", ErrorCode.TIMEOUT, "too slow")

    with pytest.raises(BelugaError, match="too slow"):
        run_sync(fail())


async def test_inside_a_running_loop_it_runs_in_a_worker_thread_with_our_context() -> None:
    # as in a Jupyter cell: sync code called while the notebook's loop runs
    _request_id.set("req-7")
    thread, request_id = run_sync(_where())
    assert thread == "beluga-run-sync" and request_id == "req-7"

    async def fail() -> None:
        raise ValueError("from the worker")

    with pytest.raises(ValueError, match="from the worker"):
        run_sync(fail())


@pytest.mark.parametrize("value", [None, 3, "generate", TestModel().generate])
def test_something_that_is_not_awaitable_is_a_clear_error(value: object) -> None:
    with pytest.raises(BelugaError) as info:
        run_sync(value)  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_REQUEST and "run_sync(" in info.value.message
