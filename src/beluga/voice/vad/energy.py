"""An energy VAD: loudness alone, for tests, quiet rooms and as the cheapest fallback.

The confidence ramps linearly from 0 at ``floor_db`` to 1 at ``ceiling_db`` (RMS dBFS), so
with the analyzer's default threshold of 0.7 a window is voiced from about -35 dBFS. It cannot
tell speech from other loud sound; use Silero where that matters.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.vad.analyzer import volume_dbfs

__all__ = ["EnergyVAD"]


class EnergyVAD:
    """A loudness-only VAD engine with windows of ``window_ms``."""

    def __init__(
        self,
        *,
        sample_rate: int = 16000,
        window_ms: int = 20,
        floor_db: float = -60.0,
        ceiling_db: float = -25.0,
    ) -> None:
        if sample_rate <= 0 or window_ms <= 0 or ceiling_db <= floor_db:
            raise BelugaError(
                "voice.vad.energy",
                ErrorCode.INVALID_CONFIG,
                f"need sample_rate > 0, window_ms > 0 and ceiling_db > floor_db; got "
                f"{sample_rate}, {window_ms}, {ceiling_db} <= {floor_db}",
            )
        self._rate = sample_rate
        self._window = sample_rate * window_ms // 1000
        self.floor_db = floor_db
        self.ceiling_db = ceiling_db

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def window_samples(self) -> int:
        return self._window

    def classify(self, window: npt.NDArray[np.int16]) -> float:
        """Confidence from loudness, clipped to [0, 1]."""
        db = volume_dbfs(window)
        return min(1.0, max(0.0, (db - self.floor_db) / (self.ceiling_db - self.floor_db)))

    async def confidence(self, window: npt.NDArray[np.int16]) -> float:
        return self.classify(window)

    def reset(self) -> None:
        """Stateless: nothing to forget."""
