"""The ``vectorstores:`` section: named stores, a default, switching by config, masked DSNs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from beluga.config import BelugaConfig, ConfigError, parse_config
from beluga.core.redaction import redact
from beluga.vectorstores.config import (
    VectorStoresConfig,
    build_vector_store,
    store_entry,
    validate_vectorstores,
)
from beluga.vectorstores.middleware import TracedVectorStore
from beluga.vectorstores.providers.faiss import FaissVectorStore
from beluga.vectorstores.providers.memory import InMemoryVectorStore
from beluga.vectorstores.providers.pgvector import PgVectorStore
from beluga.vectorstores.providers.usearch import USearchVectorStore

PASSWORD = "pw-PLANTED-vectors-0123456789"


def cfg(text: str) -> BelugaConfig:
    return parse_config(yaml.safe_load(text), source="beluga.yaml")


def yaml_for(tmp_path: Path, default: str = "docs") -> str:
    return f"""
vectorstores:
  default: {default}
  stores:
    docs:
      provider: usearch
      path: {tmp_path / "v.db"}
      collection: docs
      metric: dot
      embedder: local
    shared:
      provider: pgvector
      dsn: postgresql://beluga:{PASSWORD}@127.0.0.1:5432/rag
      table: docs
      ef_search: 80
    scratch:
      provider: memory
      dimensions: 4
"""


def inner(store: object) -> object:
    assert isinstance(store, TracedVectorStore)
    return store.inner


def test_named_stores_are_built_traced(tmp_path: Path) -> None:
    config = cfg(yaml_for(tmp_path))
    assert validate_vectorstores(config) == ["docs", "scratch", "shared"]
    docs = inner(build_vector_store(config))
    assert isinstance(docs, USearchVectorStore)
    assert (docs.path, docs.collection, docs.metric) == (tmp_path / "v.db", "docs", "dot")
    shared = inner(build_vector_store(config, "shared"))
    assert isinstance(shared, PgVectorStore)
    assert shared.table == "docs" and shared._ef_search == 80
    scratch = inner(build_vector_store(config, "scratch"))
    assert isinstance(scratch, InMemoryVectorStore) and scratch.dimensions == 4
    assert store_entry(config)[1].embedder == "local"


def test_switching_store_is_a_config_change(tmp_path: Path) -> None:
    assert isinstance(
        inner(build_vector_store(cfg(yaml_for(tmp_path, "scratch")))), InMemoryVectorStore
    )
    assert isinstance(inner(build_vector_store(cfg(yaml_for(tmp_path, "shared")))), PgVectorStore)
    assert isinstance(
        inner(build_vector_store(cfg(yaml_for(tmp_path, "memory")))), InMemoryVectorStore
    )


def test_no_section_means_the_embedded_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BELUGA_VECTORS_DB", str(tmp_path / "default.db"))
    store = inner(build_vector_store(parse_config({}, source="beluga.yaml")))
    assert isinstance(store, FaissVectorStore)
    assert store.path == tmp_path / "default.db"


def test_the_dsn_password_is_masked_everywhere(tmp_path: Path) -> None:
    config = cfg(yaml_for(tmp_path))
    section = VectorStoresConfig.of(config)
    for text in (repr(section), str(section), section.model_dump_json(), str(section.model_dump())):
        assert PASSWORD not in text
    assert PASSWORD not in repr(build_vector_store(config, "shared"))
    assert PASSWORD not in redact(f"connecting with {PASSWORD}")


@pytest.mark.parametrize(
    ("text", "key", "says"),
    [
        ("vectorstores: {default: nope}", "vectorstores.default", "'nope' names no store"),
        (
            "vectorstores: {stores: {a: {provider: pgvectr}}}",
            "vectorstores.stores.a.provider",
            "did you mean 'pgvector'",
        ),
        (
            "vectorstores: {stores: {a: {provider: memory, colour: red}}}",
            "vectorstores.stores.a.colour",
            "has no option 'colour'",
        ),
        (
            "vectorstores: {default: a, stores: {a: {provider: memory, metric: manhattan}}}",
            "vectorstores.stores.a",
            "unknown metric 'manhattan'",
        ),
    ],
)
def test_bad_entries_are_config_errors_naming_the_key(text: str, key: str, says: str) -> None:
    config = cfg(text)
    with pytest.raises(ConfigError) as excinfo:
        validate_vectorstores(config)
        build_vector_store(config)
    assert excinfo.value.key_path == key
    assert says in excinfo.value.message
