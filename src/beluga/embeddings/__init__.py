"""Embedders: text (and multimodal) content to vectors."""
