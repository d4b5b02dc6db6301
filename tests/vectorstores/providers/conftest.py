"""No developer's vector-database variables reach the provider tests."""

from __future__ import annotations

import pytest

_VARS = (
    "QDRANT_URL",
    "QDRANT_API_KEY",
    "PINECONE_API_KEY",
    "PINECONE_HOST",
    "PINECONE_ADDITIONAL_HEADERS",
    "WEAVIATE_URL",
    "WEAVIATE_API_KEY",
    "CHROMA_PATH",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _VARS:
        monkeypatch.delenv(name, raising=False)
