"""`beluga chat` when the metrics store is broken: the answer comes, exit 0, one warning."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest


def _corrupt(tmp: Path) -> str:
    path = tmp / "metrics.db"
    path.write_bytes(b"this is not a SQLite database\x00" * 200)
    return f"sqlite://{path}"


def _unwritable(tmp: Path) -> str:
    blocker = tmp / "a-file"
    blocker.write_text("a file where the store's folder should be")
    return f"sqlite://{blocker / 'metrics.db'}"


def _unwritable_jsonl(tmp: Path) -> str:
    blocker = tmp / "a-file"
    blocker.write_text("x")
    return f"jsonl://{blocker / 'calls.jsonl'}"


@pytest.mark.parametrize("store", [_corrupt, _unwritable, _unwritable_jsonl])
def test_chat_answers_with_a_broken_metrics_store(
    tmp_path: Path, store: Callable[[Path], str]
) -> None:
    config = tmp_path / "beluga.yaml"
    config.write_text(f"llm:\n  default: test\n  metrics:\n    store: {store(tmp_path)}\n")
    env = {k: v for k, v in os.environ.items() if k != "BELUGA_METRICS_STORE"}
    done = subprocess.run(
        [sys.executable, "-m", "beluga", "chat", "hello", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "success (no tool calls)\n"
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, done.stderr
    assert "call metrics" in warnings[0] and "1 call records were not written" in warnings[0]
    assert "Traceback" not in done.stderr
