"""The tool-calling loop of one run: request, run the calls, repeat until an answer.

One async generator serves ``run`` and ``stream``: ``run`` asks the model with ``generate`` and
yields only the end, ``stream`` streams from the model and yields every event. Each step is one
model request; the tool calls of a response run concurrently in a task group (one call is
awaited directly: no task for it) through :func:`beluga.tools.execute.run_tool`, the one place
a tool call runs, and their results join the conversation in the order of the calls. Nothing
is yielded while a task group is open, so a consumer that stops reading never leaves a task
running: leaving the generator cancels what it awaited.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from beluga.agents._calls import apply_approvals, decide, execute, is_denial, text_of
from beluga.agents._state import PausedRun, encode_state
from beluga.agents.events import (
    AgentEvent,
    ApprovalRequiredEvent,
    FinalOutputEvent,
    HandoffEvent,
    RunPausedEvent,
    ToolCallEvent,
    ToolResultEvent,
    UsageUpdateEvent,
)
from beluga.agents.guardrails import check_guardrails
from beluga.agents.handoffs import HandoffTool, usage_sink
from beluga.agents.limits import UsageLimitExceeded
from beluga.agents.result import RunResult
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.streams import aclose
from beluga.observability.genai import Operation, start_operation
from beluga.schema import (
    ChatResponse,
    Message,
    ReasoningDelta,
    ResponseBuilder,
    TextDelta,
    ToolCall,
    ToolDefinition,
    Usage,
)
from beluga.tools.base import RunContext, Tool, ToolResult
from beluga.tools.execute import run_tool

if TYPE_CHECKING:
    from beluga.agents.agent import Agent

__all__ = ["Run"]

_Box = tuple[dict[str, Tool], list[ToolDefinition]]
_PASS_THROUGH = (TextDelta, ReasoningDelta)


class Run:
    """The state of one run; :meth:`events` drives it."""

    __slots__ = (
        "agent",
        "deps",
        "limits",
        "messages",
        "new_from",
        "repairs",
        "requests",
        "retries",
        "root",
        "run_id",
        "session_id",
        "steps",
        "streaming",
        "tool_calls",
        "usage",
    )

    def __init__(
        self,
        root: Agent[Any, Any],
        *,
        deps: Any,
        session_id: str | None,
        messages: list[Message],
        new_from: int,
        streaming: bool,
    ) -> None:
        self.root = self.agent = root
        self.limits = root.limits
        self.deps = deps
        self.session_id = session_id
        self.run_id = uuid.uuid4().hex
        self.messages = messages
        self.new_from = new_from
        self.streaming = streaming
        self.usage = Usage()
        self.steps = self.requests = self.tool_calls = self.repairs = 0
        self.retries: dict[str, int] = {}

    @classmethod
    def resumed(cls, root: Agent[Any, Any], paused: PausedRun, deps: Any, streaming: bool) -> Run:
        run = cls(
            root,
            deps=deps,
            session_id=paused.session_id,
            messages=paused.messages,
            new_from=paused.new_from,
            streaming=streaming,
        )
        run.agent = root.find_agent(paused.agent)
        run.run_id, run.usage, run.retries = paused.run_id, paused.usage, dict(paused.retries)
        counts = paused.counts
        run.steps, run.requests = counts.get("steps", 0), counts.get("requests", 0)
        run.tool_calls, run.repairs = counts.get("tool_calls", 0), counts.get("repairs", 0)
        return run

    def context(self) -> RunContext[Any]:
        return RunContext(self.deps, self.session_id, self.run_id, self.agent.name, self.usage)

    def _add_usage(self, usage: Usage) -> None:
        self.usage = self.usage + usage

    # -- the loop ----------------------------------------------------------------------

    async def events(
        self, first_input: Sequence[Message] | None, resume: tuple[PausedRun, dict[str, Any]] | None
    ) -> AsyncGenerator[AgentEvent, None]:
        """Run to the end (or a pause), yielding events; ``first_input`` is the new user
        input (checked by the input guardrails), ``resume`` a paused step and its approvals."""
        root = self.root
        attrs = {"gen_ai.conversation.id": self.session_id} if self.session_id else None
        op = start_operation("invoke_agent", root.name, attributes=attrs)
        try:
            if first_input is not None and root.input_guardrails:
                await check_guardrails(root.input_guardrails, self.context(), first_input, "input")
            if resume is not None:
                async with aclosing(self._resume(op, *resume)) as resumed:
                    async for event in resumed:
                        yield event
                        if type(event) is RunPausedEvent:
                            return
            while True:
                agent = self.agent
                box = await self._toolbox(agent)
                response = None
                if self.streaming:
                    builder = ResponseBuilder(agent.output_schema)
                    async with aclosing(self._stream_request(op, agent, box[1], builder)) as deltas:
                        async for event in deltas:
                            yield event
                    response = builder.build()
                else:
                    response = await self._request(op, agent, box[1])
                self._account(response)
                if self.streaming:
                    yield UsageUpdateEvent(response.usage, self.usage)
                message = response.message
                self.messages.append(message)
                calls = message.tool_calls
                if calls:
                    self._count_step(len(calls))
                    async with aclosing(self._step(op, agent, calls, box, {}, frozenset())) as step:
                        async for event in step:
                            yield event
                            if type(event) is RunPausedEvent:
                                return
                    continue
                done, output = self._output(agent, response)
                if not done:
                    continue
                if agent.output_guardrails:
                    await check_guardrails(
                        agent.output_guardrails, self.context(), output, "output"
                    )
                await self._remember()
                result = self._result(output)
                yield FinalOutputEvent(output, result)
                return
        except GeneratorExit:
            raise
        except BaseException as exc:
            op.fail(exc)
            raise
        finally:
            op.set("gen_ai.usage.input_tokens", self.usage.input_tokens)
            op.set("gen_ai.usage.output_tokens", self.usage.output_tokens)
            op.end()

    async def _request(
        self, op: Operation, agent: Agent[Any, Any], tools: list[ToolDefinition]
    ) -> ChatResponse:
        self._count_request()
        messages = await self._prompt(agent)
        model = agent.chat_model()
        with op.activated():
            return await model.generate(messages, tools=tools, settings=agent.request_settings)

    async def _stream_request(
        self,
        op: Operation,
        agent: Agent[Any, Any],
        tools: list[ToolDefinition],
        builder: ResponseBuilder,
    ) -> AsyncGenerator[AgentEvent, None]:
        self._count_request()
        messages = await self._prompt(agent)
        stream = agent.chat_model().stream(messages, tools=tools, settings=agent.request_settings)
        finished = False
        try:
            while True:
                with op.activated():  # the model's span starts on the first read
                    try:
                        event = await anext(stream)
                    except StopAsyncIteration:
                        finished = True
                        return
                builder.add(event)
                if isinstance(event, _PASS_THROUGH):
                    yield event
        finally:
            if not finished:  # left early: release the model's stream now
                await aclose(stream)

    async def _prompt(self, agent: Agent[Any, Any]) -> list[Message]:
        instructions = agent.instructions
        if instructions is None:
            return self.messages
        if isinstance(instructions, Message):
            return [instructions, *self.messages]
        text = instructions(self.context())
        if inspect.isawaitable(text):
            text = await text
        return [Message.system(text), *self.messages] if text else self.messages

    def _account(self, response: ChatResponse) -> None:
        self.usage = self.usage + response.usage
        self.limits.check_tokens(self.root.name, self.usage)

    def _count_request(self) -> None:
        limit = self.limits.max_requests
        if limit is not None and self.requests >= limit:
            raise UsageLimitExceeded(self.root.name, "max_requests", limit, self.requests + 1)
        self.requests += 1

    def _count_step(self, calls: int) -> None:
        limits = self.limits
        if limits.max_steps is not None and self.steps >= limits.max_steps:
            raise UsageLimitExceeded(self.root.name, "max_steps", limits.max_steps, self.steps + 1)
        self.steps += 1
        total = self.tool_calls + calls
        if limits.max_tool_calls is not None and total > limits.max_tool_calls:
            raise UsageLimitExceeded(self.root.name, "max_tool_calls", limits.max_tool_calls, total)
        self.tool_calls = total

    # -- tools -------------------------------------------------------------------------

    async def _toolbox(self, agent: Agent[Any, Any]) -> _Box:
        """The tools offered for this request: static ones cached, toolsets listed anew."""
        if agent.static_box is not None:
            return agent.static_box
        tools = list(agent.static_tools)
        ctx = self.context()
        for toolset in agent.toolsets:
            tools.extend(await toolset.list_tools(ctx))
        return agent.box_of(tools)

    async def _step(
        self,
        op: Operation,
        agent: Agent[Any, Any],
        calls: Sequence[ToolCall],
        box: _Box,
        decided: dict[str, ToolResult],
        approved: frozenset[str],
    ) -> AsyncGenerator[AgentEvent, None]:
        """Run one response's calls, or pause when some wait for approval."""
        if self.streaming and not decided and not approved:
            for call in calls:
                yield ToolCallEvent(call, agent.name)
        results, pending = await decide(agent, self.context, calls, box[0], decided, approved)
        if pending:
            for call in pending:
                yield ApprovalRequiredEvent(call, agent.name)
            result = self._pause(calls, results, pending)
            yield RunPausedEvent(result)
            return
        with op.activated():
            await execute(self._call, calls, box[0], results)
        target: Agent[Any, Any] | None = None
        for call, outcome in zip(calls, results, strict=True):
            assert outcome is not None
            tool = box[0].get(call.name)
            if outcome.is_error:
                self._count_retry(agent, call.name, tool, outcome)
            elif type(tool) is HandoffTool:
                if target is None:
                    target = tool.agent
                else:  # one conversation goes one way: the first handoff wins
                    outcome = ToolResult.text(f"not transferred: {target.name} answers now")
            if self.streaming:
                yield ToolResultEvent(call, outcome, agent.name)
            self.messages.append(
                Message.tool(call.id, outcome.content, name=call.name, is_error=outcome.is_error)
            )
        if target is not None:
            op.event("gen_ai.agent.handoff", {"from": agent.name, "to": target.name})
            self.agent = target
            if self.streaming:
                yield HandoffEvent(agent.name, target.name)

    async def _call(self, tool: Tool, call: ToolCall) -> ToolResult:
        ctx = RunContext(
            self.deps,
            self.session_id,
            self.run_id,
            self.agent.name,
            self.usage,
            call.id,
            call.name,
            self.retries.get(call.name, 0),
        )
        token = usage_sink.set(self._add_usage)
        try:
            return await run_tool(tool, call, ctx)
        finally:
            usage_sink.reset(token)

    def _count_retry(
        self, agent: Agent[Any, Any], name: str, tool: Tool | None, result: ToolResult
    ) -> None:
        if is_denial(result):  # a decision, not a mistake to correct
            return
        count = self.retries[name] = self.retries.get(name, 0) + 1
        limit = agent.output_retries if tool is None else tool.max_retries
        if count > limit:
            what = "calls of the unknown tool" if tool is None else "error results from tool"
            raise BelugaError(
                "agents.tool",
                ErrorCode.INVALID_REQUEST,
                f"agent {agent.name!r}: the model got {count} {what} {name!r}, more than its "
                f"{'output_retries' if tool is None else 'max_retries'}={limit}; last error: "
                f"{text_of(result)[:300]}; fix the tool or its description, or raise the limit",
                retryable=False,
            )

    # -- pause and resume --------------------------------------------------------------

    def _pause(
        self,
        calls: Sequence[ToolCall],
        results: list[ToolResult | None],
        pending: list[ToolCall],
    ) -> RunResult[Any]:
        decided = {
            call.id: Message.tool(call.id, r.content, name=call.name, is_error=r.is_error)
            for call, r in zip(calls, results, strict=True)
            if r is not None
        }
        paused = PausedRun(
            root=self.root.name,
            agent=self.agent.name,
            run_id=self.run_id,
            session_id=self.session_id,
            messages=self.messages,
            new_from=self.new_from,
            decided=decided,
            pending=tuple(pending),
            usage=self.usage,
            counts={
                "steps": self.steps,
                "requests": self.requests,
                "tool_calls": self.tool_calls,
                "repairs": self.repairs,
            },
            retries=self.retries,
        )
        result = self._result(None)
        result.paused, result.pending, result.state = True, tuple(pending), encode_state(paused)
        return result

    async def _resume(
        self, op: Operation, paused: PausedRun, approvals: dict[str, Any]
    ) -> AsyncGenerator[AgentEvent, None]:
        """Finish the paused step with ``approvals`` (call id -> True, False or a reason)."""
        missing = [c.id for c in paused.pending if c.id not in approvals]
        if missing:
            raise BelugaError(
                "agents.resume",
                ErrorCode.INVALID_REQUEST,
                f"no approval given for the pending call(s) {', '.join(missing)}; pass "
                "approvals={call_id: True, False or 'the reason it is denied'} for each",
            )
        last = self.messages[-1] if self.messages else None
        if last is None or not last.tool_calls:
            raise BelugaError(
                "agents.resume", ErrorCode.INVALID_REQUEST, "the state has no step to resume"
            )
        decided, approved = apply_approvals(paused, approvals)
        box = await self._toolbox(self.agent)
        step = self._step(op, self.agent, last.tool_calls, box, decided, approved)
        async with aclosing(step):
            async for event in step:
                yield event

    # -- the end -----------------------------------------------------------------------

    def _output(self, agent: Agent[Any, Any], response: ChatResponse) -> tuple[bool, Any]:
        """``(True, output)``, or ``(False, None)`` after asking the model to repair it."""
        schema = agent.output_schema
        if schema is None:
            return True, response.text
        try:
            return True, schema.parse(response.text, finish_reason=response.finish_reason)
        except BelugaError as exc:
            self.repairs += 1
            if self.repairs > agent.output_retries:
                raise BelugaError(
                    "agents.output",
                    ErrorCode.INVALID_REQUEST,
                    f"agent {agent.name!r}: the answer still did not match {schema.name!r} "
                    f"after {agent.output_retries} repair request(s) (output_retries); last "
                    f"problem: {exc.message}",
                    retryable=False,
                    cause=exc,
                ) from exc
            self.messages.append(
                Message.user(
                    f"Your answer is not valid: {exc.message}. Reply again with only a JSON "
                    "value that matches the requested schema."
                )
            )
            return False, None

    async def _remember(self) -> None:
        memory = self.root.memory
        if memory is not None and self.session_id is not None:
            await memory.save(self.session_id, self.messages[self.new_from :])

    def _result(self, output: Any) -> RunResult[Any]:
        return RunResult(
            output,
            self.messages,
            self.new_from,
            self.usage,
            self.steps,
            self.requests,
            self.tool_calls,
            self.agent.name,
        )
