"""Bounds of one agent run, and the error that names the bound a run hit.

The defaults stop a model that loops on its tools (25 tool-calling steps, 50 requests, 200 tool
calls, as LangGraph's recursion limit and pydantic-ai's request limit do) and leave tokens
unbounded, since a sensible token budget depends on the model. A run that hits a limit raises
:class:`UsageLimitExceeded` (code ``CAPACITY_EXCEEDED``, not retryable: asking again hits it
again) naming the limit and its value.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Usage

__all__ = ["UsageLimitExceeded", "UsageLimits"]


class UsageLimitExceeded(BelugaError):
    """A run hit one of its :class:`UsageLimits`; ``limit`` is its name, ``value`` its bound."""

    def __init__(self, agent: str, limit: str, value: int, reached: int) -> None:
        super().__init__(
            "agents.run",
            ErrorCode.CAPACITY_EXCEEDED,
            f"agent {agent!r} stopped: the run would exceed {limit}={value} (reached "
            f"{reached}); raise it with limits=UsageLimits({limit}=...) or give the model "
            "an easier task",
            retryable=False,
        )
        self.limit = limit
        self.value = value


@dataclass(slots=True, frozen=True)
class UsageLimits:
    """``None`` means unbounded. Steps are tool-calling rounds (a model response with tool
    calls, then running them); requests count every model request, output repairs included."""

    max_steps: int | None = 25
    max_requests: int | None = 50
    max_tool_calls: int | None = 200
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    max_total_tokens: int | None = None
    _tokens: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for f in fields(self):
            if not f.init:
                continue
            value = getattr(self, f.name)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 1
            ):
                raise BelugaError(
                    "agents.limits",
                    ErrorCode.INVALID_CONFIG,
                    f"UsageLimits {f.name}={value!r} is not valid; use a whole number of at "
                    "least 1, or None for no limit",
                )
        bounded = (self.max_input_tokens, self.max_output_tokens, self.max_total_tokens)
        object.__setattr__(self, "_tokens", any(v is not None for v in bounded))

    def check_tokens(self, agent: str, usage: Usage) -> None:
        """Raise when ``usage`` (the run's total) is over a token limit."""
        if not self._tokens:
            return
        for limit, value, reached in (
            ("max_input_tokens", self.max_input_tokens, usage.input_tokens),
            ("max_output_tokens", self.max_output_tokens, usage.output_tokens),
            ("max_total_tokens", self.max_total_tokens, usage.total_tokens),
        ):
            if value is not None and reached > value:
                raise UsageLimitExceeded(agent, limit, value, reached)
