"""The output step: plays the bot's audio and keeps track of what the user actually heard.

Audio frames leave the pipeline here (the pipeline's downstream sink is the transport); a frame
counts as played once the sink took it and, with ``realtime`` pacing, once its duration has
elapsed. The words of played :class:`TTSAudioFrame` s (their ``words``, else their ``text``)
go to the session state; when the user-turn step decides a barge-in it keeps those as the
assistant message (the conversation says what was heard, not what the LLM wrote) and mutes the
output, which drops every audio frame from then until the interruption reaches it.
Pause/resume frames hold the audio during a possible barge-in and let it go on after a false
one.
"""

from __future__ import annotations

import asyncio

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

    def __init__(self, state: SessionState, *, realtime: bool = False) -> None:
        super().__init__(name="output")
        self.state = state
        self.realtime = realtime
        self.played_frames = 0
        self.dropped_frames = 0
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
        if not self._playing.is_set():
            await self._playing.wait()
        if self.state.muted:  # barge-in decided; the interruption is on its way here
            self.dropped_frames += 1
            return
        if not self._speaking:
            self._speaking = True
            self.state.bot_speaking = True
            await self.push_upstream(BotStartedSpeakingFrame())
        await self.push(frame)  # into the transport
        if turn is not None:
            turn.stamp("first_audio_out")
        if self.realtime:
            await self._pace(frame.duration)
        self.played_frames += 1
        if isinstance(frame, TTSAudioFrame):
            self._credit(frame)

    def _credit(self, frame: TTSAudioFrame) -> None:
        if frame.words:
            self.state.played.extend(w.word for w in frame.words)
        elif frame.text and frame.text != self._last_text:
            self.state.played.append(frame.text)
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
