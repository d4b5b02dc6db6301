"""The VAD step of a voice pipeline: input audio in, audio plus speaking frames out.

Every :class:`~beluga.voice.frames.InputAudioFrame` is forwarded unchanged, then analysed; a
start or stop of speech pushes :class:`UserStartedSpeakingFrame` / :class:`UserStoppedSpeakingFrame`
(urgent frames, so they overtake queued audio). The analyzer is created on the first frame, at
that frame's sample rate (resampled to the engine's rate if they differ), and again if the
input changes rate.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

from beluga.voice.frames import InputAudioFrame, UserStartedSpeakingFrame, UserStoppedSpeakingFrame
from beluga.voice.pipeline import FrameProcessor, handles
from beluga.voice.vad.analyzer import VADAnalyzer
from beluga.voice.vad.base import VADEngine, VADEvent, VADEventKind, VADParams
from beluga.voice.vad.registry import create

__all__ = ["VADProcessor"]


class VADProcessor(FrameProcessor):
    """Detects the user's speech with ``engine`` (an engine, or a registered name + options)."""

    order = 200

    def __init__(
        self,
        engine: VADEngine | str = "silero",
        *,
        params: VADParams | None = None,
        name: str | None = None,
        **engine_options: Any,
    ) -> None:
        super().__init__(name=name)
        self.engine = create(engine, **engine_options) if isinstance(engine, str) else engine
        self.params = params or VADParams()
        self.analyzer: VADAnalyzer | None = None
        self.events: list[VADEvent] = []

    @property
    def speaking(self) -> bool:
        """Whether the user is speaking now (between a start and its stop)."""
        return self.analyzer is not None and self.analyzer.speaking

    async def on_end(self) -> None:
        """The input ended while the user spoke: that ends the speech too."""
        if self.analyzer is not None and self.analyzer.speaking:
            await self.push(UserStoppedSpeakingFrame(vad_stop=perf_counter()))

    @handles(InputAudioFrame)
    async def on_audio(self, frame: InputAudioFrame) -> None:
        await self.push(frame)
        if self.analyzer is None or self.analyzer.input_rate != frame.sample_rate:
            if self.analyzer is not None:  # the input changed rate: a new stream
                self.engine.reset()
            self.analyzer = VADAnalyzer(self.engine, self.params, sample_rate=frame.sample_rate)
        for event in await self.analyzer.feed(frame.pcm, frame.timestamp):
            self.events.append(event)
            if event.kind is VADEventKind.STARTED:
                await self.push(UserStartedSpeakingFrame())
            else:
                await self.push(UserStoppedSpeakingFrame(vad_stop=perf_counter()))
