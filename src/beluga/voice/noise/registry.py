"""The noise-suppressor registry: ``rnnoise``; plugins via the group ``beluga.voice.noise``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from beluga.core.registry import Registry
from beluga.voice.noise.base import NoiseSuppressor

__all__ = ["NoiseFactory", "create", "registry"]

NoiseFactory = Callable[..., NoiseSuppressor]

registry: Registry[NoiseFactory] = Registry("noise suppressor", "beluga.voice.noise")
registry.register(
    "rnnoise",
    "beluga.voice.noise.rnnoise:RNNoiseSuppressor",
    extra="voice",
    requires=("pyrnnoise", "soxr"),
)


def create(name: str, **options: Any) -> NoiseSuppressor:
    """A new suppressor (one per session) of the kind registered as ``name``."""
    return registry.get(name)(**options)
