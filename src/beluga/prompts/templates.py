"""String and chat templates: variables, defaults, partials, few-shot examples, media, history.

Each template is compiled once, when it is made (see :mod:`beluga.prompts._engine` for the
sandbox and the render bounds); few-shot examples are static, so they are rendered then too, and
a render only fills in the variables. Values win over partials, which win over defaults.

Renders are not traced: a render is a pure, local string operation of microseconds, not a GenAI
operation (DESIGN §4 traces model calls, tool calls and agent runs, which a render is part of);
a span per render would cost more than the render itself and say nothing the enclosing
``chat``/``invoke_agent`` span does not.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self, TypeAlias

from beluga.core.errors import BelugaError, ErrorCode
from beluga.prompts._engine import DEFAULT_LIMITS, Compiled, RenderLimits, compile_template, render
from beluga.prompts._media import FileSlot, ImageSlot, media_part
from beluga.schema import ContentPart, Message, Role, TextPart, as_messages

__all__ = [
    "ChatTemplate",
    "FewShot",
    "MessageLike",
    "Placeholder",
    "PromptTemplate",
]

DEFAULT_EXAMPLE_TEMPLATE = "Input: {{ input }}\nOutput: {{ output }}"
_ROLES = ("system", "user", "assistant")


@dataclass(slots=True, frozen=True)
class Placeholder:
    """Where a list of messages (a history) goes: the value of the variable ``name``, as
    :class:`~beluga.schema.Message` objects or OpenAI-style dicts. ``optional`` makes a missing
    value an empty history instead of an error."""

    name: str
    optional: bool = False


@dataclass(slots=True, frozen=True)
class FewShot:
    """Few-shot examples as user/assistant turns: each example (a mapping) renders ``input`` as
    the user turn and ``output`` as the assistant turn."""

    examples: Sequence[Mapping[str, Any]]
    input: str = "{{ input }}"
    output: str = "{{ output }}"


MessageLike: TypeAlias = (
    tuple[Role, str | Sequence[str | ImageSlot | FileSlot]] | Placeholder | FewShot | Message
)
"""One element of a chat template: ``(role, template)``, ``(role, [template, ImageSlot(...),
...])``, a :class:`Placeholder`, a :class:`FewShot` block, or a fixed :class:`Message`."""


class _Template:
    """What both kinds share: identity, defaults, bound values, limits."""

    __slots__ = (
        "_bound",
        "_optional",
        "_variables",
        "defaults",
        "description",
        "limits",
        "metadata",
        "name",
        "source",
        "version",
    )

    def __init__(
        self,
        *,
        name: str | None,
        version: str | None,
        description: str,
        defaults: Mapping[str, Any] | None,
        limits: RenderLimits,
        metadata: Mapping[str, Any] | None,
        source: str | None,
    ) -> None:
        self.name = name
        self.version = version
        self.description = description
        self.defaults: Mapping[str, Any] = dict(defaults or {})
        self.limits = limits
        self.metadata: Mapping[str, Any] = dict(metadata or {})
        self.source = source
        self._bound: dict[str, Any] = {}
        self._variables: frozenset[str] = frozenset()
        self._optional: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        """How errors name this template: ``prompt 'support' v2 (prompts/support.yaml)``."""
        if self.name is None:
            return "the template"
        version = f" v{self.version}" if self.version is not None else ""
        where = f" ({self.source})" if self.source else ""
        return f"prompt {self.name!r}{version}{where}"

    @property
    def input_variables(self) -> tuple[str, ...]:
        """Every variable the template reads, sorted."""
        return tuple(sorted(self._variables))

    @property
    def required_variables(self) -> tuple[str, ...]:
        """The variables a render must be given: those without a default or partial value (an
        optional placeholder is not required)."""
        given = self.defaults.keys() | self._bound.keys() | self._optional
        return tuple(sorted(self._variables - given))

    @property
    def partial_values(self) -> Mapping[str, Any]:
        return dict(self._bound)

    def partial(self, **values: Any) -> Self:
        """A new template with ``values`` bound; this one is unchanged."""
        self._check_known(values, "partial()")
        new = copy.copy(self)
        new._bound = {**self._bound, **values}
        return new

    def _check_known(self, values: Mapping[str, Any], what: str) -> None:
        unknown = sorted(set(values) - self._variables)
        if unknown:
            known = ", ".join(sorted(self._variables)) or "none"
            raise BelugaError(
                "prompts.template",
                ErrorCode.INVALID_REQUEST,
                f"{what} of {self.label} names {', '.join(map(repr, unknown))}, which the "
                f"template does not use (its variables: {known})",
            )

    def _values(self, values: Mapping[str, Any]) -> Mapping[str, Any]:
        if not self.defaults and not self._bound:
            return values
        return {**self.defaults, **self._bound, **values}


class PromptTemplate(_Template):
    """A string template. ``examples`` are rendered once, each with ``example_template`` and
    joined by ``example_separator``, into the variable ``examples``, which the template must use
    (``{{ examples }}``)."""

    __slots__ = ("_compiled",)

    def __init__(
        self,
        template: str,
        *,
        name: str | None = None,
        version: str | None = None,
        description: str = "",
        defaults: Mapping[str, Any] | None = None,
        examples: Sequence[Mapping[str, Any]] = (),
        example_template: str = DEFAULT_EXAMPLE_TEMPLATE,
        example_separator: str = "\n\n",
        limits: RenderLimits = DEFAULT_LIMITS,
        metadata: Mapping[str, Any] | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(
            name=name,
            version=version,
            description=description,
            defaults=defaults,
            limits=limits,
            metadata=metadata,
            source=source,
        )
        self._compiled = compile_template(template, self.label)
        self._variables = self._compiled.variables
        if examples:
            if "examples" not in self._variables:
                raise BelugaError(
                    "prompts.template",
                    ErrorCode.INVALID_REQUEST,
                    f"{self.label} has examples but does not show them; put {{{{ examples }}}} "
                    "in the template where they go",
                )
            example = compile_template(example_template, f"the example template of {self.label}")
            shown = [
                _render_example(example, item, i, self.limits, self.label)
                for i, item in enumerate(examples)
            ]
            self._variables = self._variables - {"examples"}
            self._bound["examples"] = example_separator.join(shown)
        self._check_known(self.defaults, "defaults")

    @property
    def template(self) -> str:
        """The template's source text."""
        return self._compiled.source

    def render(self, **values: Any) -> str:
        """The text, with ``values`` (over partials, over defaults) filled in."""
        return render(self._compiled, self._values(values), self.limits, self.label)

    def __repr__(self) -> str:
        return f"PromptTemplate(name={self.name!r}, variables={list(self.input_variables)})"


@dataclass(slots=True, frozen=True)
class _Piece:
    """One compiled message: its role and its parts (text templates and media slots)."""

    role: Role
    parts: tuple[Compiled | ImageSlot | FileSlot, ...]


_Element: TypeAlias = _Piece | Placeholder | tuple[Message, ...]


class ChatTemplate(_Template):
    """A list of role messages, each a template, that renders to :class:`~beluga.schema.Message`
    objects; :class:`Placeholder` slots take a history, :class:`FewShot` blocks add example
    turns, and :class:`~beluga.prompts.ImageSlot`/:class:`~beluga.prompts.FileSlot` parts take
    media from variables."""

    __slots__ = ("_elements",)

    def __init__(
        self,
        messages: Sequence[MessageLike],
        *,
        name: str | None = None,
        version: str | None = None,
        description: str = "",
        defaults: Mapping[str, Any] | None = None,
        limits: RenderLimits = DEFAULT_LIMITS,
        metadata: Mapping[str, Any] | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(
            name=name,
            version=version,
            description=description,
            defaults=defaults,
            limits=limits,
            metadata=metadata,
            source=source,
        )
        self._elements: tuple[_Element, ...] = tuple(
            self._element(item, i) for i, item in enumerate(messages)
        )
        self._variables = frozenset(_variables(self._elements))
        self._optional = frozenset(
            e.name for e in self._elements if isinstance(e, Placeholder) and e.optional
        )
        self._check_known(self.defaults, "defaults")

    @property
    def messages(self) -> tuple[MessageLike, ...]:
        """The elements as given (templates as their source text)."""
        out: list[MessageLike] = []
        for element in self._elements:
            if isinstance(element, _Piece):
                parts = [p.source if isinstance(p, Compiled) else p for p in element.parts]
                single = len(parts) == 1 and isinstance(parts[0], str)
                out.append((element.role, parts[0] if single else parts))  # type: ignore[arg-type]
            elif isinstance(element, Placeholder):
                out.append(element)
            else:
                out.extend(element)
        return tuple(out)

    def render(self, **values: Any) -> list[Message]:
        """The messages, with ``values`` (over partials, over defaults) filled in."""
        given = self._values(values)
        out: list[Message] = []
        for element in self._elements:
            if type(element) is _Piece:
                out.append(self._message(element, given))
            elif type(element) is Placeholder:
                out.extend(self._history(element, given))
            else:
                out.extend(element)  # type: ignore[arg-type]
        return out

    def _message(self, piece: _Piece, values: Mapping[str, Any]) -> Message:
        parts: list[ContentPart] = []
        for part in piece.parts:
            if type(part) is Compiled:
                text = render(part, values, self.limits, self.label)
                if text:
                    parts.append(TextPart(text))
            else:
                slot: ImageSlot | FileSlot = part  # type: ignore[assignment]
                if slot.variable not in values:
                    raise _missing_value(self.label, slot.variable, "an image or file")
                parts.append(media_part(slot, values[slot.variable], self.label))  # type: ignore[arg-type]
        return Message(piece.role, parts)

    def _history(self, slot: Placeholder, values: Mapping[str, Any]) -> Sequence[Message]:
        value = values.get(slot.name)
        if value is None:
            if slot.optional:
                return ()
            raise _missing_value(self.label, slot.name, "a list of messages")
        if isinstance(value, list | tuple) and not value:
            return ()
        try:
            return as_messages(value)
        except BelugaError as exc:
            raise BelugaError(
                "prompts.render",
                ErrorCode.INVALID_REQUEST,
                f"{self.label}: the history {slot.name!r} is not a list of messages: {exc.message}",
            ) from None

    def _element(self, item: MessageLike, index: int) -> _Element:
        if isinstance(item, Placeholder | Message):
            return item if isinstance(item, Placeholder) else (item,)
        if isinstance(item, FewShot):
            return _few_shot(item, self.limits, self.label)
        if not (isinstance(item, tuple) and len(item) == 2 and item[0] in _ROLES):
            raise BelugaError(
                "prompts.template",
                ErrorCode.INVALID_REQUEST,
                f"message {index} of {self.label} is {type(item).__name__}; give (role, "
                "template) with role system, user or assistant, a Placeholder, a FewShot or "
                "a Message",
            )
        role, content = item
        where = f"message {index} ({role}) of {self.label}"
        items = [content] if isinstance(content, str) else list(content)
        parts = tuple(
            p if isinstance(p, ImageSlot | FileSlot) else compile_template(p, where) for p in items
        )
        return _Piece(role, parts)

    def __repr__(self) -> str:
        return f"ChatTemplate(name={self.name!r}, variables={list(self.input_variables)})"


def _variables(elements: Sequence[_Element]) -> set[str]:
    names: set[str] = set()
    for element in elements:
        if isinstance(element, Placeholder):
            names.add(element.name)
        elif isinstance(element, _Piece):
            for part in element.parts:
                names |= part.variables if isinstance(part, Compiled) else {part.variable}
    return names


def _few_shot(block: FewShot, limits: RenderLimits, label: str) -> tuple[Message, ...]:
    shown = compile_template(block.input, f"the example input template of {label}")
    answer = compile_template(block.output, f"the example output template of {label}")
    turns: list[Message] = []
    for i, example in enumerate(block.examples):
        turns.append(Message.user(_render_example(shown, example, i, limits, label)))
        turns.append(Message.assistant(_render_example(answer, example, i, limits, label)))
    return tuple(turns)


def _render_example(
    compiled: Compiled, example: Mapping[str, Any], index: int, limits: RenderLimits, label: str
) -> str:
    if not isinstance(example, Mapping):
        raise BelugaError(
            "prompts.template",
            ErrorCode.INVALID_REQUEST,
            f"example {index} of {label} is {type(example).__name__}; give a mapping such as "
            "{'input': ..., 'output': ...}",
        )
    return render(compiled, example, limits, f"example {index} of {label}")


def _missing_value(label: str, name: str, what: str) -> BelugaError:
    return BelugaError(
        "prompts.render",
        ErrorCode.INVALID_REQUEST,
        f"{label} needs the variable {name!r} ({what}), which was not given; pass it to "
        "render(), bind it with partial(), or give it a default",
    )
