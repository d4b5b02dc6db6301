"""The noise step: denoise input audio before VAD and STT (order 100, first after the input).

Output frames have the input frames' size and rate; the first few are held back by the
suppressor's latency (~40 ms for RNNoise at 16 kHz), and timestamps follow the samples sent, so
downstream clocks stay consistent.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from beluga.voice.audio import Rechunker
from beluga.voice.frames import InputAudioFrame
from beluga.voice.noise.base import NoiseSuppressor
from beluga.voice.noise.registry import create
from beluga.voice.pipeline import FrameProcessor, handles

__all__ = ["NoiseProcessor"]


class NoiseProcessor(FrameProcessor):
    """Runs ``suppressor`` (a suppressor, or a registered name + options) over input audio."""

    order = 100

    def __init__(
        self,
        suppressor: NoiseSuppressor | str = "rnnoise",
        *,
        name: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(name=name)
        self._name = suppressor if isinstance(suppressor, str) else None
        self._options = options
        self.suppressor = suppressor if not isinstance(suppressor, str) else None
        self._out: Rechunker | None = None
        self._frame_samples = 0
        self._base: float | None = None
        self._sent = 0

    def _suppressor(self, rate: int) -> NoiseSuppressor:
        if self.suppressor is None:
            self.suppressor = create(self._name or "rnnoise", sample_rate=rate, **self._options)
        return self.suppressor

    @handles(InputAudioFrame)
    async def on_audio(self, frame: InputAudioFrame) -> None:
        suppressor = self._suppressor(frame.sample_rate)
        if frame.sample_rate != suppressor.sample_rate or frame.channels != 1:
            await self.push(frame)  # not ours to change (another rate or stereo): pass through
            return
        if self._out is None or frame.samples != self._frame_samples:
            self._out = Rechunker(frame.samples)
            self._frame_samples = frame.samples
        if self._base is None:
            self._base = frame.timestamp
        clean = await suppressor.process(np.frombuffer(frame.pcm, dtype=np.int16))
        for pcm in self._out.push(clean.astype(np.int16).tobytes()):
            ts = self._base + self._sent / frame.sample_rate
            self._sent += len(pcm) // 2
            await self.push(InputAudioFrame(pcm, frame.sample_rate, timestamp=ts))
