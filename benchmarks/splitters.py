"""Recursive splitting throughput: Beluga's ``RecursiveCharacterSplitter`` next to LangChain's
``RecursiveCharacterTextSplitter`` on the same large text (this repository's Markdown repeated),
same chunk size, overlap and separators. Prints chars/s and the ratio; LangChain is measured
only where ``langchain-text-splitters`` is installed (a bench venv, never the product's deps).
Run: ``python -m benchmarks.splitters``."""

from __future__ import annotations

import importlib.util
import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEPARATORS = ["\n\n", "\n", " ", ""]


def corpus(target: int = 2_000_000) -> str:
    """Real Markdown from the repository, repeated to ``target`` characters."""
    parts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").rglob("*.md"))]
    parts.append((ROOT / "README.md").read_text(encoding="utf-8"))
    text = "\n\n".join(parts)
    return (text * (target // max(1, len(text)) + 1))[:target]


def measure(split: Callable[[str], object], text: str, rounds: int = 5) -> float:
    """Median characters per second over ``rounds`` runs."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        split(text)
        times.append(time.perf_counter() - start)
    return len(text) / statistics.median(times)


def main() -> None:
    from beluga.documents import RecursiveCharacterSplitter

    text = corpus()
    ours = RecursiveCharacterSplitter(chunk_size=1000, chunk_overlap=200, separators=SEPARATORS)
    beluga = measure(ours.split_text, text)
    print(f"beluga recursive: {beluga / 1e6:.2f} M chars/s ({len(ours.split_text(text))} chunks)")
    if importlib.util.find_spec("langchain_text_splitters") is None:
        print("langchain-text-splitters not installed: no peer measured")
        return
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    peer = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, separators=SEPARATORS)
    theirs = measure(peer.split_text, text)
    print(
        f"langchain recursive: {theirs / 1e6:.2f} M chars/s ({len(peer.split_text(text))} chunks)"
    )
    print(f"ratio beluga/langchain: {beluga / theirs:.2f}x")


if __name__ == "__main__":
    main()
