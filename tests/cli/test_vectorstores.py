"""``beluga vectorstores list / count / search`` over an embedded store, and ``config check``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beluga.cli._errors import EXIT_CONFIG, EXIT_FAILED
from beluga.cli.main import app
from beluga.core.sync import run_sync
from beluga.embeddings.testing import HashingEmbedder
from beluga.schema import Document
from beluga.vectorstores.providers.usearch import USearchVectorStore

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
PASSWORD = "pw-PLANTED-cli-vectors-987654"
TEXTS = {
    "g": ("how to water the garden in summer", {"topic": "garden", "year": 2024}),
    "c": ("a recipe for lemon cake", {"topic": "food", "year": 2023}),
    "t": ("train timetables for the weekend", {"topic": "travel", "year": 2024}),
}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    db = tmp_path / "vectors.db"
    embedder = HashingEmbedder(32)

    async def fill() -> None:
        async with USearchVectorStore(db, collection="notes") as store:
            docs = [Document(text, id=i, metadata=meta) for i, (text, meta) in TEXTS.items()]
            await store.upsert(docs, [embedder.vector(d.text) for d in docs])

    run_sync(fill())
    path = tmp_path / "beluga.yaml"
    path.write_text(
        f"""
embeddings:
  embedders:
    hash: {{provider: hashing, dimensions: 32, retries: 1}}
vectorstores:
  default: notes
  stores:
    notes: {{provider: usearch, path: {db}, collection: notes, embedder: hash}}
    shared: {{provider: pgvector, dsn: "postgresql://u:{PASSWORD}@127.0.0.1:1/x", table: t}}
    scratch: {{provider: memory}}
"""
    )
    return path


def test_list_shows_every_store_without_the_password(config: Path) -> None:
    result = runner.invoke(app, ["vectorstores", "list", "-c", str(config)], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "notes (default)" in result.stdout
    assert "pgvector" in result.stdout and "127.0.0.1:1" in result.stdout
    assert PASSWORD not in result.output
    result = runner.invoke(app, ["vectorstores", "list", "--json", "-c", str(config)])
    rows = json.loads(result.stdout)
    assert [(r["name"], r["provider"], r["default"]) for r in rows] == [
        ("notes", "usearch", True),
        ("shared", "pgvector", False),
        ("scratch", "memory", False),
    ]
    assert PASSWORD not in result.stdout


def test_count_with_and_without_a_filter(config: Path) -> None:
    result = runner.invoke(app, ["vectorstores", "count", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "3 documents in notes"
    result = runner.invoke(
        app,
        ["vectorstores", "count", "--json", "-f", '{"year": {"$gte": 2024}}', "-c", str(config)],
    )
    assert json.loads(result.stdout) == {"store": "notes", "count": 2}


def test_search_embeds_the_query_with_the_stores_embedder(config: Path) -> None:
    result = runner.invoke(
        app, ["vectorstores", "search", "water the garden", "-k", "2", "-c", str(config)], env=WIDE
    )
    assert result.exit_code == 0, result.output
    assert "how to water the garden" in result.stdout
    args = ["vectorstores", "search", "water the garden", "--json", "-f", '{"topic": "food"}']
    result = runner.invoke(app, [*args, "-c", str(config)])
    hits = json.loads(result.stdout)
    assert [h["id"] for h in hits] == ["c"]
    assert hits[0]["metadata"] == {"topic": "food", "year": 2023}


def test_bad_filters_and_the_in_process_store_are_refused(config: Path) -> None:
    result = runner.invoke(app, ["vectorstores", "count", "-f", "{oops", "-c", str(config)])
    assert result.exit_code == 2
    result = runner.invoke(
        app, ["vectorstores", "count", "-f", '{"a": {"$regex": "x"}}', "-c", str(config)]
    )
    assert result.exit_code == EXIT_FAILED
    assert "unknown operator '$regex'" in result.output
    result = runner.invoke(app, ["vectorstores", "count", "-s", "scratch", "-c", str(config)])
    assert result.exit_code == EXIT_CONFIG
    assert "inside the process" in result.output


def test_an_unreachable_store_fails_without_the_password(config: Path) -> None:
    result = runner.invoke(app, ["vectorstores", "count", "-s", "shared", "-c", str(config)])
    assert result.exit_code == EXIT_FAILED
    assert "127.0.0.1:1" in result.output
    assert PASSWORD not in result.output


def test_config_check_reports_the_stores(config: Path) -> None:
    result = runner.invoke(app, ["config", "check", str(config)])
    assert result.exit_code == 0, result.output
    assert "vectorstores: default 'notes'; stores: notes, scratch, shared" in result.stdout
