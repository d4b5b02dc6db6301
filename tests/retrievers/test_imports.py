"""The offline stack loads in any import order: the embedded store, then the local embedder.

usearch 2.26.2 to 2.26.6 make the interpreter crash (SIGSEGV) when onnxruntime is loaded after
them, which is what a RAG program does when it opens the store before the local embedder. The
store module loads onnxruntime first when it is installed, and the ``vectorstores`` extra keeps
usearch below 2.26.2 for programs that import usearch themselves; this test runs the orders a
Beluga program can take, each in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("usearch")
pytest.importorskip("onnxruntime")

STORE_THEN_EMBEDDER = (
    "from beluga.vectorstores.providers.usearch import USearchVectorStore\n"
    "from beluga.embeddings import create\n"
    "create('local')\n"
)
EMBEDDER_THEN_STORE = (
    "from beluga.embeddings import create\n"
    "create('local')\n"
    "from beluga.vectorstores.providers.usearch import USearchVectorStore\n"
)


@pytest.mark.parametrize("program", [STORE_THEN_EMBEDDER, EMBEDDER_THEN_STORE])
def test_store_and_embedder_load_in_either_order(program: str) -> None:
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=120)
    assert done.returncode == 0, f"exited {done.returncode}: {done.stderr[-500:]!r}"
