"""The output step: plays the bot's audio and keeps track of what the user actually heard.

Audio frames leave the pipeline here (the pipeline's downstream sink is the transport), cut into
``frame_ms`` transport frames: an engine that yields a whole sentence as one frame can still be
cut off within one frame on barge-in. A transport frame counts as played once the sink took it
and, with ``realtime`` pacing, once its duration has elapsed. The words of a
:class:`TTSAudioFrame` are credited as its audio plays: by their timings when the engine gave
them (relative to the frame when they fit in it, else to the frame's first word), else in
proportion to the share of the frame's audio played. When the user-turn step decides a
barge-in it keeps the credited words as the assistant message (the conversation says what was
heard, not what the LLM wrote) and mutes the output, which drops every audio frame from then
until the interruption reaches it.
Pause/resume frames hold the audio during a possible barge-in and let it go on after a false
one.
"""

from __future__ import annotations

import asyncio
import math

from beluga.voice.audio import samples_for
from beluga.voice.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    LLMReplyEndFrame,
    LLMReplyStartFrame,
    OutputAudioFrame,
    PauseOutputFrame,
    ResumeOutputFrame,
    TTSAudioFrame,
)
from beluga.voice.pipeline import FrameProcessor, handles
from beluga.voice.processors.state import SessionState

__all__ = ["OutputProcessor"]


class OutputProcessor(FrameProcessor):
    """Sends reply audio out (paced in real time if asked) and credits what was played."""

    order = 800
    interruptible = True

    def __init__(self, state: SessionState, *, realtime: bool = False, frame_ms: int = 20) -> None:
        super().__init__(name="output")
        self.state = state
        self.realtime = realtime
        self.frame_ms = frame_ms
        self.played_frames = 0
        self.dropped_frames = 0
        self.played_seconds = 0.0
        self._last_text = ""
        self._playing = asyncio.Event()
        self._playing.set()
        self._clock = 0.0
        self._speaking = False

    @property
    def paused(self) -> bool:
        """Whether the audio is held (a possible barge-in is being judged)."""
        return not self._playing.is_set()

    @handles(LLMReplyStartFrame)
    async def on_reply_start(self, frame: LLMReplyStartFrame) -> None:
        self._last_text = ""
        await self.push(frame)

    @handles(OutputAudioFrame)
    async def on_audio(self, frame: OutputAudioFrame) -> None:
        turn = self.state.turn
        if turn is not None:
            turn.stamp("tts_first_audio")
        pieces = _cut(frame, self.frame_ms)
        credits = None
        if isinstance(frame, TTSAudioFrame) and (frame.words or frame.text != self._last_text):
            credits = _credits(frame, len(pieces))  # a text split over frames counts once
        if not pieces:  # timings that came after their audio (an empty frame carries them)
            if credits and not self.state.muted:
                self.state.played.extend(credits[0])
            return
        for index, pcm in enumerate(pieces):
            if not self._playing.is_set():
                await self._playing.wait()
            if self.state.muted:  # barge-in decided; the interruption is on its way here
                self.dropped_frames += len(pieces) - index
                return
            if not self._speaking:
                self._speaking = True
                self.state.bot_speaking = True
                await self.push_upstream(BotStartedSpeakingFrame())
            out = OutputAudioFrame(pcm, frame.sample_rate, frame.channels)
            await self.push(out)  # into the transport
            if turn is not None:
                turn.stamp("first_audio_out")
            if self.realtime:
                await self._pace(out.duration)
            self.played_frames += 1
            self.played_seconds += out.duration
            if credits is not None and credits[index]:
                self.state.played.extend(credits[index])
        if isinstance(frame, TTSAudioFrame) and frame.text and not frame.words:
            self._last_text = frame.text

    async def _pace(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._clock = max(self._clock, now) + seconds
        await asyncio.sleep(self._clock - now)

    @handles(LLMReplyEndFrame)
    async def on_reply_end(self, frame: LLMReplyEndFrame) -> None:
        if self.state.reply_active and not self.state.muted:
            await self._stop_speaking()
            await self.state.finish_reply(frame.text, interrupted=False)
        await self.push(frame)

    @handles(PauseOutputFrame)
    async def on_pause(self, frame: PauseOutputFrame) -> None:
        self._playing.clear()

    @handles(ResumeOutputFrame)
    async def on_resume(self, frame: ResumeOutputFrame) -> None:
        self._playing.set()

    async def on_interrupt(self) -> None:
        self._playing.set()
        self._clock = 0.0
        self._last_text = ""
        self.state.muted = False
        await self._stop_speaking()

    async def _stop_speaking(self) -> None:
        if self._speaking:
            self._speaking = False
            self.state.bot_speaking = False
            await self.push_upstream(BotStoppedSpeakingFrame())


def _cut(frame: OutputAudioFrame, frame_ms: int) -> list[bytes]:
    """``frame``'s audio as transport frames of ``frame_ms`` (the last may be shorter)."""
    step = samples_for(frame.sample_rate, frame_ms / 1000) * 2 * frame.channels
    pcm = frame.pcm
    if len(pcm) <= step:
        return [pcm] if pcm else []
    return [pcm[i : i + step] for i in range(0, len(pcm), step)]


def _credits(frame: TTSAudioFrame, pieces: int) -> list[list[str]] | None:
    """The words heard once each piece of ``frame`` has played (None: nothing to credit)."""
    if pieces == 0:
        return [[w.word for w in frame.words]] if frame.words else None
    out: list[list[str]] = [[] for _ in range(pieces)]
    duration = frame.duration
    if frame.words:
        fits = frame.words[-1].end <= duration + 0.05
        base = 0.0 if fits else frame.words[0].start
        for timing in frame.words:
            # A word is heard once its middle has played.
            middle = (timing.start + timing.end) / 2 - base
            index = min(pieces - 1, max(0, math.ceil(middle / duration * pieces) - 1))
            out[index].append(timing.word)
        return out
    words = frame.text.split()
    if not words:
        return None
    for position, word in enumerate(words):
        # Proportional: word i of n is heard once (i + 1) / n of the audio has played.
        index = min(pieces - 1, max(0, math.ceil((position + 1) / len(words) * pieces) - 1))
        out[index].append(word)
    return out
