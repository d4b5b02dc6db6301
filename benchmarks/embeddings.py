"""Embedding figures: the local model's speed, and what the framework adds per ``embed`` call.

``python -m benchmarks.embeddings`` (``--json`` for scripts) reports:

- the local all-MiniLM-L6-v2 (int8 ONNX): load time, per-sentence latency (one sentence per
  call) and sentences per second batched (batches of 32);
- the framework's own cost per call over a zero-latency embedder: the bare double, the double
  behind a :class:`ProviderEmbedder` (batch split, span, checks) and behind retry + timeout +
  traced middleware, in microseconds;
- ``OpenAIEmbedder.embed`` against the raw ``AsyncOpenAI.embeddings.create`` on one local
  OpenAI-compatible server (in its own process), as a ratio of medians over interleaved rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

from benchmarks._harness import interleaved, ratio_median

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "A man is eating a piece of bread.",
    "Vector search finds the documents nearest to a query.",
    "The weather in Paris is mild in spring.",
]
KEY = "sk-bench-key-000000"
INPUTS = 8
DIMS = 256


# --------------------------------------------------------------------------- the local server


def _body() -> bytes:
    data = [{"object": "embedding", "index": i, "embedding": [0.01] * DIMS} for i in range(INPUTS)]
    payload = {
        "object": "list",
        "data": data,
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 40, "total_tokens": 40},
    }
    return json.dumps(payload).encode()


class _Http(asyncio.Protocol):
    """Answers every request with the same embeddings body (keep-alive, no parsing beyond
    the end of the headers and the Content-Length)."""

    def __init__(self, reply: bytes) -> None:
        self.reply, self.buffer = reply, b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            assert self.transport is not None
            self.transport.write(self.reply)


async def _serve() -> None:
    body = _body()
    reply = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Http(reply), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"port {port}", flush=True)
    async with server:
        await server.serve_forever()


@contextmanager
def _server() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.embeddings", "--serve"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().split()[1])
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --------------------------------------------------------------------------- measurements


async def _local(sentences: int) -> dict[str, float]:
    from beluga.embeddings.providers.local import LocalEmbedder

    start = time.perf_counter()
    embedder = LocalEmbedder()
    load_s = time.perf_counter() - start
    texts = [SENTENCES[i % len(SENTENCES)] + f" ({i})" for i in range(sentences)]
    await embedder.embed(texts[:32])  # warm-up
    single = []
    for text in texts[:50]:
        start = time.perf_counter()
        await embedder.embed([text])
        single.append(time.perf_counter() - start)
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        await embedder.embed(texts)
        runs.append(time.perf_counter() - start)
    return {
        "load_s": load_s,
        "per_sentence_ms": statistics.median(single) * 1000,
        "batched_sentences_per_s": sentences / statistics.median(runs),
        "sentences": sentences,
    }


async def _overhead(calls: int, rounds: int) -> dict[str, float]:
    from beluga.core.middleware import apply
    from beluga.embeddings._batching import Batch
    from beluga.embeddings._provider import ProviderEmbedder
    from beluga.embeddings.base import EmbedInput
    from beluga.embeddings.middleware import retrying, timed_out, traced

    vector = [0.0] * DIMS

    class Zero:
        model_name, dimensions = "zero", DIMS

        async def embed(self, inputs: Sequence[EmbedInput]) -> list[list[float]]:
            return [vector for _ in inputs]

    class ZeroProvider(ProviderEmbedder):
        provider: ClassVar[str] = "zero"

        async def _embed_batch(self, batch: list[EmbedInput]) -> Batch:
            return Batch([vector for _ in batch], len(batch))

    bare, provider = Zero(), ZeroProvider("zero", DIMS)
    wrapped = apply(Zero(), retrying(), timed_out(30.0), traced())
    texts = SENTENCES * 2
    timings = await interleaved(
        {
            "bare": lambda: bare.embed(texts),
            "provider": lambda: provider.embed(texts),
            "middleware": lambda: wrapped.embed(texts),
        },
        calls=calls,
        rounds=rounds,
    )
    base = timings["bare"].median
    return {
        "bare_us": base * 1e6,
        "provider_base_us": (timings["provider"].median - base) * 1e6,
        "middleware_us": (timings["middleware"].median - base) * 1e6,
    }


async def _vs_sdk(base_url: str, calls: int, rounds: int) -> dict[str, float]:
    from openai import AsyncOpenAI

    from beluga.embeddings.providers.openai import OpenAIEmbedder

    raw = AsyncOpenAI(api_key=KEY, base_url=base_url, max_retries=0)
    ours = OpenAIEmbedder(dimensions=DIMS, api_key=KEY, base_url=base_url)
    texts = (SENTENCES * 2)[:INPUTS]

    async def raw_call() -> object:
        return await raw.embeddings.create(
            model="text-embedding-3-small", input=texts, dimensions=DIMS, encoding_format="float"
        )

    timings = await interleaved(
        {"raw": raw_call, "beluga": lambda: ours.embed(texts)}, calls=calls, rounds=rounds
    )
    await raw.close()
    await ours.aclose()
    return {
        "raw_ms": timings["raw"].median * 1000,
        "beluga_ms": timings["beluga"].median * 1000,
        "ratio": ratio_median(timings["beluga"], timings["raw"]),
    }


def run(calls: int = 100, rounds: int = 9, sentences: int = 256) -> dict[str, Any]:
    """Every figure of this module, as a dict."""
    results: dict[str, Any] = {"local": asyncio.run(_local(sentences))}
    results["overhead"] = asyncio.run(_overhead(calls * 10, rounds))
    with _server() as url:
        results["openai"] = asyncio.run(_vs_sdk(url, calls, rounds))
    return results


def _print(r: dict[str, Any]) -> None:
    loc, ov, oa = r["local"], r["overhead"], r["openai"]
    print("Local all-MiniLM-L6-v2 (int8 ONNX, 2 threads)")
    print(
        f"  load {loc['load_s']:.2f} s; one sentence per call {loc['per_sentence_ms']:.2f} ms; "
        f"batched {loc['batched_sentences_per_s']:.0f} sentences/s ({loc['sentences']})"
    )
    bare = ov["bare_us"]
    print(f"Framework cost per embed call of 8 inputs over a zero-latency double ({bare:.2f} us)")
    print(
        f"  ProviderEmbedder base (split, span, checks) +{ov['provider_base_us']:.2f} us; "
        f"retry + timeout + traced middleware +{ov['middleware_us']:.2f} us"
    )
    print("OpenAIEmbedder vs raw AsyncOpenAI.embeddings.create, local server, 8 inputs")
    print(f"  raw {oa['raw_ms']:.3f} ms, beluga {oa['beluga_ms']:.3f} ms: ratio {oa['ratio']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve())
        return
    results = run(args.calls, args.rounds)
    print(json.dumps(results, indent=2)) if args.json else _print(results)


if __name__ == "__main__":
    main()
