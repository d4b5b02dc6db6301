"""SQLite checkpoints: stored form, pending writes, listing, and a real kill -9 of a run."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.graphs.checkpoints import Checkpoint, SqliteCheckpointer
from tests.graphs.checkpoints.crash import kill_mid_graph_and_resume


def _cp(run_id: str, seq: int, status: str = "running") -> Checkpoint:
    return Checkpoint(
        run_id=run_id,
        checkpoint_id=f"{seq:08d}",
        step=seq,
        values={"n": seq, "text": "ünïcode"},
        next=[{"id": f"{seq}.a", "node": "a"}],
        status=status,  # type: ignore[arg-type]
    )


async def test_put_get_latest_writes_history_and_runs(tmp_path: Path) -> None:
    async with SqliteCheckpointer(tmp_path / "g.db") as store:
        assert await store.get("r") is None
        for seq in range(3):
            await store.put(_cp("r", seq))
        await store.put(_cp("other", 0, "done"))
        await store.put_writes("r", "00000002", "2.a#0", {"update": {"n": 9}})
        latest = await store.get("r")
        assert latest is not None and latest.checkpoint_id == "00000002"
        assert latest.values == {"n": 2, "text": "ünïcode"}
        assert latest.writes == {"2.a#0": {"update": {"n": 9}}}
        older = await store.get("r", "00000001")
        assert older is not None and older.writes == {}
        assert [m.checkpoint_id for m in await store.history("r")] == [
            "00000000",
            "00000001",
            "00000002",
        ]
        assert [(m.run_id, m.status) for m in await store.runs()] == [
            ("other", "done"),
            ("r", "running"),
        ]
    # a second store object (another process, in effect) reads the same file
    async with SqliteCheckpointer(tmp_path / "g.db") as again:
        found = await again.get("r")
        assert found is not None and found.writes


async def test_not_a_database_and_bad_prefix(tmp_path: Path) -> None:
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    async with SqliteCheckpointer(bad) as store:
        with pytest.raises(BelugaError) as info:
            await store.get("r")
    assert info.value.code is ErrorCode.INVALID_CONFIG and not info.value.retryable
    assert info.value.message == (
        f"checkpoint store {bad} is not a SQLite database: point graphs.checkpoints.path at a "
        "checkpoint database or at a new file"
    )
    with pytest.raises(BelugaError, match="invalid table prefix"):
        SqliteCheckpointer(tmp_path / "x.db", prefix="x; DROP")
    with pytest.raises(BelugaError, match="run id"):
        await SqliteCheckpointer(tmp_path / "x.db").get("")


async def test_an_unwritable_place_is_unavailable_and_retryable(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the folder should be")
    async with SqliteCheckpointer(blocker / "g.db") as store:
        with pytest.raises(BelugaError) as info:
            await store.put(_cp("r", 0))
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable
    where = blocker / "g.db"
    assert info.value.message.startswith(f"checkpoint store SQLite at {where} is unavailable (")
    assert "check that the folder exists and is writable" in info.value.message


async def test_default_path_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BELUGA_GRAPHS_DB", str(tmp_path / "env.db"))
    assert SqliteCheckpointer().path == tmp_path / "env.db"


async def test_kill_9_mid_graph_resumes_without_rerunning_completed_nodes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "crash.db"
    async with SqliteCheckpointer(path) as store:
        await kill_mid_graph_and_resume(
            "sqlite", str(path), store, f"run-{uuid.uuid4().hex}", tmp_path / "log"
        )
