"""WebRTC's GMM voice activity detector (``webrtcvad-wheels``): tiny, fast, no model file.

It answers voiced/unvoiced per 10, 20 or 30 ms frame at 8, 16, 32 or 48 kHz; we report 1.0 or
0.0 as the confidence so the shared analyzer applies the same start/stop delays and volume gate
as for Silero. ``aggressiveness`` 0-3 trades missed speech (3) for false alarms (0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.registry import require
from beluga.voice.vad.base import check_rate

__all__ = ["WebRTCVAD"]


class WebRTCVAD:
    """A session's WebRTC VAD engine."""

    def __init__(
        self, *, sample_rate: int = 16000, frame_ms: int = 30, aggressiveness: int = 2
    ) -> None:
        self._rate = check_rate("webrtc", sample_rate, (8000, 16000, 32000, 48000))
        if frame_ms not in (10, 20, 30):
            raise BelugaError(
                "voice.vad.webrtc",
                ErrorCode.INVALID_CONFIG,
                f"WebRTC VAD frames are 10, 20 or 30 ms, got {frame_ms}",
            )
        if aggressiveness not in (0, 1, 2, 3):
            raise BelugaError(
                "voice.vad.webrtc",
                ErrorCode.INVALID_CONFIG,
                f"aggressiveness is 0, 1, 2 or 3, got {aggressiveness}",
            )
        module: Any = require("webrtcvad", extra="voice")
        self._module = module
        self.aggressiveness = aggressiveness
        self._vad = module.Vad(aggressiveness)
        self._window = sample_rate * frame_ms // 1000

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def window_samples(self) -> int:
        return self._window

    def classify(self, window: npt.NDArray[np.int16]) -> float:
        """1.0 when WebRTC calls the frame speech, else 0.0."""
        return 1.0 if self._vad.is_speech(window.tobytes(), self._rate) else 0.0

    async def confidence(self, window: npt.NDArray[np.int16]) -> float:
        return self.classify(window)

    def reset(self) -> None:
        self._vad = self._module.Vad(self.aggressiveness)
