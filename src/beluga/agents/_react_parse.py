"""Reading a ReAct reply: the thought, the actions (tool calls) or the final answer.

Models without native tool calling write the format loosely, so the reader accepts what they
actually produce rather than what the prompt asked for: labels in any case and spacing
(``ACTION INPUT``, ``Action_Input``, ``FinalAnswer``), in markdown bold or under a header, with a
number (``Action 2:``); arguments in a code fence, as Python literals, with trailing commas, cut
short, missing (``{}``), or as a bare string for a one-parameter tool; the LangChain JSON blob
(``{"action": ..., "action_input": ...}``); several actions in one reply (run in parallel).

Everything after the first ``Observation`` that follows an action is the model imagining the tool's
result and is dropped. An answer written after an action without an observation between them is
dropped too: it cannot know the tool's result yet. A reply with neither an action nor a final
answer is all answer. The reader never raises: any text is some reply.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from beluga.agents._react_json import object_at
from beluga.schema import ToolDefinition

__all__ = [
    "LABEL_SPAN",
    "Action",
    "Reply",
    "answer_start",
    "first_decisive_label",
    "parse_reply",
    "thought_of",
]

_LABEL = re.compile(  # the lookahead lets the engine skip most positions at once
    r"(?<![\w])(?:\*\*|__)?(?=[tafoTAFO])"
    r"(?P<label>thought|action[ \t_\-]*input|action|observation|final[ \t_\-]*answer)"
    r"(?:[ \t]*#?\d+|[ \t]*\([^)\n]{0,64}\))?"
    r"[ \t]*(?:\*\*|__)?[ \t]*(?P<colon>[:：])(?:[ \t]*(?:\*\*|__))?",
    re.IGNORECASE,
)
_THOUGHT_LABEL = re.compile(r"(?<![\w])(?:\*\*|__)?thought[ \t]*(?:\*\*|__)?[ \t]*[:：]", re.I)
_LINE_HEAD = re.compile(r"[ \t>*_#\-•]*(?:\d+[.)][ \t]*)?")
_TOKEN = re.compile(r"[\w\-]+")
_FENCE = re.compile(r"```[^\n`]*\n?")
_ANSWER_NAMES = frozenset({"final answer", "finalanswer", "finish", "answer"})
_MARKUP = " \t\r\n*_#>`"
LABEL_SPAN = 120
"""More than the longest label: a streamed reply is searched again from this far back."""


@dataclass(slots=True, frozen=True)
class Action:
    """One tool call read from the reply: the tool's name and its arguments as JSON text (the
    raw text when it could not be read as a JSON object: the tool then reports the error)."""

    name: str
    arguments: str


@dataclass(slots=True, frozen=True)
class Reply:
    """What a reply says: ``actions`` to run, or else ``answer``; ``thought`` is the reasoning
    written before either."""

    thought: str
    actions: tuple[Action, ...] = ()
    answer: str = ""


def _at_line_start(text: str, start: int) -> bool:
    """Whether only markup (spaces, bullets, ``#``, ``>``, bold, ``1.``) precedes ``start``
    on its line: an action is its own line, unlike "take action: add" in a thought."""
    head = text.rfind("\n", 0, start) + 1
    match = _LINE_HEAD.match(text, head, start)
    return match is not None and match.end() == start


_KINDS = {"t": "thought", "o": "observation", "f": "final"}


def _kind(match: re.Match[str]) -> str:
    """``thought``, ``action``, ``input``, ``observation`` or ``final``."""
    label = match.group("label")
    first = label[0].lower()
    if first == "a":
        return "action" if len(label) == 6 else "input"
    return _KINDS[first]


class _Labels:
    """Every label of a reply, found in one pass; :meth:`after` is the first from a position
    (labels inside an action's JSON input are passed over that way)."""

    __slots__ = ("kinds", "matches", "starts")

    def __init__(self, text: str) -> None:
        self.matches = list(_LABEL.finditer(text))
        self.starts = [m.start() for m in self.matches]
        self.kinds = [_kind(m) for m in self.matches]

    def after(self, pos: int) -> tuple[re.Match[str], str] | None:
        i = bisect_left(self.starts, pos)
        return (self.matches[i], self.kinds[i]) if i < len(self.matches) else None


def parse_reply(text: str, tools: Sequence[ToolDefinition] = (), *, actions: bool = True) -> Reply:
    """Read ``text``; with ``actions=False`` (tools were not offered) only the answer is read."""
    by_name = _names(tools)
    labels = _Labels(text)
    found: list[Action] = []
    thought_end: int | None = None
    pos = 0
    while (label := labels.after(pos)) is not None:
        match, kind = label
        pos = match.end()
        if kind == "observation" and found:
            break
        if kind == "final":
            if found:
                break
            return Reply(thought_of(text[: match.start()]), answer=_answer_text(text, match.end()))
        if kind != "action" or not actions or not _at_line_start(text, match.start()):
            continue
        action, pos, answer = _read_action(text, match, labels, by_name)
        if answer is not None and not found:
            return Reply(thought_of(text[: match.start()]), answer=answer)
        if action is not None:
            found.append(action)
            thought_end = match.start() if thought_end is None else thought_end
    if found:
        return Reply(thought_of(text[:thought_end]), tuple(found))
    return Reply("", answer=text.strip())


def _names(tools: Sequence[ToolDefinition]) -> dict[str, ToolDefinition]:
    """The tools by exact name, and by lower-cased name where that is not another's name."""
    names = {t.name: t for t in tools}
    for tool in tools:
        names.setdefault(tool.name.lower(), tool)
    return names


def first_decisive_label(text: str, pos: int = 0, *, actions: bool = True) -> re.Match[str] | None:
    """The first ``Action`` (unless ``actions`` is false) or ``Final Answer`` label in
    ``text`` from ``pos`` on: what decides, while a reply is still streaming, whether it is
    an action or an answer."""
    while (match := _LABEL.search(text, pos)) is not None:
        kind = _kind(match)
        if kind == "final" or (
            actions and kind == "action" and _at_line_start(text, match.start())
        ):
            return match
        pos = match.end()
    return None


def answer_start(text: str, marker_end: int) -> int:
    """Where the answer begins after a ``Final Answer:`` marker ending at ``marker_end``:
    past the spaces that follow it (``len(text)`` while only those came yet). Markdown stays:
    ``**42**`` is the answer in bold, and the marker's own bold is part of the marker."""
    return _skip_space(text, marker_end)


def _answer_text(text: str, marker_end: int) -> str:
    return text[answer_start(text, marker_end) :]


def thought_of(text: str) -> str:
    """The reasoning in ``text`` (what came before an action or answer), its labels removed."""
    return _THOUGHT_LABEL.sub("", text).strip(_MARKUP)


def _read_action(
    text: str, match: re.Match[str], labels: _Labels, by_name: Mapping[str, ToolDefinition]
) -> tuple[Action | None, int, str | None]:
    """The action whose label is ``match``, the index past it, and the answer when the "tool"
    is the final answer (``Action: Final Answer``)."""
    line_end = text.find("\n", match.end())
    line_end = len(text) if line_end < 0 else line_end
    next_label = labels.after(match.end())
    following = None if next_label is None else next_label[0]
    name_end = line_end if following is None else min(line_end, following.start())
    # from the colon: a bold closer after it may be the name itself (a tool called "__")
    name_text = text[match.end("colon") : name_end]
    if not name_text.strip(_MARKUP) or name_text.strip(" \t`").startswith("{"):
        blob = _json_blob(text, match.end())
        if blob is not None:
            return blob[0], blob[1], None
    name = _tool_name(name_text, by_name)
    if name is None:
        return None, name_end, None
    tool = by_name.get(name)
    answering = tool is None and _is_answer_name(name_text)
    if (
        following is None
        or next_label is None
        or next_label[1] != "input"
        or text[name_end : following.start()].strip(_MARKUP)
    ):
        if answering:
            return None, name_end, ""
        return Action(name, "{}"), name_end, None
    value, end, exact = _read_input(text, following.end(), labels)
    if answering:
        return None, end, value if isinstance(value, str) else json.dumps(value)
    return Action(name, exact or _arguments(value, tool)), end, None


def _is_answer_name(name_text: str) -> bool:
    return " ".join(_TOKEN.findall(name_text.replace("_", " "))).lower() in _ANSWER_NAMES


def _tool_name(name_text: str, by_name: Mapping[str, ToolDefinition]) -> str | None:
    """The offered tool named on the action's line (``add``, ``**add**``, ``functions.add``,
    ``the add tool``), else the line's first word (an unknown tool, which the agent reports)."""
    tokens = _TOKEN.findall(name_text)
    for token in tokens:
        tool = by_name.get(token)
        if tool is None:
            tool = by_name.get(token.lower())
        if tool is not None:
            return tool.name
    return tokens[0] if tokens else None


def _json_blob(text: str, start: int) -> tuple[Action, int] | None:
    """A LangChain-style ``{"action": name, "action_input": {...}}`` after ``Action:``."""
    i = _skip_fence(text, _skip_space(text, start))
    if i >= len(text) or text[i] != "{":
        return None
    read = object_at(text, i)
    if read is None or not isinstance(read[0], dict) or not isinstance(read[0].get("action"), str):
        return None
    blob, end, _ = read
    arguments = blob.get("action_input", blob.get("action_args", {}))
    return Action(blob["action"], _arguments(arguments, None)), _past_fence(text, end)


def _read_input(text: str, start: int, labels: _Labels) -> tuple[Any, int, str | None]:
    """The action's input after ``Action Input:``: a JSON object or array (read leniently), or
    else the bare text up to the next label (a JSON scalar, a quoted or plain string); the
    index past it; and the object's text as written when it was valid JSON (kept as is)."""
    i = _skip_space(text, start)
    fenced = text.startswith("```", i)
    i = _skip_space(text, _skip_fence(text, i))
    if i < len(text) and text[i] in "{[":
        read = object_at(text, i)
        if read is not None:
            value, end, strict = read
            exact = text[i:end] if strict and isinstance(value, dict) else None
            return value, _past_fence(text, end) if fenced else end, exact
    following = labels.after(i)
    end = len(text) if following is None else following[0].start()
    if fenced:
        close = text.find("```", i, end)
        end = end if close < 0 else close
    bare = text[i:end].strip()
    return _scalar(bare), _past_fence(text, end) if fenced else end, None


def _scalar(bare: str) -> Any:
    if len(bare) >= 2 and bare[0] == bare[-1] and bare[0] in "\"'`":
        return bare[1:-1]
    try:
        value = json.loads(bare)
    except (json.JSONDecodeError, RecursionError):
        return bare
    return value if isinstance(value, int | float | bool | str) else bare


def _arguments(value: Any, tool: ToolDefinition | None) -> str:
    """The JSON object text of the arguments: an object as is, anything else as the one
    parameter of a one-parameter tool, no input as ``{}``, else the raw text for the tool to
    reject with a message the model can act on."""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if value == "" or value is None:
        return "{}"
    properties = (tool.parameters.get("properties") or {}) if tool is not None else {}
    if isinstance(properties, dict) and len(properties) == 1:
        return json.dumps({next(iter(properties)): value}, ensure_ascii=False)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _skip_fence(text: str, i: int) -> int:
    fence = _FENCE.match(text, i)
    return i if fence is None else fence.end()


def _past_fence(text: str, i: int) -> int:
    """Past the closing ``` of a fenced input, when it comes next."""
    j = _skip_space(text, i)
    return j + 3 if text.startswith("```", j) else i
