"""The VAD registry: ``create("silero", sample_rate=16000)`` returns a new session's engine.

Built-ins register lazily (no onnxruntime import until used); plugins register through the
entry-point group ``beluga.voice.vad``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from beluga.core.registry import Registry
from beluga.voice.vad.base import VADEngine

__all__ = ["VADFactory", "create", "registry"]

VADFactory = Callable[..., VADEngine]

registry: Registry[VADFactory] = Registry("VAD", "beluga.voice.vad")
registry.register(
    "silero",
    "beluga.voice.vad.silero:SileroVAD",
    extra="voice",
    requires=("onnxruntime",),  # the model file: silero-vad or pipecat-ai, found at creation
)
registry.register(
    "webrtc", "beluga.voice.vad.webrtc:WebRTCVAD", extra="voice", requires=("webrtcvad",)
)
registry.register("energy", "beluga.voice.vad.energy:EnergyVAD")


def create(name: str, **options: Any) -> VADEngine:
    """A new engine (one per session) of the VAD registered as ``name``."""
    return registry.get(name)(**options)
