"""Splitters: documents into chunks with their position, for embedding and retrieval."""

from beluga.documents.splitters.markdown import MarkdownHeaderSplitter
from beluga.documents.splitters.recursive import DEFAULT_SEPARATORS, RecursiveCharacterSplitter
from beluga.documents.splitters.tokens import (
    TokenSplitter,
    bundled_tokenizer,
    estimate_tokens,
    huggingface_counter,
)

__all__ = [
    "DEFAULT_SEPARATORS",
    "MarkdownHeaderSplitter",
    "RecursiveCharacterSplitter",
    "TokenSplitter",
    "bundled_tokenizer",
    "estimate_tokens",
    "huggingface_counter",
]
