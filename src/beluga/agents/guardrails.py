"""Input and output guardrails: validators that may stop a run.

A guardrail is a function, sync or async, of the run context and what it guards (the user input
as messages for an input guardrail, the final output for an output one). Returning ``None`` or
``True`` lets the run go on; returning ``False`` or a string (the reason), or raising, trips it:
the run stops with :class:`GuardrailTripped` naming the guardrail and the reason. Input
guardrails run before the first model request, output guardrails on the validated output,
each in the order given.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Message
from beluga.tools.base import RunContext

__all__ = ["GuardrailTripped", "InputGuardrail", "OutputGuardrail", "check_guardrails"]

_Verdict: TypeAlias = bool | str | None
InputGuardrail: TypeAlias = Callable[
    [RunContext[Any], Sequence[Message]], _Verdict | Awaitable[_Verdict]
]
OutputGuardrail: TypeAlias = Callable[[RunContext[Any], Any], _Verdict | Awaitable[_Verdict]]


class GuardrailTripped(BelugaError):
    """A guardrail stopped the run; ``guardrail`` is its name, ``stage`` input or output."""

    def __init__(
        self, agent: str, guardrail: str, stage: str, reason: str, cause: BaseException | None
    ) -> None:
        super().__init__(
            "agents.guardrail",
            ErrorCode.CONTENT_FILTERED,
            f"agent {agent!r}: {stage} guardrail {guardrail!r} stopped the run: {reason}",
            retryable=False,
            cause=cause,
        )
        self.guardrail = guardrail
        self.stage = stage
        self.reason = reason


async def check_guardrails(
    guardrails: Sequence[Callable[[RunContext[Any], Any], Any]],
    ctx: RunContext[Any],
    value: Any,
    stage: str,
) -> None:
    """Run each guardrail on ``value``; the first that trips raises :class:`GuardrailTripped`."""
    for guardrail in guardrails:
        name = getattr(guardrail, "__name__", None) or type(guardrail).__name__
        agent = ctx.agent_name or "agent"
        try:
            verdict = guardrail(ctx, value)
            if inspect.isawaitable(verdict):
                verdict = await verdict
        except GuardrailTripped:
            raise
        except Exception as exc:  # a guardrail that raises trips, with its message
            raise GuardrailTripped(agent, name, stage, str(exc) or type(exc).__name__, exc) from exc
        if verdict is None or verdict is True:
            continue
        reason = verdict if isinstance(verdict, str) else "it returned False"
        raise GuardrailTripped(agent, name, stage, reason, None)
