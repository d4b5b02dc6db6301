"""The bench README page's example runs offline and prints what the page says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "readme" / "bench.md"


def test_the_example_prints_what_the_page_says() -> None:
    text = PAGE.read_text(encoding="utf-8")
    code, shown = re.findall(r"```python\n(.*?)```.*?```text\n(.*?)```", text, re.S)[0]
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "HOME": "/tmp"},
        timeout=60,
    )
    assert out.stdout.splitlines() == shown.splitlines()
    assert out.stderr == ""
