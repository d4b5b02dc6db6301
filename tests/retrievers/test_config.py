from __future__ import annotations

import pytest
import yaml

from beluga.config import ConfigError
from beluga.config import parse_config as _parse
from beluga.retrievers import EmbeddingReranker
from beluga.retrievers.config import RetrievalConfig, build_reranker, validate_retrieval
from beluga.retrievers.providers.rest import VoyageReranker
from beluga.retrievers.testing import OverlapReranker


def parse_config(text: str, *, source: str):  # type: ignore[no-untyped-def]
    return _parse(yaml.safe_load(text), source=source)


YAML = """
retrieval:
  rerankers:
    cloud: {provider: voyage, model: rerank-2.5-lite, api_key: pa-PLANTED-config-key-999}
    words: {provider: overlap}
  ingest: {chunk_size: 500, chunk_overlap: 50, include: ["**/*.md"]}
"""


async def test_named_and_id_rerankers() -> None:
    config = parse_config(YAML, source="beluga.yaml")
    section = RetrievalConfig.of(config)
    assert section.ingest.chunk_size == 500 and section.ingest.include == ["**/*.md"]
    assert "pa-PLANTED-config-key-999" not in repr(section)
    assert "pa-PLANTED-config-key-999" not in str(section.model_dump())
    cloud = build_reranker(config, "cloud")
    assert isinstance(cloud, VoyageReranker) and cloud.model_name == "rerank-2.5-lite"
    await cloud.aclose()
    assert isinstance(build_reranker(config, "words"), OverlapReranker)
    assert validate_retrieval(config) == ["cloud", "words"]


def test_registry_id_with_embedder() -> None:
    config = parse_config("retrieval: {}", source="beluga.yaml")
    reranker = build_reranker(config, "embedding:hashing")
    assert isinstance(reranker, EmbeddingReranker)
    assert reranker.model_name == "embedding:hashing"


def test_errors_name_the_key_and_the_fix() -> None:
    bad = parse_config("retrieval: {rerankers: {x: {provider: coher}}}", source="beluga.yaml")
    with pytest.raises(ConfigError, match=r"retrieval\.rerankers\.x\.provider.*'cohere'"):
        validate_retrieval(bad)
    with pytest.raises(ConfigError, match="names no reranker"):
        build_reranker(bad, "nothing")
    with pytest.raises(ConfigError, match="chunk_overlap"):
        parse_config("retrieval: {ingest: {chunk_size: 10, chunk_overlap: 10}}", source="b.yaml")
    keyless = parse_config("retrieval: {rerankers: {v: {provider: voyage}}}", source="b.yaml")
    with pytest.raises(ConfigError, match="VOYAGE_API_KEY"):
        build_reranker(keyless, "v")
