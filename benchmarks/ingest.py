"""Ingestion throughput (chunks/s): ``beluga.retrievers.ingest`` next to onnxruntime alone.

``python -m benchmarks.ingest`` (``--json`` for scripts) copies ``README.md`` and
``docs/readme/*.md`` ``--copies`` times into a temporary folder and, in interleaved rounds
(the first contender rotated each round), measures:

- ``ingest``: the whole pipeline — walk, hash, load Markdown, split (1,000 characters, 150
  overlap), embed with the local embedder, upsert into the in-memory store, manifest commits —
  into an empty store with a new manifest each round;
- ``embedder``: ``LocalEmbedder.embed`` on the same chunk texts (batches of 32);
- ``onnxruntime``: the same model called directly on the same texts: ``tokenizers`` batch
  encoding, ``InferenceSession.run`` (2 intra-op threads, as the embedder), mean pooling and
  L2 normalisation in numpy, batches of 32.

Figures are medians over rounds; ratios are medians of per-round ratios to onnxruntime.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from beluga.documents import RecursiveCharacterSplitter, load_sync
from beluga.embeddings.providers.local import LocalEmbedder, model_files
from beluga.retrievers.ingest import ingest
from beluga.vectorstores.testing import InMemoryVectorStore

ROOT = Path(__file__).resolve().parents[1]


def _folder(target: Path, copies: int) -> None:
    sources = [ROOT / "README.md", *sorted((ROOT / "docs" / "readme").glob("*.md"))]
    for i in range(copies):
        for src in sources:
            shutil.copy(src, target / f"{i}-{src.name}")


class _RawOnnx:
    """all-MiniLM-L6-v2 through onnxruntime and tokenizers, nothing else."""

    def __init__(self) -> None:
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model, tokenizer = model_files()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        options.inter_op_num_threads = 1
        self.np = np
        self.session = ort.InferenceSession(str(model), options, ["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.enable_truncation(max_length=256)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def embed(self, texts: list[str]) -> int:
        np, count = self.np, 0
        for i in range(0, len(texts), 32):
            encodings = self.tokenizer.encode_batch(texts[i : i + 32])
            ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
            mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self.session.run(None, feeds)[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            vectors = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            count += len(vectors)
        return count


async def run(copies: int = 3, rounds: int = 3) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        _folder(folder, copies)
        splitter = RecursiveCharacterSplitter(chunk_size=1000, chunk_overlap=150)
        texts = [c.text for c in splitter.split_documents(load_sync(folder)) if c.text.strip()]
        embedder = LocalEmbedder()
        raw = _RawOnnx()
        await embedder.embed(texts[:32])
        raw.embed(texts[:32])  # warm both sessions

        async def pipeline(i: int) -> int:
            report = await ingest(
                folder,
                InMemoryVectorStore(),
                embedder,
                manifest=Path(tmp) / f"manifest-{i}.db",
                splitter=splitter,
            )
            return report.chunks_written

        async def embedder_only(_i: int) -> int:
            return len(await embedder.embed(texts))

        async def onnx(_i: int) -> int:
            return raw.embed(texts)

        contenders = {"ingest": pipeline, "embedder": embedder_only, "onnxruntime": onnx}
        rates: dict[str, list[float]] = {name: [] for name in contenders}
        for r in range(rounds):
            names = list(contenders)
            names = names[r % len(names) :] + names[: r % len(names)]
            for name in names:
                started = time.perf_counter()
                chunks = await contenders[name](r)
                rates[name].append(chunks / (time.perf_counter() - started))
    per_round = {
        name: [rates[name][r] / rates["onnxruntime"][r] for r in range(rounds)]
        for name in contenders
    }
    return {
        "chunks": len(texts),
        "rounds": rounds,
        "chunks_per_s": {name: statistics.median(v) for name, v in rates.items()},
        "ratio_vs_onnxruntime": {name: statistics.median(v) for name, v in per_round.items()},
    }


def _print(results: dict[str, Any]) -> None:
    print(
        f"Ingestion throughput: {results['chunks']} chunks (1,000 chars), local embedder, "
        f"medians of {results['rounds']} interleaved rounds"
    )
    for name, rate in results["chunks_per_s"].items():
        ratio = results["ratio_vs_onnxruntime"][name]
        print(f"  {name:12} {rate:8.1f} chunks/s   {ratio:.3f}x onnxruntime alone")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=3, help="copies of the docs to ingest")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    results = asyncio.run(run(args.copies, args.rounds))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print(results)


if __name__ == "__main__":
    main()
