"""ReAct: tool calling for models that have none, behind the ordinary ``ChatModel`` protocol.

:class:`ReActModel` wraps a model and speaks native tool calling to its caller while it speaks
ReAct text to the model: the tools offered are described in the system prompt instead of being
sent, the history's tool calls and results are written back as ``Action`` / ``Observation``
text, and the model's reply is read into :class:`~beluga.schema.ToolCall` s (finish reason
``tool_calls``) or a final answer. So the agent loop, the router, tracing and every middleware
work unchanged on a small local model, a base model or an API without tools.

Why a model wrapper and not a second executor: one loop means one implementation of limits,
approvals, guardrails, parallel calls and tracing, and ReAct gets them all. The thought before an
action is kept as a :class:`~beluga.schema.ReasoningPart` (``provider="react"``), so it is
reasoning (not answer text) and goes back to the model as ``Thought:`` on the next turn.

Streaming cannot know whether a reply is an action until it sees an ``Action`` or ``Final
Answer`` label, so :meth:`ReActModel.stream` holds the text back until then: a final answer
then streams as it comes, without its marker; an action is read when the reply ends. A reply
with neither label is delivered whole at its end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence

from beluga.agents._react_parse import (
    LABEL_SPAN,
    Action,
    Reply,
    answer_start,
    first_decisive_label,
    parse_reply,
    thought_of,
)
from beluga.agents._react_prompt import REACT, system_section, to_react_messages
from beluga.core.ids import new_id
from beluga.core.streams import aclose
from beluga.llms.base import ChatModel, ModelSettings
from beluga.llms.middleware import ModelWrapper
from beluga.schema import (
    ChatResponse,
    ContentPart,
    FinishEvent,
    FinishReason,
    Message,
    Prompt,
    ReasoningDelta,
    ReasoningPart,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    as_messages,
)

__all__ = ["ReActModel"]

_UNSET = object()
_STOP = "\nObservation"
_MAX_STOPS = 4  # the most stop sequences OpenAI-style APIs take


class ReActModel(ModelWrapper):
    """``model`` with tool calling done by ReAct prompting and parsing (see the module doc).

    ``stop_at_observation`` adds ``"\\nObservation"`` to the stop sequences when tools are
    offered, so the model stops where the tool's result should come instead of inventing it
    (the reader drops an invented one anyway; the stop saves its tokens). ``model_name`` and
    ``provider`` are the wrapped model's, as for every wrapper.
    """

    def __init__(self, model: ChatModel, *, stop_at_observation: bool = True) -> None:
        super().__init__(model)
        self.stop_at_observation = stop_at_observation
        # The last request's tools and settings, with the prompt section and the wrapped
        # model's settings made from them: an agent asks with the same ones at every step.
        self._last: tuple[tuple[ToolDefinition, ...], object, str | None, ModelSettings | None]
        self._last = ((), _UNSET, None, None)

    async def generate(
        self,
        prompt: Prompt,
        *,
        tools: Sequence[ToolDefinition] | None = None,
        settings: ModelSettings | None = None,
    ) -> ChatResponse:
        offered = _offered(tools, settings)
        request, inner_settings = self._request(prompt, offered, settings)
        response = await self.inner.generate(request, settings=inner_settings)
        reply = parse_reply(response.text, offered, actions=bool(offered))
        return _response(response, reply, settings)

    def stream(
        self,
        prompt: Prompt,
        *,
        tools: Sequence[ToolDefinition] | None = None,
        settings: ModelSettings | None = None,
    ) -> AsyncIterator[StreamEvent]:
        offered = _offered(tools, settings)
        request, inner_settings = self._request(prompt, offered, settings)
        return _read_stream(self.inner.stream(request, settings=inner_settings), offered, settings)

    def _request(
        self,
        prompt: Prompt,
        tools: Sequence[ToolDefinition],
        settings: ModelSettings | None,
    ) -> tuple[list[Message], ModelSettings | None]:
        """The ReAct messages and the settings the wrapped model gets (no tool options: it is
        sent no tools; no structured output while tools are offered: the answer comes after a
        ``Final Answer:`` marker, so the schema goes into the prompt instead)."""
        section, inner_settings = self._prepared(tools, settings)
        messages = to_react_messages(as_messages(prompt), section, final_marker=bool(tools))
        return messages, inner_settings

    def _prepared(
        self, tools: Sequence[ToolDefinition], settings: ModelSettings | None
    ) -> tuple[str | None, ModelSettings | None]:
        """The prompt section and the wrapped model's settings for these tools and settings
        (both immutable, so the last ones are reused when they are the same objects)."""
        last_tools, last_settings, section, inner = self._last
        if (
            last_settings is settings
            and len(last_tools) == len(tools)
            and all(a is b for a, b in zip(last_tools, tools, strict=True))
        ):
            return section, inner
        section = None
        if tools:
            output = settings.output if settings is not None else None
            section = system_section(
                tools,
                parallel=settings is None or settings.parallel_tool_calls is not False,
                choice=None if settings is None else settings.tool_choice,
                output_schema=None if output is None else output.schema,
            )
        inner = self._inner_settings(settings, tools)
        self._last = (tuple(tools), settings, section, inner)
        return section, inner

    def _inner_settings(
        self, settings: ModelSettings | None, tools: Sequence[ToolDefinition]
    ) -> ModelSettings | None:
        changes: dict[str, object] = {}
        if settings is not None:
            if settings.tool_choice is not None:
                changes["tool_choice"] = None
            if settings.parallel_tool_calls is not None:
                changes["parallel_tool_calls"] = None
            if tools and settings.output is not None:
                changes["output"] = None
        stop = () if settings is None or settings.stop is None else settings.stop
        if tools and self.stop_at_observation and _STOP not in stop and len(stop) < _MAX_STOPS:
            changes["stop"] = (*stop, _STOP)
        if not changes:
            return settings
        return dataclasses.replace(settings or ModelSettings(), **changes)  # type: ignore[arg-type]


def _offered(
    tools: Sequence[ToolDefinition] | None, settings: ModelSettings | None
) -> Sequence[ToolDefinition]:
    """The tools the model may call under the settings' ``tool_choice``."""
    if not tools:
        return ()
    choice = None if settings is None else settings.tool_choice
    if choice == "none":
        return ()
    if choice in (None, "auto", "required"):
        return tools
    chosen = [t for t in tools if t.name == choice]
    return chosen or tools


def _ids(count: int) -> list[str]:
    """Ids for the calls of one reply: one new id, numbered (a new id costs microseconds)."""
    if not count:
        return []
    base = new_id("call")
    return [base] if count == 1 else [f"{base}_{i}" for i in range(count)]


def _allowed(reply: Reply, settings: ModelSettings | None) -> tuple[Action, ...]:
    """The reply's actions, only the first when parallel tool calls are turned off."""
    if settings is not None and settings.parallel_tool_calls is False:
        return reply.actions[:1]
    return reply.actions


def _response(response: ChatResponse, reply: Reply, settings: ModelSettings | None) -> ChatResponse:
    """The caller's response: the wrapped model's reasoning and media parts, the thought as
    reasoning, then the tool calls or the answer."""
    content: list[ContentPart] = [p for p in response.message.content if type(p) is not TextPart]
    if reply.thought:
        content.append(ReasoningPart(reply.thought, provider=REACT))
    calls = tuple(
        ToolCall(call_id, a.name, a.arguments)
        for call_id, a in zip(_ids(len(reply.actions)), _allowed(reply, settings), strict=False)
    )
    finish: FinishReason = "tool_calls" if calls else response.finish_reason
    if not calls and reply.answer:
        content.append(TextPart(reply.answer))
    return ChatResponse(
        Message.assistant(content, tool_calls=calls),
        response.usage,
        finish,
        response.model,
        response.response_id,
        response.raw_finish_reason,
        None if settings is None else settings.output,
    )


class _Decision:
    """Where a streamed reply stands: undecided, an answer being streamed, or an action."""

    __slots__ = ("actions", "answering", "buffer", "searched", "settled", "waiting")

    def __init__(self, actions: bool) -> None:
        self.actions = actions  # whether tools were offered, so that a reply may be an action
        self.buffer: list[str] = []
        self.settled = False  # an action, or an answer whose start was sent
        self.answering = False
        self.waiting = False  # a "Final Answer:" marker came, its text not yet
        self.searched = 0  # how much of the buffer was searched for a label, so none is re-read

    def feed(self, text: str) -> list[StreamEvent]:
        """The events ``text`` releases now: none while undecided or in an action; the
        thought and the answer so far once a ``Final Answer:`` marker is followed by text."""
        self.buffer.append(text)
        if self.answering:
            return [TextDelta(text)]
        if self.settled:
            return []
        if ":" not in text and "：" not in text and not self.waiting:
            return []  # a label ends with a colon: no new one without it
        joined = "".join(self.buffer)
        since = max(0, self.searched - LABEL_SPAN)
        label = first_decisive_label(joined, since, actions=self.actions)
        self.searched = len(joined)
        if label is None:
            return []
        if label.group("label").lower().startswith("action"):
            self.settled = True
            return []
        start = answer_start(joined, label.end())
        if start == len(joined):
            self.waiting = True
            self.searched = label.start()  # so that the next search finds the marker again
            return []
        self.settled = self.answering = True
        events: list[StreamEvent] = []
        thought = thought_of(joined[: label.start()])
        if thought:
            events.append(ReasoningDelta(thought, provider=REACT))
        events.append(TextDelta(joined[start:]))
        return events


async def _read_stream(
    inner: AsyncIterator[StreamEvent],
    tools: Sequence[ToolDefinition],
    settings: ModelSettings | None,
) -> AsyncIterator[StreamEvent]:
    """The caller's stream of the wrapped model's ReAct reply (see the module doc)."""
    decision = _Decision(bool(tools))
    finish: FinishEvent | None = None
    try:
        async for event in inner:
            kind = type(event)
            if kind is TextDelta:
                for released in decision.feed(event.text):  # type: ignore[union-attr]
                    yield released
            elif kind is FinishEvent:
                finish = event  # type: ignore[assignment]
            else:
                yield event
    finally:
        await aclose(inner)
    reason: FinishReason = "stop" if finish is None else finish.reason
    if not decision.answering:
        reply = parse_reply("".join(decision.buffer), tools, actions=bool(tools))
        if reply.thought:
            yield ReasoningDelta(reply.thought, provider=REACT)
        actions = _allowed(reply, settings)
        for index, (call_id, action) in enumerate(zip(_ids(len(actions)), actions, strict=True)):
            yield ToolCallDelta(index, call_id, action.name, action.arguments)
        if actions:
            reason = "tool_calls"
        elif reply.answer:
            yield TextDelta(reply.answer)
    yield FinishEvent(
        reason,
        None if finish is None else finish.raw_reason,
        None if finish is None else finish.model,
        None if finish is None else finish.response_id,
    )
