"""What the hot path calls: :meth:`MetricsRecorder.record` appends to a buffer and returns.

``record()`` is one ``deque.append`` (atomic under the GIL, so no lock) and two length checks
— about a quarter of a microsecond. Nothing exists until the first record: the store is opened,
the thread started and the exit hooks installed then, once (so building a recorder from a
config creates no file and no thread). At most ``max_pending`` records wait: ``record()`` drops
the newest beyond that (counted in :attr:`MetricsRecorder.dropped`, so ``written + dropped +
pending`` is what was recorded; concurrent callers can overshoot by one record each).

A daemon thread owned by the recorder does all the I/O: it
wakes every ``interval`` seconds, or as soon as ``batch_size`` records wait, and writes them to
the store in batches of ``batch_size``. A thread rather than an asyncio task because callers
live in any event loop, in several loops, or in none (scripts, the CLI), and a slow store must
never stall a loop.

Failure handling: the caller never sees an error from the store. A store given as an opener
(see :func:`beluga.llms.metrics.open_store`) is opened in the thread; if it cannot be opened
(locked, unwritable, corrupt, server down) that is one redacted warning, and opening is retried
like a failed write. A write that fails for a
reason that can pass (store down, busy or full: a retryable :class:`BelugaError` or an
``OSError``) is logged (redacted, once a minute while it lasts) and its records are kept and
retried with exponential backoff (1 s up to 30 s). A batch
refused for good (a record the store cannot take, such as a NaN latency) is written record by
record, so only the bad records are dropped (and counted, and logged).

Shutdown: :meth:`close` (also on ``with``/``async with`` exit and at interpreter exit) stops the
thread and writes everything still buffered, ignoring any backoff. :meth:`flush` writes
everything recorded so far, in the calling thread.

SIGTERM (what a container stop, systemd or a supervisor sends) would otherwise lose as much as
``kill -9``: when the first recorder starts, on the main thread, a SIGTERM handler is installed
that writes every live recorder's records at once (waiting at most a few seconds for a write
under way), then hands the signal on: to the handler that was there before (a server's own
graceful shutdown), or, if SIGTERM was at its default, as a normal exit with status 143 so exit
hooks and ``finally`` blocks run too. A process that ignores SIGTERM, or whose handler was set
outside Python, is left alone.
"""

from __future__ import annotations

import asyncio
import atexit
import signal
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import Any, Self

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError
from beluga.llms.metrics.base import CallRecord, MetricsStore, _logger

__all__ = ["MetricsRecorder", "StoreOpener"]

_BACKOFF_MIN = 1.0
_BACKOFF_MAX = 30.0
_LOG_EVERY = 60.0

StoreOpener = Callable[[], MetricsStore]


def _transient(exc: Exception) -> bool:
    """Whether trying the same write later can succeed (the store is down, busy or full)."""
    if isinstance(exc, BelugaError):
        return exc.retryable
    return isinstance(exc, OSError)  # ConnectionError, TimeoutError, ... from custom stores


_SIGNAL_FLUSH_WAIT = 5.0  # seconds the SIGTERM handler waits for a write under way
_CLOSE_LOCK_WAIT = 0.5
"""Seconds the last write at close waits for a store's lock (a store with ``wait_at_most``,
such as SQLite): what is still locked then is dropped, counted and warned about once."""

_live: weakref.WeakSet[MetricsRecorder] = weakref.WeakSet()  # started and not closed
_sigterm_lock = threading.Lock()
_sigterm_done = False
_previous_sigterm: Any = signal.SIG_DFL


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Write what every live recorder holds, then hand the signal on."""
    for recorder in list(_live):
        recorder._flush_on_signal()
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
    else:  # SIG_DFL: a normal exit (status 143), so exit hooks and finally blocks run too
        sys.exit(128 + signum)


def _install_sigterm() -> None:
    """Once per process, on the main thread, chained to the handler already there; a process
    that ignores SIGTERM, or handles it outside Python, is left alone."""
    global _sigterm_done, _previous_sigterm
    with _sigterm_lock:
        if _sigterm_done or threading.current_thread() is not threading.main_thread():
            return
        _sigterm_done = True
        try:
            previous = signal.getsignal(signal.SIGTERM)
            if previous is signal.SIG_IGN or previous is None or previous is _on_sigterm:
                return
            _previous_sigterm = previous
            signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, OSError):  # no signals here (embedded interpreter)
            pass


class MetricsRecorder(AsyncClosing):
    """Buffers :class:`CallRecord` objects and writes them to ``store`` off the hot path.

    ``store`` is a store or a function that opens one (called in the recorder's thread, after
    the first record). ``batch_size`` records or ``interval`` seconds, whichever comes first,
    trigger a write. ``close_store`` closes the store with the recorder.
    """

    def __init__(
        self,
        store: MetricsStore | StoreOpener,
        *,
        batch_size: int = 1000,
        interval: float = 1.0,
        max_pending: int = 100_000,
        close_store: bool = True,
    ) -> None:
        if batch_size < 1 or interval <= 0 or max_pending < batch_size:
            raise ValueError("need batch_size >= 1, interval > 0 and max_pending >= batch_size")
        if isinstance(store, MetricsStore):
            self.store: MetricsStore | None = store
            self._opener: StoreOpener | None = None
        else:
            self.store, self._opener = None, store
        self.batch_size = batch_size
        self.interval = interval
        self.max_pending = max_pending
        self._close_store = close_store
        self._buffer: deque[CallRecord] = deque()
        self._retry: list[CallRecord] = []
        self._held = 0  # records taken from the buffer and not written yet
        self._wake = threading.Event()
        self._io = threading.Lock()  # one writer at a time: the thread, flush() or close()
        self._io_owner: int | None = None  # the thread holding _io
        self._start_lock = threading.Lock()
        self._stopping = False
        self._closed = False
        self._failures = 0
        self._quiet = False  # close() says it all in one line
        self._last_error: Exception | None = None
        self._retry_at = 0.0
        self._last_log = -_LOG_EVERY
        self._dropped_logged = 0
        self.written = 0
        self.dropped = 0
        self._thread: threading.Thread | None = None

    # -- hot path ---------------------------------------------------------------------------------

    def record(self, record: CallRecord) -> None:
        """Queue ``record`` for writing. No I/O, no lock; never raises. Beyond ``max_pending``
        waiting records, and after :meth:`close`, records are dropped (and counted)."""
        buffer = self._buffer
        if self._closed or len(buffer) + self._held >= self.max_pending:
            self.dropped += 1
            return
        buffer.append(record)
        if self._thread is None:
            self._start()
        elif len(buffer) >= self.batch_size and not self._wake.is_set():
            self._wake.set()

    def _start(self) -> None:
        """Start the thread and the exit hooks, once (the first record gets here)."""
        with self._start_lock:
            if self._thread is not None or self._closed:
                return
            thread = threading.Thread(target=self._run, name="beluga-metrics-recorder", daemon=True)
            atexit.register(self.close)
            _live.add(self)
            _install_sigterm()
            thread.start()
            self._thread = thread

    # -- background -------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Records recorded but not written yet (buffered or waiting for a retry)."""
        return len(self._buffer) + self._held

    def _run(self) -> None:
        while not self._stopping:
            now = time.monotonic()
            backing_off = self._failures and now < self._retry_at
            timeout = self._retry_at - now if backing_off else self.interval
            self._wake.wait(timeout)
            self._wake.clear()
            if self._stopping:
                break
            with self._writing():
                if not (self._failures and time.monotonic() < self._retry_at):
                    self._write()
                self._log_dropped()

    def _log_dropped(self) -> None:
        new = self.dropped - self._dropped_logged
        if new > 0 and time.monotonic() - self._last_log >= _LOG_EVERY:
            self._last_log = time.monotonic()
            self._dropped_logged = self.dropped
            _logger().warning(
                "dropped %d call records: more than max_pending=%d were waiting for the "
                "metrics store",
                new,
                self.max_pending,
            )

    def _next_batch(self) -> list[CallRecord]:
        """The records to write next: those a failed write left, else up to ``batch_size``
        from the buffer (counted in :attr:`pending` all along)."""
        if self._retry:
            return self._retry
        buffer = self._buffer
        size = min(self.batch_size, len(buffer))
        self._held = size
        batch = [buffer.popleft() for _ in range(size)]
        self._retry = batch
        return batch

    def _open(self) -> MetricsStore | None:
        """The store, opened on first use; None (and a failure counted) if it cannot be."""
        if self.store is None and self._opener is not None:
            try:
                self.store = self._opener()
            except Exception as exc:
                self._failed(exc)
        return self.store

    def _write(self) -> bool:
        """Write everything pending in batches; on failure keep the rest for a retry."""
        while self._buffer or self._retry:
            store = self._open()
            if store is None:
                return False
            batch = self._next_batch()
            try:
                store.write(batch)
            except Exception as exc:
                if _transient(exc):
                    self._failed(exc)
                    return False
                self._isolate(store, batch, exc)
            else:
                self.written += len(batch)
            self._retry = []
            self._held = 0
        if self._failures:
            _logger().warning("metrics store recovered after %d failed attempts", self._failures)
            self._failures = 0
        return True

    def _isolate(self, store: MetricsStore, batch: list[CallRecord], exc: Exception) -> None:
        """A batch the store refused for good (a constraint, a bad value): write its records
        one by one so that one bad record cannot hold back, or lose, the others."""
        bad = 0
        for record in batch:
            try:
                store.write([record])
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
        """Back off, and say so once a minute (redacted by the package logger)."""
        self._failures += 1
        delay = min(_BACKOFF_MAX, _BACKOFF_MIN * 2 ** (self._failures - 1))
        now = time.monotonic()
        self._retry_at = now + delay
        self._last_error = exc
        if not self._quiet and now - self._last_log >= _LOG_EVERY:
            self._last_log = now
            _logger().warning(
                "cannot write call metrics to %s (%s: %s); keeping %d records, retrying in "
                "%.0fs; calls go on without metrics",
                self._store_name(),
                type(exc).__name__,
                exc,
                self.pending,
                delay,
            )

    def _store_name(self) -> str:
        return type(self.store).__name__ if self.store is not None else "the metrics store"

    # -- control ----------------------------------------------------------------------------------

    def flush(self) -> bool:
        """Write everything recorded so far, now, in this thread (ignoring any backoff).

        Returns whether nothing is left pending; never raises for a store failure.
        """
        with self._writing():
            return self._write()

    @contextmanager
    def _writing(self, wait: float = -1) -> Iterator[bool]:
        """Hold the writer's lock (yields False if it was not free within ``wait`` seconds)."""
        if not self._io.acquire(timeout=wait):
            yield False
            return
        self._io_owner = threading.get_ident()
        try:
            yield True
        finally:
            self._io_owner = None
            self._io.release()

    def _flush_on_signal(self) -> None:
        """:meth:`flush` from a signal handler: never re-enter a write this very thread was
        interrupted in (it finishes after the handler), never wait long for another's."""
        if self._io_owner == threading.get_ident():
            return
        with self._writing(_SIGNAL_FLUSH_WAIT) as free:
            if free:
                self._write()

    def close(self) -> None:
        """Stop the thread, write what is left (one attempt) and close the store. Idempotent."""
        with self._start_lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        _live.discard(self)
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._writing():
            warned = self._failures > 0 and time.monotonic() - self._last_log < _LOG_EVERY
            self._bound_lock_wait()
            self._quiet = True
            try:
                written = self._write()
            finally:
                self._quiet = False
            if not written:
                lost = self.pending
                self.dropped += lost
                self._buffer.clear()
                self._retry, self._held = [], 0
                if not warned:  # one line per outage: a warning already said it
                    exc = self._last_error
                    _logger().warning(
                        "cannot write call metrics to %s at shutdown (%s: %s): %d call records "
                        "were not written",
                        self._store_name(),
                        type(exc).__name__,
                        exc,
                        lost,
                    )
        if self._close_store and self.store is not None:
            try:
                self.store.close()
            except Exception as exc:
                _logger().warning("closing the metrics store failed: %s", exc)

    def _bound_lock_wait(self) -> None:
        """Let the last write wait only briefly for a locked store (exit must not hang)."""
        bound = getattr(self.store, "wait_at_most", None)
        if callable(bound):
            try:
                bound(_CLOSE_LOCK_WAIT)
            except Exception as exc:  # a store that fails here fails the write next, with a count
                _logger().debug("could not bound the metrics store's lock wait: %s", exc)

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

    def __repr__(self) -> str:
        return (
            f"MetricsRecorder({self.store!r}, pending={self.pending}, written={self.written}, "
            f"dropped={self.dropped})"
        )
