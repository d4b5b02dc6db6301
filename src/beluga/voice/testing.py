"""Test doubles for voice: run one processor over frames, and scripted VAD/STT/TTS fakes.

The fakes are processors that emit the frames a real engine would, from a script, so sessions
can be tested without models: :class:`FakeVAD` turns marked input audio into speaking frames,
:class:`FakeSTT` answers each utterance with scripted transcripts, :class:`FakeTTS` turns each
text into audio frames with word timings. Scripted delays use ``asyncio.sleep`` (keep them
short; tests must assert on frames, never on elapsed time).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from beluga.voice.audio import samples_for
from beluga.voice.frames import (
    EndFrame,
    Frame,
    InputAudioFrame,
    TextFrame,
    TranscriptFrame,
    TTSAudioFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    WordTiming,
)
from beluga.voice.pipeline import FrameProcessor, Pipeline, handles

__all__ = [
    "FakeSTT",
    "FakeTTS",
    "FakeVAD",
    "SpeechScript",
    "run_processor",
    "silence",
    "speech",
]

_LOUD = b"\xff\x3f"  # PCM16 sample 16383: what FakeVAD calls speech


async def run_processor(
    processor: FrameProcessor,
    frames_in: Iterable[Frame],
    *,
    upstream_in: Iterable[Frame] = (),
    queue_size: int = 64,
) -> tuple[list[Frame], list[Frame]]:
    """Run ``processor`` alone over ``frames_in`` then an ``EndFrame``; return (down, up).

    ``upstream_in`` frames arrive from below, as if a later processor pushed them back. The
    closing ``EndFrame`` is not included in the result.
    """
    down: list[Frame] = []
    up: list[Frame] = []

    async def collect_down(frame: Frame) -> None:
        if not isinstance(frame, EndFrame):
            down.append(frame)

    async def collect_up(frame: Frame) -> None:
        up.append(frame)

    feeder = _UpstreamFeeder(tuple(upstream_in))
    processors: list[FrameProcessor] = [processor]
    if feeder.frames:
        feeder.order = processor.order + 1  # type: ignore[misc]
        processors.append(feeder)
    pipeline = Pipeline(
        processors, queue_size=queue_size, downstream=collect_down, upstream=collect_up
    )
    runner = asyncio.create_task(pipeline.run())
    try:
        for frame in frames_in:
            await pipeline.push(frame)
        await pipeline.end()
        await runner
    finally:
        if not runner.done():
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
    return down, up


class _UpstreamFeeder(FrameProcessor):
    """Sends its frames upstream when it starts (for :func:`run_processor`'s ``upstream_in``)."""

    def __init__(self, frames: tuple[Frame, ...]) -> None:
        super().__init__(name="upstream-feeder")
        self.frames = frames
        self._sent = False

    @handles(Frame)
    async def on_frame(self, frame: Frame) -> None:
        if not self._sent:
            self._sent = True
            for item in self.frames:
                await self.push_upstream(item)
        await self.push(frame)


def speech(
    seconds: float, *, sample_rate: int = 16000, frame_ms: int = 20
) -> list[InputAudioFrame]:
    """Input frames FakeVAD hears as speech (a constant loud signal)."""
    return _frames(_LOUD, seconds, sample_rate, frame_ms)


def silence(
    seconds: float, *, sample_rate: int = 16000, frame_ms: int = 20
) -> list[InputAudioFrame]:
    """Input frames FakeVAD hears as silence."""
    return _frames(b"\x00\x00", seconds, sample_rate, frame_ms)


def _frames(sample: bytes, seconds: float, rate: int, frame_ms: int) -> list[InputAudioFrame]:
    per = samples_for(rate, frame_ms / 1000)
    count = max(1, round(seconds * 1000 / frame_ms))
    return [
        InputAudioFrame(sample * per, rate, timestamp=i * frame_ms / 1000) for i in range(count)
    ]


class FakeVAD(FrameProcessor):
    """Speech starts at the first loud frame and stops after ``stop_frames`` silent ones.

    Forwards the audio, and pushes ``UserStartedSpeakingFrame``/``UserStoppedSpeakingFrame``
    where a real VAD would.
    """

    order = 200

    def __init__(self, *, stop_frames: int = 3) -> None:
        super().__init__(name="fake-vad")
        self.stop_frames = stop_frames
        self.speaking = False
        self._quiet = 0

    async def on_end(self) -> None:
        """The input ended: so did the speech."""
        if self.speaking:
            self.speaking = False
            await self.push(UserStoppedSpeakingFrame())

    @handles(InputAudioFrame)
    async def on_audio(self, frame: InputAudioFrame) -> None:
        loud = _LOUD in frame.pcm[:2]
        await self.push(frame)
        if loud:
            self._quiet = 0
            if not self.speaking:
                self.speaking = True
                await self.push(UserStartedSpeakingFrame())
        elif self.speaking:
            self._quiet += 1
            if self._quiet >= self.stop_frames:
                self.speaking = False
                await self.push(UserStoppedSpeakingFrame())


@dataclass(slots=True, frozen=True)
class SpeechScript:
    """What FakeSTT hears in one utterance: partial texts while speaking, then the final one.

    ``partials`` go out one per ``partial_every`` speech frames; ``final`` (``None``: nothing
    recognised, as for a cough) goes out ``delay`` seconds after the user stops speaking.
    """

    final: str | None
    partials: tuple[str, ...] = ()
    partial_every: int = 5
    delay: float = 0.0


class FakeSTT(FrameProcessor):
    """Answers utterance *n* (start to stop of speaking) with ``scripts[n]``."""

    order = 400

    def __init__(self, scripts: Sequence[SpeechScript | str]) -> None:
        super().__init__(name="fake-stt")
        self.scripts = [s if isinstance(s, SpeechScript) else SpeechScript(s) for s in scripts]
        self.utterance = -1
        self._speaking = False
        self._frames = 0
        self._partials = 0

    def _script(self) -> SpeechScript | None:
        if 0 <= self.utterance < len(self.scripts):
            return self.scripts[self.utterance]
        return None

    @handles(UserStartedSpeakingFrame)
    async def on_start(self, frame: UserStartedSpeakingFrame) -> None:
        self.utterance += 1
        self._speaking = True
        self._frames = 0
        self._partials = 0
        await self.push(frame)

    @handles(InputAudioFrame)
    async def on_audio(self, frame: InputAudioFrame) -> None:
        script = self._script()
        if self._speaking and script is not None:
            self._frames += 1
            due = self._frames // script.partial_every
            if due > self._partials and self._partials < len(script.partials):
                self._partials += 1
                await self.push(TranscriptFrame(script.partials[self._partials - 1], final=False))
        await self.push(frame)

    @handles(UserStoppedSpeakingFrame)
    async def on_stop(self, frame: UserStoppedSpeakingFrame) -> None:
        self._speaking = False
        await self.push(frame)
        script = self._script()
        if script is not None and script.final is not None:
            if script.delay:
                await asyncio.sleep(script.delay)
            await self.push(TranscriptFrame(script.final, final=True))


class FakeTTS(FrameProcessor):
    """Speaks each :class:`TextFrame` as ``frames_per_word`` audio frames a word, with timings.

    Each frame carries the words it covers (timings relative to the frame's start) and its text,
    so an output processor can tell what was actually played. ``first_audio_delay`` delays the
    first frame of each text (scripted engine latency).
    """

    order = 700
    interruptible = True

    def __init__(
        self,
        *,
        sample_rate: int = 16000,
        frame_ms: int = 20,
        frames_per_word: int = 2,
        first_audio_delay: float = 0.0,
    ) -> None:
        super().__init__(name="fake-tts")
        self.sample_rate = sample_rate
        self.frame_ms = frame_ms
        self.frames_per_word = frames_per_word
        self.first_audio_delay = first_audio_delay
        self.spoken: list[str] = []

    @handles(TextFrame)
    async def on_text(self, frame: TextFrame) -> None:
        words = frame.text.split()
        if not words:
            return
        if self.first_audio_delay:
            await asyncio.sleep(self.first_audio_delay)
        self.spoken.append(frame.text)
        per = samples_for(self.sample_rate, self.frame_ms / 1000)
        step = self.frame_ms / 1000
        for word in words:
            for part in range(self.frames_per_word):
                timing = (WordTiming(word, 0.0, step),) if part == 0 else ()
                await self.push(
                    TTSAudioFrame(
                        b"\x01\x00" * per,
                        self.sample_rate,
                        text=word if part == 0 else "",
                        words=timing,
                    )
                )
