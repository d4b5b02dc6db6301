from __future__ import annotations

import itertools
import math
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.metrics import (
    CallRecord,
    JsonlStore,
    MetricsFilter,
    SqliteStore,
    default_store_url,
    open_store,
    parse_time,
)
from beluga.llms.metrics import sqlite as sqlite_module
from beluga.llms.metrics._hist import (
    MAX_BIN,
    MIN_BIN,
    RELATIVE_ERROR,
    HistogramMerge,
    bin_of,
    bin_value,
    decode,
    encode,
    percentile,
)
from beluga.llms.metrics._rollup import LEVEL_WIDTHS, decompose
from tests.llms.metrics import assert_summary, close_enough, make_calls, nearest_rank

END = 1_790_000_123.456  # not aligned to any bucket
SPAN = 3 * 86400 + 5000
RECORDS = make_calls(3000, end=END, span=SPAN)


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path_factory.mktemp("metrics") / "m.db")
    for start in range(0, len(RECORDS), 400):  # several batches: rollups merge across writes
        assert store.write(RECORDS[start : start + 400]) == len(RECORDS[start : start + 400])
    yield store
    store.close()


# -- the store ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    [
        MetricsFilter(),
        MetricsFilter(provider="openai"),
        MetricsFilter(role="planner"),
        MetricsFilter(provider="anthropic", role="chat"),
        MetricsFilter(since=END - 86400 - 1234.5),
        MetricsFilter(since=END - 900),
        MetricsFilter(since=END - 2 * 86400 + 17.25, until=END - 3 * 3600 - 59.5),
        MetricsFilter(until=END - 86400),
        MetricsFilter(since=END - 30, until=END - 10),  # inside one minute: raw rows only
        MetricsFilter(provider="nobody"),
    ],
)
def test_summary_is_exact_except_percentiles_within_one_percent(
    filled: SqliteStore, where: MetricsFilter
) -> None:
    assert_summary(filled.summary(where), RECORDS, where)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    since=st.none() | st.floats(END - SPAN - 7200, END + 60),
    length=st.none() | st.floats(0, SPAN + 7200),
)
def test_summary_over_any_time_range(
    filled: SqliteStore, since: float | None, length: float | None
) -> None:
    until = None if length is None else (since if since is not None else END - SPAN) + length
    where = MetricsFilter(since=since, until=until)
    assert_summary(filled.summary(where), RECORDS, where)


def test_writing_twice_stores_nothing_twice(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "m.db")
    batch = RECORDS[:300]
    assert store.write(batch) == 300
    assert store.write(batch) == 0
    assert store.write([*RECORDS[250:310], RECORDS[305]]) == 10  # overlap and an in-batch dup
    assert_summary(store.summary(), RECORDS[:310])
    assert len(list(store.export())) == 310
    store.close()


def test_one_batch_and_many_batches_give_the_same_summary(tmp_path: Path) -> None:
    one, many = SqliteStore(tmp_path / "one.db"), SqliteStore(tmp_path / "many.db")
    one.write(RECORDS)
    for record in RECORDS[:500]:
        many.write([record])
    many.write(RECORDS[500:])
    for where in (MetricsFilter(), MetricsFilter(since=END - 5000.5)):
        a, b = one.summary(where), many.summary(where)
        assert [replace(r, cost_usd=None) for r in a] == [replace(r, cost_usd=None) for r in b]
        assert [r.cost_usd or 0 for r in a] == pytest.approx([r.cost_usd or 0 for r in b])
        assert [r.cost_usd is None for r in a] == [r.cost_usd is None for r in b]
    one.close()
    many.close()


def test_export_streams_matching_records_by_time_across_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_module, "_PAGE", 3)
    same_time = [
        CallRecord(ts=1000.0, provider="p", model="m", latency_s=0.1, call_id=f"s{i}")
        for i in range(7)
    ]
    store = SqliteStore(tmp_path / "m.db")
    store.write(RECORDS[:100])
    store.write(same_time)
    store.write(RECORDS[100:200])
    exported = list(store.export())
    assert sorted(exported, key=lambda r: r.call_id) == sorted(
        [*RECORDS[:200], *same_time], key=lambda r: r.call_id
    )
    assert [r.ts for r in exported] == sorted(r.ts for r in exported)
    where = MetricsFilter(provider="openai", role="chat", since=END - 86400)
    assert {r.call_id for r in store.export(where)} == {
        r.call_id for r in RECORDS[:200] if where.matches(r)
    }
    store.close()


def test_errors_are_stored_redacted_and_short(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "m.db")
    secret = "sk-live-0123456789abcdefghij"
    store.write(
        [
            CallRecord(
                provider="p",
                model="m",
                latency_s=1.0,
                status="auth_failed",
                error=f"bad key {secret}\n" + "x" * 500,
            )
        ]
    )
    (record,) = store.export()
    assert record.error is not None
    assert secret not in record.error and "[REDACTED]" in record.error
    assert len(record.error) <= 200 and "\n" not in record.error
    store.close()


def test_file_is_in_wal_mode_and_shared_between_writers(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    stores = [SqliteStore(path) for _ in range(4)]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    def write(i: int) -> None:
        for start in range(i * 50, len(RECORDS), 200):
            stores[i].write(RECORDS[start : start + 50])

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert_summary(stores[0].summary(), RECORDS)
    for s in stores:
        s.close()


def test_missing_or_foreign_files_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(BelugaError) as missing:
        SqliteStore(tmp_path / "nope.db", create=False)
    assert missing.value.code is ErrorCode.NOT_FOUND and "nope.db" in missing.value.message
    assert not (tmp_path / "nope.db").exists()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(BelugaError) as foreign:
        SqliteStore(junk)
    assert foreign.value.code is ErrorCode.INVALID_CONFIG


def test_a_store_from_another_histogram_version_is_refused(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "m.db").close()
    with sqlite3.connect(tmp_path / "m.db") as conn:
        conn.execute("UPDATE beluga_metrics_meta SET value = '0.02' WHERE name = 'relative_error'")
    with pytest.raises(BelugaError, match="relative_error") as exc:
        SqliteStore(tmp_path / "m.db")
    assert exc.value.code is ErrorCode.INVALID_CONFIG


def test_open_store_picks_the_store_by_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BELUGA_METRICS_STORE", raising=False)
    monkeypatch.setenv("BELUGA_METRICS_DB", str(tmp_path / "default.db"))
    assert default_store_url() == f"sqlite://{tmp_path / 'default.db'}"
    cases = {
        f"sqlite://{tmp_path}/a.db": (SqliteStore, tmp_path / "a.db"),
        str(tmp_path / "b.db"): (SqliteStore, tmp_path / "b.db"),
        f"jsonl://{tmp_path}/c.jsonl": (JsonlStore, tmp_path / "c.jsonl"),
        str(tmp_path / "d.ndjson"): (JsonlStore, tmp_path / "d.ndjson"),
        None: (SqliteStore, tmp_path / "default.db"),
    }
    for url, (kind, path) in cases.items():
        store = open_store(url)
        assert isinstance(store, kind) and store.path == path, url
        store.close()
    monkeypatch.setenv("BELUGA_METRICS_STORE", f"jsonl://{tmp_path}/env.jsonl")
    store = open_store()
    assert isinstance(store, JsonlStore) and store.path == tmp_path / "env.jsonl"
    with pytest.raises(BelugaError, match="unknown scheme 'mysql'") as exc:
        open_store("mysql://root:hunter22@db/x")
    assert exc.value.code is ErrorCode.INVALID_CONFIG and "hunter22" not in str(exc.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", 10_000.0 - 900),
        ("2h", 10_000.0 - 7200),
        ("1d", 10_000.0 - 86400),
        (" 1.5 H ", 10_000.0 - 5400),
        ("30s", 10_000.0 - 30),
        ("1w", 10_000.0 - 604800),
        ("1700000000", 1_700_000_000.0),
        ("2026-01-31T09:00:00Z", 1_769_850_000.0),
        ("2026-01-31T10:00:00+01:00", 1_769_850_000.0),
    ],
)
def test_parse_time(text: str, expected: float) -> None:
    assert parse_time(text, now=10_000.0) == expected


def test_parse_time_naive_iso_is_local_time_and_garbage_is_refused() -> None:
    from datetime import datetime

    assert parse_time("2026-01-31T09:00") == datetime(2026, 1, 31, 9, 0).timestamp()
    with pytest.raises(BelugaError, match="15m, 2h or 7d") as exc:
        parse_time("yesterday-ish")
    assert exc.value.code is ErrorCode.INVALID_REQUEST


# -- rollup internals -----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(since=st.none() | st.floats(-1e9, 1e10), length=st.none() | st.floats(0, 1e8))
def test_decompose_covers_the_range_exactly_once(since: float | None, length: float | None) -> None:
    until = None if length is None or since is None else since + length
    raw, pieces = decompose(since, until)
    lo = -math.inf if since is None else since
    hi = math.inf if until is None else until
    spans = sorted([*raw, *((a, b) for _level, a, b in pieces)])
    if lo >= hi:
        assert spans == []
        return
    assert spans[0][0] == lo and spans[-1][1] == hi
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))  # no gap, no overlap
    for level, a, b in pieces:
        width = LEVEL_WIDTHS[level]
        assert math.isinf(a) or a % width == 0
        assert math.isinf(b) or b % width == 0
    assert all(b - a < 2 * LEVEL_WIDTHS[0] for a, b in raw)


def test_decompose_uses_the_coarsest_levels() -> None:
    day, hour = 86400.0, 3600.0
    raw, pieces = decompose(100 * day + 30.5, 185 * day + 3 * hour + 90.25)
    end_minute = 185 * day + 3 * hour + 60
    assert raw == [(100 * day + 30.5, 100 * day + 60), (end_minute, end_minute + 30.25)]
    assert sorted(pieces) == [
        (0, 100 * day + 60, 100 * day + hour),
        (0, 185 * day + 3 * hour, end_minute),
        (1, 100 * day + hour, 101 * day),
        (1, 185 * day, 185 * day + 3 * hour),
        (2, 101 * day, 120 * day),
        (2, 180 * day, 185 * day),
        (3, 120 * day, 180 * day),  # 30-day spans, aligned to the epoch
    ]
    assert decompose(None, None) == ([], [(3, -math.inf, math.inf)])
    assert decompose(5.0, 5.0) == ([], [])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(1e-5, 5e4), min_size=1, max_size=400), st.sampled_from([0.5, 0.95, 0.99]))
def test_histogram_percentiles_are_within_one_percent(values: list[float], q: float) -> None:
    merge = HistogramMerge()
    half = len(values) // 2
    merge.add_blob(encode(Counter(bin_of(v) for v in values[:half])))
    for v in values[half:]:
        merge.add_value(v)
    assert close_enough(percentile(merge.counts(), q), nearest_rank(values, q))


@given(st.dictionaries(st.integers(MIN_BIN, MAX_BIN), st.integers(1, 2**40), max_size=60))
def test_histogram_packing_round_trips_and_merges(counts: dict[int, int]) -> None:
    blob = encode(counts)
    assert decode(blob) == Counter(counts)
    merge = HistogramMerge()
    merge.add_blob(blob)
    merge.add_blob(blob)
    merge.add_blob(b"")
    assert merge.counts() == Counter({k: 2 * v for k, v in counts.items()})


def test_histogram_bins_bound_the_relative_error() -> None:
    for value in (1e-6, 3e-4, 0.0123, 0.5, 1.0, 7.77, 123.4, 9e4):
        assert abs(bin_value(bin_of(value)) - value) <= value * RELATIVE_ERROR * (1 + 1e-9)
    assert bin_of(0.0) == MIN_BIN and bin_of(1e9) == MAX_BIN
    assert -(2**15) <= MIN_BIN < MAX_BIN < 2**15
    with pytest.raises(ValueError, match="unknown histogram encoding"):
        HistogramMerge().add_blob(b"?junk")


def test_a_bad_record_fails_its_batch_cleanly(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "m.db")
    store.write(RECORDS[:10])
    bad = CallRecord(provider="p", model="m", latency_s=math.nan, call_id="nan")
    with pytest.raises(BelugaError) as exc:
        store.write([*RECORDS[10:20], bad])
    assert not exc.value.retryable  # the recorder isolates such batches instead of retrying
    assert_summary(store.summary(), RECORDS[:10])  # nothing of the failed batch remains
    assert store.write(RECORDS[10:20]) == 10
    store.close()


def test_reading_an_existing_store_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "m.db").write(RECORDS[:50])
    writer = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a recorder in the middle of a batch
    try:
        reader = SqliteStore(tmp_path / "m.db", create=False, busy_timeout=0.2)
        assert_summary(reader.summary(), RECORDS[:50])
        reader.close()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
