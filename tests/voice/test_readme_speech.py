"""The speech README page's offline example runs and prints what the page says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "readme" / "speech.md"


def example() -> tuple[str, list[str]]:
    text = PAGE.read_text(encoding="utf-8")
    [(code, shown)] = re.findall(
        r"```python\n(import asyncio.*?)```.*?```text\n(.*?)```", text, re.S
    )
    return code, shown.splitlines()


def test_the_page_lists_every_registered_engine() -> None:
    from beluga.voice.stt.registry import registry as stt_registry
    from beluga.voice.tts.registry import registry as tts_registry

    page = PAGE.read_text(encoding="utf-8")
    for name in [*stt_registry.names(), *tts_registry.names()]:
        assert f"`{name}`" in page, name


@pytest.mark.slow
def test_the_offline_example_prints_what_the_page_says(tmp_path: Path) -> None:
    code, shown = example()
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.stdout.splitlines() == shown
    assert (tmp_path / "hello.wav").stat().st_size > 10_000
