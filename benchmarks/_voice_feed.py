"""What every voice contender is fed and how it is measured (no framework imported here).

Each session is fed 20 ms PCM16 frames at 16 kHz in real time: ``TURNS`` turns of a spoken
question (espeak-ng speech, so Silero hears real speech) followed by silence. A contender reports,
per turn, the moment its VAD said the user stopped and the moment its first reply audio frame
reached the output; per frame, how late it was processed against its schedule. The VAD's backlog
is how late the VAD's stop came against when it was due (end of speech + ``stop_secs``): a VAD
that falls behind shows here even while frame lag looks fine.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path

RATE = 16_000
FRAME_MS = 20
FRAME_BYTES = RATE * FRAME_MS // 1000 * 2
STOP_SECS = 0.2
SILENCE_S = 1.2
TURNS = 3
PHRASE = "what is the weather in paris today"


def speech_pcm() -> bytes:
    """The question as 16 kHz PCM16 (espeak-ng at its own rate, resampled with soxr), cached."""
    cache = Path(tempfile.gettempdir()) / "beluga-bench-speech-16k-v2.pcm"
    if cache.exists():
        return cache.read_bytes()
    if shutil.which("espeak-ng") is None:
        raise SystemExit("the voice benchmark needs espeak-ng (apt-get install -y espeak-ng)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "q.wav"
        subprocess.run(["espeak-ng", "-w", str(path), PHRASE], check=True)
        with wave.open(str(path), "rb") as w:
            rate, raw = w.getframerate(), w.readframes(w.getnframes())
    import numpy as np
    import soxr

    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    loud = np.flatnonzero(np.abs(samples) > 0.02)  # speech only: espeak pads with silence
    samples = samples[loud[0] : loud[-1] + 1]
    pcm = (np.clip(soxr.resample(samples, rate, RATE), -1, 1) * 32767).astype("<i2").tobytes()
    pcm = pcm[: len(pcm) // FRAME_BYTES * FRAME_BYTES]
    cache.write_bytes(pcm)
    return pcm


@dataclass(slots=True)
class Schedule:
    """The frames of one session and when each turn's speech ends (seconds from the start)."""

    frames: list[bytes]
    speech_ends: list[float]


def schedule(turns: int = TURNS) -> Schedule:
    speech = speech_pcm()
    silence = b"\0" * (int(SILENCE_S * RATE) * 2 // FRAME_BYTES * FRAME_BYTES)
    frames: list[bytes] = []
    ends: list[float] = []
    lead = b"\0" * (FRAME_BYTES * 10)
    for chunk in (lead, *((speech + silence) for _ in range(turns))):
        if chunk is not lead:
            ends.append((len(frames) + len(speech) // FRAME_BYTES) * FRAME_MS / 1000)
        frames.extend(chunk[i : i + FRAME_BYTES] for i in range(0, len(chunk), FRAME_BYTES))
    return Schedule(frames, ends)


@dataclass(slots=True)
class SessionStats:
    """What one session saw; times are seconds on the contender's monotonic clock."""

    start: float = 0.0
    vad_stops: list[float] = field(default_factory=list)
    first_audio: list[float] = field(default_factory=list)
    frame_lag: list[float] = field(default_factory=list)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarize(
    name: str, stats: list[SessionStats], sched: Schedule, wall: float, cpu: float, rss0: float
) -> dict[str, object]:
    """Latency end of speech -> first audio, VAD backlog, frame lag, CPU and memory per session."""
    reply_ms: list[float] = []
    backlog_ms: list[float] = []
    missed = 0
    for s in stats:
        for i, due in enumerate(sched.speech_ends):
            if i >= len(s.vad_stops) or i >= len(s.first_audio):
                missed += 1
                continue
            reply_ms.append((s.first_audio[i] - s.vad_stops[i]) * 1000)
            backlog_ms.append((s.vad_stops[i] - s.start - due - STOP_SECS) * 1000)
    lag_ms = [x * 1000 for s in stats for x in s.frame_lag]
    sessions = len(stats)
    return {
        "contender": name,
        "sessions": sessions,
        "turns_missed": missed,
        "reply_ms_p50": pct(reply_ms, 0.5),
        "reply_ms_p99": pct(reply_ms, 0.99),
        "vad_backlog_ms_p50": pct(backlog_ms, 0.5),
        "vad_backlog_ms_max": max(backlog_ms, default=float("nan")),
        "frame_lag_ms_p50": pct(lag_ms, 0.5),
        "frame_lag_ms_p99": pct(lag_ms, 0.99),
        "cpu_pct_per_session": 100 * cpu / wall / sessions,
        "cpu_pct_total": 100 * cpu / wall,
        "rss_mb_per_session": (rss_mb() - rss0) / sessions,
        # Real time: every turn answered, the VAD at most 100 ms late, 99 % of frames < 40 ms late.
        "real_time": missed == 0 and max(backlog_ms, default=1e9) < 100 and pct(lag_ms, 0.99) < 40,
    }


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def emit(result: dict[str, object]) -> None:
    print(json.dumps(result), flush=True)


__all__ = [
    "FRAME_BYTES",
    "FRAME_MS",
    "RATE",
    "STOP_SECS",
    "Schedule",
    "SessionStats",
    "cpu_seconds",
    "emit",
    "rss_mb",
    "schedule",
    "summarize",
]
