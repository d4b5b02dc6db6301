"""The text-to-speech registry: ``create("elevenlabs:eleven_flash_v2_5", ...)``, or ``"local"``.

Built-ins register lazy import paths; plugins add theirs through the ``beluga.voice.tts``
entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from beluga.core.registry import Registry
from beluga.voice.tts.base import TTS

__all__ = ["TTSFactory", "create", "registry"]

TTSFactory = Callable[..., TTS]

registry: Registry[TTSFactory] = Registry("text-to-speech engine", "beluga.voice.tts")
_LOCAL = "beluga.voice.tts.providers.local"
registry.register("local", f"{_LOCAL}:local_tts")
registry.register("hibari", f"{_LOCAL}:HibariTTS", extra="voice", requires=("hibari",))
registry.register("espeak", f"{_LOCAL}:EspeakTTS")
registry.register(
    "openai", "beluga.voice.tts.providers.openai:OpenAITTS", extra="openai", requires=("openai",)
)
for _name, _cls in {"elevenlabs": "ElevenLabsTTS", "cartesia": "CartesiaTTS"}.items():
    registry.register(
        _name,
        f"beluga.voice.tts.providers.{_name}:{_cls}",
        extra="voice",
        requires=("websockets",),
    )
registry.register(
    "google",
    "beluga.voice.tts.providers.google:GoogleTTS",
    extra="google",
    requires=("google.cloud.texttospeech_v1",),
)


def create(spec: str, /, **options: Any) -> TTS:
    """An engine from ``"provider"`` or ``"provider:model"`` and the provider's keywords."""
    name, _, model = spec.partition(":")
    if model:
        options.setdefault("model", model)
    return registry.get(name)(**options)
