"""Embedders: text (and multimodal) content to vectors (see :mod:`.base`)."""

from beluga.embeddings.base import Embedder, EmbedInput

__all__ = ["EmbedInput", "Embedder"]
