"""RNNoise (Xiph's recurrent denoiser, BSD) through ``pyrnnoise``'s bundled ``librnnoise``.

RNNoise works on 480-sample frames at 48 kHz. Other rates are resampled in and out with soxr
streams of ``quality`` "LQ" (enough for speech; latency at 16 kHz ~40 ms in all, against
~75 ms with "HQ", whose steep filters delay more); a :class:`~beluga.voice.vad.Rechunker`
cuts the 48 kHz stream into exact frames. Each 10 ms frame costs ~0.1-1.4 ms of CPU (the call
releases the GIL), so by default a chunk is processed in a worker thread
(``offload=False`` runs it inline, for scripts and tests).
We use the low-level ``pyrnnoise.rnnoise`` functions only; its file helpers are not needed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import numpy.typing as npt

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.registry import require
from beluga.voice.vad.analyzer import Rechunker

__all__ = ["RNNoiseSuppressor"]

_RATE = 48000
_FRAME = 480


class RNNoiseSuppressor:
    """A session's RNNoise denoiser at ``sample_rate`` (resampling to 48 kHz as needed)."""

    def __init__(
        self, *, sample_rate: int = 16000, offload: bool = True, quality: str = "LQ"
    ) -> None:
        if sample_rate <= 0:
            raise BelugaError(
                "voice.noise.rnnoise",
                ErrorCode.INVALID_CONFIG,
                f"sample_rate must be > 0, got {sample_rate}",
            )
        self._lib: Any = require("pyrnnoise.rnnoise", extra="voice")
        self._rate = sample_rate
        self.offload = offload
        self.quality = quality
        self._state: Any = None
        self._chunker = Rechunker(_FRAME)
        self._up: Any = None
        self._down: Any = None
        self.speech_probability = 0.0
        self.reset()

    @property
    def sample_rate(self) -> int:
        return self._rate

    def process_sync(self, samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        """Denoise a chunk inline; returns the samples finished so far."""
        x = samples if self._up is None else self._up.resample_chunk(samples)
        frames = self._chunker.push(np.asarray(x, dtype=np.int16))
        if not frames:
            return np.zeros(0, dtype=np.int16)
        out = np.empty(len(frames) * _FRAME, dtype=np.int16)
        for i, frame in enumerate(frames):
            clean, prob = self._lib.process_mono_frame(self._state, frame)
            out[i * _FRAME : (i + 1) * _FRAME] = clean
            self.speech_probability = float(np.asarray(prob).reshape(-1)[0])
        if self._down is None:
            return out
        result: npt.NDArray[np.int16] = self._down.resample_chunk(out)
        return result

    async def process(self, samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        if self.offload:
            return await asyncio.to_thread(self.process_sync, samples)
        return self.process_sync(samples)

    def reset(self) -> None:
        if self._state is not None:
            self._lib.destroy(self._state)
        self._state = self._lib.create()
        self._chunker.clear()
        if self._rate != _RATE:
            soxr: Any = require("soxr", extra="voice")
            self._up = soxr.ResampleStream(
                self._rate, _RATE, 1, dtype="int16", quality=self.quality
            )
            self._down = soxr.ResampleStream(
                _RATE, self._rate, 1, dtype="int16", quality=self.quality
            )

    def __del__(self) -> None:
        if getattr(self, "_state", None) is not None:
            self._lib.destroy(self._state)
            self._state = None
