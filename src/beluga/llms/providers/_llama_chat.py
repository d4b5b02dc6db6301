"""Prompt rendering and output parsing for the local model.

Rendering turns beluga messages into the ``system``/``user``/``assistant`` turns that a plain
chat template (SmolLM2's ChatML) knows: a tool result becomes a user turn ``Result of <tool>:
...``, an assistant tool call becomes its JSON text, exactly as the model is asked to write it.

Parsing turns generated text pieces into stream events: :class:`TextAssembler` holds back text
that may be the start of a stop sequence; :class:`ToolCallAssembler` reads the fixed prefix
``{"tool":"<name>","arguments":`` and streams the arguments as :class:`ToolCallDelta` pieces.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.ids import new_id
from beluga.llms.providers._llama_grammar import tool_call_prefix
from beluga.schema import (
    Message,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolDefinition,
)

__all__ = [
    "OUTPUT_EXAMPLES",
    "TOOL_EXAMPLES",
    "TextAssembler",
    "ToolCallAssembler",
    "TruncatedToolCall",
    "Turn",
    "call_text",
    "offered_tools",
    "output_instructions",
    "render",
    "tool_instructions",
]

Turn = dict[str, str]

# Few-shot turns for tool calls, given as chat turns (in the system prompt the model copied their
# values). Their tools are deliberately unrelated to any real tool set, so they teach the format
# and "copy the values from the question" without lending values to copy: with these two turns
# the 20-question test picks the right tool 20/20; with placeholder values drawn from the
# offered tools' own schemas the model copied the placeholders (8/20 right arguments).
_EXAMPLES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "Convert 12 miles to kilometers",
        "convert_units",
        {"value": 12, "from": "miles", "to": "kilometers"},
    ),
    (
        "Find flights from Lisbon to Boston",
        "search_flights",
        {"origin": "Lisbon", "destination": "Boston"},
    ),
)


def call_text(name: str, arguments: str) -> str:
    """A tool call as the model writes it (compact JSON)."""
    return f"{tool_call_prefix(name)}{arguments.strip() or '{}'}}}"


TOOL_EXAMPLES: tuple[Turn, ...] = tuple(
    turn
    for question, name, args in _EXAMPLES
    for turn in (
        {"role": "user", "content": question},
        {"role": "assistant", "content": call_text(name, json.dumps(args, separators=(",", ":")))},
    )
)


# One extraction example for structured output (no schema of its own to leak): with it the model
# got name and age right for 7 of 8 sentences, 5 of 8 without.
OUTPUT_EXAMPLES: tuple[Turn, ...] = (
    {"role": "user", "content": "Paris has 2100000 inhabitants."},
    {"role": "assistant", "content": '{"city":"Paris","population":2100000}'},
)


def tool_instructions(tools: Sequence[ToolDefinition]) -> str:
    """The system-prompt block that describes ``tools`` and how to call them."""
    lines = [
        "You are a function-calling assistant. To answer, call one of these tools by replying "
        'with JSON {"tool": <tool name>, "arguments": <arguments object>}:'
    ]
    for tool in tools:
        params = tool.parameters
        shown = params.get("properties", params)
        description = tool.description.strip().rstrip(".") or tool.name
        lines.append(f"- {tool.name}: {description}. Arguments: {json.dumps(shown)}")
    return "\n".join(lines)


def output_instructions(schema: dict[str, Any]) -> str:
    """The system-prompt block that asks for JSON of ``schema``.

    It names the keys only: with the whole schema in the prompt the model copied values from it
    (``{"name":"Alice","age":23}`` for "Alice is 31 years old"); the grammar enforces the rest.
    """
    keys = list(schema.get("properties", {}))
    if not keys:
        return "Reply with JSON."
    return f"Reply with a JSON object with the keys {', '.join(keys)}."


def render(
    messages: Sequence[Message],
    *,
    instructions: str | None,
    examples: Sequence[Turn] = (),
    fold_results: bool = False,
    op: str,
) -> list[Turn]:
    """Chat turns for the template: one leading system turn, ``examples``, the conversation.

    With ``fold_results`` (when the model is to answer rather than call), tool calls are left
    out and each tool result goes into the user turn it answers, before the question: after an
    assistant turn of call JSON the model wrote the same JSON again instead of an answer (3/3),
    while "Result of get_weather: {...}\n\nWhat's the weather in Paris?" gave usable answers.
    """
    system: list[str] = []
    body: list[Turn] = []
    names: dict[str, str] = {}
    asked = -1  # index in body of the user turn that the next tool results answer
    folded: dict[int, list[str]] = {}
    for index, message in enumerate(messages):
        if not message.is_text_only:
            kinds = sorted({p.kind for p in message.content if p.kind not in ("text", "reasoning")})
            raise BelugaError(
                op,
                ErrorCode.INVALID_REQUEST,
                f"the local model reads text only; message {index} ({message.role}) has "
                f"{'/'.join(kinds)} content. Describe it in text, transcribe audio first, or "
                "use a multimodal provider for this call",
            )
        text = message.text
        if message.role == "system":
            if body:
                body.append({"role": "system", "content": text})
            else:
                system.append(text)
        elif message.role == "tool":
            name = message.name or names.get(message.tool_call_id or "", "the tool")
            label = "Error from" if message.is_error else "Result of"
            result = f"{label} {name}: {text}"
            if fold_results and asked >= 0:
                folded.setdefault(asked, []).append(result)
            else:
                body.append({"role": "user", "content": result})
        elif message.role == "assistant" and message.tool_calls:
            for call in message.tool_calls:
                names[call.id] = call.name
            calls = "\n".join(call_text(c.name, c.arguments) for c in message.tool_calls)
            if not fold_results:
                body.append({"role": "assistant", "content": f"{text}\n{calls}" if text else calls})
            elif text:
                body.append({"role": "assistant", "content": text})
        else:
            if message.role == "user":
                asked = len(body)
            body.append({"role": message.role, "content": text})
    for at, results in folded.items():
        body[at]["content"] = "\n".join(results) + "\n\n" + body[at]["content"]
    if instructions:
        system.append(instructions)
    turns: list[Turn] = []
    if system:
        turns.append({"role": "system", "content": "\n\n".join(s for s in system if s)})
    turns.extend(examples)
    turns.extend(body)
    return turns


def offered_tools(
    messages: Sequence[Message],
    tools: Sequence[ToolDefinition],
    tool_choice: str | None,
    *,
    op: str,
) -> list[ToolDefinition]:
    """The tools this call offers through the grammar (see ``local``'s docstring on "auto")."""
    choice = tool_choice or "auto"
    if choice == "none" or (not tools and choice == "auto"):
        return []
    if not tools:
        raise BelugaError(
            op, ErrorCode.INVALID_REQUEST, f"tool_choice={choice!r} but no tools were given"
        )
    if choice == "auto":
        return [] if messages[-1].role == "tool" else list(tools)
    if choice == "required":
        return list(tools)
    chosen = [t for t in tools if t.name == choice]
    if not chosen:
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"tool_choice names {choice!r}, which is not among the tools given "
            f"({', '.join(t.name for t in tools)})",
        )
    return chosen


class TextAssembler:
    """Text pieces to :class:`TextDelta` events, cut at the first stop sequence."""

    __slots__ = ("_pending", "_stops", "stopped", "text")

    def __init__(self, stops: Sequence[str] = ()) -> None:
        self._stops = tuple(s for s in stops if s)
        self._pending = ""
        self.stopped = False
        self.text = ""

    def feed(self, piece: str) -> list[StreamEvent]:
        """Events for ``piece``; sets ``stopped`` when a stop sequence was reached."""
        if not self._stops:
            return self._emit(piece)
        pending = self._pending + piece
        hits = [i for i in (pending.find(s) for s in self._stops) if i >= 0]
        if hits:
            self.stopped = True
            self._pending = ""
            return self._emit(pending[: min(hits)])
        keep = max(
            (n for s in self._stops for n in range(len(s) - 1, 0, -1) if pending.endswith(s[:n])),
            default=0,
        )
        self._pending = pending[len(pending) - keep :] if keep else ""
        return self._emit(pending[: len(pending) - keep])

    def finish(self) -> list[StreamEvent]:
        """Events for what is still held back when generation ends."""
        pending, self._pending = self._pending, ""
        return self._emit(pending)

    def _emit(self, text: str) -> list[StreamEvent]:
        if not text:
            return []
        self.text += text
        return [TextDelta(text)]


class TruncatedToolCall(Exception):
    """The model stopped before its tool call was complete JSON."""


class ToolCallAssembler:
    """Text pieces of ``{"tool":"<name>","arguments":{...}}`` to :class:`ToolCallDelta` events.

    The grammar guarantees the prefix and the closing brace; the last character seen is held
    back until the next piece because it may be that closing brace.
    """

    __slots__ = ("_names", "_sent", "_text", "call_id", "name")

    def __init__(self, names: Sequence[str]) -> None:
        self._names = tuple(names)
        self._text = ""
        self._sent = 0
        self.call_id = new_id("call")
        self.name: str | None = None

    def feed(self, piece: str) -> list[StreamEvent]:
        self._text += piece
        events: list[StreamEvent] = []
        if self.name is None:
            for name in self._names:
                prefix = tool_call_prefix(name)
                if self._text.startswith(prefix):
                    self.name, self._sent = name, len(prefix)
                    events.append(ToolCallDelta(0, self.call_id, name, ""))
                    break
            else:
                return events
        end = len(self._text) - 1
        if end > self._sent:
            events.append(ToolCallDelta(0, arguments=self._text[self._sent : end]))
            self._sent = end
        return events

    def finish(self) -> list[StreamEvent]:
        """The last events; raises :class:`TruncatedToolCall` unless the call is complete JSON.

        Complete JSON under the grammar can only be followed by the end of generation, so this
        also accepts a call that ended exactly at ``max_tokens``.
        """
        if self.name is None or not self._text.endswith("}"):
            raise TruncatedToolCall(self._text)
        try:
            json.loads(self._text)
        except json.JSONDecodeError as exc:
            raise TruncatedToolCall(self._text) from exc
        end = len(self._text) - 1
        if end > self._sent:
            return [ToolCallDelta(0, arguments=self._text[self._sent : end])]
        return []
