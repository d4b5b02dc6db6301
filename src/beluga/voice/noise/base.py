"""The noise-suppressor protocol: PCM16 in, cleaner PCM16 out, streaming.

A suppressor keeps its own state across calls and may hold a few milliseconds back (its frame
size, its resampler): the samples it returns are the oldest ones it has finished, so the output
stream equals the input stream delayed by ``latency_secs``. ``process`` is async because a
suppressor may run off the event loop.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = ["NoiseSuppressor"]


@runtime_checkable
class NoiseSuppressor(Protocol):
    """One session's noise suppressor (create one per session: it is stateful)."""

    @property
    def sample_rate(self) -> int:
        """The rate (Hz) of the audio given to and returned by ``process``."""
        ...

    async def process(self, samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        """Denoise a chunk; return the finished samples (possibly fewer or more than given)."""
        ...

    def reset(self) -> None:
        """Drop buffered audio and state (a new stream)."""
        ...
