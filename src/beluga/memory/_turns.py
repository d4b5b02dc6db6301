"""Cutting a history without breaking it: turns, and tool calls kept with their results.

A *turn* starts at a user message and runs to the next one (the assistant's replies, its tool
calls and their results). A *unit* is the smallest piece that can be dropped: an assistant
message with tool calls together with the tool results that answer it, or any other single
message. Strategies cut only at these boundaries, so a model is never shown a tool result
whose call was dropped, or a call without its result.
"""

from __future__ import annotations

from collections.abc import Sequence

from beluga.schema import Message

__all__ = ["turn_starts", "units"]


def turn_starts(messages: Sequence[Message]) -> list[int]:
    """Indexes where a turn starts (0 always counts, so a history that opens with a system or
    assistant message keeps that part as the first turn)."""
    starts = [i for i, m in enumerate(messages) if m.role == "user"]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return starts if messages else []


def units(messages: Sequence[Message]) -> list[tuple[int, int]]:
    """``(start, end)`` slices of the history that must stay together, in order."""
    out: list[tuple[int, int]] = []
    i, n = 0, len(messages)
    while i < n:
        end = i + 1
        calls = {c.id for c in messages[i].tool_calls}
        while calls and end < n and messages[end].role == "tool":
            calls.discard(messages[end].tool_call_id or "")
            end += 1
        out.append((i, end))
        i = end
    return out
