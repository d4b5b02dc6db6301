"""The turn-detector protocol: given the user's speech so far, has the user finished?

The VAD says when sound stops; a turn detector says whether the *turn* is over (a pause
mid-sentence is not). It sees the turn's audio (16 kHz int16, from the turn's first speech) and
how long the user has been silent, and answers with a probability and a decision. The silence
detector answers from the pause alone; smart-turn runs a model on the last 8 s of audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = ["TurnDetector", "TurnPrediction"]


@dataclass(slots=True, frozen=True)
class TurnPrediction:
    """``complete``: end the turn now; ``probability``: P(complete) behind that decision.

    ``recheck_at``: when not complete, ask again once the silence reaches this many seconds
    (``None``: only when the user speaks and pauses again).
    """

    complete: bool
    probability: float
    recheck_at: float | None = None


@runtime_checkable
class TurnDetector(Protocol):
    """Decides the end of a user's turn."""

    @property
    def sample_rate(self) -> int:
        """The rate (Hz) ``predict`` expects its audio at."""
        ...

    async def predict(self, audio: npt.NDArray[np.int16], *, silence_secs: float) -> TurnPrediction:
        """Whether the turn in ``audio`` is over, ``silence_secs`` after the user went quiet."""
        ...
