"""Noise suppression before VAD and STT (RNNoise)."""

from beluga.voice.noise.base import NoiseSuppressor
from beluga.voice.noise.processor import NoiseProcessor
from beluga.voice.noise.registry import create, registry

__all__ = ["NoiseProcessor", "NoiseSuppressor", "create", "registry"]
