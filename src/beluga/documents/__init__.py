"""Documents in: loaders for files and folders, splitters for chunks (RAG ingestion's first step).

``async for doc in load("docs/")`` walks a folder and reads every file a loader knows (text,
Markdown, HTML, PDF, CSV, JSON, JSON Lines); a splitter cuts the documents into chunks that know
where they came from. Parsers come with ``pip install 'beluga-ai[documents]'``.
"""

from beluga.documents.base import Loader, Source, Splitter, document_id, invalid, sha256_text
from beluga.documents.load import DEFAULT_EXCLUDE, glob_match, iter_load, load, load_sync, walk
from beluga.documents.registry import (
    extension_names,
    loader_for,
    loaders,
    register_extension,
    supported_extensions,
)
from beluga.documents.splitters import (
    DEFAULT_SEPARATORS,
    MarkdownHeaderSplitter,
    RecursiveCharacterSplitter,
    TokenSplitter,
    bundled_tokenizer,
    estimate_tokens,
    huggingface_counter,
)

__all__ = [
    "DEFAULT_EXCLUDE",
    "DEFAULT_SEPARATORS",
    "Loader",
    "MarkdownHeaderSplitter",
    "RecursiveCharacterSplitter",
    "Source",
    "Splitter",
    "TokenSplitter",
    "bundled_tokenizer",
    "document_id",
    "estimate_tokens",
    "extension_names",
    "glob_match",
    "huggingface_counter",
    "invalid",
    "iter_load",
    "load",
    "load_sync",
    "loader_for",
    "loaders",
    "register_extension",
    "sha256_text",
    "supported_extensions",
    "walk",
]
