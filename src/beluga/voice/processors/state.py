"""What the processors of one voice session share: the conversation, reply state, latencies.

The user-turn, responder and output processors of a session each own one part of a turn; they
meet here rather than through globals. Each turn's latency is stamped at VAD stop, STT final,
LLM first token, TTS first audio and first audio out (``perf_counter`` seconds), and at the end
of the turn (the turn detector's decision, after VAD stop); finished turns
go to the session's :class:`LatencyReport` and to beluga.observability as a span and metrics.
Hooks and memory are side paths: a failing hook or memory store logs one warning and never
fails the turn.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from beluga.memory.base import Memory
from beluga.observability.logs import get_logger
from beluga.observability.voice import record_voice_turn
from beluga.schema import Message

__all__ = ["STAGES", "LatencyReport", "SessionState", "TurnLatency"]

_log = get_logger(__name__)
# Each stage's latency is measured from the user's end of speech (VAD stop).
STAGES = ("turn_end", "stt_final", "llm_first_token", "tts_first_audio", "first_audio_out")
_Hook = Callable[..., Awaitable[None]]


@dataclass(slots=True)
class TurnLatency:
    """Stamps of one turn (``perf_counter`` seconds; ``None`` for a stage that never came)."""

    vad_stop: float | None = None
    turn_end: float | None = None
    stt_final: float | None = None
    llm_first_token: float | None = None
    tts_first_audio: float | None = None
    first_audio_out: float | None = None
    interrupted: bool = False

    def stamp(self, stage: str) -> None:
        """Record ``stage`` now, once (the first time counts)."""
        if getattr(self, stage) is None:
            setattr(self, stage, perf_counter())

    def as_dict(self) -> dict[str, float | None]:
        """Milliseconds from VAD stop to each stage."""
        origin = self.vad_stop
        out: dict[str, float | None] = {}
        for stage in STAGES:
            value = getattr(self, stage)
            out[f"{stage}_ms"] = (
                None if value is None or origin is None else round((value - origin) * 1e3, 2)
            )
        return out


@dataclass(slots=True)
class LatencyReport:
    """Every finished turn's latencies, and their medians (the session's breakdown)."""

    turns: list[TurnLatency] = field(default_factory=list)

    def median(self) -> dict[str, float | None]:
        """Median milliseconds per stage over the turns that reached it."""
        rows = [t.as_dict() for t in self.turns]
        out: dict[str, float | None] = {}
        for key in (f"{stage}_ms" for stage in STAGES):
            values = [v for row in rows if (v := row[key]) is not None]
            out[key] = round(statistics.median(values), 2) if values else None
        return out

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data (for ``--json`` and logs)."""
        return {
            "turns": [{**t.as_dict(), "interrupted": t.interrupted} for t in self.turns],
            "median": self.median(),
        }


class SessionState:
    """The conversation and the reply in progress, shared by one session's processors."""

    def __init__(
        self,
        *,
        session_id: str,
        memory: Memory | None = None,
        hooks: dict[str, _Hook] | None = None,
    ) -> None:
        self.session_id = session_id
        self.memory = memory
        self.hooks = hooks or {}
        self.messages: list[Message] = []
        self.reply_active = False
        self.bot_speaking = False
        self.muted = False
        self.played: list[str] = []
        self.turn: TurnLatency | None = None
        self.pending: TurnLatency | None = None  # the committed user turn's stamps so far
        self.idle = asyncio.Event()  # set while no reply is in progress
        self.idle.set()
        self.report = LatencyReport()
        self._unsaved: list[Message] = []

    async def load(self) -> None:
        """Start from the session's stored conversation, when a memory is given."""
        if self.memory is None:
            return
        try:
            self.messages = list(await self.memory.load(self.session_id))
        except Exception as exc:
            _log.warning("voice session %s: memory load failed: %s", self.session_id, exc)

    async def emit(self, event: str, *args: Any) -> None:
        """Call the ``event`` hook if one is set; a failing hook logs and is ignored."""
        hook = self.hooks.get(event)
        if hook is None:
            return
        try:
            await hook(*args)
        except Exception as exc:
            _log.warning("voice session hook %s failed: %s", event, exc)

    async def user_turn(self, text: str) -> list[Message]:
        """Add the user's turn; return the conversation to answer (the reply starts now)."""
        message = Message.user(text)
        self.messages.append(message)
        self._unsaved.append(message)
        self.reply_active = True
        self.idle.clear()
        self.played = []
        self.turn, self.pending = self.pending, None
        await self.emit("on_user_turn", text)
        return list(self.messages)

    async def interrupt_reply(self) -> bool:
        """Barge-in decided: keep what was played of the reply, mute output until the
        interruption reaches it. Returns whether a reply was in progress."""
        if not self.reply_active:
            return False
        self.muted = True
        await self.finish_reply(" ".join(self.played), interrupted=True)
        return True

    async def finish_reply(self, played: str, *, interrupted: bool) -> None:
        """Keep what the user heard of the reply, close the turn, save it to memory."""
        self.reply_active = False
        self.idle.set()
        self.bot_speaking = False
        self.played = []
        text = played.strip()
        if text:
            message = Message.assistant(text)
            self.messages.append(message)
            self._unsaved.append(message)
        turn, self.turn = self.turn, None
        if turn is not None:
            turn.interrupted = interrupted
            self.report.turns.append(turn)
            record_voice_turn(
                turn.vad_stop,
                _stage_stamps(turn),
                interrupted=interrupted,
                session_id=self.session_id,
            )
        if interrupted:
            await self.emit("on_interruption", text)
        await self.emit("on_bot_turn", text, interrupted)
        await self.save()

    async def save(self) -> None:
        """Append the unsaved messages to memory (side path: failures only warn)."""
        if self.memory is None or not self._unsaved:
            return
        batch, self._unsaved = self._unsaved, []
        try:
            await self.memory.save(self.session_id, batch)
        except Exception as exc:
            _log.warning("voice session %s: memory save failed: %s", self.session_id, exc)


def _stage_stamps(turn: TurnLatency) -> dict[str, float | None]:
    return {stage: getattr(turn, stage) for stage in STAGES}
