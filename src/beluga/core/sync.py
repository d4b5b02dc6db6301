"""Run async code from sync code: scripts, notebooks, a REPL.

Everything in beluga is async; :func:`run_sync` is the one bridge, for the top of a program only
(library code awaits). With no event loop running in the calling thread it is
:func:`asyncio.run`. Inside a running loop (a Jupyter cell, or sync code called from async
code) ``asyncio.run`` refuses, so the coroutine runs on a fresh loop in a worker thread while the
caller waits; the caller's context variables go with it, and Ctrl-C cancels it. Objects bound to
one loop (an open HTTP client) should then be created inside the coroutine, or used only
through ``run_sync``.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
from collections.abc import Awaitable
from typing import Any, TypeVar, cast

from beluga.core.errors import BelugaError, ErrorCode

__all__ = ["run_sync"]

T = TypeVar("T")


def run_sync(awaitable: Awaitable[T]) -> T:
    """Run ``awaitable`` (e.g. ``model.generate("hi")``) to completion and return its result;
    its exception, if any, is raised here."""
    if not inspect.isawaitable(awaitable):
        raise BelugaError(
            "core.run_sync",
            ErrorCode.INVALID_REQUEST,
            f"run_sync needs a coroutine, got {type(awaitable).__name__}; call the async "
            "function and pass what it returns, e.g. run_sync(model.generate('hi'))",
        )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_wait(awaitable))
    return cast(T, _Worker(awaitable).run())


async def _wait(awaitable: Awaitable[T]) -> T:
    return await awaitable


class _Worker:
    """Runs one awaitable on its own loop in a thread; the caller blocks until it is done."""

    def __init__(self, awaitable: Awaitable[Any]) -> None:
        self._awaitable = awaitable
        self._context = contextvars.copy_context()
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._result: Any = None
        self._error: BaseException | None = None

    def run(self) -> Any:
        thread = threading.Thread(
            target=self._context.run, args=(self._main,), name="beluga-run-sync", daemon=True
        )
        thread.start()
        try:
            thread.join()
        except BaseException:  # Ctrl-C while waiting: cancel the work, then let it finish
            self._cancel()
            thread.join()
            raise
        if self._error is not None:
            raise self._error
        return self._result

    def _main(self) -> None:
        try:
            self._result = asyncio.run(self._start())
        except BaseException as exc:
            self._error = exc
        finally:
            self._started.set()  # even if it never started, so _cancel() cannot wait forever

    async def _start(self) -> Any:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.ensure_future(self._awaitable)
        self._started.set()
        return await self._task

    def _cancel(self) -> None:
        self._started.wait()
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
