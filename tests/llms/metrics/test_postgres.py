"""The PostgreSQL store against the real server (``bash scripts/services.sh`` starts it).

Every test run uses its own schema, dropped at the end, so runs never see each other's rows.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.metrics import MetricsFilter, PostgresStore, SqliteStore, open_store
from tests.llms.metrics import assert_summary, make_calls

DSN = os.environ.get("BELUGA_PG_DSN", "postgresql://postgres@127.0.0.1:54329/beluga")
END = 1_790_000_321.75
RECORDS = make_calls(1500, end=END, span=2 * 86400 + 777, seed=5)


@pytest.fixture(scope="module")
def schema() -> Iterator[str]:
    """A prefix for this run's schemas; every schema starting with it is dropped at the end,
    whether the tests passed or not."""
    try:
        conn = psycopg.connect(DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {DSN} ({exc}). Start it with "
            "`bash scripts/services.sh` (or set BELUGA_PG_DSN).",
            pytrace=False,
        )
    prefix = f"beluga_test_metrics_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        yield prefix
    finally:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)
        ).fetchall()
        for (name,) in rows:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        conn.close()


@pytest.fixture
def store(schema: str) -> Iterator[PostgresStore]:
    """A fresh set of tables per test (schema + test-unique suffix)."""
    name = f"{schema}_{uuid.uuid4().hex[:6]}"
    pg = PostgresStore(DSN, schema=name)
    yield pg
    pg.close()  # the schema goes with the run's prefix


@pytest.mark.parametrize(
    "where",
    [
        MetricsFilter(),
        MetricsFilter(provider="openai", role="chat"),
        MetricsFilter(since=END - 86400 - 999.5),
        MetricsFilter(since=END - 30 * 3600 + 7.5, until=END - 61.25),
    ],
)
def test_summary_matches_exact_figures_and_sqlite(
    store: PostgresStore, tmp_path: Path, where: MetricsFilter
) -> None:
    for start in range(0, len(RECORDS), 250):
        assert store.write(RECORDS[start : start + 250]) == 250
    rows = store.summary(where)
    assert_summary(rows, RECORDS, where)
    with SqliteStore(tmp_path / "m.db") as sqlite:
        sqlite.write(RECORDS)
        same = sqlite.summary(where)
    assert [replace(r, cost_usd=None) for r in rows] == [replace(r, cost_usd=None) for r in same]


def test_writes_are_idempotent_by_call_id(store: PostgresStore) -> None:
    assert store.write(RECORDS[:200]) == 200
    assert store.write(RECORDS[:200]) == 0
    assert store.write([*RECORDS[150:260], RECORDS[255]]) == 60
    assert_summary(store.summary(), RECORDS[:260])


def test_concurrent_writers_with_overlapping_batches_count_each_call_once(schema: str) -> None:
    name = f"{schema}_conc"
    stores = [PostgresStore(DSN, schema=name) for _ in range(4)]
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for start in range(0, len(RECORDS), 100):  # every writer writes every record
                stores[i].write(
                    RECORDS[start : start + 100][::-1] if i % 2 else RECORDS[start:][:100]
                )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert_summary(stores[0].summary(), RECORDS)
    assert len(list(stores[0].export())) == len(RECORDS)
    for s in stores:
        s.close()


def test_export_streams_in_time_order_with_filters(store: PostgresStore) -> None:
    store.write(RECORDS)
    exported = list(store.export())
    assert sorted(exported, key=lambda r: r.call_id) == sorted(RECORDS, key=lambda r: r.call_id)
    assert [r.ts for r in exported] == sorted(r.ts for r in RECORDS)
    where = MetricsFilter(provider="anthropic", since=END - 86400, until=END - 3600)
    assert {r.call_id for r in store.export(where)} == {
        r.call_id for r in RECORDS if where.matches(r)
    }


def test_a_broken_connection_is_replaced(store: PostgresStore) -> None:
    store.write(RECORDS[:10])
    with psycopg.connect(DSN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (store._conn.info.backend_pid,))
    old_pid = store._conn.info.backend_pid
    assert store.write(RECORDS[10:20]) == 10
    assert store._conn.info.backend_pid != old_pid
    assert sum(r.calls for r in store.summary()) == 20


def test_open_store_reads_the_schema_from_the_url(schema: str) -> None:
    name = f"{schema}_url"
    pg = open_store(f"{DSN}?schema={name}&application_name=beluga-test")
    assert isinstance(pg, PostgresStore) and pg.schema == name
    assert pg.write(RECORDS[:5]) == 5
    with psycopg.connect(DSN, autocommit=True) as admin:
        count = admin.execute(f'SELECT count(*) FROM "{name}".beluga_metrics_calls').fetchone()
        assert count == (5,)
    pg.close()


def test_unreachable_server_and_bad_schema_fail_clearly() -> None:
    with pytest.raises(BelugaError) as exc:
        PostgresStore("postgresql://someone:s3cretpass@127.0.0.1:1/nowhere", connect_timeout=2)
    assert exc.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    assert "127.0.0.1:1/nowhere" in exc.value.message and "s3cretpass" not in str(exc.value)
    with pytest.raises(BelugaError) as bad:
        PostgresStore(DSN, schema='x"; DROP TABLE y; --')
    assert bad.value.code is ErrorCode.INVALID_CONFIG
