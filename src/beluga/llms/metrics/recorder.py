"""What the hot path calls: :meth:`MetricsRecorder.record` appends to a buffer and returns.

``record()`` is one ``deque.append`` (atomic under the GIL, so no lock) and a length check —
about a quarter of a microsecond. A daemon thread owned by the recorder does all the I/O: it
wakes every ``interval`` seconds, or as soon as ``batch_size`` records wait, and writes them to
the store in batches of ``batch_size``. A thread rather than an asyncio task because callers
live in any event loop, in several loops, or in none (scripts, the CLI), and a slow store must
never stall a loop.

Failure handling: the caller never sees an error from the store. A write that fails for a
reason that can pass (store down, busy or full: a retryable :class:`BelugaError` or an
``OSError``) is logged (redacted, once a minute while it lasts) and its records are kept and
retried with exponential backoff (1 s up to 30 s); at most ``max_pending`` records are kept,
beyond that the oldest are dropped and counted in :attr:`MetricsRecorder.dropped`. A batch
refused for good (a record the store cannot take, such as a NaN latency) is written record by
record, so only the bad records are dropped (and counted, and logged).

Shutdown: :meth:`close` (also on ``with``/``async with`` exit and at interpreter exit) stops the
thread and writes everything still buffered, ignoring any backoff. :meth:`flush` writes
everything recorded so far, in the calling thread.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import time
from collections import deque
from types import TracebackType
from typing import Self

from beluga.core.errors import BelugaError
from beluga.llms.metrics.base import CallRecord, MetricsStore, _logger

__all__ = ["MetricsRecorder"]

_BACKOFF_MIN = 1.0
_BACKOFF_MAX = 30.0
_LOG_EVERY = 60.0


def _transient(exc: Exception) -> bool:
    """Whether trying the same write later can succeed (the store is down, busy or full)."""
    if isinstance(exc, BelugaError):
        return exc.retryable
    return isinstance(exc, OSError)  # ConnectionError, TimeoutError, ... from custom stores


class MetricsRecorder:
    """Buffers :class:`CallRecord` objects and writes them to ``store`` off the hot path.

    ``batch_size`` records or ``interval`` seconds, whichever comes first, trigger a write.
    ``close_store`` closes the store with the recorder.
    """

    def __init__(
        self,
        store: MetricsStore,
        *,
        batch_size: int = 1000,
        interval: float = 1.0,
        max_pending: int = 100_000,
        close_store: bool = True,
    ) -> None:
        if batch_size < 1 or interval <= 0 or max_pending < batch_size:
            raise ValueError("need batch_size >= 1, interval > 0 and max_pending >= batch_size")
        self.store = store
        self.batch_size = batch_size
        self.interval = interval
        self.max_pending = max_pending
        self._close_store = close_store
        self._buffer: deque[CallRecord] = deque()
        self._retry: list[CallRecord] = []
        self._wake = threading.Event()
        self._io = threading.Lock()  # one writer at a time: the thread, flush() or close()
        self._stopping = False
        self._closed = False
        self._failures = 0
        self._retry_at = 0.0
        self._last_log = -_LOG_EVERY
        self.written = 0
        self.dropped = 0
        self._thread = threading.Thread(
            target=self._run, name="beluga-metrics-recorder", daemon=True
        )
        self._thread.start()
        atexit.register(self.close)

    # -- hot path ---------------------------------------------------------------------------------

    def record(self, record: CallRecord) -> None:
        """Queue ``record`` for writing. No I/O, no lock; never raises. After :meth:`close`
        records are dropped (and counted in :attr:`dropped`)."""
        if self._closed:
            self.dropped += 1
            return
        buffer = self._buffer
        buffer.append(record)
        if len(buffer) >= self.batch_size and not self._wake.is_set():
            self._wake.set()

    # -- background -------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Records recorded but not written yet (buffered or waiting for a retry)."""
        return len(self._buffer) + len(self._retry)

    def _run(self) -> None:
        while not self._stopping:
            now = time.monotonic()
            backing_off = self._failures and now < self._retry_at
            timeout = self._retry_at - now if backing_off else self.interval
            self._wake.wait(timeout)
            self._wake.clear()
            if self._stopping:
                break
            with self._io:
                if self._failures and time.monotonic() < self._retry_at:
                    self._take()  # keep the buffer bounded while the store is down
                else:
                    self._write()

    def _take(self) -> list[CallRecord]:
        """Move everything buffered behind the records waiting for a retry (bounded)."""
        pending, self._retry = self._retry, []
        buffer = self._buffer
        while True:
            try:
                pending.append(buffer.popleft())
            except IndexError:
                break
        excess = len(pending) - self.max_pending
        if excess > 0:
            del pending[:excess]
            self.dropped += excess
            _logger().error(
                "metrics store unavailable: dropped the %d oldest call records "
                "(more than max_pending=%d waiting)",
                excess,
                self.max_pending,
            )
        self._retry = pending
        return pending

    def _write(self) -> bool:
        """Write everything pending in batches; on failure keep the rest for a retry."""
        pending = self._take()
        self._retry = []
        size = self.batch_size
        for start in range(0, len(pending), size):
            batch = pending[start : start + size]
            try:
                self.store.write(batch)
            except Exception as exc:
                if _transient(exc):
                    self._retry = pending[start:]
                    self._failed(exc)
                    return False
                self._isolate(batch, exc)
                continue
            self.written += len(batch)
        if self._failures:
            _logger().warning("metrics store recovered after %d failed writes", self._failures)
            self._failures = 0
        return True

    def _isolate(self, batch: list[CallRecord], exc: Exception) -> None:
        """A batch the store refused for good (a constraint, a bad value): write its records
        one by one so that one bad record cannot hold back, or lose, the others."""
        bad = 0
        for record in batch:
            try:
                self.store.write([record])
            except Exception:
                bad += 1
            else:
                self.written += 1
        if bad:
            self.dropped += bad
            _logger().error(
                "dropped %d call record(s) the metrics store refuses (%s: %s)",
                bad,
                type(exc).__name__,
                exc,
            )

    def _failed(self, exc: Exception) -> None:
        self._failures += 1
        delay = min(_BACKOFF_MAX, _BACKOFF_MIN * 2 ** (self._failures - 1))
        now = time.monotonic()
        self._retry_at = now + delay
        if now - self._last_log >= _LOG_EVERY:
            self._last_log = now
            _logger().warning(
                "cannot write call metrics to %s (%s: %s); keeping %d records, retrying in %.0fs",
                type(self.store).__name__,
                type(exc).__name__,
                exc,
                len(self._retry),
                delay,
            )

    # -- control ----------------------------------------------------------------------------------

    def flush(self) -> bool:
        """Write everything recorded so far, now, in this thread (ignoring any backoff).

        Returns whether nothing is left pending; never raises for a store failure.
        """
        with self._io:
            return self._write()

    def close(self) -> None:
        """Stop the thread, write what is left (one attempt) and close the store. Idempotent."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        self._stopping = True
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        with self._io:
            if not self._write():
                _logger().error(
                    "metrics store unavailable at shutdown: %d call records were not written",
                    len(self._retry),
                )
                self.dropped += len(self._retry)
                self._retry = []
        if self._close_store:
            try:
                self.store.close()
            except Exception as exc:
                _logger().warning("closing the metrics store failed: %s", exc)

    async def aclose(self) -> None:
        """:meth:`close` without blocking the event loop."""
        await asyncio.to_thread(self.close)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"MetricsRecorder({self.store!r}, pending={self.pending}, written={self.written}, "
            f"dropped={self.dropped})"
        )
