"""The MCP README section's example runs as written: its server, then its agent."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "docs" / "readme" / "mcp.md"


def test_the_readme_example_runs_and_prints_what_it_says(tmp_path: Path) -> None:
    server, client = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    (tmp_path / "weather_server.py").write_text(server, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-c", client],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert out.stdout.splitlines() == [
        "['weather_forecast']",
        "Tomorrow: Sunny in Lisbon, 24 °C",
    ]
