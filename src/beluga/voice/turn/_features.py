"""Whisper's log-mel spectrogram in numpy (what the smart-turn model was trained on).

Whisper's front end: 16 kHz audio, 25 ms periodic-Hann frames (n_fft 400) every 10 ms (hop
160), centred with reflect padding, power spectrum, 80 Slaney-normalised triangular mel filters
on the Slaney mel scale from 0 to 8 kHz, log10 floored at 1e-10, clamped to 8 below the maximum,
then scaled as ``(x + 4) / 4``. The smart-turn processor also normalises the waveform to zero mean
and unit variance first. 8 s of audio give exactly 800 frames.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

__all__ = ["log_mel"]

RATE = 16000
N_FFT = 400
HOP = 160


def _hz_to_mel(f: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Slaney's scale: linear to 1 kHz (3 mels per 200 Hz), logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    mel = 3.0 * f / 200.0
    step = np.log(6.4) / 27.0
    high = f >= 1000.0
    mel[high] = 15.0 + np.log(f[high] / 1000.0) / step
    return mel


def _mel_to_hz(m: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    m = np.asarray(m, dtype=np.float64)
    f = 200.0 * m / 3.0
    step = np.log(6.4) / 27.0
    high = m >= 15.0
    f[high] = 1000.0 * np.exp(step * (m[high] - 15.0))
    return f


@lru_cache(maxsize=2)
def _filters(n_mels: int) -> npt.NDArray[np.float32]:
    """(n_mels, n_fft // 2 + 1) triangular filters, each normalised to unit area (Slaney)."""
    bins = np.linspace(0.0, RATE / 2, N_FFT // 2 + 1)
    edges = _mel_to_hz(
        np.linspace(_hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([8000.0]))[0], n_mels + 2)
    )
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rise = (bins[None, :] - lower) / (centre - lower)
    fall = (upper - bins[None, :]) / (upper - centre)
    tri = np.maximum(0.0, np.minimum(rise, fall))
    tri *= 2.0 / (upper - lower)
    return tri.astype(np.float32)


@lru_cache(maxsize=1)
def _window() -> npt.NDArray[np.float64]:
    n = np.arange(N_FFT)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / N_FFT)


def log_mel(
    audio: npt.NDArray[np.float32], *, n_mels: int = 80, normalize: bool = True
) -> npt.NDArray[np.float32]:
    """Features (n_mels, len(audio) // 160) of float audio in [-1, 1] at 16 kHz."""
    x = np.asarray(audio, dtype=np.float64)
    if normalize:
        x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    padded = np.pad(x, N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    spec = np.fft.rfft(frames * _window(), axis=1)
    power = (spec.real**2 + spec.imag**2)[:-1].T  # Whisper drops the last frame
    mel = _filters(n_mels).astype(np.float64) @ power
    logs = np.log10(np.maximum(mel, 1e-10))
    logs = np.maximum(logs, logs.max() - 8.0)
    out: npt.NDArray[np.float32] = ((logs + 4.0) / 4.0).astype(np.float32)
    return out
