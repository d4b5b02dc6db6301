"""The RAG page's example runs offline as written: ingest, re-ingest, retrieve, agent answer."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "docs" / "readme" / "rag.md"

pytest.importorskip("onnxruntime")
pytest.importorskip("usearch")
pytest.importorskip("llama_cpp")


@pytest.mark.slow
def test_the_rag_example_runs_offline_and_prints_what_it_says(tmp_path: Path) -> None:
    (example,) = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    out = subprocess.run(
        [sys.executable, "-c", example],
        cwd=ROOT,  # it reads docs/readme
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HOME": str(tmp_path)},
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[:4] == ["True True", "True 0", "docs/readme/memory.md", "1"]
    assert " ".join(lines[4:]).strip(), "the agent gave no answer"
