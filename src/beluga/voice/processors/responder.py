"""The responder step: a user turn in, the reply's text deltas out.

The responder is anything with ``stream(messages) -> AsyncIterator[StreamEvent]`` (a
``ChatModel`` or an ``Agent`` fits; voice never imports agents). The reply streams inside the
handler, so barge-in cancels it mid-stream: the runner cancels the in-flight handler of this
interruptible processor, and the stream is closed as it unwinds. A responder's BelugaError
ends that reply (with what it said so far) and goes upstream as a non-fatal ErrorFrame; the
session goes on.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Message, StreamEvent, TextDelta
from beluga.voice.frames import (
    ErrorFrame,
    LLMDeltaFrame,
    LLMReplyEndFrame,
    LLMReplyStartFrame,
    TranscriptFrame,
)
from beluga.voice.pipeline import FrameProcessor, handles
from beluga.voice.processors.state import SessionState

__all__ = ["Responder", "ResponderProcessor"]


class Responder(Protocol):
    """What answers a voice session: a chat model, an agent, or anything that streams."""

    def stream(self, prompt: Sequence[Message], /) -> AsyncIterator[StreamEvent]: ...


class ResponderProcessor(FrameProcessor):
    """Answers each final user transcript with the responder's streamed text."""

    order = 600
    interruptible = True

    def __init__(self, responder: Responder | Any, state: SessionState) -> None:
        super().__init__(name="responder")
        if not callable(getattr(responder, "stream", None)):
            raise BelugaError(
                "voice.session",
                ErrorCode.INVALID_CONFIG,
                f"the responder {type(responder).__name__} has no stream(messages) method; "
                "pass a ChatModel, an Agent or an object with one",
            )
        self.responder = responder
        self.state = state

    @handles(TranscriptFrame)
    async def on_transcript(self, frame: TranscriptFrame) -> None:
        if not frame.final:
            await self.push(frame)
            return
        # One reply at a time: a turn that came while the last reply still plays (barge-in
        # off) is answered once it has played, so the conversation stays in order.
        await self.state.idle.wait()
        messages = await self.state.user_turn(frame.text)
        await self.push(frame)
        await self.push(LLMReplyStartFrame())
        reply: list[str] = []
        stream = self.responder.stream(messages)
        try:
            async for event in stream:
                if isinstance(event, TextDelta) and event.text:
                    if self.state.turn is not None:
                        self.state.turn.stamp("llm_first_token")
                    reply.append(event.text)
                    await self.push(LLMDeltaFrame(event.text))
        except BelugaError as exc:  # the reply fails, the call goes on: say what was said
            await self.push_upstream(ErrorFrame(exc, fatal=False))
        finally:
            closer = getattr(stream, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()
        await self.push(LLMReplyEndFrame("".join(reply)))
