"""``beluga vectorstores`` on the vector databases: count and search a Qdrant collection on disk
and a Chroma folder by config alone; a Pinecone key never shows in ``list``; an unreachable
Qdrant server is one clear error and a failing exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beluga.cli.main import app
from beluga.core.sync import run_sync
from beluga.embeddings.testing import HashingEmbedder
from beluga.schema import Document
from beluga.vectorstores.providers.chroma import ChromaVectorStore
from beluga.vectorstores.providers.qdrant import QdrantVectorStore
from tests.support.replay_server import unused_port

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
KEY = "pcsk_PLANTED_cli_key_24680"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    embedder = HashingEmbedder(32)
    docs = [
        Document("how to water the garden", id="g", metadata={"topic": "garden"}),
        Document("a recipe for lemon cake", id="c", metadata={"topic": "food"}),
    ]

    async def fill() -> None:
        vectors = [embedder.vector(d.text) for d in docs]
        async with QdrantVectorStore("notes", path=str(tmp_path / "qdrant")) as qdrant:
            await qdrant.upsert(docs, vectors)
        async with ChromaVectorStore("notes", path=str(tmp_path / "chroma")) as chroma:
            await chroma.upsert(docs, vectors)

    run_sync(fill())
    path = tmp_path / "beluga.yaml"
    path.write_text(f"""
embeddings:
  embedders:
    hash: {{provider: hashing, dimensions: 32, retries: 1}}
vectorstores:
  default: qdrant
  stores:
    qdrant: {{provider: qdrant, path: {tmp_path / "qdrant"}, collection: notes, embedder: hash}}
    chroma: {{provider: chroma, path: {tmp_path / "chroma"}, collection: notes, embedder: hash}}
    cloud: {{provider: pinecone, host: "https://notes-1.svc.pinecone.io", api_key: {KEY}}}
    down: {{provider: qdrant, url: "http://127.0.0.1:{unused_port()}", retries: 1, embedder: hash}}
""")
    return path


@pytest.mark.parametrize("store", ["qdrant", "chroma"])
def test_count_and_filtered_search_by_config(config: Path, store: str) -> None:
    args = ["vectorstores", "count", "-s", store, "-c", str(config)]
    result = runner.invoke(app, args, env=WIDE)
    assert result.exit_code == 0, result.output
    assert "2 documents" in result.stdout
    args = ["vectorstores", "search", "watering the garden", "-s", store, "-c", str(config)]
    result = runner.invoke(app, [*args, "--filter", '{"topic": "garden"}', "--json"], env=WIDE)
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert [h["id"] for h in hits] == ["g"]


def test_list_never_shows_the_key(config: Path) -> None:
    result = runner.invoke(app, ["vectorstores", "list", "-c", str(config)], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "pinecone" in result.stdout and KEY not in result.output


def test_an_unreachable_server_is_one_clear_error(config: Path) -> None:
    args = ["vectorstores", "count", "-s", "down", "-c", str(config)]
    result = runner.invoke(app, args, env=WIDE)
    assert result.exit_code != 0
    assert "could not reach Qdrant" in result.output
    assert "Traceback" not in result.output
