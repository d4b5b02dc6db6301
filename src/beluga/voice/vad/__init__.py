"""Voice activity detection: engines (Silero, WebRTC, energy) and the analyzer they share."""

from beluga.voice.vad.analyzer import Rechunker, VADAnalyzer, VADStateMachine, volume_dbfs
from beluga.voice.vad.base import VADEngine, VADEvent, VADEventKind, VADParams, VADState
from beluga.voice.vad.processor import VADProcessor
from beluga.voice.vad.registry import create, registry

__all__ = [
    "Rechunker",
    "VADAnalyzer",
    "VADEngine",
    "VADEvent",
    "VADEventKind",
    "VADParams",
    "VADProcessor",
    "VADState",
    "VADStateMachine",
    "create",
    "registry",
    "volume_dbfs",
]
