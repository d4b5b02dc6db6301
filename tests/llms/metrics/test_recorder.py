from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from beluga.llms.metrics import CallRecord, MetricsFilter, MetricsRecorder, SqliteStore, SummaryRow
from beluga.llms.metrics import recorder as recorder_module


class FakeStore:
    """Remembers every batch; ``fail`` decides per call whether ``write`` raises."""

    def __init__(self, fail: Callable[[int], bool] = lambda n: False) -> None:
        self.batches: list[list[CallRecord]] = []
        self.attempts = 0
        self.closed = False
        self._fail = fail

    def write(self, records: Sequence[CallRecord]) -> int:
        self.attempts += 1
        if self._fail(self.attempts):
            raise ConnectionError("db down, password=hunter2hunter2")
        self.batches.append(list(records))
        return len(records)

    def summary(self, where: MetricsFilter | None = None) -> list[SummaryRow]:
        return []

    def export(self, where: MetricsFilter | None = None) -> Iterator[CallRecord]:
        return iter(())

    def close(self) -> None:
        self.closed = True

    @property
    def written(self) -> list[CallRecord]:
        return [r for b in self.batches for r in b]


def _calls(n: int, prefix: str = "r") -> list[CallRecord]:
    return [
        CallRecord(provider="p", model="m", latency_s=0.01 * (i % 7 + 1), call_id=f"{prefix}{i}")
        for i in range(n)
    ]


def _wait(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def test_writes_in_batches_of_batch_size_when_enough_records_wait() -> None:
    store = FakeStore()
    rec = MetricsRecorder(store, batch_size=10, interval=60)
    calls = _calls(25)
    for c in calls:
        rec.record(c)
    _wait(lambda: len(store.written) >= 20)  # the size trigger, not the 60 s timer
    assert all(len(b) <= 10 for b in store.batches)
    rec.close()
    assert store.written == calls and store.closed
    assert rec.written == 25 and rec.pending == 0 and rec.dropped == 0


def test_writes_after_interval_when_few_records_wait() -> None:
    store = FakeStore()
    with MetricsRecorder(store, batch_size=1000, interval=0.02) as rec:
        rec.record(_calls(1)[0])
        _wait(lambda: len(store.written) == 1)
        assert rec.pending == 0


def test_flush_writes_everything_now_and_record_does_no_io() -> None:
    store = FakeStore()
    rec = MetricsRecorder(store, batch_size=1000, interval=60)
    calls = _calls(5)
    for c in calls:
        rec.record(c)
    assert store.attempts == 0  # record() only appends
    assert rec.flush() is True
    assert store.written == calls
    rec.close()


def test_nothing_is_lost_under_50_concurrent_writers(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "m.db")
    rec = MetricsRecorder(store, batch_size=200, interval=0.01, close_store=False)
    per_writer = 400
    start = threading.Barrier(50)

    def writer(w: int) -> None:
        start.wait()
        for c in _calls(per_writer, prefix=f"w{w}-"):
            rec.record(c)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rec.close()
    assert rec.written == 50 * per_writer and rec.dropped == 0
    ids = [r.call_id for r in store.export()]
    assert len(ids) == len(set(ids)) == 50 * per_writer
    assert store.summary()[0].calls == 50 * per_writer
    store.close()


async def test_nothing_is_lost_from_50_tasks_and_aclose_does_not_block_the_loop() -> None:
    store = FakeStore()
    async with MetricsRecorder(store, batch_size=64, interval=0.01) as rec:

        async def task(t: int) -> None:
            for c in _calls(100, prefix=f"t{t}-"):
                rec.record(c)
                await asyncio.sleep(0)

        await asyncio.gather(*(task(t) for t in range(50)))
    assert sorted(r.call_id for r in store.written) == sorted(
        f"t{t}-{i}" for t in range(50) for i in range(100)
    )
    assert store.closed


def test_a_failing_store_never_reaches_the_caller_and_records_are_retried(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(recorder_module, "_BACKOFF_MIN", 0.01)
    store = FakeStore(fail=lambda n: n <= 3)
    with caplog.at_level(logging.WARNING, logger="beluga.llms.metrics"):
        rec = MetricsRecorder(store, batch_size=5, interval=0.01)
        calls = _calls(12)
        for c in calls:
            rec.record(c)  # never raises
        _wait(lambda: len(store.written) == 12)
        rec.close()
    assert store.attempts > 3
    assert sorted(r.call_id for r in store.written) == sorted(c.call_id for c in calls)
    assert rec.dropped == 0
    assert "cannot write call metrics" in caplog.text and "recovered" in caplog.text
    assert "hunter2hunter2" not in caplog.text and "[REDACTED]" in caplog.text


def test_records_kept_for_retry_are_bounded_and_drops_are_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FakeStore(fail=lambda n: True)
    rec = MetricsRecorder(store, batch_size=10, interval=60, max_pending=100)
    for c in _calls(250):
        rec.record(c)
    with caplog.at_level(logging.WARNING, logger="beluga.llms.metrics"):
        assert rec.flush() is False
        assert rec.pending == 100 and rec.dropped == 150  # bounded at record(): newest dropped
        rec.close()  # one last attempt, which fails too
    assert rec.dropped == 250 and rec.pending == 0
    assert rec.written + rec.dropped + rec.pending == 250
    assert caplog.text.count("cannot write call metrics") == 1  # one line per outage
    rec.record(_calls(1)[0])  # after close: dropped, counted, no error
    assert rec.dropped == 251


def test_close_is_idempotent_and_validates_options() -> None:
    store = FakeStore()
    rec = MetricsRecorder(store)
    rec.close()
    rec.close()
    assert "written=0" in repr(rec)
    with pytest.raises(ValueError, match="batch_size"):
        MetricsRecorder(store, batch_size=0)


def test_buffered_records_are_written_at_interpreter_exit(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    script = textwrap.dedent(
        f"""
        from beluga.llms.metrics import CallRecord, MetricsRecorder, SqliteStore
        rec = MetricsRecorder(SqliteStore({str(db)!r}), batch_size=100_000, interval=3600)
        for i in range(1000):
            rec.record(CallRecord(provider="p", model="m", latency_s=0.5, call_id=str(i)))
        # no close(): the atexit hook must write them
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    with SqliteStore(db, create=False) as store:
        assert store.summary()[0].calls == 1000


def test_record_never_waits_for_the_writer() -> None:
    """record() must not touch the store or take the writer's lock (its cost is measured in
    benchmarks/metrics_summary.py, not here)."""
    store = FakeStore()
    rec = MetricsRecorder(store, batch_size=10_000, interval=60)
    with rec._io:  # the writer's lock is held: record() must still return at once
        done = threading.Event()

        def hot() -> None:
            for c in _calls(1000):
                rec.record(c)
            done.set()

        threading.Thread(target=hot).start()
        assert done.wait(5)
    assert store.attempts == 0
    rec.close()
    assert len(store.written) == 1000


def test_a_record_the_store_refuses_is_dropped_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqliteStore(tmp_path / "m.db")
    rec = MetricsRecorder(store, batch_size=100, interval=60, close_store=False)
    good = _calls(20)
    for c in good[:10]:
        rec.record(c)
    rec.record(CallRecord(provider="p", model="m", latency_s=float("nan"), call_id="bad"))
    for c in good[10:]:
        rec.record(c)
    with caplog.at_level(logging.ERROR, logger="beluga.llms.metrics"):
        assert rec.flush() is True  # nothing left to retry
    assert rec.written == 20 and rec.dropped == 1
    assert "dropped 1 call record(s) the metrics store refuses" in caplog.text
    assert sorted(r.call_id for r in store.export()) == sorted(c.call_id for c in good)
    rec.close()
    store.close()


def _sigterm_script(db: Path, before: str) -> str:
    """A process that records 500 calls (none written yet) and then receives SIGTERM."""
    return textwrap.dedent(
        f"""
        import os, signal, sys, time
        from beluga.llms.metrics import CallRecord, MetricsRecorder, SqliteStore
        {before}
        rec = MetricsRecorder(SqliteStore({str(db)!r}), batch_size=100_000, interval=3600)
        for i in range(500):
            rec.record(CallRecord(provider="p", model="m", latency_s=0.5, call_id=str(i)))
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
        print("still alive", flush=True)
        """
    )


def _calls_in(db: Path) -> int:
    with SqliteStore(db, create=False) as store:
        rows = store.summary()
    return rows[0].calls if rows else 0


def test_sigterm_writes_pending_records_and_exits_as_terminated(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    done = subprocess.run(
        [sys.executable, "-c", _sigterm_script(db, "")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 143, done.stderr
    assert "still alive" not in done.stdout
    assert _calls_in(db) == 500


def test_sigterm_flushes_then_chains_to_the_handler_already_there(tmp_path: Path) -> None:
    # a server's own handler that leaves at once (os._exit skips every exit hook)
    before = textwrap.dedent(
        """
        def leave(signum, frame):
            print("previous handler ran", flush=True)
            os._exit(7)
        signal.signal(signal.SIGTERM, leave)
        """
    ).replace("\n", "\n        ")
    db = tmp_path / "m.db"
    done = subprocess.run(
        [sys.executable, "-c", _sigterm_script(db, before)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 7, done.stderr
    assert "previous handler ran" in done.stdout
    assert _calls_in(db) == 500


def test_a_process_that_ignores_sigterm_keeps_ignoring_it(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import signal
        from beluga.llms.metrics import CallRecord, MetricsRecorder, SqliteStore
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        rec = MetricsRecorder(SqliteStore({str(tmp_path / "m.db")!r}))
        rec.record(CallRecord(provider="p", model="m", latency_s=0.5))
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
        rec.close()
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


def test_the_handler_is_installed_only_from_the_main_thread(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import signal, threading
        from beluga.llms.metrics import CallRecord, MetricsRecorder, SqliteStore
        rec = MetricsRecorder(SqliteStore({str(tmp_path / "m.db")!r}))
        worker = threading.Thread(
            target=rec.record, args=(CallRecord(provider="p", model="m", latency_s=0.5),)
        )
        worker.start(); worker.join()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        rec.close()
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


class _WatchedSqlite(SqliteStore):
    """Remembers the lock wait (``PRAGMA busy_timeout``, ms) in force at each write."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)  # busy_timeout 10 s, as a store opened from configuration
        self.waits: list[int] = []

    def write(self, records: Sequence[CallRecord]) -> int:
        self.waits.append(self._conn.execute("PRAGMA busy_timeout").fetchone()[0])
        return super().write(records)


def test_a_locked_sqlite_store_at_exit_is_waited_on_briefly_then_dropped_with_a_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import sqlite3

    path = tmp_path / "metrics.db"
    store = _WatchedSqlite(path)
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process holds the store
    try:
        recorder = MetricsRecorder(store, interval=3600)
        recorder.record(_calls(1)[0])
        with caplog.at_level(logging.WARNING, logger="beluga"):
            recorder.close()
    finally:
        locker.rollback()
        locker.close()
    # The last write waited the short close bound, not the store's 10 s; the record is counted.
    assert store.waits == [int(recorder_module._CLOSE_LOCK_WAIT * 1000)]
    assert store.waits[0] < 10_000
    assert (recorder.dropped, recorder.written) == (1, 0)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "1 call records were not written" in warnings[0].getMessage()
