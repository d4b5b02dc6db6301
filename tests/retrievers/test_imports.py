"""The offline stack loads in any import order: the embedded store's usearch, then onnxruntime.

usearch 2.26.2 to 2.26.6 make the interpreter crash (SIGSEGV) when onnxruntime is imported after
them, which is what a RAG program does when it opens the store before the local embedder; the
``vectorstores`` extra excludes those versions, and this test catches a regression.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("usearch")
pytest.importorskip("onnxruntime")


@pytest.mark.parametrize(
    "order", ["import usearch.index, onnxruntime", "import onnxruntime, usearch.index"]
)
def test_store_and_embedder_libraries_import_in_either_order(order: str) -> None:
    done = subprocess.run([sys.executable, "-c", order], capture_output=True, timeout=60)
    assert done.returncode == 0, f"{order!r} exited {done.returncode}: {done.stderr[-500:]!r}"
