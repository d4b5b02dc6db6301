"""Pipecat's side of the voice benchmark (run in .venv-bench by ``benchmarks.voice``).

``SESSIONS`` Pipecat pipelines in one process, each ``VADProcessor(SileroVADAnalyzer)`` -> STT
double -> LLM double -> TTS double -> sink, bare ``FrameProcessor`` doubles (Pipecat's fastest
form, as in ../shared/PEERS.md), fed by ``_voice_feed``'s real-time schedule. Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import sys
import time

from loguru import logger
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from benchmarks import _voice_feed as feed

REPLY = ("It is sunny in Paris. ", "About twenty degrees.")


class Probe(FrameProcessor):
    """Right after the VAD: frame lag against the schedule."""

    def __init__(self, stats: feed.SessionStats) -> None:
        super().__init__()
        self.stats, self.seen = stats, 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            due = self.stats.start + self.seen * feed.FRAME_MS / 1000
            self.stats.frame_lag.append(time.monotonic() - due)
            self.seen += 1
        await self.push_frame(frame, direction)


class STT(FrameProcessor):
    """Consumes the audio; on the VAD's stop, the final transcript at once."""

    def __init__(self, stats: feed.SessionStats) -> None:
        super().__init__()
        self.stats = stats

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            return
        await self.push_frame(frame, direction)
        downstream = direction is FrameDirection.DOWNSTREAM
        if isinstance(frame, VADUserStoppedSpeakingFrame) and downstream:
            self.stats.vad_stops.append(time.monotonic())
            await self.push_frame(TranscriptionFrame(feed.PHRASE, "user", ""))


class LLM(FrameProcessor):
    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame):
            await self.push_frame(LLMFullResponseStartFrame())
            for piece in REPLY:
                await self.push_frame(LLMTextFrame(piece))
            await self.push_frame(LLMFullResponseEndFrame())


class TTS(FrameProcessor):
    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMTextFrame):
            await self.push_frame(TTSAudioRawFrame(bytes(960), 24_000, 1))
            return
        await self.push_frame(frame, direction)


class Sink(FrameProcessor):
    def __init__(self, stats: feed.SessionStats) -> None:
        super().__init__()
        self.stats = stats

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        s = self.stats
        if isinstance(frame, TTSAudioRawFrame) and len(s.first_audio) < len(s.vad_stops):
            s.first_audio.append(time.monotonic())
        await self.push_frame(frame, direction)


async def session(sched: feed.Schedule, stats: feed.SessionStats, start: float) -> None:
    vad = VADProcessor(vad_analyzer=SileroVADAnalyzer(params=VADParams(stop_secs=feed.STOP_SECS)))
    pipeline = Pipeline([vad, Probe(stats), STT(stats), LLM(), TTS(), Sink(stats)])
    task = PipelineWorker(
        pipeline,
        params=PipelineParams(audio_in_sample_rate=feed.RATE),
        idle_timeout_secs=None,
        check_dangling_tasks=False,
    )
    runner = WorkerRunner(handle_sigint=False, check_dangling_tasks=False)
    await runner.add_workers(task)
    running = asyncio.create_task(runner.run())
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    stats.start = time.monotonic()
    for i, pcm in enumerate(sched.frames):
        await asyncio.sleep(max(0.0, stats.start + i * feed.FRAME_MS / 1000 - time.monotonic()))
        await task.queue_frame(InputAudioRawFrame(pcm, feed.RATE, 1))
    await task.queue_frame(EndFrame())
    await running


async def main(sessions: int) -> None:
    logger.remove()
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
    feed.emit(feed.summarize("pipecat", stats, sched, wall, cpu, rss0))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1))
