"""The one place a tool call is executed: agents, voice sessions and the server all use it.

:func:`run_tool` parses the model's arguments, runs the tool within its timeout inside the
``execute_tool {name}`` span, and turns every failure the model can act on into an error
:class:`ToolResult` instead of raising it: malformed JSON, :class:`ToolRetry` (invalid
arguments or the tool's own request to try again), a timeout, any other exception. The message
says what went wrong in a few words (exception type and redacted text, never a traceback or a
secret); an exception that is not a :class:`BelugaError` is also logged with its traceback
(redacted) as a warning for the developer, since it is likely a bug. Cancellation and
``KeyboardInterrupt`` are not failures of the tool and propagate.

Approval and counting retries against ``max_retries`` are the caller's (the agent's) job: an
error result has ``is_error`` set, which is all it needs to count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pydantic_core import from_json

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import redact
from beluga.core.resilience import timeout_call
from beluga.observability.genai import start_operation
from beluga.observability.logs import get_logger
from beluga.schema import ToolCall
from beluga.tools._results import error_result, to_result
from beluga.tools.base import RunContext, Tool, ToolResult, ToolRetry

__all__ = ["run_tool"]

_EMPTY = ("", "{}")
_log = get_logger("beluga.tools")


async def run_tool(tool: Tool, call: ToolCall, ctx: RunContext[Any]) -> ToolResult:
    """Run ``call`` on ``tool`` and return its result, or an error result for the model.

    ``ctx`` reaches the tool with ``tool_call_id`` and ``tool_name`` set to this call's (a
    copy is made only when they differ, so parallel calls never share a changed context).
    """
    name = tool.definition.name
    if ctx.tool_call_id != call.id or ctx.tool_name != name:
        ctx = replace(ctx, tool_call_id=call.id, tool_name=name)
    operation = start_operation("execute_tool", name, tool_call_id=call.id)
    try:
        if operation.recording:
            operation.set("gen_ai.tool.description", tool.definition.description or None)
        with operation.activated():
            return await _execute(tool, call, ctx, operation.fail)
    finally:
        operation.end()


async def _execute(
    tool: Tool, call: ToolCall, ctx: RunContext[Any], fail: Callable[[BaseException], None]
) -> ToolResult:
    name = tool.definition.name
    arguments = _arguments(call.arguments, name)
    if isinstance(arguments, BelugaError):
        fail(arguments)
        return error_result(arguments.message)
    try:
        result = await timeout_call(
            lambda: tool.call(arguments, ctx),
            tool.timeout,
            op=f"tools.{name}",
            hint="the tool took too long; try a smaller request or another approach",
        )
    except ToolRetry as exc:
        fail(exc)
        return error_result(exc.message)
    except Exception as exc:
        fail(exc)
        if not isinstance(exc, BelugaError):  # likely a bug in the tool: show its traceback
            _log.warning("tool %s raised %s", name, type(exc).__name__, exc_info=exc)
        return error_result(_describe(exc, name))
    return result if type(result) is ToolResult else to_result(result)


def _arguments(text: str, name: str) -> dict[str, Any] | BelugaError:
    """The JSON object the model sent, or an error saying what is wrong with it in words the
    model can act on."""
    if text in _EMPTY:
        return {}
    try:
        value = from_json(text)  # pydantic's parser: several times faster than json.loads
    except ValueError as exc:
        return _bad_arguments(
            f"The arguments for tool {name!r} are not valid JSON ({exc}). Send one JSON "
            "object matching the tool's parameters."
        )
    if not isinstance(value, dict):
        return _bad_arguments(
            f"The arguments for tool {name!r} must be a JSON object, not {_json_kind(value)}. "
            "Send one JSON object matching the tool's parameters."
        )
    return value


def _bad_arguments(message: str) -> BelugaError:
    return BelugaError("tools.arguments", ErrorCode.INVALID_REQUEST, message)


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a boolean" if isinstance(value, bool) else "a number"


def _describe(exc: Exception, name: str) -> str:
    """A short, redacted account of a tool's failure for the model."""
    if isinstance(exc, BelugaError):
        if exc.code is ErrorCode.TIMEOUT and exc.op == f"tools.{name}":
            return f"Tool {name!r} timed out: {exc.message}"
        text = f"[{exc.code.value}] {exc.message}"
    else:
        text = redact(str(exc))
    kind = type(exc).__name__
    return f"Tool {name!r} failed with {kind}: {text}" if text else f"Tool {name!r} failed: {kind}"
