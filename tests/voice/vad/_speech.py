"""Speech synthesized offline with espeak-ng (Debian package, scripts/apt-packages.txt)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

__all__ = ["needs_espeak", "speak"]

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (apt-get install espeak-ng)",
)


@lru_cache(maxsize=16)
def _speak(text: str, rate: int) -> bytes:
    import soxr

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "say.wav"
        subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
        with wave.open(str(path)) as w:
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
            src = w.getframerate()
    out: npt.NDArray[np.int16] = soxr.resample(pcm, src, rate)
    # espeak-ng ends every file with ~0.3 s of silence: trim it so the speech ends the array.
    blocks = out[: out.size // 160 * 160].reshape(-1, 160).astype(np.float64)
    loud = np.nonzero(np.sqrt((blocks**2).mean(axis=1)) > 300)[0]
    return out[: (int(loud[-1]) + 1) * 160].tobytes()


def speak(text: str, rate: int = 16000) -> npt.NDArray[np.int16]:
    """``text`` spoken by espeak-ng at ``rate`` Hz, int16 mono, trailing silence trimmed."""
    return np.frombuffer(_speak(text, rate), dtype=np.int16)
