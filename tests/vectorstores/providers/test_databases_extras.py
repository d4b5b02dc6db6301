"""Without its extra, a database store is one clear error naming the extra to install; and
importing the vector-store package imports no database client."""

from __future__ import annotations

import subprocess
import sys

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.vectorstores.registry import registry

CASES = [
    ("qdrant", "qdrant_client", {"location": ":memory:"}),
    ("chroma", "chromadb", {}),
    ("pinecone", "pinecone", {"host": "https://x.svc.pinecone.io", "api_key": "k1234567"}),
    ("weaviate", "weaviate", {}),
]


@pytest.mark.parametrize(("name", "module", "options"), CASES, ids=[c[0] for c in CASES])
def test_a_missing_client_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, name: str, module: str, options: dict[str, str]
) -> None:
    factory = registry.get(name)
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    with pytest.raises(BelugaError) as excinfo:
        factory(**options)
    assert excinfo.value.code is ErrorCode.INVALID_CONFIG
    assert f"pip install 'beluga-ai[{name}]'" in excinfo.value.message


def test_importing_the_package_imports_no_database_client() -> None:
    code = (
        "import sys, beluga.vectorstores, beluga.vectorstores.registry;"
        "print([m for m in ('qdrant_client', 'chromadb', 'pinecone', 'weaviate') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
