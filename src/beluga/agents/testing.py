"""Test helpers for agents: a model that plays a script of turns.

``ScriptedModel("t1", [call("add", a=1, b=2)], "the sum is 3")`` answers its first request
with the text ``t1``... in order: a string is a text answer, a :class:`~beluga.schema.ToolCall`
or a list of them is a response calling those tools, a :class:`~beluga.schema.Message` or a
:class:`~beluga.schema.ChatResponse` is used as is, and a function of ``(messages, info)`` is
called (it can look at what the agent sent). Every request's messages are kept in
``requests``, so a test can check what the model was shown. Running out of turns is an error
saying how many there were.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.testing import AgentInfo, FunctionModel, FunctionResult
from beluga.schema import ChatResponse, Message, ToolCall, Usage

__all__ = ["ScriptedModel", "Turn", "call"]

Turn: TypeAlias = (
    str
    | ToolCall
    | Sequence[ToolCall]
    | Message
    | ChatResponse
    | Callable[[Sequence[Message], AgentInfo], FunctionResult]
)

_ids = itertools.count(1)


def call(name: str, arguments: str | None = None, /, **kwargs: Any) -> ToolCall:
    """A tool call of ``name`` with ``kwargs`` as its JSON arguments (or ``arguments`` as the
    raw text, to send malformed JSON), under a fresh id."""
    text = arguments if arguments is not None else json.dumps(kwargs)
    return ToolCall(f"call_{next(_ids)}", name, text)


class ScriptedModel(FunctionModel):
    """A :class:`FunctionModel` answering each request with the next turn of a script."""

    def __init__(self, *turns: Turn, usage: Usage | None = None, model: str = "scripted") -> None:
        super().__init__(self._answer, model=model)
        self.turns = list(turns)
        self.usage = usage or Usage(10, 5)
        self.requests: list[list[Message]] = []

    def _answer(self, messages: Sequence[Message], info: AgentInfo) -> FunctionResult:
        index = len(self.requests)
        self.requests.append(list(messages))
        if index >= len(self.turns):
            raise BelugaError(
                "agents.testing",
                ErrorCode.INTERNAL,
                f"ScriptedModel got request {index + 1} but its script has {len(self.turns)} "
                "turn(s); add the turns this test needs",
            )
        turn = self.turns[index]
        if isinstance(turn, ChatResponse):
            return turn
        if callable(turn) and not isinstance(turn, ToolCall):
            return turn(messages, info)
        if isinstance(turn, str):
            message = Message.assistant(turn)
        elif isinstance(turn, Message):
            message = turn
        else:
            calls = (turn,) if isinstance(turn, ToolCall) else tuple(turn)
            message = Message.assistant(tool_calls=calls)
        if message.tool_calls:
            return ChatResponse(message, self.usage, "tool_calls", self.model_name)
        return ChatResponse(message, self.usage, "stop", self.model_name)
