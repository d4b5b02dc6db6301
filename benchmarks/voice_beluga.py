"""Beluga's side of the voice benchmark (run by ``benchmarks.voice``; one process per count).

``SESSIONS`` :class:`~beluga.voice.session.VoiceSession` s in one process, each the real
session pipeline — Silero VAD (batched across sessions) -> probe -> STT double -> user turn
(barge-in policy) -> responder double -> sentence aggregation -> TTS double -> output — fed by
``_voice_feed``'s real-time schedule, the same as Pipecat's side. The doubles answer at once:
what is measured is the framework. Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Sequence

from beluga.schema import Message, TextDelta
from beluga.voice.frames import (
    InputAudioFrame,
    OutputAudioFrame,
    TextFrame,
    TranscriptFrame,
    TTSAudioFrame,
    UserStoppedSpeakingFrame,
)
from beluga.voice.pipeline import FrameProcessor, handles
from beluga.voice.session import VoiceSession
from beluga.voice.vad import VADParams
from benchmarks import _voice_feed as feed

REPLY = ("It is sunny in Paris. ", "About twenty degrees.")


class Probe(FrameProcessor):
    """Right after the VAD: frame lag against the schedule."""

    order = 250

    def __init__(self, stats: feed.SessionStats) -> None:
        super().__init__(name="probe")
        self.rec, self.seen = stats, 0  # (``stats`` is the processor's own counters)

    @handles(InputAudioFrame)
    async def on_audio(self, frame: InputAudioFrame) -> None:
        due = self.rec.start + self.seen * feed.FRAME_MS / 1000
        self.rec.frame_lag.append(time.monotonic() - due)
        self.seen += 1
        await self.push(frame)


class STT(FrameProcessor):
    """Consumes the audio (as Pipecat's double does); on the VAD's stop, the final transcript
    at once."""

    order = 400

    def __init__(self, stats: feed.SessionStats) -> None:
        super().__init__(name="stt-double")
        self.rec = stats

    @handles(InputAudioFrame)
    async def on_audio(self, frame: InputAudioFrame) -> None:
        return

    @handles(UserStoppedSpeakingFrame)
    async def on_stop(self, frame: UserStoppedSpeakingFrame) -> None:
        self.rec.vad_stops.append(time.monotonic())
        await self.push(frame)
        await self.push(TranscriptFrame(feed.PHRASE))


class Responder:
    """A chat model that streams its reply at once."""

    async def stream(self, messages: Sequence[Message], /) -> AsyncIterator[TextDelta]:
        for piece in REPLY:
            yield TextDelta(piece)


class TTS(FrameProcessor):
    order = 700
    interruptible = True

    @handles(TextFrame)
    async def on_text(self, frame: TextFrame) -> None:
        await self.push(TTSAudioFrame(bytes(960), 24_000, text=frame.text))


async def session(sched: feed.Schedule, stats: feed.SessionStats, start: float) -> None:
    async def sink(frame: OutputAudioFrame) -> None:
        if len(stats.first_audio) < len(stats.vad_stops):
            stats.first_audio.append(time.monotonic())

    voice = VoiceSession(
        Responder(),
        vad="silero",
        vad_params=VADParams(stop_secs=feed.STOP_SECS),
        turn=None,
        stt=STT(stats),
        tts=TTS(),
        output=sink,
        processors=[Probe(stats)],
    )
    async with voice:
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        stats.start = time.monotonic()
        for i, pcm in enumerate(sched.frames):
            await asyncio.sleep(max(0.0, stats.start + i * feed.FRAME_MS / 1000 - time.monotonic()))
            await voice.push(InputAudioFrame(pcm, feed.RATE, timestamp=i * feed.FRAME_MS / 1000))
        await voice.end()


async def main(sessions: int) -> None:
    sched = feed.schedule()
    stats = [feed.SessionStats() for _ in range(sessions)]
    rss0 = feed.rss_mb()
    cpu0, wall0 = feed.cpu_seconds(), time.monotonic()
    # Sessions start spread over one frame period, as real calls do.
    begin = time.monotonic() + 1.0 + sessions * 0.01
    await asyncio.gather(
        *(session(sched, s, begin + (i % 20) * 0.001) for i, s in enumerate(stats))
    )
    wall, cpu = time.monotonic() - wall0, feed.cpu_seconds() - cpu0
    feed.emit(feed.summarize("beluga", stats, sched, wall, cpu, rss0))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1))
