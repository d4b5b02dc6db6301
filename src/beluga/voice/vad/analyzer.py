"""From transport frames to speech start/stop events: re-chunking, volume gate, state machine.

Transports deliver 20 ms frames; engines want their own windows (Silero 32 ms = 512 samples at
16 kHz, WebRTC 10/20/30 ms). :class:`Rechunker` buffers samples and hands out exact windows,
keeping the remainder, so no sample is lost or repeated. :class:`VADStateMachine` turns per-window
decisions into events with the QUIET -> STARTING -> SPEAKING -> STOPPING cycle; a window counts as
voiced when the engine's confidence reaches ``confidence`` *and* its RMS loudness reaches
``min_volume`` dBFS. Timestamps are stream time: the first frame's timestamp plus samples seen.
(This rechunker works on numpy arrays in a preallocated buffer, the VAD hot path;
``beluga.voice.audio`` has the bytes one for transports.)
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.audio import Resampler
from beluga.voice.vad.base import VADEngine, VADEvent, VADEventKind, VADParams, VADState

__all__ = ["Rechunker", "VADAnalyzer", "VADStateMachine", "volume_dbfs"]

_SILENCE_DB = -100.0


def volume_dbfs(samples: npt.NDArray[np.int16]) -> float:
    """RMS loudness of int16 samples in dBFS (0 = full scale; -100 for digital silence)."""
    if samples.size == 0:
        return _SILENCE_DB
    x = samples.astype(np.float32)
    rms = float(np.sqrt(np.dot(x, x) / x.size)) / 32768.0
    return max(_SILENCE_DB, 20.0 * math.log10(rms)) if rms > 0 else _SILENCE_DB


class Rechunker:
    """Cuts a stream of int16 chunks of any size into windows of exactly ``size`` samples."""

    __slots__ = ("_buf", "_fill", "size")

    def __init__(self, size: int) -> None:
        if size <= 0:
            raise BelugaError(
                "voice.vad.rechunk", ErrorCode.INVALID_REQUEST, f"window size must be > 0: {size}"
            )
        self.size = size
        self._buf = np.empty(size, dtype=np.int16)
        self._fill = 0

    @property
    def pending(self) -> int:
        """Samples buffered towards the next window."""
        return self._fill

    def push(self, samples: npt.NDArray[np.int16]) -> list[npt.NDArray[np.int16]]:
        """Add ``samples``; return every window now complete (copies, safe to keep)."""
        out: list[npt.NDArray[np.int16]] = []
        pos = 0
        n = samples.size
        while pos < n:
            take = min(self.size - self._fill, n - pos)
            self._buf[self._fill : self._fill + take] = samples[pos : pos + take]
            self._fill += take
            pos += take
            if self._fill == self.size:  # hand the full buffer over, start a fresh one
                out.append(self._buf)
                self._buf = np.empty(self.size, dtype=np.int16)
                self._fill = 0
        return out

    def clear(self) -> None:
        self._fill = 0


class VADStateMachine:
    """Per-window voiced/unvoiced decisions to start/stop events (engine-independent).

    Speech starts after ``ceil(start_secs / window_secs)`` voiced windows in a row (at least
    one) and stops after ``ceil(stop_secs / window_secs)`` unvoiced windows in a row; an event's
    timestamp is the start of the first window of that run (when speech really began/ended).
    """

    __slots__ = ("_count", "_run_start", "params", "start_windows", "state", "stop_windows")

    def __init__(self, params: VADParams, window_secs: float) -> None:
        self.params = params
        self.start_windows = _windows(params.start_secs, window_secs)
        self.stop_windows = _windows(params.stop_secs, window_secs)
        self.state = VADState.QUIET
        self._count = 0
        self._run_start = 0.0

    def voiced(self, confidence: float, volume: float) -> bool:
        """Whether a window with this confidence and loudness (dBFS) counts as speech."""
        return confidence >= self.params.confidence and volume >= self.params.min_volume

    def update(self, voiced: bool, timestamp: float) -> VADEvent | None:
        """Advance by one window starting at ``timestamp``; return the event it completes."""
        state = self.state
        if state is VADState.QUIET or state is VADState.STARTING:
            if not voiced:
                self.state = VADState.QUIET
                return None
            if state is VADState.QUIET:
                self._count, self._run_start = 0, timestamp
            self._count += 1
            if self._count >= self.start_windows:
                self.state = VADState.SPEAKING
                return VADEvent(VADEventKind.STARTED, self._run_start)
            self.state = VADState.STARTING
            return None
        if voiced:
            self.state = VADState.SPEAKING
            return None
        if state is VADState.SPEAKING:
            self._count, self._run_start = 0, timestamp
        self._count += 1
        if self._count >= self.stop_windows:
            self.state = VADState.QUIET
            return VADEvent(VADEventKind.STOPPED, self._run_start)
        self.state = VADState.STOPPING
        return None

    @property
    def speaking(self) -> bool:
        """True between a STARTED and its STOPPED."""
        return self.state is VADState.SPEAKING or self.state is VADState.STOPPING

    def reset(self) -> None:
        self.state = VADState.QUIET
        self._count = 0


def _windows(secs: float, window_secs: float) -> int:
    return max(1, math.ceil(secs / window_secs - 1e-9))


class VADAnalyzer:
    """One session's VAD: feed PCM16 of any frame size, get start/stop events.

    Input at another rate than the engine's is resampled (soxr, streaming, so chunk edges
    leave no clicks). ``last_confidence`` and ``last_volume`` expose the latest window's values
    for metering.
    """

    def __init__(
        self, engine: VADEngine, params: VADParams | None = None, *, sample_rate: int | None = None
    ) -> None:
        self.engine = engine
        self.params = params or VADParams()
        rate = engine.sample_rate
        self.machine = VADStateMachine(self.params, engine.window_samples / rate)
        self._chunker = Rechunker(engine.window_samples)
        self._input_rate = sample_rate or rate
        self._resampler = Resampler(self._input_rate, rate) if self._input_rate != rate else None
        self._base: float | None = None
        self._windows_done = 0
        self.last_confidence = 0.0
        self.last_volume = _SILENCE_DB

    @property
    def input_rate(self) -> int:
        """The sample rate ``feed`` expects."""
        return self._input_rate

    @property
    def window_secs(self) -> float:
        return self.engine.window_samples / self.engine.sample_rate

    async def feed(self, pcm: bytes, timestamp: float | None = None) -> list[VADEvent]:
        """Analyze one chunk of PCM16 mono; ``timestamp`` (first chunk) anchors stream time."""
        if self._base is None:
            self._base = timestamp if timestamp is not None else 0.0
        if self._resampler is not None:
            pcm = self._resampler.process(pcm)
        samples = np.frombuffer(pcm, dtype=np.int16)
        events: list[VADEvent] = []
        for window in self._chunker.push(samples):
            event = await self.analyze_window(window)
            if event is not None:
                events.append(event)
        return events

    async def analyze_window(self, window: npt.NDArray[np.int16]) -> VADEvent | None:
        """Run one engine window through the gate and the state machine."""
        t = (self._base or 0.0) + self._windows_done * self.window_secs
        self._windows_done += 1
        self.last_volume = volume = volume_dbfs(window)
        self.last_confidence = conf = await self.engine.confidence(window)
        return self.machine.update(self.machine.voiced(conf, volume), t)

    @property
    def speaking(self) -> bool:
        return self.machine.speaking

    def reset(self) -> None:
        """Start over (new stream): state machine, buffered samples, engine state, clock."""
        self.machine.reset()
        self._chunker.clear()
        self.engine.reset()
        self._base = None
        self._windows_done = 0
