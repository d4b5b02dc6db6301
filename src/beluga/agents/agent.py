"""The agent: a model, tools, instructions and memory in a tool-calling loop.

Everything an agent needs per request is prepared once, when it is built: the instructions as
a system message, the output schema merged into the settings, the tools by name with their
definitions (a toolset's list is asked for on every request instead, so an MCP server's changes
are followed). A string ``model`` is resolved on the first run (see
:mod:`beluga.agents._model`); the agent closes what it resolved when it is closed.

Memory: with ``memory`` and a ``session_id``, a run starts from ``memory.load(session_id)``
(unless ``message_history`` is given) and, once it completes, saves its new messages (the user
input, the model's replies, tool calls and results as such). A run that fails or pauses saves
nothing; a resumed run that completes saves the whole run. A failing store fails the run: the
next turn depends on what it kept.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from typing import Any, Generic, TypeAlias

from typing_extensions import TypeVar

from beluga.agents._loop import Run
from beluga.agents._model import resolve_model
from beluga.agents._state import decode_state
from beluga.agents.events import AgentEvent, FinalOutputEvent, RunPausedEvent
from beluga.agents.guardrails import InputGuardrail, OutputGuardrail
from beluga.agents.handoffs import AgentTool, HandoffTool
from beluga.agents.limits import UsageLimits
from beluga.agents.result import OutputT, RunResult
from beluga.config import BelugaConfig
from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.sync import run_sync
from beluga.llms import ChatModel, ModelSettings
from beluga.memory.base import Memory
from beluga.schema import Message, OutputSchema, Prompt, ToolCall, ToolDefinition, as_messages
from beluga.tools.base import RunContext, Tool, Toolset
from beluga.tools.function import as_tool

__all__ = ["Agent", "Approver", "DepsT", "Instructions", "ToolLike"]

DepsT = TypeVar("DepsT", default=Any)

Instructions: TypeAlias = str | Callable[[RunContext[Any]], str | Awaitable[str]]
"""A system prompt, or a function of the run context (sync or async) that writes one."""
Approver: TypeAlias = Callable[
    [RunContext[Any], ToolCall],
    bool | tuple[bool, str] | Awaitable[bool] | Awaitable[tuple[bool, str]],
]
"""Decides a call that needs approval: True, False, or (False, "the reason")."""
ToolLike: TypeAlias = "Tool | Toolset | Agent[Any, Any] | Callable[..., Any]"
"""What ``tools=`` takes: tools, toolsets, agents (as tools) and plain typed functions."""

_Box = tuple[dict[str, Tool], list[ToolDefinition]]


class Agent(AsyncClosing, Generic[DepsT, OutputT]):
    """A model answering with tools until it has the answer.

    ``model`` is a ChatModel, a registry id (``"openai:gpt-4o-mini"``), a provider entry or a
    role of ``beluga.yaml`` (``config`` overrides the file). ``output_type`` (a pydantic model,
    dataclass, TypedDict or JSON schema dict) makes the output typed and validated, with up to
    ``output_retries`` repair requests. ``limits`` bounds a run (:class:`UsageLimits`).
    ``approve`` decides calls of tools that require approval; without it a run pauses on them
    (see :meth:`resume`). ``handoffs`` are agents this one may hand the conversation to.
    """

    def __init__(
        self,
        model: ChatModel | str,
        *,
        tools: Sequence[ToolLike] = (),
        instructions: Instructions | None = None,
        output_type: type[OutputT] | dict[str, Any] | None = None,
        deps_type: type[DepsT] | None = None,
        memory: Memory | None = None,
        name: str = "agent",
        description: str | None = None,
        settings: ModelSettings | None = None,
        limits: UsageLimits | None = None,
        input_guardrails: Sequence[InputGuardrail] = (),
        output_guardrails: Sequence[OutputGuardrail] = (),
        handoffs: Sequence[Agent[Any, Any]] = (),
        output_retries: int = 2,
        approve: Approver | None = None,
        config: BelugaConfig | None = None,
    ) -> None:
        _check_name(name)
        if not isinstance(output_retries, int) or output_retries < 0:
            raise _config(f"output_retries={output_retries!r} must be a whole number >= 0")
        self.name = name
        self.description = description
        self.deps_type = deps_type
        self.memory = memory
        self.limits = limits or UsageLimits()
        self.output_retries = output_retries
        self.approve = approve
        self.input_guardrails = tuple(input_guardrails)
        self.output_guardrails = tuple(output_guardrails)
        self.handoffs = tuple(handoffs)
        self._spec = model
        self._model: ChatModel | None = None if isinstance(model, str) else model
        self._config = config
        self._owns_model = False
        self.instructions: Message | Callable[[RunContext[Any]], Any] | None = (
            Message.system(instructions) if isinstance(instructions, str) else instructions
        )
        self.output_schema = _output_schema(output_type)
        base = settings or ModelSettings()
        self.request_settings = (
            base
            if self.output_schema is None
            else base.merged(ModelSettings(output=self.output_schema))
        )
        self.static_tools, self.toolsets = _split_tools(tools, handoffs)
        self.static_box: _Box | None = None if self.toolsets else self.box_of(self.static_tools)

    # -- what the loop reads -----------------------------------------------------------

    def chat_model(self) -> ChatModel:
        """The model, resolved from its name on first use."""
        model = self._model
        if model is None:
            assert isinstance(self._spec, str)
            model = self._model = resolve_model(self._spec, self._config, self.name)
            self._owns_model = True
        return model

    def box_of(self, tools: Sequence[Tool]) -> _Box:
        """Tools by name and their definitions; two tools of one name are an error."""
        by_name: dict[str, Tool] = {}
        for tool in tools:
            name = tool.definition.name
            if name in by_name:
                raise _config(
                    f"agent {self.name!r} has two tools named {name!r}; rename one (a toolset "
                    "can prefix its tools)"
                )
            by_name[name] = tool
        return by_name, [t.definition for t in by_name.values()]

    def find_agent(self, name: str) -> Agent[Any, Any]:
        """This agent or one reachable by handoffs, by name."""
        seen: dict[str, Agent[Any, Any]] = {}
        todo: list[Agent[Any, Any]] = [self]
        while todo:
            agent = todo.pop()
            if agent.name not in seen:
                seen[agent.name] = agent
                todo.extend(agent.handoffs)
        if name not in seen:
            raise BelugaError(
                "agents.resume",
                ErrorCode.INVALID_REQUEST,
                f"the state was paused in agent {name!r}, which agent {self.name!r} cannot "
                f"reach; known: {', '.join(sorted(seen))}",
            )
        return seen[name]

    # -- running -----------------------------------------------------------------------

    async def run(
        self,
        prompt: Prompt,
        *,
        deps: DepsT | None = None,
        session_id: str | None = None,
        message_history: Sequence[Message] | None = None,
    ) -> RunResult[OutputT]:
        """Run to the answer (or to a pause for approvals, see :attr:`RunResult.paused`)."""
        run, new_input = await self._start(prompt, deps, session_id, message_history, False)
        return await _finish(run.events(new_input, None))

    def run_sync(
        self,
        prompt: Prompt,
        *,
        deps: DepsT | None = None,
        session_id: str | None = None,
        message_history: Sequence[Message] | None = None,
    ) -> RunResult[OutputT]:
        """:meth:`run` from sync code (scripts, notebooks)."""
        return run_sync(
            self.run(prompt, deps=deps, session_id=session_id, message_history=message_history)
        )

    async def stream(
        self,
        prompt: Prompt,
        *,
        deps: DepsT | None = None,
        session_id: str | None = None,
        message_history: Sequence[Message] | None = None,
    ) -> AsyncIterator[AgentEvent]:
        """Run, yielding text deltas as the model writes, tool calls and results as they
        happen, and a last :class:`FinalOutputEvent` (or :class:`RunPausedEvent`)."""
        run, new_input = await self._start(prompt, deps, session_id, message_history, True)
        async with aclosing(run.events(new_input, None)) as events:
            async for event in events:
                yield event

    async def resume(
        self,
        state: Mapping[str, Any] | str | bytes,
        approvals: Mapping[str, bool | str],
        *,
        deps: DepsT | None = None,
    ) -> RunResult[OutputT]:
        """Go on with a paused run: ``approvals`` maps each pending call id to True, False or
        the reason it is denied (a denied call's result is ``"denied: <reason>"``)."""
        run, resume = self._resumed(state, approvals, deps, False)
        return await _finish(run.events(None, resume))

    async def resume_stream(
        self,
        state: Mapping[str, Any] | str | bytes,
        approvals: Mapping[str, bool | str],
        *,
        deps: DepsT | None = None,
    ) -> AsyncIterator[AgentEvent]:
        """:meth:`resume`, yielding events as :meth:`stream` does."""
        run, resume = self._resumed(state, approvals, deps, True)
        async with aclosing(run.events(None, resume)) as events:
            async for event in events:
                yield event

    def as_tool(
        self,
        name: str | None = None,
        description: str | None = None,
        *,
        timeout: float | None = None,
        max_retries: int = 1,
        requires_approval: bool = False,
    ) -> Tool:
        """This agent as a tool of another: it answers the ``input`` string it is called with."""
        return AgentTool(
            self,
            name=name,
            description=description,
            timeout=timeout,
            max_retries=max_retries,
            requires_approval=requires_approval,
        )

    async def aclose(self) -> None:
        """Close the model this agent resolved from a name (a model passed in is yours)."""
        if self._owns_model and self._model is not None:
            model, self._model, self._owns_model = self._model, None, False
            await model.aclose()

    def __repr__(self) -> str:
        spec = self._spec if isinstance(self._spec, str) else self._spec.model_name
        return f"Agent(name={self.name!r}, model={spec!r})"

    # -- internals ---------------------------------------------------------------------

    async def _start(
        self,
        prompt: Prompt,
        deps: Any,
        session_id: str | None,
        history: Sequence[Message] | None,
        streaming: bool,
    ) -> tuple[Run, Sequence[Message]]:
        self._check_deps(deps)
        new_input = as_messages(prompt)
        if history is not None:
            past = list(as_messages(list(history))) if history else []
        elif self.memory is not None and session_id is not None:
            past = list(await self.memory.load(session_id, query=new_input))
        else:
            past = []
        messages = [*past, *new_input]
        run = Run(
            self,
            deps=deps,
            session_id=session_id,
            messages=messages,
            new_from=len(past),
            streaming=streaming,
        )
        return run, new_input

    def _resumed(
        self,
        state: Mapping[str, Any] | str | bytes,
        approvals: Mapping[str, bool | str],
        deps: Any,
        streaming: bool,
    ) -> tuple[Run, tuple[Any, dict[str, Any]]]:
        self._check_deps(deps)
        paused = decode_state(state)
        if paused.root != self.name:
            raise BelugaError(
                "agents.resume",
                ErrorCode.INVALID_REQUEST,
                f"the state belongs to a run of agent {paused.root!r}, not {self.name!r}; "
                "resume it with the agent that started it",
            )
        return Run.resumed(self, paused, deps, streaming), (paused, dict(approvals))

    def _check_deps(self, deps: Any) -> None:
        expected = self.deps_type
        if (
            deps is not None
            and isinstance(expected, type)
            and expected is not Any
            and not isinstance(deps, expected)
        ):
            raise BelugaError(
                "agents.run",
                ErrorCode.INVALID_REQUEST,
                f"agent {self.name!r} takes deps of type {expected.__name__}, got "
                f"{type(deps).__name__}",
            )


async def _finish(events: AsyncGenerator[AgentEvent, None]) -> RunResult[Any]:
    """Drive a run that is not streamed and return its result."""
    async with aclosing(events):
        async for event in events:
            if type(event) is FinalOutputEvent or type(event) is RunPausedEvent:
                return event.result
    raise BelugaError("agents.run", ErrorCode.INTERNAL, "the run ended without a result")


def _split_tools(
    items: Sequence[ToolLike], handoffs: Sequence[Agent[Any, Any]]
) -> tuple[tuple[Tool, ...], tuple[Toolset, ...]]:
    tools: list[Tool] = []
    toolsets: list[Toolset] = []
    for item in items:
        if isinstance(item, Agent):
            tools.append(item.as_tool())
        elif isinstance(item, Tool):
            tools.append(item)
        elif isinstance(item, Toolset):
            toolsets.append(item)
        elif callable(item):
            tools.append(as_tool(item))
        else:
            raise _config(
                f"tools= takes tools, toolsets, agents and functions; got {type(item).__name__}"
            )
    for agent in handoffs:
        if not isinstance(agent, Agent):
            raise _config(f"handoffs= takes agents; got {type(agent).__name__}")
        tools.append(HandoffTool(agent))
    return tuple(tools), tuple(toolsets)


def _output_schema(output_type: Any) -> OutputSchema | None:
    if output_type is None or output_type is str:
        return None
    if isinstance(output_type, OutputSchema):
        return output_type
    return OutputSchema.of(output_type)


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name or not name.replace("-", "_").isidentifier():
        raise _config(
            f"agent name {name!r} must be letters, digits, '_' or '-' (it names the agent's "
            "span and its transfer_to_<name> tool)"
        )


def _config(message: str) -> BelugaError:
    return BelugaError("agents.agent", ErrorCode.INVALID_CONFIG, message)
