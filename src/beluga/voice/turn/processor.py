"""The turn step: turns the VAD's start/stop of sound into the start/end of the user's turn.

Sits after the VAD. The first ``UserStartedSpeakingFrame`` of a turn goes on; the VAD's
``UserStoppedSpeakingFrame`` is held: the detector is asked whether the turn is over, and only
then does a ``UserStoppedSpeakingFrame`` go on. If the user speaks again before that, the pause
was mid-turn and the repeated start is swallowed. If the detector says "not yet", it names the
silence at which to ask again; silence is counted from the audio frames' durations, so the
decision follows the stream's clock, not the wall clock. The turn's audio (the last 8 s, 16 kHz)
is what the detector sees. Model detectors run off the loop (``predict`` is awaited here, so
audio waits behind a ~100 ms smart-turn call only at a pause).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from beluga.voice.audio import Resampler
from beluga.voice.frames import InputAudioFrame, UserStartedSpeakingFrame, UserStoppedSpeakingFrame
from beluga.voice.pipeline import FrameProcessor, handles
from beluga.voice.turn.base import TurnDetector, TurnPrediction
from beluga.voice.turn.registry import create

__all__ = ["TurnProcessor"]

_KEEP_SECS = 8.0


class TurnProcessor(FrameProcessor):
    """Ends the user's turn when ``detector`` (a detector, or a registered name) says so."""

    order = 300

    def __init__(
        self, detector: TurnDetector | str = "silence", *, name: str | None = None, **options: Any
    ) -> None:
        super().__init__(name=name)
        self.detector = create(detector, **options) if isinstance(detector, str) else detector
        self.in_turn = False
        self.speaking = False
        self.silence = 0.0
        self.predictions: list[TurnPrediction] = []
        self._recheck: float | None = None
        self._chunks: list[npt.NDArray[np.int16]] = []
        self._kept = 0
        self._resampler: Resampler | None = None
        self._rate = 0
        self._asking = False
        self._vad_stop: float | None = None

    def turn_audio(self) -> npt.NDArray[np.int16]:
        """The current turn's audio at the detector's rate (its last 8 s)."""
        if not self._chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self._chunks)

    @handles(UserStartedSpeakingFrame)
    async def on_started(self, frame: UserStartedSpeakingFrame) -> None:
        self.speaking = True
        self._recheck = None
        if not self.in_turn:
            self.in_turn = True
            await self.push(frame)

    @handles(UserStoppedSpeakingFrame)
    async def on_stopped(self, frame: UserStoppedSpeakingFrame) -> None:
        if not self.in_turn:
            return
        self.speaking = False
        self.silence = 0.0
        self._vad_stop = frame.vad_stop
        await self._ask()

    @handles(InputAudioFrame)
    async def on_audio(self, frame: InputAudioFrame) -> None:
        await self.push(frame)
        if not self.in_turn:
            return
        self._keep(frame)
        if self.speaking:
            return
        self.silence += frame.duration
        if self._recheck is not None and self.silence >= self._recheck - 1e-9:
            await self._ask()

    async def _ask(self) -> None:
        # The speaking frames come on the urgent lane, concurrently with audio: one question
        # at a time, and an answer that arrives after the user spoke again is stale.
        if self._asking:
            return
        self._asking = True
        try:
            prediction = await self.detector.predict(self.turn_audio(), silence_secs=self.silence)
        finally:
            self._asking = False
        self.predictions.append(prediction)
        if self.speaking or not self.in_turn:
            return
        if prediction.complete:
            self._end_turn()
            await self.push(UserStoppedSpeakingFrame(vad_stop=self._vad_stop))
        else:
            self._recheck = prediction.recheck_at

    def _end_turn(self) -> None:
        self.in_turn = False
        self.speaking = False
        self._recheck = None
        self._chunks.clear()
        self._kept = 0

    def _keep(self, frame: InputAudioFrame) -> None:
        rate = self.detector.sample_rate
        if frame.sample_rate != self._rate:
            self._rate = frame.sample_rate
            self._resampler = (
                Resampler(frame.sample_rate, rate) if frame.sample_rate != rate else None
            )
        pcm = frame.pcm if self._resampler is None else self._resampler.process(frame.pcm)
        chunk = np.frombuffer(pcm, dtype=np.int16)
        self._chunks.append(chunk)
        self._kept += chunk.size
        limit = int(_KEEP_SECS * rate)
        while self._chunks and self._kept - self._chunks[0].size >= limit:
            self._kept -= self._chunks.pop(0).size

    async def on_end(self) -> None:
        """The input ended: a turn still open ends with it (its words are answered)."""
        if self.in_turn:
            self._end_turn()
            await self.push(UserStoppedSpeakingFrame(vad_stop=self._vad_stop))
