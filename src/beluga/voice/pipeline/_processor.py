"""The processor base: handlers by ``@handles``, dispatch by a dict, forwarding by default.

A :class:`FrameProcessor` registers handlers with ``@handles(FrameType)``; the class builds its
dispatch dicts once (``__init_subclass__``) and the base forwards every frame it has no handler
for, so a processor never calls ``super()`` or forwards by hand (the fault of Pipecat's base).
Dispatch is one dict lookup on ``type(frame)``; a frame of a subclass of a handled type is
resolved along its MRO once and cached in the class's dict.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from time import perf_counter_ns
from typing import Any, ClassVar, TypeVar

from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.frames import CancelFrame, EndFrame, Frame, InterruptionFrame

__all__ = ["Direction", "FrameProcessor", "ProcessorStats", "handles"]

_OP = "voice.pipeline"
_F = TypeVar("_F", bound=Callable[..., Awaitable[None]])
_Handler = Callable[[Any, Any], Awaitable[None]]
_Sink = Callable[[Frame], Awaitable[None]]
_RESERVED = (InterruptionFrame, CancelFrame, EndFrame)


class Direction(Enum):
    """Which way a frame travels: toward the output (down) or back toward the input (up)."""

    DOWN = "down"
    UP = "up"


def handles(*frame_types: type[Frame], upstream: bool = False) -> Callable[[_F], _F]:
    """Mark an ``async def handler(self, frame)`` as the processor's handler of ``frame_types``.

    Handlers see downstream frames unless ``upstream=True``. Interruption, cancel and end are
    handled by the runner (override ``on_interrupt``/``on_end`` instead).
    """
    for frame_type in frame_types:
        if issubclass(frame_type, _RESERVED):
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"{frame_type.__name__} is handled by the pipeline runner; override "
                "on_interrupt() or on_end() instead of registering a handler for it",
            )

    def mark(func: _F) -> _F:
        marks: list[tuple[type[Frame], bool]] = list(getattr(func, "__beluga_handles__", ()))
        marks.extend((t, upstream) for t in frame_types)
        func.__beluga_handles__ = marks  # type: ignore[attr-defined]
        return func

    return mark


@dataclass(slots=True)
class ProcessorStats:
    """Frames a processor handled and the time its handlers took (for metrics)."""

    frames: int = 0
    total_ns: int = 0
    max_ns: int = 0

    def as_dict(self) -> dict[str, float]:
        """The stats as numbers (milliseconds for times)."""
        mean = self.total_ns / self.frames if self.frames else 0.0
        return {
            "frames": self.frames,
            "total_ms": self.total_ns / 1e6,
            "mean_ms": mean / 1e6,
            "max_ms": self.max_ns / 1e6,
        }


class FrameProcessor:
    """A step of a voice pipeline. Subclass, set ``order``, and add ``@handles`` handlers.

    ``interruptible`` processors (the reply side: responder, aggregator, TTS, output) have their
    in-flight data handler cancelled by an interruption; input-side ones keep working.
    """

    order: ClassVar[int] = 500
    interruptible: ClassVar[bool] = False
    _down: ClassVar[dict[type[Frame], _Handler | None]] = {}
    _up: ClassVar[dict[type[Frame], _Handler | None]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        down: dict[type[Frame], _Handler | None] = {}
        up: dict[type[Frame], _Handler | None] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                for frame_type, is_up in getattr(value, "__beluga_handles__", ()):
                    (up if is_up else down)[frame_type] = value
        cls._down = down
        cls._up = up

    def __init__(self, *, name: str | None = None) -> None:
        self.name = name or type(self).__name__
        self.stats = ProcessorStats()
        self._link: _Link | None = None
        self._nested_ns = 0  # time of handlers run inline from ours (not counted as ours)

    # -- what subclasses use -------------------------------------------------------------------

    async def push(self, frame: Frame) -> None:
        """Send ``frame`` to the next processor (blocks while its inbox is full)."""
        await self._linked().down(frame)

    async def push_upstream(self, frame: Frame) -> None:
        """Send ``frame`` back toward the input (never blocks)."""
        await self._linked().up(frame)

    async def start(self) -> None:
        """Acquire resources before the first frame (override; default does nothing)."""

    async def aclose(self) -> None:
        """Release resources when the pipeline stops (override; default does nothing)."""

    async def on_interrupt(self) -> None:
        """Drop in-flight reply work on barge-in (override; default does nothing)."""

    async def on_end(self) -> None:
        """Finish pending work before ``EndFrame`` goes on (override; default does nothing)."""

    # -- runner side ---------------------------------------------------------------------------

    def _linked(self) -> _Link:
        if self._link is None:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_REQUEST,
                f"processor {self.name} is not in a running Pipeline; add it to one first",
            )
        return self._link

    async def _dispatch(self, frame: Frame, direction: Direction) -> None:
        table = self._down if direction is Direction.DOWN else self._up
        frame_type = type(frame)
        try:
            handler = table[frame_type]
        except KeyError:
            handler = _resolve(table, frame_type)
        if handler is None:
            link = self._linked()
            await (link.down(frame) if direction is Direction.DOWN else link.up(frame))
            return
        start = perf_counter_ns()
        nested = self._nested_ns
        try:
            await handler(self, frame)
        finally:
            spent = perf_counter_ns() - start - (self._nested_ns - nested)
            stats = self.stats
            stats.frames += 1
            stats.total_ns += spent
            if spent > stats.max_ns:
                stats.max_ns = spent


def _resolve(table: dict[type[Frame], _Handler | None], frame_type: type[Frame]) -> _Handler | None:
    """The handler of the nearest handled base class of ``frame_type``, cached in ``table``."""
    handler = None
    for base in frame_type.__mro__[1:]:
        if base in table and table[base] is not None:
            handler = table[base]
            break
    table[frame_type] = handler
    return handler


class _Link:
    """Where one processor's pushes go: the next/previous inbox, or the pipeline's sinks."""

    __slots__ = ("down", "up")

    def __init__(self, down: _Sink, up: _Sink) -> None:
        self.down = down
        self.up = up
