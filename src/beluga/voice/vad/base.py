"""The VAD engine protocol and the types every engine shares.

An engine only turns one fixed-size window of 16-bit mono samples into a speech confidence in
[0, 1]; everything that decides *when* the user starts or stops speaking (start/stop delays,
volume gate, re-chunking of transport frames into windows) lives once in
:mod:`beluga.voice.vad.analyzer`, so Silero, WebRTC and energy VADs behave alike with the same
parameters. ``confidence`` is async because a model engine may run off the event loop (a thread
or a cross-session batcher); cheap engines answer at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from beluga.core.errors import BelugaError, ErrorCode

__all__ = ["VADEngine", "VADEvent", "VADEventKind", "VADParams", "VADState", "check_rate"]


@runtime_checkable
class VADEngine(Protocol):
    """One session's speech detector over fixed windows of ``window_samples`` samples.

    An engine holds that session's recurrent state (if any); create one per session.
    """

    @property
    def sample_rate(self) -> int:
        """The rate (Hz) the engine's windows are sampled at."""
        ...

    @property
    def window_samples(self) -> int:
        """New samples per window (Silero 512 at 16 kHz, WebRTC 10/20/30 ms)."""
        ...

    async def confidence(self, window: npt.NDArray[np.int16]) -> float:
        """Speech confidence in [0, 1] of exactly ``window_samples`` int16 samples."""
        ...

    def reset(self) -> None:
        """Forget the recurrent state (a new utterance stream, e.g. after a reconnect)."""
        ...


class VADState(StrEnum):
    """Where the analyzer's state machine is."""

    QUIET = "quiet"
    STARTING = "starting"
    SPEAKING = "speaking"
    STOPPING = "stopping"


class VADEventKind(StrEnum):
    """What the analyzer reports."""

    STARTED = "started"
    STOPPED = "stopped"


@dataclass(slots=True, frozen=True)
class VADEvent:
    """Speech started or stopped; ``timestamp`` is when (stream seconds) the speech began/ended."""

    kind: VADEventKind
    timestamp: float


@dataclass(slots=True, frozen=True)
class VADParams:
    """The analyzer's knobs, the same for every engine.

    ``start_secs``: voiced audio must last this long before speech starts (filters clicks);
    ``stop_secs``: silence must last this long before speech stops (pauses between words);
    ``confidence``: a window is voiced when the engine's confidence reaches this;
    ``min_volume``: ... and its loudness (dBFS, RMS) reaches this (a quiet far-field voice or the
    bot's echo stays unvoiced).
    """

    start_secs: float = 0.2
    stop_secs: float = 0.2
    confidence: float = 0.7
    min_volume: float = -50.0

    def __post_init__(self) -> None:
        if self.start_secs < 0 or self.stop_secs < 0:
            raise BelugaError(
                "voice.vad.params",
                ErrorCode.INVALID_CONFIG,
                f"start_secs ({self.start_secs}) and stop_secs ({self.stop_secs}) must be >= 0",
            )
        if not 0.0 <= self.confidence <= 1.0:
            raise BelugaError(
                "voice.vad.params",
                ErrorCode.INVALID_CONFIG,
                f"confidence must be in [0, 1], got {self.confidence}",
            )
        if self.min_volume > 0:
            raise BelugaError(
                "voice.vad.params",
                ErrorCode.INVALID_CONFIG,
                f"min_volume is in dBFS and must be <= 0, got {self.min_volume}",
            )


def check_rate(engine: str, sample_rate: int, supported: tuple[int, ...]) -> int:
    """Fail clearly when ``sample_rate`` is not one ``engine`` runs at."""
    if sample_rate not in supported:
        raise BelugaError(
            f"voice.vad.{engine}",
            ErrorCode.INVALID_CONFIG,
            f"{engine} VAD runs at {', '.join(map(str, supported))} Hz, not {sample_rate}: "
            "resample the input (beluga.voice.audio) or pick a supported rate",
        )
    return sample_rate
