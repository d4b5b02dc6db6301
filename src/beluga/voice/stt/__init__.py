"""Speech-to-text: the streaming protocol, its registry, and the engines under ``providers``."""

from beluga.voice.stt.base import STT, STTStream, UtteranceStream, join_finals, transcribe_stream
from beluga.voice.stt.registry import create, registry

__all__ = [
    "STT",
    "STTStream",
    "UtteranceStream",
    "create",
    "join_finals",
    "registry",
    "transcribe_stream",
]
