"""Helpers for checking that reasoning survives a round trip through a recorded history.

A provider's cassettes often hold two calls of one conversation: the first answer, then a request
whose history holds that answer (signed thinking, thought signatures, encrypted reasoning) sent
back. :func:`turn` reduces an assistant message to what matters for sending it back, so a test
can check that the reasoning our parser made of the first answer is the one rebuilt from the
second request's history.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from beluga.schema import ChatResponse, Message, ReasoningPart, ResponseBuilder, StreamEvent

__all__ = ["aiter_of", "build", "has_reasoning", "reasoning_of"]


async def aiter_of(items: Iterable[Any]) -> AsyncIterator[Any]:
    """``items`` as an async iterator (a recorded stream fed to a wire parser)."""
    for item in items:
        yield item


def build(events: Iterable[StreamEvent]) -> ChatResponse:
    builder = ResponseBuilder()
    for event in events:
        builder.add(event)
    return builder.build()


def has_reasoning(message: Message) -> bool:
    return any(type(p) is ReasoningPart for p in message.content) or any(
        c.signature for c in message.tool_calls
    )


def reasoning_of(message: Message) -> tuple[Any, ...]:
    """What an assistant message sends back of its reasoning: its reasoning parts, and its calls
    with their signatures (arguments compared as JSON values). The text is left out: some
    recordings differ in a character between an answer and the history that repeats it (a dash
    of the answer is an em dash in the history of ``bedrock/..._anthropic_legacy``)."""
    return (
        tuple(p for p in message.content if type(p) is ReasoningPart),
        tuple((c.id, c.name, json.loads(c.arguments), c.signature) for c in message.tool_calls),
    )
