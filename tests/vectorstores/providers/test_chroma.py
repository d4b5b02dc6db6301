"""ChromaVectorStore on an embedded Chroma: persistence, existing collections, offline
operation (no telemetry, no embedding function), scores from Chroma's distances, spans.

The contract suite runs the shared tests on it; this file checks what is Chroma's own.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Document
from beluga.vectorstores.providers._records import field
from beluga.vectorstores.providers.chroma import ChromaVectorStore
from tests.conftest import Telemetry


async def test_persists_across_reopening_and_adopts_the_size(tmp_path: Path) -> None:
    where = str(tmp_path / "db")
    async with ChromaVectorStore("docs", path=where, metric="euclidean") as store:
        await store.upsert([Document("kept", id="k", metadata={"t": "a"})], [[3.0, 4.0]])
    async with ChromaVectorStore("docs", path=where, metric="euclidean") as reopened:
        (hit,) = await reopened.search([0.0, 0.0], k=3, filter={"t": "a"})
        assert reopened.dimensions == 2
    assert hit.document.text == "kept" and hit.score == pytest.approx(-5.0, abs=1e-4)


async def test_an_existing_collection_must_match_metric_and_size(tmp_path: Path) -> None:
    where = str(tmp_path / "db")
    async with ChromaVectorStore("docs", path=where, dimensions=2) as store:
        await store.upsert([Document("x", id="x")], [[1.0, 0.0]])
    async with ChromaVectorStore("docs", path=where, metric="dot") as dot:
        with pytest.raises(BelugaError, match="measures cosine") as excinfo:
            await dot.count()
    assert excinfo.value.code is ErrorCode.INVALID_CONFIG
    async with ChromaVectorStore("docs", path=where, dimensions=3) as wider:
        with pytest.raises(BelugaError, match="set dimensions=2"):
            await wider.count()


async def test_records_hold_the_wire_form_and_the_filter_shadow_only(tmp_path: Path) -> None:
    async with ChromaVectorStore("docs", path=str(tmp_path / "db")) as store:
        await store.upsert([Document("hi", id="a", metadata={"n": 1, "l": [1]})], [[1.0, 0.0]])
        raw = store._client.get_collection("docs", embedding_function=None).get(
            ids=["a"], include=["documents", "metadatas"]
        )
    assert json.loads(raw["documents"][0])["metadata"] == {"n": 1, "l": [1]}
    meta = raw["metadatas"][0]
    assert meta[field("n", "n")] == 1.0 and "l" not in meta


async def test_offline_no_telemetry_and_no_embedding_function(tmp_path: Path) -> None:
    async with ChromaVectorStore("docs", path=str(tmp_path / "db"), dimensions=2) as store:
        await store.upsert([Document("x", id="x")], [[1.0, 0.0]])
        assert store._client.get_settings().anonymized_telemetry is False
        assert store._collection._embedding_function is None


async def test_dot_scores_come_back_from_chroma_ip_distance() -> None:
    async with ChromaVectorStore("dots", metric="dot") as store:
        await store.upsert([Document("a", id="a"), Document("b", id="b")], [[2.0, 0.0], [0.0, 1.0]])
        hits = await store.search([3.0, 1.0], k=2)
    assert [(h.document.id, h.score) for h in hits] == [
        ("a", pytest.approx(6.0, abs=1e-4)),
        ("b", pytest.approx(1.0, abs=1e-4)),
    ]


async def test_a_collection_deleted_behind_the_store_is_not_found(tmp_path: Path) -> None:
    async with ChromaVectorStore("gone", path=str(tmp_path / "db"), dimensions=2) as store:
        await store.upsert([Document("x", id="x")], [[1.0, 0.0]])
        store._client.delete_collection("gone")
        with pytest.raises(BelugaError) as excinfo:
            await store.search([1.0, 0.0])
    assert excinfo.value.code in (ErrorCode.NOT_FOUND, ErrorCode.INVALID_REQUEST)
    assert "gone" in excinfo.value.message


async def test_operations_are_traced(telemetry: Telemetry) -> None:
    async with ChromaVectorStore("traced", dimensions=2) as store:
        await store.upsert([Document("x", id="x")], [[1.0, math.sqrt(3)]])
        await store.count()
    spans = {s.name: s for s in telemetry.finished_spans()}
    assert spans["upsert traced"].attributes["db.system.name"] == "chroma"  # type: ignore[index]
    assert "count traced" in spans


def test_a_path_that_cannot_be_a_folder_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(BelugaError) as excinfo:
        ChromaVectorStore("docs", path=str(blocker / "db"))
    assert excinfo.value.code is ErrorCode.INVALID_CONFIG
