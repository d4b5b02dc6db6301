"""``beluga speech``: list the engines, speak a text to WAV and transcribe it back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beluga.cli.main import app

runner = CliRunner()


def test_list_shows_every_engine_with_its_extra() -> None:
    out = runner.invoke(app, ["speech", "list", "--json"])
    assert out.exit_code == 0, out.output
    rows = {(r["kind"], r["name"]): r for r in json.loads(out.stdout)}
    assert rows[("stt", "google")]["extra"] == "google"
    assert rows[("tts", "azure")]["extra"] == "azure"
    assert {("stt", "deepgram"), ("tts", "cartesia"), ("tts", "local")} <= set(rows)


def test_unknown_engine_is_one_line_and_exit_1(tmp_path: Path) -> None:
    out = runner.invoke(app, ["speech", "say", "Hi.", "-e", "nope", "-o", str(tmp_path / "a.wav")])
    assert out.exit_code == 1
    assert "nope" in out.output and "Traceback" not in out.output


def test_missing_key_names_the_variable(tmp_path: Path) -> None:
    out = runner.invoke(app, ["speech", "say", "Hi.", "-e", "cartesia"])
    assert out.exit_code == 1 and "CARTESIA_API_KEY" in out.output


@pytest.mark.slow
def test_say_then_transcribe_round_trip(tmp_path: Path) -> None:
    wav = tmp_path / "hi.wav"
    out = runner.invoke(app, ["speech", "say", "Good morning everyone.", "-o", str(wav)])
    assert out.exit_code == 0, out.output
    assert wav.stat().st_size > 10_000 and "wrote" in out.stdout
    out = runner.invoke(app, ["speech", "transcribe", str(wav), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["text"].lower().startswith("good morning")
