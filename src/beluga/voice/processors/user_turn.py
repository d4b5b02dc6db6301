"""The user-turn step: turns speech and transcripts into user turns, and judges barge-in.

When the user starts speaking while a reply is in progress, that is a *possible* barge-in: the
bot's audio is held (if false interruptions resume) while the evidence comes in. It becomes an
interruption when the speech has lasted ``min_duration`` seconds of audio, or the transcript
has ``min_words`` words that are not backchannel ("yeah", "uh-huh", "right"). A final
transcript made only of backchannel words is dropped and the reply plays on. Speech that ends
with no transcript within ``false_interruption_timeout`` seconds (a cough, a door) was a false
interruption: the held audio resumes. Speech is measured in audio seconds, not wall-clock, so
the decision is the same however fast the audio arrives.

Input audio stops here: processors after this one see transcripts and replies only.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass
from time import perf_counter

from beluga.voice.frames import (
    InputAudioFrame,
    InterruptionFrame,
    PauseOutputFrame,
    ResumeOutputFrame,
    TranscriptFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from beluga.voice.pipeline import FrameProcessor, handles
from beluga.voice.processors.state import SessionState, TurnLatency

__all__ = ["BACKCHANNEL_WORDS", "InterruptionPolicy", "UserTurnProcessor", "is_backchannel"]

BACKCHANNEL_WORDS = frozenset(
    {
        "yeah", "yes", "yep", "yup", "ok", "okay", "right", "uh-huh", "uh huh", "uhhuh", "mm-hmm",
        "mhm", "mmhmm", "mm", "hmm", "hm", "uh", "um", "ah", "oh", "sure", "alright", "got it",
        "i see", "cool", "nice", "wow", "true", "exactly", "totally",
    }
)  # fmt: skip
_WORDS = re.compile(r"[\w'-]+")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(text)]


def is_backchannel(text: str, words: frozenset[str] = BACKCHANNEL_WORDS) -> bool:
    """Whether ``text`` is only listener feedback ("yeah, right", "mm-hmm") and not a turn."""
    tokens = _words(text)
    if not tokens:
        return False
    joined = " ".join(tokens)
    if joined in words:
        return True
    return all(token in words for token in tokens)


def _content_words(text: str, words: frozenset[str]) -> int:
    return sum(1 for token in _words(text) if token not in words)


@dataclass(slots=True, frozen=True)
class InterruptionPolicy:
    """When user speech during a reply interrupts it (see the module docstring)."""

    min_duration: float = 0.5
    min_words: int = 0
    backchannel: frozenset[str] = BACKCHANNEL_WORDS
    false_interruption_timeout: float | None = 1.0
    enabled: bool = True


class UserTurnProcessor(FrameProcessor):
    """Collects the user's final transcripts into turns; decides barge-in."""

    order = 500

    def __init__(self, state: SessionState, policy: InterruptionPolicy | None = None) -> None:
        super().__init__(name="user-turn")
        self.state = state
        self.policy = policy or InterruptionPolicy()
        self.speaking = False
        self._speech = 0.0
        self._heard = ""
        self._finals: list[str] = []
        self._candidate = False
        self._interrupted = False
        self._paused = False
        self._vad_stop: float | None = None
        self._turn_end: float | None = None
        self._stt_final: float | None = None
        self._timer: asyncio.Task[None] | None = None

    @handles(UserStartedSpeakingFrame)
    async def on_started(self, frame: UserStartedSpeakingFrame) -> None:
        self.speaking = True
        self._speech = 0.0
        self._heard = ""
        self._cancel_timer()
        await self.push(frame)
        if self.policy.enabled and self.state.reply_active and not self._candidate:
            self._candidate = True
            self._interrupted = False
            if self.policy.min_duration <= 0 and self.policy.min_words <= 0:
                await self._interrupt()
            elif self.policy.false_interruption_timeout is not None:
                self._paused = True
                await self.push(PauseOutputFrame())

    @handles(InputAudioFrame)
    async def on_audio(self, frame: InputAudioFrame) -> None:
        if self.speaking and self._candidate and not self._interrupted:
            self._speech += frame.duration
            await self._judge()

    @handles(TranscriptFrame)
    async def on_transcript(self, frame: TranscriptFrame) -> None:
        if not frame.final:
            self._heard = frame.text
            if self._candidate and not self._interrupted:
                await self._judge()
            await self.push(frame)
            return
        self._stt_final = perf_counter()
        if not frame.text.strip():
            return
        if self._candidate and not self._interrupted:
            if is_backchannel(frame.text, self.policy.backchannel):
                await self._resume()  # listener feedback: the reply plays on
                return
            await self._interrupt()
        self._cancel_timer()
        self._finals.append(frame.text.strip())
        if not self.speaking:
            await self._commit()

    @handles(UserStoppedSpeakingFrame)
    async def on_stopped(self, frame: UserStoppedSpeakingFrame) -> None:
        self.speaking = False
        self._turn_end = perf_counter()
        self._vad_stop = frame.vad_stop if frame.vad_stop is not None else self._turn_end
        await self.push(frame)
        if self._finals:
            await self._commit()
        elif self._candidate and not self._interrupted and self._paused:
            timeout = self.policy.false_interruption_timeout
            if timeout is not None:
                self._cancel_timer()
                self._timer = asyncio.create_task(self._false_alarm(timeout))

    async def _judge(self) -> None:
        policy = self.policy
        heard = self._heard
        if (
            policy.min_words > 0 and _content_words(heard, policy.backchannel) >= policy.min_words
        ) or (
            self._speech >= policy.min_duration and not is_backchannel(heard, policy.backchannel)
        ):
            await self._interrupt()

    async def _interrupt(self) -> None:
        self._interrupted = True
        self._paused = False
        self._cancel_timer()
        await self.state.interrupt_reply()
        await self.push(InterruptionFrame())

    async def _resume(self) -> None:
        self._candidate = False
        self._cancel_timer()
        if self._paused:
            self._paused = False
            await self.push(ResumeOutputFrame())

    async def _false_alarm(self, timeout: float) -> None:
        await asyncio.sleep(timeout)
        self._timer = None
        if self._candidate and not self._interrupted and not self._finals and not self.speaking:
            await self._resume()
            await self.state.emit("on_false_interruption")

    async def _commit(self) -> None:
        text = " ".join(self._finals)
        self._finals = []
        self._candidate = False
        self._interrupted = False
        now = perf_counter()
        self.state.pending = TurnLatency(
            vad_stop=self._vad_stop if self._vad_stop is not None else now,
            turn_end=self._turn_end if self._turn_end is not None else now,
            stt_final=self._stt_final,
        )
        self._vad_stop = self._turn_end = None
        await self.push(TranscriptFrame(text, final=True))

    async def on_end(self) -> None:
        """The input ended: answer what the user said but was not yet answered."""
        self.speaking = False
        if self._finals:
            await self._commit()

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    async def aclose(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
