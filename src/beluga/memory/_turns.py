"""Cutting a history without breaking it: turns, and tool calls kept with their results.

A *turn* starts at a user message and runs to the next one (the assistant's replies, its tool
calls and their results). A *unit* is the smallest piece that can be dropped: an assistant
message with tool calls together with the tool results that answer it, or any other single
message. Strategies cut only at these boundaries, so a model is never shown a tool result
whose call was dropped, or a call without its result.

A *summary marker* is the record :class:`~beluga.memory.summary.SummaryMemory` appends to a
session's history: a system message whose text is the rolling summary and whose ``name`` is
``beluga.memory.summary:N``, N being how many of the session's other messages it covers (a
plain message field, so every store and the wire form keep it as is; no model is ever sent
a marker: the summary strategy sends a fresh system message). Keeping it in the history itself
means it is stored, cleared, expired and listed with the session by every store, with no
second key; every strategy leaves markers out of what it shows a model
(:func:`without_summaries`).
"""

from __future__ import annotations

from collections.abc import Sequence

from beluga.schema import Message

__all__ = [
    "SUMMARY_NAME",
    "latest_summary",
    "summary_marker",
    "summary_of",
    "turn_starts",
    "units",
    "without_summaries",
]

SUMMARY_NAME = "beluga.memory.summary"


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


def summary_marker(text: str, covers: int) -> Message:
    """The stored record of a summary of a session's first ``covers`` (non-marker) messages."""
    return Message("system", text, name=f"{SUMMARY_NAME}:{covers}")


def summary_of(message: Message) -> int | None:
    """How many messages ``message`` summarizes, if it is a summary marker; else ``None``."""
    name = message.name
    if message.role != "system" or name is None or not name.startswith(SUMMARY_NAME + ":"):
        return None
    count = name[len(SUMMARY_NAME) + 1 :]
    return int(count) if count.isascii() and count.isdigit() else None


def without_summaries(messages: Sequence[Message]) -> list[Message]:
    """The conversation itself: ``messages`` without summary markers."""
    return [m for m in messages if summary_of(m) is None]


def latest_summary(messages: Sequence[Message]) -> tuple[str, int, list[Message]]:
    """``(summary text, messages it covers, the conversation without markers)``; the text is
    empty and the count 0 when the history has no summary."""
    text, covers, plain = "", 0, []
    for message in messages:
        count = summary_of(message)
        if count is None:
            plain.append(message)
        else:
            text, covers = message.text, count
    return text, min(covers, len(plain)), plain
