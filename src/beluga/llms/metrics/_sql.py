"""What the SQLite and PostgreSQL stores share: schema, batched writes with rollups, summary.

Tables (``beluga_metrics_`` prefix, so they can share a database with anything else):

``calls``  one row per call (``call_id`` primary key), indexed by ``ts``: exports and the raw edges
           of a summary read it.
``keys``   small dimension table: an integer id per (provider, model, role).
``stats``  per (level, bucket start, key, status): calls, token sums, cost sum, calls with a cost.
``hist``   per (level, bucket start, key, kind): packed latency or TTFT histogram of the
           successful calls (see ``_hist``).
``meta``   schema version and histogram accuracy, checked on open.

A write inserts the calls whose ``call_id`` is new, then adds exactly those to the rollups, all
in one transaction: writing a batch twice (a retry, a migration run again) changes nothing.
Counts and sums are additive upserts. Histograms are read-modify-write: the batch first inserts
the rows it will touch (empty, ``ON CONFLICT DO NOTHING``), then reads them (``FOR UPDATE`` on
PostgreSQL; SQLite has one writer at a time anyway), merges and updates them. Every step goes in
primary-key order, so concurrent writers serialize on a row instead of losing an update, and
cannot deadlock.
See ``_rollup`` for the levels and the accuracy of percentiles.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import threading
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.metrics._hist import RELATIVE_ERROR, decode, encode
from beluga.llms.metrics._rollup import Group, Rollup, decompose, rows_of
from beluga.llms.metrics.base import CALL_FIELDS, CallRecord, MetricsFilter, SummaryRow

__all__ = ["PREFIX", "SCHEMA_VERSION", "SqlStore"]

PREFIX = "beluga_metrics_"
SCHEMA_VERSION = "1"
_BUCKETS_PER_READ = 500

_DDL = (
    """CREATE TABLE IF NOT EXISTS {calls} (
        ts {real} NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, role TEXT,
        operation TEXT NOT NULL, latency_s {real} NOT NULL, ttft_s {real},
        input_tokens {int} NOT NULL, output_tokens {int} NOT NULL,
        cached_tokens {int} NOT NULL, reasoning_tokens {int} NOT NULL, cost_usd {real},
        status TEXT NOT NULL, error TEXT, call_id TEXT NOT NULL PRIMARY KEY)""",
    "CREATE INDEX IF NOT EXISTS {bare_calls}_ts ON {calls} (ts)",
    """CREATE TABLE IF NOT EXISTS {keys} (
        id {serial}, provider TEXT NOT NULL, model TEXT NOT NULL, role TEXT NOT NULL,
        UNIQUE (provider, model, role))""",
    """CREATE TABLE IF NOT EXISTS {stats} (
        level {int} NOT NULL, bucket {int} NOT NULL, key_id {int} NOT NULL,
        status TEXT NOT NULL, calls {int} NOT NULL, input_tokens {int} NOT NULL,
        output_tokens {int} NOT NULL, cached_tokens {int} NOT NULL,
        reasoning_tokens {int} NOT NULL, cost_usd {real} NOT NULL, costed {int} NOT NULL,
        PRIMARY KEY (level, bucket, key_id, status)) {compact}""",
    """CREATE TABLE IF NOT EXISTS {hist} (
        level {int} NOT NULL, bucket {int} NOT NULL, key_id {int} NOT NULL,
        kind {int} NOT NULL, data {blob} NOT NULL,
        PRIMARY KEY (level, bucket, key_id, kind)) {compact}""",
    "CREATE TABLE IF NOT EXISTS {meta} (name TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL)",
)
_SUMS = (
    "calls",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost_usd",
    "costed",
)


class SqlStore(ABC):
    """Base of the SQL stores. Subclasses bring the connection, the dialect and the export."""

    dialect: ClassVar[dict[str, str]]

    def __init__(self, *, schema: str | None = None) -> None:
        self._lock = threading.RLock()
        self._key_ids: dict[tuple[str, str, str], int] = {}
        qualify = f'"{schema}".' if schema else ""
        self.tables = {n: f"{qualify}{PREFIX}{n}" for n in ("calls", "keys", "stats", "hist")}
        self.tables["meta"] = f"{qualify}{PREFIX}meta"
        self.tables["bare_calls"] = f"{PREFIX}calls"
        t = self.tables
        self._insert_calls = (
            f"INSERT INTO {t['calls']} ({', '.join(CALL_FIELDS)}) "
            f"VALUES ({', '.join('?' * len(CALL_FIELDS))}) ON CONFLICT (call_id) DO NOTHING"
        )
        sets = ", ".join(f"{c} = cur.{c} + excluded.{c}" for c in _SUMS)
        self._upsert_stats = (
            f"INSERT INTO {t['stats']} AS cur (level, bucket, key_id, status, {', '.join(_SUMS)}) "
            f"VALUES ({', '.join('?' * (4 + len(_SUMS)))}) "
            f"ON CONFLICT (level, bucket, key_id, status) DO UPDATE SET {sets}"
        )
        self._ensure_hist = (
            f"INSERT INTO {t['hist']} (level, bucket, key_id, kind, data) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (level, bucket, key_id, kind) DO NOTHING"
        )
        self._update_hist = (
            f"UPDATE {t['hist']} SET data = ? "
            "WHERE level = ? AND bucket = ? AND key_id = ? AND kind = ?"
        )

    # -- driver hooks ---------------------------------------------------------------------------

    @abstractmethod
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows (none for DDL/DML)."""

    @abstractmethod
    def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each of ``rows``."""

    @abstractmethod
    def _insert_new(self, records: Sequence[CallRecord]) -> list[CallRecord]:
        """Insert the records whose ``call_id`` is not stored yet; return exactly those."""

    @abstractmethod
    def export(self, where: MetricsFilter | None = None) -> Iterator[CallRecord]: ...

    @abstractmethod
    def close(self) -> None: ...

    # -- shared logic -----------------------------------------------------------------------------

    def _begin(self, *, write: bool = True) -> None:
        self._query(self.dialect["begin_write" if write else "begin_read"])

    def _commit(self) -> None:
        self._query("COMMIT")

    def _rollback(self) -> None:
        with contextlib.suppress(Exception):  # the error that brought us here matters more
            self._query("ROLLBACK")

    def _create_schema(self) -> None:
        """Create the tables if needed, then check the store's version. An existing store is
        only read here, so a summary never waits for a writer's lock just to open it."""
        meta = self.tables["meta"]
        wanted = {"schema": SCHEMA_VERSION, "relative_error": repr(RELATIVE_ERROR)}
        try:
            found = dict(self._query(f"SELECT name, value FROM {meta}"))
        except BelugaError:  # no tables yet
            found = {}
        if not found:
            self._begin()
            try:
                for statement in _DDL:
                    self._query(statement.format(**self.tables, **self.dialect))
                for name, value in wanted.items():
                    self._query(
                        f"INSERT INTO {meta} (name, value) VALUES (?, ?) "
                        "ON CONFLICT (name) DO NOTHING",
                        (name, value),
                    )
                found = dict(self._query(f"SELECT name, value FROM {meta}"))
                self._commit()
            except BaseException:
                self._rollback()
                raise
        for name, value in wanted.items():
            if found.get(name) != value:
                raise BelugaError(
                    "llms.metrics.open",
                    ErrorCode.INVALID_CONFIG,
                    f"this metrics store has {name}={found.get(name)!r}, this version of beluga "
                    f"expects {value!r}: export it with the version that wrote it, or use a new "
                    "store",
                )

    def write(self, records: Sequence[CallRecord]) -> int:
        """Store the records whose ``call_id`` is new and add them to the rollups."""
        if not records:
            return 0
        with self._lock:
            self._begin()
            try:
                new = self._insert_new(records)
                if new:
                    rollup = Rollup()
                    key_id = self._key_id
                    for key in sorted({(r.provider, r.model, r.role or "") for r in new}):
                        key_id(*key)  # new keys in a fixed order: concurrent writers can't deadlock
                    for r in new:
                        rollup.add(
                            key_id(r.provider, r.model, r.role),
                            r.ts,
                            r.status,
                            r.latency_s,
                            r.ttft_s,
                            (r.input_tokens, r.output_tokens, r.cached_tokens, r.reasoning_tokens),
                            r.cost_usd,
                        )
                    self._many(self._upsert_stats, rollup.stats_rows())
                    self._merge_histograms(rollup.histograms())
                self._commit()
            except BaseException:
                self._rollback()
                self._key_ids.clear()  # ids minted in the rolled-back transaction are gone
                raise
        return len(new)

    def _merge_histograms(self, added: dict[tuple[int, int, int, int], Counter[int]]) -> None:
        keys = sorted(added)
        self._many(self._ensure_hist, [(*k, b"") for k in keys])
        updates: list[tuple[Any, ...]] = []
        for level, same_level in itertools.groupby(keys, key=lambda k: k[0]):
            touched = list(same_level)
            for start in range(0, len(touched), _BUCKETS_PER_READ):
                chunk = touched[start : start + _BUCKETS_PER_READ]
                buckets = ", ".join(str(b) for b in sorted({k[1] for k in chunk}))
                ids = ", ".join(str(i) for i in sorted({k[2] for k in chunk}))
                for bucket, key_id, kind, data in self._query(
                    f"SELECT bucket, key_id, kind, data FROM {self.tables['hist']} "
                    f"WHERE level = ? AND bucket IN ({buckets}) AND key_id IN ({ids}) "
                    f"ORDER BY bucket, key_id, kind{self.dialect['for_update']}",
                    (level,),
                ):
                    new = added.get((level, bucket, key_id, kind))
                    if new is not None:
                        merged = decode(bytes(data))
                        merged.update(new)
                        updates.append((encode(merged), level, bucket, key_id, kind))
        self._many(self._update_hist, updates)

    def _key_id(self, provider: str, model: str, role: str | None) -> int:
        key = (provider, model, role or "")
        found = self._key_ids.get(key)
        if found is not None:
            return found
        table = self.tables["keys"]
        self._query(
            f"INSERT INTO {table} (provider, model, role) VALUES (?, ?, ?) "
            "ON CONFLICT (provider, model, role) DO NOTHING",
            key,
        )
        rows = self._query(
            f"SELECT id FROM {table} WHERE provider = ? AND model = ? AND role = ?", key
        )
        self._key_ids[key] = int(rows[0][0])
        return self._key_ids[key]

    def summary(self, where: MetricsFilter | None = None) -> list[SummaryRow]:
        """Counts, success rate, percentiles, tokens and cost per (provider, role)."""
        where = where or MetricsFilter()
        with self._lock:
            self._begin(write=False)  # one snapshot for every query below
            try:
                return self._summary(where)
            finally:
                self._rollback()

    def _summary(self, where: MetricsFilter) -> list[SummaryRow]:
        group_of: dict[int, tuple[str, str | None]] = {}
        for key_id, provider, _model, role in self._query(
            f"SELECT id, provider, model, role FROM {self.tables['keys']}"
        ):
            if (where.provider is None or provider == where.provider) and (
                where.role is None or role == where.role
            ):
                group_of[int(key_id)] = (provider, role or None)
        if not group_of:
            return []
        filtered = where.provider is not None or where.role is not None
        key_cond = f" AND key_id IN ({', '.join(map(str, sorted(group_of)))})" if filtered else ""
        groups: dict[tuple[str, str | None], Group] = {}

        def group(key: tuple[str, str | None]) -> Group:
            found = groups.get(key)
            if found is None:
                found = groups[key] = Group()
            return found

        raw, pieces = decompose(where.since, where.until)
        if pieces:
            conds: list[str] = []
            params: list[Any] = []
            for level, lo, hi in pieces:
                cond = "level = ?"
                params.append(level)
                if not math.isinf(lo):
                    cond += " AND bucket >= ?"
                    params.append(int(lo))
                if not math.isinf(hi):
                    cond += " AND bucket < ?"
                    params.append(int(hi))
                conds.append(cond + key_cond)
            sums = ", ".join(f"SUM({c})" for c in _SUMS)
            stats = " UNION ALL ".join(
                f"SELECT key_id, status, {', '.join(_SUMS)} FROM {self.tables['stats']} WHERE {c}"
                for c in conds
            )
            for key_id, status, *values in self._query(
                f"SELECT key_id, status, {sums} FROM ({stats}) AS s GROUP BY key_id, status",
                params,
            ):
                group(group_of[int(key_id)]).add_stats(status, values)
            hist = " UNION ALL ".join(
                f"SELECT key_id, kind, data FROM {self.tables['hist']} WHERE {c}" for c in conds
            )
            for key_id, kind, data in self._query(hist, params):
                group(group_of[int(key_id)]).add_blob(int(kind), data)
        for lo, hi in raw:
            sql = (
                "SELECT provider, role, status, latency_s, ttft_s, input_tokens, output_tokens, "
                f"cached_tokens, reasoning_tokens, cost_usd FROM {self.tables['calls']} "
                "WHERE ts >= ? AND ts < ?"
            )
            params = [lo, hi]
            if where.provider is not None:
                sql += " AND provider = ?"
                params.append(where.provider)
            if where.role is not None:
                sql += " AND role = ?"
                params.append(where.role)
            for provider, role, status, lat, ttft, inp, out, cached, reas, cost in self._query(
                sql, params
            ):
                group((provider, role or None)).add_call(
                    status, lat, ttft, (inp, out, cached, reas), cost
                )
        return rows_of(groups)

    def _export_sql(self, where: MetricsFilter) -> tuple[str, list[Any]]:
        """``WHERE`` clause (with its parameters) selecting the calls ``where`` asks for."""
        conds: list[str] = []
        params: list[Any] = []
        for column, op, value in (
            ("provider", "=", where.provider),
            ("role", "=", where.role),
            ("ts", ">=", where.since),
            ("ts", "<", where.until),
        ):
            if value is not None:
                conds.append(f"{column} {op} ?")
                params.append(value)
        return (" AND ".join(conds) or "1 = 1"), params

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
