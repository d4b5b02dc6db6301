"""The ``embeddings:`` section, ``build_embedder`` and ``beluga config check``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from beluga.config import BelugaConfig, ConfigError, parse_config
from beluga.core.redaction import redact
from beluga.embeddings import EmbeddingsConfig, build_embedder, validate_embeddings
from beluga.embeddings.middleware import EmbedderWrapper
from beluga.embeddings.providers.openai import OpenAIEmbedder
from beluga.embeddings.testing import HashingEmbedder

YAML = """
embeddings:
  default: docs
  embedders:
    docs:
      provider: openai
      model: text-embedding-3-small
      dimensions: 512
      api_key: sk-PLANTED-embeddings-0123456789
      cache: memory
      timeout: 30
    tests:
      provider: hashing
      dimensions: 32
      retries: 1
"""


def cfg(text: str, source: str) -> BelugaConfig:
    return parse_config(yaml.safe_load(text), source=source)


def test_named_entries_built_with_their_middleware() -> None:
    config = cfg(YAML, "beluga.yaml")
    assert validate_embeddings(config) == ["docs", "tests"]
    docs = build_embedder(config)
    assert isinstance(docs, EmbedderWrapper)
    assert (docs.model_name, docs.dimensions, docs.provider) == (
        "text-embedding-3-small",
        512,
        "openai",
    )
    inner = docs
    while isinstance(inner, EmbedderWrapper):
        inner = inner.inner  # type: ignore[assignment]
    assert isinstance(inner, OpenAIEmbedder)
    plain = build_embedder(config, "tests")
    assert isinstance(plain, HashingEmbedder) and plain.dimensions == 32


def test_key_is_masked_in_dumps() -> None:
    section = EmbeddingsConfig.of(cfg(YAML, "beluga.yaml"))
    assert "sk-PLANTED" not in repr(section) and "sk-PLANTED" not in str(section.model_dump())
    assert "sk-PLANTED" not in redact("key sk-PLANTED-embeddings-0123456789")


def test_default_is_the_local_embedder_and_registry_ids_work() -> None:
    config = cfg("version: 1\n", "beluga.yaml")
    assert EmbeddingsConfig.of(config).default == "local"
    assert validate_embeddings(config) == []
    assert build_embedder(config, "hashing:h").model_name == "h"


@pytest.mark.parametrize(
    ("yaml", "key", "words"),
    [
        (
            "embeddings: {embedders: {a: {provider: opnai}}}",
            "embeddings.embedders.a.provider",
            "did you mean 'openai'",
        ),
        (
            "embeddings: {embedders: {a: {provider: openai, colour: red}}}",
            "embeddings.embedders.a.colour",
            "has no option 'colour'",
        ),
        ("embeddings: {default: nowhere}", "embeddings.default", "names no embedder"),
        (
            "embeddings: {embedders: {a: {provider: local, cache: memory, cache_path: x}}}",
            "embeddings.embedders.a",
            "cache_path is for cache: sqlite",
        ),
    ],
)
def test_errors_name_the_key_and_the_fix(yaml: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_embeddings(cfg(yaml, "beluga.yaml"))
    assert key in str(info.value) and words in str(info.value)


def test_provider_config_error_names_the_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = cfg("embeddings: {embedders: {d: {provider: openai}}}", "b.yaml")
    with pytest.raises(ConfigError) as info:
        build_embedder(config, "d")
    assert "embeddings.embedders.d" in str(info.value) and "OPENAI_API_KEY" in str(info.value)


def test_config_check_validates_the_section(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(YAML)
    run = subprocess.run(
        [sys.executable, "-m", "beluga", "config", "check", str(good)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "embeddings: default 'docs'; embedders: docs, tests" in run.stdout
    assert "sk-PLANTED" not in run.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("embeddings: {embedders: {a: {provider: opnai}}}\n")
    run = subprocess.run(
        [sys.executable, "-m", "beluga", "config", "check", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0 and "embeddings.embedders.a.provider" in run.stdout + run.stderr
