"""End of turn after a fixed pause: the simplest detector, and the fallback of the model one."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.turn.base import TurnPrediction

__all__ = ["SilenceTurnDetector"]


class SilenceTurnDetector:
    """The turn ends once the user has been silent for ``stop_secs``."""

    def __init__(self, *, stop_secs: float = 0.8, sample_rate: int = 16000) -> None:
        if stop_secs < 0:
            raise BelugaError(
                "voice.turn.silence",
                ErrorCode.INVALID_CONFIG,
                f"stop_secs must be >= 0, got {stop_secs}",
            )
        self.stop_secs = stop_secs
        self._rate = sample_rate

    @property
    def sample_rate(self) -> int:
        return self._rate

    async def predict(self, audio: npt.NDArray[np.int16], *, silence_secs: float) -> TurnPrediction:
        done = silence_secs >= self.stop_secs
        return TurnPrediction(done, 1.0 if done else 0.0, None if done else self.stop_secs)
