"""Writing a conversation in the ReAct format for a model that has no tool calling.

The tools go into the system prompt (name, description, JSON schema of the arguments) with the
format to answer in; the history's tool calls become the ``Action`` / ``Action Input`` text the
model would have written, and tool results become ``Observation`` messages from the user, so
the model sees its earlier steps in the very format it is asked to continue. Consecutive tool
results (a parallel step) become one message, one ``Observation`` each in call order: providers
and chat templates reject two user turns in a row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from beluga.schema import ContentPart, Message, ReasoningPart, TextPart, ToolCall, ToolDefinition

__all__ = ["REACT", "format_action", "system_section", "to_react_messages"]

REACT = "react"
"""The ``provider`` of the :class:`ReasoningPart` holding a ReAct thought."""

_FORMAT = """\
You can use tools. To use one, reply in exactly this format and then stop:

Thought: what you need to do next, and why
Action: the tool's name, one of [{names}]
Action Input: the tool's arguments as one JSON object

The tool's result comes back to you as "Observation: ...". {parallel}Repeat \
Thought / Action / Action Input as often as you need. When you can answer, reply:

Thought: I can answer now
Final Answer: your answer to the user{output}

Never write an Observation yourself. The tools:
"""
_PARALLEL = (
    "To run several tools at once, write several Action / Action Input pairs in one reply: "
    "one Observation comes back for each, in the same order. "
)
_ONE_AT_A_TIME = "Use one tool per reply. "


def format_action(call: ToolCall) -> str:
    """The ``Action`` / ``Action Input`` lines of ``call``; arguments that are valid JSON are
    written compactly, anything else as it was."""
    try:
        arguments = json.dumps(json.loads(call.arguments or "{}"), ensure_ascii=False)
    except (json.JSONDecodeError, RecursionError):
        arguments = call.arguments
    return f"Action: {call.name}\nAction Input: {arguments}"


def system_section(
    tools: Sequence[ToolDefinition],
    *,
    parallel: bool = True,
    choice: str | None = None,
    output_schema: dict[str, object] | None = None,
) -> str:
    """The system-prompt section describing ``tools`` and the format. ``choice`` is the
    settings' ``tool_choice`` (``required`` or a tool's name asks for a tool now)."""
    output = ""
    if output_schema is not None:
        schema = json.dumps(output_schema, ensure_ascii=False)
        output = f", as one JSON value matching this JSON schema: {schema}"
    text = _FORMAT.format(
        names=", ".join(t.name for t in tools),
        parallel=_PARALLEL if parallel else _ONE_AT_A_TIME,
        output=output,
    )
    lines = [text]
    for tool in tools:
        lines.append(f"- {tool.name}: {tool.description.strip() or '(no description)'}")
        lines.append(
            f"  Arguments (JSON schema): {json.dumps(tool.parameters, ensure_ascii=False)}"
        )
    if choice == "required":
        lines.append("\nUse a tool in your next reply; do not give a Final Answer yet.")
    elif choice not in (None, "auto", "none"):
        lines.append(f"\nUse the tool {choice} in your next reply; do not give a Final Answer yet.")
    return "\n".join(lines)


def to_react_messages(
    messages: Sequence[Message], section: str | None, *, final_marker: bool
) -> list[Message]:
    """``messages`` rewritten for the ReAct format, with ``section`` added to the system
    prompt (when given); ``final_marker`` writes earlier answers as ``Final Answer: ...``."""
    out: list[Message] = []
    pending: list[ContentPart] = []  # the observations of consecutive tool results
    for message in messages:
        if message.role == "tool":
            pending.extend(_observation(message, first=not pending))
            continue
        if pending:
            out.append(Message.user(pending))
            pending = []
        if message.role == "assistant":
            out.append(_assistant(message, final_marker))
        else:
            out.append(message)
    if pending:
        out.append(Message.user(pending))
    if section is not None:
        _add_section(out, section)
    return out


def _add_section(messages: list[Message], section: str) -> None:
    if messages and messages[0].role == "system":
        head = messages[0]
        messages[0] = Message.system((*head.content, TextPart(f"\n\n{section}")))
    else:
        messages.insert(0, Message.system(section))


def _assistant(message: Message, final_marker: bool) -> Message:
    """An assistant turn as the model would have written it: its thought, text and actions."""
    kept: list[ContentPart] = []  # the model's own reasoning and media go back as they came
    lines: list[str] = []
    for part in message.content:
        if isinstance(part, ReasoningPart) and part.provider == REACT:
            lines.append(f"Thought: {part.text}")
        elif isinstance(part, TextPart):
            if part.text:
                lines.append(part.text)
        else:
            kept.append(part)
    if message.tool_calls:
        lines.extend(format_action(call) for call in message.tool_calls)
    elif final_marker and lines and not lines[-1].startswith("Thought: "):
        lines[-1] = f"Final Answer: {lines[-1]}"
    if lines:
        kept.append(TextPart("\n".join(lines)))
    return Message.assistant(kept)


def _observation(message: Message, *, first: bool) -> list[ContentPart]:
    """A tool result as ``Observation: ...`` text, its images and files kept after it."""
    text = "".join(p.text for p in message.content if isinstance(p, TextPart))
    media = [p for p in message.content if not isinstance(p, TextPart | ReasoningPart)]
    if message.is_error:
        text = f"Error: {text} (correct the arguments or choose another way)"
    lead = "" if first else "\n"
    return [TextPart(f"{lead}Observation: {text or '(no output)'}"), *media]
