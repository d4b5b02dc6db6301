"""The embedder registry: ids, lazy built-ins, plugins, unknown names."""

from __future__ import annotations

import sys

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.embeddings import create, registry
from beluga.embeddings.testing import HashingEmbedder


def test_builtins_listed_without_importing_sdks() -> None:
    assert {"local", "openai", "gemini", "ollama", "bedrock", "hashing"} <= set(registry.names())
    entry = next(e for e in registry.entries() if e.name == "bedrock")
    assert entry.extra == "bedrock" and not entry.loaded


def test_create_by_id() -> None:
    emb = create("hashing:words", dimensions=64)
    assert isinstance(emb, HashingEmbedder) and emb.model_name == "words" and emb.dimensions == 64


def test_unknown_name_suggests_and_lists() -> None:
    with pytest.raises(BelugaError) as info:
        create("olama:nomic-embed-text")
    assert info.value.code is ErrorCode.NOT_FOUND
    assert "Did you mean 'ollama'?" in info.value.message
    assert "bedrock, gemini, hashing, local" in info.value.message
    assert "beluga.embeddings" in info.value.message


def test_plugin_registers_by_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    from beluga.core.registry import Registry

    point = metadata.EntryPoint(
        "mine", "beluga.embeddings.testing:HashingEmbedder", "beluga.embeddings"
    )
    monkeypatch.setattr(
        "beluga.core.registry.entry_points",
        lambda group: [point] if group == "beluga.embeddings" else [],
    )
    fresh: Registry[object] = Registry("embedder", "beluga.embeddings")
    assert fresh.names() == ["mine"] and fresh.get("mine") is HashingEmbedder


def test_importing_the_package_imports_no_provider_sdk() -> None:
    import subprocess

    code = (
        "import sys, beluga.embeddings; "
        "print(sorted(m for m in ('openai','onnxruntime','google.genai','aiobotocore',"
        "'ollama','numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
