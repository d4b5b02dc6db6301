"""``beluga ingest`` and ``beluga ask`` over the embedded store of a beluga.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beluga.cli._errors import EXIT_CONFIG, EXIT_FAILED
from beluga.cli.main import app

pytest.importorskip("usearch")

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "install.md").write_text("# Install\n\nRun pip install beluga-ai to install it.\n")
    (docs / "voice.md").write_text("# Voice\n\nThe voice pipeline chains VAD, STT and TTS.\n")
    config = tmp_path / "beluga.yaml"
    config.write_text(
        f"""
embeddings:
  embedders:
    words: {{provider: hashing, dimensions: 64}}
vectorstores:
  default: docs
  stores:
    docs: {{provider: usearch, path: "{tmp_path}/vectors.db", embedder: words}}
retrieval:
  ingest: {{chunk_size: 200, chunk_overlap: 20}}
"""
    )
    return docs, config


def test_ingest_then_again_then_ask(project: tuple[Path, Path], tmp_path: Path) -> None:
    docs, config = project
    first = runner.invoke(app, ["ingest", str(docs), "--config", str(config)], env=WIDE)
    assert first.exit_code == 0, first.output
    assert "docs: 2 added, 0 updated, 0 unchanged" in first.stdout
    assert (tmp_path / "vectors.db.default.ingest.db").exists()

    again = runner.invoke(app, ["ingest", str(docs), "-c", str(config), "--json"], env=WIDE)
    report = json.loads(again.stdout)
    assert (report["unchanged"], report["chunks_written"], report["store"]) == (2, 0, "docs")

    (docs / "voice.md").unlink()
    removed = runner.invoke(app, ["ingest", str(docs), "-c", str(config), "--json"], env=WIDE)
    assert json.loads(removed.stdout)["removed"] == 1

    ask = runner.invoke(app, ["ask", "pip install beluga", "-c", str(config), "-k", "1"], env=WIDE)
    assert ask.exit_code == 0, ask.output
    assert "install.md" in ask.stdout and "Run pip install" in ask.stdout
    asked = runner.invoke(app, ["ask", "voice", "-c", str(config), "--json"], env=WIDE)
    hits = json.loads(asked.stdout)["hits"]
    assert [h["metadata"]["source"].endswith("install.md") for h in hits] == [True]


def test_unknown_store_is_a_config_error(project: tuple[Path, Path]) -> None:
    docs, config = project
    result = runner.invoke(app, ["ingest", str(docs), "-c", str(config), "--store", "dcos"])
    assert result.exit_code == EXIT_CONFIG
    assert "vectorstores" in result.output


def test_unreadable_file_fails_with_exit_1(project: tuple[Path, Path]) -> None:
    docs, config = project
    (docs / "broken.json").write_text("{nope")
    result = runner.invoke(app, ["ingest", str(docs), "-c", str(config)])
    assert result.exit_code == EXIT_FAILED
    assert "broken.json" in result.output


def test_ask_answer_uses_the_configured_model(project: tuple[Path, Path]) -> None:
    docs, config = project
    text = config.read_text() + "llm:\n  default: t\n  providers:\n    t: {type: test}\n"
    config.write_text(text)
    assert runner.invoke(app, ["ingest", str(docs), "-c", str(config)]).exit_code == 0
    result = runner.invoke(app, ["ask", "install", "-c", str(config), "--answer", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["answer"] == "success (no tool calls)" and body["hits"]


def test_ask_on_an_empty_store_fails(project: tuple[Path, Path]) -> None:
    _, config = project
    result = runner.invoke(app, ["ask", "anything", "-c", str(config)])
    assert result.exit_code == EXIT_FAILED
    assert "ingest some files first" in result.output


def test_ask_with_a_configured_bm25_retriever(project: tuple[Path, Path]) -> None:
    pytest.importorskip("bm25s")
    docs, config = project
    config.write_text(config.read_text() + "  retrievers:\n    words: {store: docs, mode: bm25}\n")
    assert runner.invoke(app, ["ingest", str(docs), "-c", str(config)]).exit_code == 0
    ask = runner.invoke(
        app, ["ask", "which pipeline chains TTS", "-r", "words", "-k", "1", "--json", "-c",
              str(config)],
    )  # fmt: skip
    assert ask.exit_code == 0, ask.output
    hits = json.loads(ask.stdout)["hits"]
    assert [h["metadata"]["source"].rsplit("/", 1)[-1] for h in hits] == ["voice.md"]
    both = runner.invoke(app, ["ask", "x", "-r", "words", "--store", "docs", "-c", str(config)])
    assert both.exit_code == 2 and "drop --store" in both.output
    unknown = runner.invoke(app, ["ask", "x", "-r", "nope", "-c", str(config)])
    assert unknown.exit_code == EXIT_CONFIG and "no retriever named 'nope'" in unknown.output
