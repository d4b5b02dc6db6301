"""Append-only JSON lines: the metrics store for filesystems where SQLite cannot work.

SQLite needs working byte-range locks (and, in WAL mode, shared memory next to the file), which
NFS, SMB, some FUSE and object-store mounts do not give reliably. Appending whole lines needs
only ``O_APPEND``: each batch is one ``write`` under an advisory ``flock`` where the platform
has one. A line torn by a crash is skipped when read (and counted in a warning), and the next
batch starts on a fresh line. Reading also works on a read-only mount.

Summaries and exports read the whole file (no index, no rollups), so this store suits small or
temporary volumes; :func:`migrate_jsonl_to_sqlite` moves its records into SQLite, keyed by
``call_id``, so running it again (or after an interruption) adds nothing twice.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.metrics._rollup import Group, rows_of
from beluga.llms.metrics.base import (
    CALL_FIELDS,
    CallRecord,
    MetricsFilter,
    SummaryRow,
    _logger,
)
from beluga.llms.metrics.sqlite import SqliteStore

try:  # POSIX advisory locks; elsewhere O_APPEND alone keeps whole lines together
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["JsonlStore", "migrate_jsonl_to_sqlite"]

_MIGRATE_BATCH = 10_000
_STR = ("provider", "model", "status", "call_id")
_OPT_STR = ("role", "error")
_INT = ("input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens")
_NUM = ("ts", "latency_s")
_OPT_NUM = ("ttft_s", "cost_usd")


class JsonlStore:
    """Call records as JSON lines in one file (``CallRecord.as_dict`` per line)."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        if self.path.is_file():
            return
        if not create:
            raise BelugaError(
                "llms.metrics.jsonl",
                ErrorCode.NOT_FOUND,
                f"no metrics file at {self.path}: check the path given to --store "
                "(or BELUGA_METRICS_STORE)",
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
        except OSError as exc:
            raise _io_error(self.path, exc) from exc

    def write(self, records: Sequence[CallRecord]) -> int:
        """Append ``records``; returns how many (this store does not deduplicate)."""
        if not records:
            return 0
        text = "".join(
            json.dumps(dict(zip(CALL_FIELDS, r.as_row(), strict=True)), ensure_ascii=False) + "\n"
            for r in records
        )
        data = text.encode()
        with self._lock:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as exc:
                raise _io_error(self.path, exc) from exc
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data  # a writer died mid-line: do not glue onto it
                os.write(fd, data)
            except OSError as exc:
                raise _io_error(self.path, exc) from exc
            finally:
                os.close(fd)  # also releases the flock
        return len(records)

    def summary(self, where: MetricsFilter | None = None) -> list[SummaryRow]:
        """Same figures (and percentile accuracy) as the SQL stores, from a full read."""
        groups: dict[tuple[str, str | None], Group] = {}
        for r in self.export(where):
            key = (r.provider, r.role or None)
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group()
            tokens = (r.input_tokens, r.output_tokens, r.cached_tokens, r.reasoning_tokens)
            group.add_call(r.status, r.latency_s, r.ttft_s, tokens, r.cost_usd)
        return rows_of(groups)

    def export(self, where: MetricsFilter | None = None) -> Iterator[CallRecord]:
        """Matching records in file (write) order; malformed lines are skipped and counted."""
        where = where or MetricsFilter()
        bad = 0
        try:
            with self.path.open("rb") as f:
                for line in f:
                    if not line.strip():
                        continue
                    record = _parse(line)
                    if record is None:
                        bad += 1
                    elif where.matches(record):
                        yield record
        except OSError as exc:
            raise _io_error(self.path, exc) from exc
        finally:
            if bad:
                _logger().warning("skipped %d malformed line(s) in %s", bad, self.path)

    def close(self) -> None:
        """Nothing to release: every write opens and closes the file."""

    def __enter__(self) -> JsonlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"JsonlStore({str(self.path)!r})"


def _parse(line: bytes) -> CallRecord | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or not _valid(data):
        return None
    return CallRecord.from_dict(data)


def _valid(d: dict[str, Any]) -> bool:
    def number(v: object) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)

    return (
        all(isinstance(d.get(k), str) for k in _STR)
        and all(d.get(k) is None or isinstance(d[k], str) for k in _OPT_STR)
        and all(isinstance(d.get(k, 0), int) and not isinstance(d.get(k), bool) for k in _INT)
        and all(number(d.get(k)) for k in _NUM)
        and all(d.get(k) is None or number(d[k]) for k in _OPT_NUM)
        and d.get("operation", "chat") in ("chat", "stream")
    )


def _io_error(path: Path, exc: OSError) -> BelugaError:
    return BelugaError(
        "llms.metrics.jsonl",
        ErrorCode.PROVIDER_UNAVAILABLE,
        f"metrics file {path}: {exc.strerror or exc}; check the path and its permissions",
        retryable=True,
        cause=exc,
    )


def migrate_jsonl_to_sqlite(src: str | Path, dst: str | Path | SqliteStore | None = None) -> int:
    """Copy the records of the JSON-lines file ``src`` into the SQLite store ``dst`` (a path,
    an open store, or the default file); returns how many were new.

    Idempotent: records are keyed by ``call_id``, so a second run returns 0 and an interrupted
    run can simply be started again. ``src`` is left as it is.
    """
    source = JsonlStore(src, create=False)
    target = dst if isinstance(dst, SqliteStore) else SqliteStore(dst)
    added = 0
    try:
        batch: list[CallRecord] = []
        for record in source.export():
            batch.append(record)
            if len(batch) >= _MIGRATE_BATCH:
                added += target.write(batch)
                batch = []
        added += target.write(batch)
    finally:
        if target is not dst:
            target.close()
    return added
