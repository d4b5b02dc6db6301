"""What every wire module shares, written once: the sampling settings put under each provider's
own names, the check of a named ``tool_choice``, and a reported total read into usage.

Each wire module keeps what is its own (where the fields live, how a tool is declared, the shape
of a tool choice); only the parts that are truly the same for all of them are here.

Usage totals. Our :class:`Usage` counts reasoning inside the output (the OpenAI convention). Some
servers count it only in the total: Gemini's OpenAI-compatible endpoint, and proxies in front of
Gemini, report ``completion_tokens`` without the thinking and a ``total_tokens`` with it. What a
reported total holds above the input and output we read is tokens the model generated and was
billed for unseen, that is reasoning: :func:`with_total` adds it to the output and to the
reasoning. One case is told apart: a server that also reports that thinking as
``reasoning_tokens`` beside the completion (the reasoning then equals what is missing, or exceeds
the output it should be part of) has counted it already, and it is not added twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import ToolDefinition, Usage

if TYPE_CHECKING:
    from beluga.llms.base import ModelSettings

__all__ = ["SAMPLING_FIELDS", "sampling", "tool_choice", "with_total"]

# The scalar options of ModelSettings that every API takes under some name of its own.
SAMPLING_FIELDS = ("temperature", "max_tokens", "top_p", "stop", "seed")


def sampling(settings: ModelSettings, names: Mapping[str, str]) -> dict[str, Any]:
    """The sampling options ``settings`` sets, keyed by the provider's names.

    ``names`` maps a field of :data:`SAMPLING_FIELDS` to the provider's key; a field left out of
    it has no place in that API (the caller decides whether asking for it is an error). ``stop``
    goes out as a list, as every API takes it."""
    out: dict[str, Any] = {}
    for ours, theirs in names.items():
        value = getattr(settings, ours)
        if value is not None:
            out[theirs] = list(value) if ours == "stop" else value
    return out


def tool_choice(
    choice: str,
    tools: Sequence[ToolDefinition],
    op: str,
    modes: Mapping[str, Callable[[], Any]],
    named: Callable[[str], Any],
) -> Any:
    """The provider's form of ``choice``: ``modes[choice]()`` for ``auto``/``none``/``required``
    (each a factory, so no request shares a mutable value; a mode the API lacks is left out and
    handled by the caller), else ``named(tool name)`` once the name is checked against this
    call's tools."""
    make = modes.get(choice)
    if make is not None:
        return make()
    if not any(t.name == choice for t in tools):
        names = ", ".join(t.name for t in tools)
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"tool_choice={choice!r} names no tool of this call; use auto, none, "
            f"required or one of: {names}",
        )
    return named(choice)


def with_total(usage: Usage, total: Any) -> Usage:
    """``usage`` with what a reported ``total`` holds above it counted as reasoning output (see
    the module docstring); unchanged when the total is absent, not a count, or no larger."""
    if type(total) is not int:
        return usage
    missing = total - usage.input_tokens - usage.output_tokens
    if missing <= 0:
        return usage
    reasoning = usage.reasoning_tokens
    beside = reasoning == missing or reasoning > usage.output_tokens
    return replace(
        usage,
        output_tokens=usage.output_tokens + missing,
        reasoning_tokens=reasoning if beside else reasoning + missing,
    )
