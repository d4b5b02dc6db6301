from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from beluga.config import ConfigError
from beluga.config import parse_config as _parse
from beluga.core.errors import BelugaError
from beluga.embeddings.testing import HashingEmbedder
from beluga.retrievers import EmbeddingReranker, MMRRetriever, RerankingRetriever, VectorRetriever
from beluga.retrievers.config import (
    RetrievalConfig,
    build_reranker,
    build_retriever,
    validate_retrieval,
)
from beluga.retrievers.providers.rest import VoyageReranker
from beluga.retrievers.testing import OverlapReranker
from beluga.schema import Document
from beluga.vectorstores.config import build_vector_store


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


async def test_build_retriever_from_config(tmp_path: Path) -> None:
    pytest.importorskip("usearch")
    config = parse_config(
        f"""
embeddings: {{embedders: {{words: {{provider: hashing, dimensions: 64}}}}}}
vectorstores:
  stores: {{docs: {{provider: usearch, path: "{tmp_path}/v.db", embedder: words}}}}
retrieval:
  rerankers: {{words: {{provider: overlap}}}}
  retrievers:
    plain: {{store: docs, k: 2}}
    fancy: {{store: docs, k: 1, mmr: {{fetch_k: 5}}, rerank: words, fetch_k: 3}}
""",
        source="beluga.yaml",
    )
    assert validate_retrieval(config) == ["fancy", "plain", "words"]
    store = build_vector_store(config, "docs")
    docs = [Document("pip install beluga", id="a"), Document("voice pipeline", id="b")]
    await store.upsert(docs, await HashingEmbedder(64).embed([d.text for d in docs]))
    await store.aclose()  # type: ignore[attr-defined]
    plain = build_retriever(config, "plain")
    assert isinstance(plain, VectorRetriever) and plain.k == 2
    assert (await plain.retrieve("pip install"))[0].document.id == "a"
    fancy = build_retriever(config, "fancy")
    assert isinstance(fancy, RerankingRetriever)
    assert isinstance(fancy.retriever, MMRRetriever)
    assert [h.document.id for h in await fancy.retrieve("voice pipeline")] == ["b"]
    await plain.aclose()  # closes the store it built
    with pytest.raises(BelugaError, match="is closed"):
        await plain.retrieve("pip install")
    async with fancy:
        pass
    with pytest.raises(ConfigError, match="no retriever named 'nope'"):
        build_retriever(config, "nope")
    bad = parse_config("retrieval: {retrievers: {x: {rerank: cohre}}}", source="b.yaml")
    with pytest.raises(ConfigError, match=r"retrieval\.retrievers\.x\.rerank"):
        validate_retrieval(bad)


async def test_bm25_and_hybrid_retrievers_over_what_was_ingested(tmp_path: Path) -> None:
    pytest.importorskip("usearch")
    pytest.importorskip("bm25s")
    from beluga.retrievers import BM25Retriever, HybridRetriever
    from beluga.retrievers.ingest import default_manifest, ingest

    config = parse_config(
        f"""
embeddings: {{embedders: {{words: {{provider: hashing, dimensions: 64}}}}}}
vectorstores:
  stores: {{docs: {{provider: usearch, path: "{tmp_path}/v.db", embedder: words}}}}
retrieval:
  retrievers:
    words: {{store: docs, mode: bm25, k: 1, bm25: {{k1: 1.2, b: 0.5}}}}
    both: {{store: docs, mode: hybrid, k: 2, weights: [1, 2], score_threshold: -1}}
""",
        source="beluga.yaml",
    )
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "install.md").write_text("Run pip install beluga-ai to install it.")
    (folder / "voice.md").write_text("The voice pipeline chains VAD, STT and TTS.")
    store = build_vector_store(config, "docs")
    manifest = default_manifest("docs", store)
    await ingest(folder, store, HashingEmbedder(64), manifest=manifest)
    await store.aclose()  # type: ignore[attr-defined]

    async with build_retriever(config, "words") as words:
        assert isinstance(words, BM25Retriever) and (words._k1, words._b) == (1.2, 0.5)
        hits = await words.retrieve("which pipeline chains STT?")
        assert [h.document.metadata["source"] for h in hits] == [str(folder / "voice.md")]
    async with build_retriever(config, "both") as both:
        assert isinstance(both, HybridRetriever) and both.weights == [1.0, 2.0]
        assert [type(r) for r in both.retrievers] == [VectorRetriever, BM25Retriever]
        top = await both.retrieve("pip install")
        assert top[0].document.metadata["source"] == str(folder / "install.md")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("{mode: bm25, mmr: {fetch_k: 5}}", "mmr needs vectors"),
        ("{mode: bm25, score_threshold: 0.2}", "mode bm25 has not"),
        ("{mode: vector, weights: [1, 1]}", "weights are for mode hybrid"),
        ("{mode: hybrid, weights: [1]}", "two numbers"),
        ("{mode: keyword}", "mode"),
    ],
)
def test_retriever_modes_refuse_what_they_cannot_do(entry: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_config(f"retrieval: {{retrievers: {{x: {entry}}}}}", source="b.yaml")
