"""The voice session: the public entry point that wires one conversation's voice pipeline.

    input -> [noise] -> VAD -> turn detector -> STT -> user turn (barge-in) -> responder
          -> sentence aggregation -> TTS -> output

Each step can be given as a registered name (``stt="deepgram:nova-3"``), an engine object (an
``STT``, ``TTS``, ``VADEngine``, ``TurnDetector``, ``NoiseSuppressor``), or a ready
:class:`~beluga.voice.pipeline.FrameProcessor` (the fakes of :mod:`beluga.voice.testing`).
The responder is anything with the chat-model ``stream(messages)`` shape, so voice imports no
agent code. A session owns its processors, conversation and memory key: nothing is shared
between sessions. Events (start, user turn, bot turn, interruption, false interruption, error,
end) are async hooks that orchestration can subscribe to; a failing hook only warns.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.memory.base import Memory
from beluga.observability.logs import get_logger
from beluga.schema import Message
from beluga.voice.audio import check_pcm16
from beluga.voice.frames import ErrorFrame, Frame, InputAudioFrame, OutputAudioFrame
from beluga.voice.noise.base import NoiseSuppressor
from beluga.voice.pipeline import FrameProcessor, Pipeline
from beluga.voice.processors import (
    InterruptionPolicy,
    LatencyReport,
    OutputProcessor,
    ResponderProcessor,
    SentenceAggregator,
    SessionState,
    UserTurnProcessor,
)
from beluga.voice.processors.responder import Responder
from beluga.voice.speech import STTProcessor, TTSProcessor
from beluga.voice.stt.base import STT
from beluga.voice.tts.base import TTS
from beluga.voice.turn.base import TurnDetector
from beluga.voice.vad.base import VADEngine, VADParams

__all__ = ["AudioSink", "Hook", "SessionHooks", "VoiceSession"]

_log = get_logger(__name__)
_OP = "voice.session"
Hook = Callable[..., Awaitable[None]]
AudioSink = Callable[[OutputAudioFrame], Awaitable[None]]


@dataclass(slots=True)
class SessionHooks:
    """Async callbacks for a session's events (each optional; a failing one only warns).

    ``on_start()``, ``on_user_turn(text)``, ``on_bot_turn(text, interrupted)`` (``text`` is
    what the user heard), ``on_interruption(heard_text)``, ``on_false_interruption()``,
    ``on_error(error)`` (a non-fatal failure such as a responder error) and ``on_end(report)``.
    """

    on_start: Hook | None = None
    on_user_turn: Hook | None = None
    on_bot_turn: Hook | None = None
    on_interruption: Hook | None = None
    on_false_interruption: Hook | None = None
    on_error: Hook | None = None
    on_end: Hook | None = None

    def as_dict(self) -> dict[str, Hook]:
        """The hooks that are set, by event name."""
        return {f.name: h for f in fields(self) if (h := getattr(self, f.name)) is not None}


class VoiceSession:
    """One voice conversation: feed it the user's audio, get the bot's audio out.

    ``async with VoiceSession(model, stt=..., tts=...) as session:`` starts it; push audio with
    :meth:`push_audio`, then :meth:`end` to finish what is queued (leaving the block without
    ending cancels). Reply audio goes to ``output`` (an async callback, e.g. a transport),
    cut into ``frame_ms`` frames and, with ``realtime``, paced as it would play.
    """

    def __init__(
        self,
        responder: Responder | Any,
        *,
        stt: STT | FrameProcessor | str = "local",
        tts: TTS | FrameProcessor | str = "local",
        vad: VADEngine | FrameProcessor | str | None = "silero",
        vad_params: VADParams | None = None,
        turn: TurnDetector | FrameProcessor | str | None = "silence",
        noise: NoiseSuppressor | FrameProcessor | str | None = None,
        interruption: InterruptionPolicy | None = None,
        memory: Memory | None = None,
        session_id: str | None = None,
        hooks: SessionHooks | None = None,
        output: AudioSink | None = None,
        sample_rate: int = 16000,
        realtime: bool = False,
        frame_ms: int = 20,
        processors: Iterable[FrameProcessor] = (),
        queue_size: int = 64,
    ) -> None:
        if sample_rate <= 0 or frame_ms <= 0:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"sample_rate ({sample_rate}) and frame_ms ({frame_ms}) must be positive",
            )
        self.session_id = session_id or f"voice-{uuid.uuid4().hex[:12]}"
        self.sample_rate = sample_rate
        self.hooks = hooks or SessionHooks()
        self.state = SessionState(
            session_id=self.session_id, memory=memory, hooks=self.hooks.as_dict()
        )
        self._output = output
        self._owned: list[Any] = []  # engines this session created (from names): it closes them
        self.output = OutputProcessor(self.state, realtime=realtime, frame_ms=frame_ms)
        steps: list[FrameProcessor | None] = [
            _noise(noise),
            _vad(vad, vad_params),
            _turn(turn),
            _stt(stt, self._owned),
            UserTurnProcessor(self.state, interruption),
            ResponderProcessor(responder, self.state),
            SentenceAggregator(),
            _tts(tts, self._owned),
            self.output,
            *processors,
        ]
        self.pipeline = Pipeline(
            [p for p in steps if p is not None],
            queue_size=queue_size,
            downstream=self._down,
            upstream=self._up,
        )
        self._runner: asyncio.Task[None] | None = None
        self._ended = False
        self.errors: list[BelugaError] = []

    # -- what users call -----------------------------------------------------------------------

    @property
    def messages(self) -> list[Message]:
        """The conversation so far (assistant turns as the user heard them)."""
        return list(self.state.messages)

    @property
    def report(self) -> LatencyReport:
        """Per-turn latencies from end of speech to each stage, and their medians."""
        return self.state.report

    def stats(self) -> dict[str, dict[str, float]]:
        """Per-processor frame counts and handler times."""
        return self.pipeline.stats()

    async def start(self) -> None:
        """Load the conversation from memory and start the pipeline."""
        if self._runner is not None:
            raise BelugaError(_OP, ErrorCode.INVALID_REQUEST, "the session is already started")
        await self.state.load()
        self._runner = asyncio.create_task(self.pipeline.run())
        await self.state.emit("on_start")

    async def push_audio(self, pcm: bytes, *, timestamp: float = 0.0) -> None:
        """Feed PCM16 mono audio at the session's ``sample_rate`` (any length; 20 ms is usual)."""
        check_pcm16(pcm, sample_rate=self.sample_rate)
        await self.push(InputAudioFrame(pcm, self.sample_rate, timestamp=timestamp))

    async def feed(self, pcm: bytes, *, realtime: bool = False) -> None:
        """Feed a recording as ``frame_ms`` frames, paced in real time if asked (as a
        transport would deliver it), else as fast as the pipeline takes them."""
        check_pcm16(pcm, sample_rate=self.sample_rate)
        step = self.sample_rate * self.output.frame_ms // 1000 * 2
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, offset in enumerate(range(0, len(pcm), step)):
            at = index * self.output.frame_ms / 1000
            if realtime:
                await asyncio.sleep(max(0.0, start + at - loop.time()))
            await self.push(
                InputAudioFrame(pcm[offset : offset + step], self.sample_rate, timestamp=at)
            )

    async def push(self, frame: Frame) -> None:
        """Feed any frame into the start of the pipeline."""
        self._check_running()
        await self.pipeline.push(frame)

    async def end(self) -> None:
        """Finish everything queued (the last turn is answered and spoken), then stop."""
        self._check_running()
        if not self._ended:
            self._ended = True
            await self.pipeline.end()
        await self._finish()

    async def aclose(self) -> None:
        """Stop now, dropping what is queued (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        await self.pipeline.aclose()
        if not runner.done():
            runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, BelugaError):
            await runner
        await self._close()

    async def __aenter__(self) -> VoiceSession:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- internals -----------------------------------------------------------------------------

    def _check_running(self) -> None:
        if self._runner is None:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_REQUEST,
                "the session is not started: use 'async with VoiceSession(...)' or start()",
            )

    async def _finish(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        try:
            await runner
        finally:
            await self._close()

    async def _close(self) -> None:
        await self.state.save()
        owned, self._owned = self._owned, []
        for engine in owned:
            try:
                await engine.aclose()
            except Exception as exc:  # closing must not hide the session's outcome
                _log.warning("voice session %s: closing failed: %s", self.session_id, exc)
        await self.state.emit("on_end", self.report)

    async def _down(self, frame: Frame) -> None:
        if self._output is not None and isinstance(frame, OutputAudioFrame):
            await self._output(frame)

    async def _up(self, frame: Frame) -> None:
        if isinstance(frame, ErrorFrame):
            self.errors.append(frame.error)
            if not frame.fatal:
                _log.warning("voice session %s: %s", self.session_id, frame.error.message)
                await self.state.emit("on_error", frame.error)


def _stt(stt: STT | FrameProcessor | str, owned: list[Any]) -> FrameProcessor:
    if isinstance(stt, FrameProcessor):
        return stt
    if isinstance(stt, str):
        from beluga.voice.stt.registry import create

        stt = create(stt)
        owned.append(stt)
    return STTProcessor(stt)


def _tts(tts: TTS | FrameProcessor | str, owned: list[Any]) -> FrameProcessor:
    if isinstance(tts, FrameProcessor):
        return tts
    if isinstance(tts, str):
        from beluga.voice.tts.registry import create

        tts = create(tts)
        owned.append(tts)
    return TTSProcessor(tts)


def _vad(
    vad: VADEngine | FrameProcessor | str | None, params: VADParams | None
) -> FrameProcessor | None:
    if vad is None or isinstance(vad, FrameProcessor):
        return vad
    from beluga.voice.vad.processor import VADProcessor

    return VADProcessor(vad, params=params)


def _turn(turn: TurnDetector | FrameProcessor | str | None) -> FrameProcessor | None:
    if turn is None or isinstance(turn, FrameProcessor):
        return turn
    from beluga.voice.turn.processor import TurnProcessor

    return TurnProcessor(turn)


def _noise(noise: NoiseSuppressor | FrameProcessor | str | None) -> FrameProcessor | None:
    if noise is None or isinstance(noise, FrameProcessor):
        return noise
    from beluga.voice.noise.processor import NoiseProcessor

    return NoiseProcessor(noise)
