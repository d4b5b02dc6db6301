"""The tools README section's example runs as written and prints what its comments say."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "docs" / "readme" / "tools.md"


def test_the_readme_example_runs_and_prints_what_it_says(tmp_path: Path) -> None:
    (example,) = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    out = subprocess.run(
        [sys.executable, "-c", example],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    lines = out.stdout.splitlines()
    assert "'required': ['city']" in lines[0] and "ctx" not in lines[0]
    assert lines[1] == '{"city":"Oslo","days":1,"units":"metric","sky":"clear"}'
    assert lines[2] == "True Invalid arguments for tool 'demo_forecast':"
    assert lines[3] == "- city: Field required"
    assert lines[-1] == "256.0"
