"""The vector-database section of docs/readme/vectorstores.md runs offline as written and prints
what it says (its first Python block after the section's heading)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "docs" / "readme" / "vectorstores.md"
HEADING = "## Vector databases: Qdrant, Chroma, Pinecone, Weaviate"

pytest.importorskip("qdrant_client")
pytest.importorskip("chromadb")


def test_the_example_runs_offline_and_prints_what_it_says(tmp_path: Path) -> None:
    section = README.read_text(encoding="utf-8").split(HEADING, 1)[1]
    example = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    out = subprocess.run(
        [sys.executable, "-c", example],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=120,
    )
    assert out.stdout.splitlines() == ["c ['c', 'q'] 3", "c ['c', 'q'] 3"]
