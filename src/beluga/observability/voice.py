"""Voice-turn latency as OpenTelemetry spans and metrics.

A voice turn runs from the user's end of speech (VAD stop) through STT final, LLM first token
and TTS first audio to the first audio out. Each finished turn becomes one ``voice_turn`` span
with a child span per stage (all starting at VAD stop, ending at the stage), and one sample per
stage in the ``beluga.voice.turn.latency`` histogram labelled ``beluga.voice.stage``. Stamps
are ``perf_counter`` seconds, converted once to wall-clock nanoseconds for the spans.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from opentelemetry import metrics, trace

__all__ = ["record_voice_turn"]

_tracer = trace.get_tracer("beluga")
_meter = metrics.get_meter("beluga")
_latency = _meter.create_histogram(
    "beluga.voice.turn.latency",
    unit="s",
    description="Time from the user's end of speech to each stage of the voice reply",
    explicit_bucket_boundaries_advisory=[0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0],
)


def record_voice_turn(
    origin: float | None,
    stamps: Mapping[str, float | None],
    *,
    interrupted: bool = False,
    session_id: str | None = None,
) -> None:
    """Record one turn: ``origin`` is VAD stop, ``stamps`` each stage's time (``None``: never)."""
    if origin is None:
        return
    for stage, stamp in stamps.items():
        if stamp is not None:
            _latency.record(max(stamp - origin, 0.0), {"beluga.voice.stage": stage})
    now_ns, now = time.time_ns(), time.perf_counter()

    def wall(stamp: float) -> int:
        return now_ns - int((now - stamp) * 1e9)

    reached = [s for s in stamps.values() if s is not None]
    start = wall(origin)
    span = _tracer.start_span("voice_turn", start_time=start)
    if not span.is_recording():
        span.end()
        return
    span.set_attribute("beluga.voice.interrupted", interrupted)
    if session_id is not None:
        span.set_attribute("gen_ai.conversation.id", session_id)
    context = trace.set_span_in_context(span)
    for stage, stamp in stamps.items():
        if stamp is not None:
            child = _tracer.start_span(f"voice.{stage}", context=context, start_time=start)
            child.set_attribute("beluga.voice.stage", stage)
            child.end(end_time=wall(stamp))
    span.end(end_time=wall(max(reached)) if reached else None)
