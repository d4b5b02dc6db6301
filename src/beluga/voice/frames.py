"""The frames that flow through a voice pipeline.

Frames are small slotted dataclasses (a session moves ~50 audio frames a second, hundreds of
sessions per process), so no pydantic here. Processors dispatch on ``type(frame)`` with a dict,
never an ``isinstance`` chain. A frame whose class sets ``urgent = True`` (interruptions,
cancellation, speaking-state changes, errors) overtakes queued data frames; ``EndFrame`` is not
urgent, so it arrives after everything queued before it and flushes the pipeline in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from beluga.core.errors import BelugaError

__all__ = [
    "AudioFrame",
    "BotStartedSpeakingFrame",
    "BotStoppedSpeakingFrame",
    "CancelFrame",
    "EndFrame",
    "ErrorFrame",
    "Frame",
    "InputAudioFrame",
    "InterruptionFrame",
    "LLMDeltaFrame",
    "LLMReplyEndFrame",
    "LLMReplyStartFrame",
    "OutputAudioFrame",
    "PauseOutputFrame",
    "ResumeOutputFrame",
    "TTSAudioFrame",
    "TextFrame",
    "ToolCallFrame",
    "ToolResultFrame",
    "TranscriptFrame",
    "UserStartedSpeakingFrame",
    "UserStoppedSpeakingFrame",
    "WordTiming",
]


@dataclass(slots=True)
class Frame:
    """Base of every frame. ``urgent`` frames take the priority path of the runner."""

    urgent: ClassVar[bool] = False


# --- data frames -------------------------------------------------------------------------------


@dataclass(slots=True)
class AudioFrame(Frame):
    """PCM16 little-endian mono (or ``channels``-interleaved) audio at ``sample_rate`` Hz."""

    pcm: bytes
    sample_rate: int
    channels: int = 1

    @property
    def samples(self) -> int:
        """Samples per channel in this frame."""
        return len(self.pcm) // (2 * self.channels)

    @property
    def duration(self) -> float:
        """Seconds of audio in this frame."""
        return self.samples / self.sample_rate


@dataclass(slots=True)
class InputAudioFrame(AudioFrame):
    """Audio from the user (a transport's input), stamped with its capture time in seconds."""

    timestamp: float = 0.0


@dataclass(slots=True)
class OutputAudioFrame(AudioFrame):
    """Audio for the user (a transport's output)."""


@dataclass(slots=True, frozen=True)
class WordTiming:
    """A word spoken (by a TTS engine) or heard (by an STT engine), and where it starts and ends
    in that engine's audio, in seconds."""

    word: str
    start: float
    end: float


@dataclass(slots=True)
class TTSAudioFrame(OutputAudioFrame):
    """Synthesized speech of ``text`` (a sentence or a piece of one), with word timings if known."""

    text: str = ""
    words: tuple[WordTiming, ...] = ()


@dataclass(slots=True)
class TranscriptFrame(Frame):
    """What the user said: partial results while speaking, then one ``final`` per utterance.

    ``words`` are the engine's word timings (seconds from the start of the session's audio)
    when it gives them.
    """

    text: str
    final: bool = True
    language: str | None = None
    confidence: float | None = None
    words: tuple[WordTiming, ...] = ()


@dataclass(slots=True)
class LLMDeltaFrame(Frame):
    """A piece of the responder's streamed reply text."""

    text: str


@dataclass(slots=True)
class LLMReplyStartFrame(Frame):
    """The responder began a reply (the deltas of one reply follow, then its end frame)."""


@dataclass(slots=True)
class LLMReplyEndFrame(Frame):
    """The responder finished a reply; ``text`` is all of it. Flushes sentence aggregation."""

    text: str = ""


@dataclass(slots=True)
class TextFrame(Frame):
    """Text to speak (a whole sentence after aggregation, or text injected by the application)."""

    text: str


@dataclass(slots=True)
class ToolCallFrame(Frame):
    """The responder called a tool."""

    call_id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ToolResultFrame(Frame):
    """A tool's result, as the responder received it."""

    call_id: str
    content: str
    is_error: bool = False


# --- control frames ----------------------------------------------------------------------------


@dataclass(slots=True)
class UserStartedSpeakingFrame(Frame):
    """VAD heard the user start speaking."""

    urgent: ClassVar[bool] = True


@dataclass(slots=True)
class UserStoppedSpeakingFrame(Frame):
    """The user stopped speaking (VAD stop or the turn detector's end of turn).

    ``vad_stop`` is when the VAD heard the speech stop (``perf_counter`` seconds; kept by the
    turn step so latency is measured from the end of speech, not from the end of the turn).
    """

    urgent: ClassVar[bool] = True
    vad_stop: float | None = field(default=None, compare=False)


@dataclass(slots=True)
class BotStartedSpeakingFrame(Frame):
    """The output began playing the bot's audio."""

    urgent: ClassVar[bool] = True


@dataclass(slots=True)
class BotStoppedSpeakingFrame(Frame):
    """The output played the last queued bot audio."""

    urgent: ClassVar[bool] = True


@dataclass(slots=True)
class InterruptionFrame(Frame):
    """Barge-in: drop in-flight reply work and queued output audio."""

    urgent: ClassVar[bool] = True


@dataclass(slots=True)
class PauseOutputFrame(Frame):
    """Hold the bot's audio (possible barge-in); queued audio stays until resume or interrupt."""

    urgent: ClassVar[bool] = True


@dataclass(slots=True)
class ResumeOutputFrame(Frame):
    """Play the held audio again (the barge-in was a false alarm)."""

    urgent: ClassVar[bool] = True


@dataclass(slots=True)
class CancelFrame(Frame):
    """Stop the pipeline now, dropping whatever is queued."""

    urgent: ClassVar[bool] = True


@dataclass(slots=True)
class EndFrame(Frame):
    """Finish the pipeline after everything queued before it has been processed."""


@dataclass(slots=True)
class ErrorFrame(Frame):
    """A processor failed; ``fatal`` errors end the session."""

    urgent: ClassVar[bool] = True
    error: BelugaError
    fatal: bool = False
