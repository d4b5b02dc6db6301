"""The turn-detector registry: ``silence`` and ``smart_turn``; plugins via ``beluga.voice.turn``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from beluga.core.registry import Registry
from beluga.voice.turn.base import TurnDetector

__all__ = ["TurnFactory", "create", "registry"]

TurnFactory = Callable[..., TurnDetector]

registry: Registry[TurnFactory] = Registry("turn detector", "beluga.voice.turn")
registry.register("silence", "beluga.voice.turn.silence:SilenceTurnDetector")
registry.register(
    "smart_turn",
    "beluga.voice.turn.smart_turn:SmartTurnDetector",
    extra="voice",
    requires=("onnxruntime", "pipecat"),
)


def create(name: str, **options: Any) -> TurnDetector:
    """A new detector of the kind registered as ``name``."""
    return registry.get(name)(**options)
