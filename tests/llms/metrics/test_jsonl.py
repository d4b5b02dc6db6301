from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.metrics import (
    CALL_FIELDS,
    CallRecord,
    JsonlStore,
    MetricsFilter,
    SqliteStore,
    migrate_jsonl_to_sqlite,
)
from tests.llms.metrics import assert_summary, make_calls

END = 1_790_000_000.5
RECORDS = make_calls(800, end=END, span=2 * 86400, seed=3)


def _filled(path: Path, records: list[CallRecord] = RECORDS) -> JsonlStore:
    store = JsonlStore(path)
    for start in range(0, len(records), 100):
        assert store.write(records[start : start + 100]) == len(records[start : start + 100])
    return store


def test_round_trip_in_write_order(tmp_path: Path) -> None:
    store = _filled(tmp_path / "m.jsonl")
    assert list(store.export()) == RECORDS
    first = json.loads((tmp_path / "m.jsonl").read_text().splitlines()[0])
    assert list(first) == list(CALL_FIELDS)


@pytest.mark.parametrize(
    "where",
    [
        MetricsFilter(),
        MetricsFilter(provider="openai", role="planner"),
        MetricsFilter(since=END - 3600.5, until=END - 60),
    ],
)
def test_summary_and_export_filter_like_the_sql_stores(
    tmp_path: Path, where: MetricsFilter
) -> None:
    store = _filled(tmp_path / "m.jsonl")
    assert_summary(store.summary(where), RECORDS, where)
    assert list(store.export(where)) == [r for r in RECORDS if where.matches(r)]
    sql = SqliteStore(tmp_path / "m.db")
    sql.write(RECORDS)
    assert [replace(r, cost_usd=None) for r in store.summary(where)] == [
        replace(r, cost_usd=None) for r in sql.summary(where)
    ]
    sql.close()


def test_torn_and_malformed_lines_are_skipped_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "m.jsonl"
    store = _filled(path, RECORDS[:10])
    good = json.dumps(RECORDS[10].as_dict())
    with path.open("a") as f:
        f.write(good.replace('"ok"', "42") + "\n")  # wrong type
        f.write('["not", "an", "object"]\n\n')
        f.write(good[: len(good) // 2])  # a writer died mid-line
    store.write(RECORDS[11:13])  # must start on a fresh line
    with caplog.at_level(logging.WARNING, logger="beluga.llms.metrics"):
        assert list(store.export()) == [*RECORDS[:10], *RECORDS[11:13]]
    assert f"skipped 3 malformed line(s) in {path}" in caplog.text


def test_concurrent_appends_keep_every_line_whole(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    stores = [JsonlStore(path) for _ in range(8)]

    def write(i: int) -> None:
        for start in range(i * 10, len(RECORDS), 80):
            stores[i].write(RECORDS[start : start + 10])

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    exported = list(JsonlStore(path).export())
    assert sorted(r.call_id for r in exported) == sorted(r.call_id for r in RECORDS)


def test_migration_into_sqlite_is_idempotent(tmp_path: Path) -> None:
    src, dst = tmp_path / "m.jsonl", tmp_path / "m.db"
    _filled(src, RECORDS[:500])
    assert migrate_jsonl_to_sqlite(src, dst) == 500
    assert migrate_jsonl_to_sqlite(src, dst) == 0  # again: nothing twice
    JsonlStore(src).write(RECORDS[400:])  # overlaps what was migrated
    store = SqliteStore(dst)
    assert migrate_jsonl_to_sqlite(src, store) == 300
    assert_summary(store.summary(), RECORDS)
    assert sorted(r.call_id for r in store.export()) == sorted(r.call_id for r in RECORDS)
    store.close()
    assert len((src).read_text().splitlines()) == 900  # the source is left as it was


def test_migration_batches_large_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from beluga.llms.metrics import jsonl

    monkeypatch.setattr(jsonl, "_MIGRATE_BATCH", 64)
    src = tmp_path / "m.jsonl"
    _filled(src)
    assert migrate_jsonl_to_sqlite(src, tmp_path / "m.db") == len(RECORDS)
    with SqliteStore(tmp_path / "m.db") as store:
        assert_summary(store.summary(), RECORDS)


def test_missing_file_is_an_error_for_readers(tmp_path: Path) -> None:
    with pytest.raises(BelugaError) as exc:
        JsonlStore(tmp_path / "none.jsonl", create=False)
    assert exc.value.code is ErrorCode.NOT_FOUND
    with pytest.raises(BelugaError):
        migrate_jsonl_to_sqlite(tmp_path / "none.jsonl", tmp_path / "m.db")
    assert not (tmp_path / "none.jsonl").exists()


def test_unwritable_location_fails_with_a_retryable_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(BelugaError) as exc:
        JsonlStore(blocker / "sub" / "m.jsonl")
    assert exc.value.code is ErrorCode.PROVIDER_UNAVAILABLE and exc.value.retryable
