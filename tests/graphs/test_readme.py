"""The graphs README page's example runs offline and prints what the page says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "readme" / "graphs.md"


def examples() -> list[tuple[str, list[str]]]:
    """Each Python block of the page with the ``text`` block that follows it."""
    text = PAGE.read_text(encoding="utf-8")
    pairs = re.findall(r"```python\n(.*?)```.*?```text\n(.*?)```", text, re.S)
    return [(code, shown.splitlines()) for code, shown in pairs]


def test_the_page_has_its_example() -> None:
    assert len(examples()) == 1


def test_the_example_prints_what_the_page_says() -> None:
    for code, shown in examples():
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
            timeout=60,
        )
        assert out.stdout.splitlines() == shown
        assert out.stderr == ""
