"""Text-to-speech: the streaming protocol, its registry, and the engines under ``providers``."""

from beluga.voice.tts.base import TTS, SentenceStream, TTSStream, chunked, split_sentences
from beluga.voice.tts.registry import create, registry

__all__ = ["TTS", "SentenceStream", "TTSStream", "chunked", "create", "registry", "split_sentences"]
