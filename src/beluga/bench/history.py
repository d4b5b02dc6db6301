"""Stored runs: a SQLite file next to the metrics store (``bench.db``), one row per run.

``bench.store`` in ``beluga.yaml`` or ``$BELUGA_BENCH_DB`` moves it. A run is found by its id,
a unique prefix of it, its label (the newest run with that label) or ``latest``. The whole
result, samples included, is kept as JSON so a later ``compare`` tests the raw samples, not
summaries of them.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from beluga.bench.results import BenchResult
from beluga.core.errors import BelugaError, ErrorCode

__all__ = ["HistoryStore", "RunInfo", "default_history_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bench_runs (
    run_id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    scenario TEXT NOT NULL,
    label TEXT,
    targets TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bench_runs_created ON bench_runs (created);
"""


def default_history_path() -> Path:
    """``$BELUGA_BENCH_DB``, else ``bench.db`` in the folder of the SQLite metrics store."""
    env = os.environ.get("BELUGA_BENCH_DB")
    if env:
        return Path(env).expanduser()
    from beluga.llms.metrics import default_sqlite_path

    return default_sqlite_path().with_name("bench.db")


def _path_of(store: str | os.PathLike[str] | None) -> Path:
    if store is None:
        return default_history_path()
    text = os.fspath(store)
    if text.startswith("sqlite://"):
        text = text[len("sqlite://") :]
    elif "://" in text:
        raise BelugaError(
            "bench.history",
            ErrorCode.INVALID_CONFIG,
            f"bench.store {text.split('://')[0]}:// is not supported; use sqlite:///path/bench.db "
            "or a file path",
        )
    return Path(text).expanduser()


@dataclass(slots=True, frozen=True)
class RunInfo:
    run_id: str
    created: float
    scenario: str
    label: str | None
    targets: list[str]


class HistoryStore:
    """Benchmark runs in SQLite; a context manager that closes its connection."""

    def __init__(self, store: str | os.PathLike[str] | None = None) -> None:
        self.path = _path_of(store)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.executescript(_SCHEMA)

    def save(self, result: BenchResult) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO bench_runs VALUES (?, ?, ?, ?, ?, ?)",
                (
                    result.run_id,
                    result.created,
                    result.scenario,
                    result.label,
                    json.dumps(result.targets()),
                    result.to_json(),
                ),
            )

    def runs(self, *, limit: int = 20, scenario: str | None = None) -> list[RunInfo]:
        """The newest runs first."""
        query = "SELECT run_id, created, scenario, label, targets FROM bench_runs"
        args: tuple[object, ...] = ()
        if scenario is not None:
            query += " WHERE scenario = ?"
            args = (scenario,)
        query += " ORDER BY created DESC LIMIT ?"
        rows = self._db.execute(query, (*args, limit)).fetchall()
        return [RunInfo(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    def load(self, ref: str) -> BenchResult:
        """The run ``ref`` names: an id, a unique id prefix, a label or ``latest``."""
        db = self._db
        if ref == "latest":
            rows = db.execute(
                "SELECT data FROM bench_runs ORDER BY created DESC LIMIT 1"
            ).fetchall()
        else:
            rows = db.execute("SELECT data FROM bench_runs WHERE run_id = ?", (ref,)).fetchall()
            if not rows:
                rows = db.execute(
                    "SELECT data FROM bench_runs WHERE label = ? ORDER BY created DESC LIMIT 1",
                    (ref,),
                ).fetchall()
            if not rows:
                rows = db.execute(
                    "SELECT data FROM bench_runs WHERE run_id LIKE ? LIMIT 2", (f"{ref}%",)
                ).fetchall()
                if len(rows) > 1:
                    raise BelugaError(
                        "bench.history",
                        ErrorCode.INVALID_REQUEST,
                        f"run {ref!r} is ambiguous: more than one run id starts with it; "
                        "give more of the id",
                    )
        if not rows:
            raise BelugaError(
                "bench.history",
                ErrorCode.NOT_FOUND,
                f"no stored run {ref!r} in {self.path}; `beluga bench history` lists the runs "
                "(ids and labels)",
            )
        return BenchResult.from_dict(json.loads(rows[0][0]))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
