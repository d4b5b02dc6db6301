"""The vector-store README page's example runs offline as written and prints what it says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "docs" / "readme" / "vectorstores.md"
DATABASES = "## Vector databases:"  # the next section, with its own example and test

pytest.importorskip("onnxruntime")


def test_the_readme_example_runs_offline_and_prints_what_it_says(tmp_path: Path) -> None:
    section = README.read_text(encoding="utf-8").split(DATABASES, 1)[0]
    (example,) = re.findall(r"```python\n(.*?)```", section, re.S)
    expected = [line.split("# ")[-1].strip() for line in example.splitlines() if "print(" in line]
    out = subprocess.run(
        [sys.executable, "-c", example],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HOME": str(tmp_path)},
        timeout=120,
    )
    assert out.stdout.splitlines() == [e.split(":")[0] for e in expected]
