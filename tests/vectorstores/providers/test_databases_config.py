"""The vector databases from the ``vectorstores:`` section: built by name, keys masked in every
repr, dump and error, switching database is a config change, unknown options name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from beluga.config import BelugaConfig, ConfigError, parse_config
from beluga.vectorstores.config import VectorStoresConfig, build_vector_store, validate_vectorstores
from beluga.vectorstores.middleware import TracedVectorStore
from beluga.vectorstores.providers.chroma import ChromaVectorStore
from beluga.vectorstores.providers.pinecone import PineconeVectorStore
from beluga.vectorstores.providers.qdrant import QdrantVectorStore
from beluga.vectorstores.providers.weaviate import WeaviateVectorStore
from beluga.vectorstores.registry import registry

PINECONE_KEY = "pcsk_PLANTED_config_key_0987654321"
QDRANT_KEY = "qdrant-PLANTED-config-key-12345"
WEAVIATE_KEY = "wv-PLANTED-config-key-5555"


def cfg(text: str) -> BelugaConfig:
    return parse_config(yaml.safe_load(text), source="beluga.yaml")


def config_for(tmp_path: Path, default: str) -> BelugaConfig:
    return cfg(f"""
vectorstores:
  default: {default}
  stores:
    local-qdrant:
      provider: qdrant
      collection: docs
      path: {tmp_path / "qdrant"}
      dimensions: 4
    cloud-qdrant:
      provider: qdrant
      url: https://xyz.cloud.qdrant.io:6333
      api_key: {QDRANT_KEY}
    chroma:
      provider: chroma
      path: {tmp_path / "chroma"}
      metric: dot
    pinecone:
      provider: pinecone
      index: docs
      host: https://docs-abc123.svc.aped-1234.pinecone.io
      api_key: {PINECONE_KEY}
      namespace: tenant-1
      retries: 5
    weaviate:
      provider: weaviate
      collection: Docs
      url: https://docs.weaviate.network
      api_key: {WEAVIATE_KEY}
""")


def inner(store: object) -> object:
    assert isinstance(store, TracedVectorStore)
    return store.inner


async def test_each_database_is_built_from_its_entry(tmp_path: Path) -> None:
    config = config_for(tmp_path, "local-qdrant")
    assert validate_vectorstores(config) == [
        "chroma",
        "cloud-qdrant",
        "local-qdrant",
        "pinecone",
        "weaviate",
    ]
    stores = {
        name: inner(build_vector_store(config, name))
        for name in ("local-qdrant", "chroma", "pinecone", "weaviate")
    }
    assert isinstance(stores["local-qdrant"], QdrantVectorStore)
    assert stores["local-qdrant"].dimensions == 4
    assert isinstance(stores["chroma"], ChromaVectorStore) and stores["chroma"].metric == "dot"
    pinecone = stores["pinecone"]
    assert isinstance(pinecone, PineconeVectorStore) and pinecone.namespace == "tenant-1"
    assert isinstance(stores["weaviate"], WeaviateVectorStore)
    for store in stores.values():
        await store.aclose()  # type: ignore[attr-defined]


async def test_switching_database_is_a_config_change(tmp_path: Path) -> None:
    from beluga.schema import Document

    for default in ("local-qdrant", "chroma"):
        store = build_vector_store(config_for(tmp_path, default))
        async with store:  # type: ignore[attr-defined]
            await store.upsert([Document("same code", id="a")], [[1.0, 0.0, 0.0, 0.0]])
            (hit,) = await store.search([1.0, 0.0, 0.0, 0.0], k=1)
        assert hit.document.id == "a"


async def test_keys_are_masked_in_dumps_reprs_and_stores(tmp_path: Path) -> None:
    config = config_for(tmp_path, "chroma")
    section = VectorStoresConfig.of(config)
    keys = (PINECONE_KEY, QDRANT_KEY, WEAVIATE_KEY)
    for text in (repr(section), str(section), section.model_dump_json(), str(section.model_dump())):
        assert not any(key in text for key in keys)
    for name in ("cloud-qdrant", "pinecone", "weaviate"):
        store = build_vector_store(config, name)
        assert not any(key in repr(store) for key in keys)
        assert not any(key in repr(inner(store)) for key in keys)
        await store.aclose()  # type: ignore[attr-defined]


def test_an_unknown_option_names_the_key_and_the_options() -> None:
    config = cfg("vectorstores: {stores: {a: {provider: pinecone, hostname: x}}}")
    with pytest.raises(ConfigError) as excinfo:
        validate_vectorstores(config)
    text = str(excinfo.value)
    assert "vectorstores.stores.a.hostname" in text and "host" in text


def test_a_missing_pinecone_host_is_a_config_error_with_the_fix() -> None:
    config = cfg(
        "vectorstores: {default: a, stores: {a: {provider: pinecone, api_key: k12345678}}}"
    )
    with pytest.raises(ConfigError) as excinfo:
        build_vector_store(config)
    assert "PINECONE_HOST" in str(excinfo.value) and "k12345678" not in str(excinfo.value)


def test_the_databases_are_registered_with_their_extras() -> None:
    entries = {e.name: e for e in registry.entries()}
    for name in ("qdrant", "chroma", "pinecone", "weaviate"):
        assert entries[name].extra == name and entries[name].available
