"""``beluga run AGENT "question"``: run an agent of ``beluga.yaml`` and stream what it does.

The answer streams to stdout; tool calls, their results and handoffs are shown on stderr as
they happen, so ``beluga run ... > answer.txt`` keeps only the answer. With memory, the run
belongs to ``--session`` (default ``cli``): the next ``beluga run`` with the same session goes
on from it. A tool that needs approval is asked about on the terminal, approved by ``--yes``,
and denied (the model is told) when there is no terminal.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from beluga.cli._errors import err, friendly

if TYPE_CHECKING:
    from beluga.agents import AgentEvent
    from beluga.schema import ToolCall
    from beluga.tools import RunContext

__all__ = ["run_command"]

_SHOWN = 200
"""Characters of a tool's arguments or result shown on stderr."""


@friendly
def run_command(
    agent: Annotated[str, typer.Argument(help="An agent of the agents: section.")],
    question: Annotated[str, typer.Argument(help="What to ask it.")],
    session: Annotated[
        str, typer.Option("--session", "-s", help="Conversation id for the agent's memory.")
    ] = "cli",
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Approve every tool call that needs approval.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON instead of streaming.")
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="beluga.yaml to use.", show_default=False),
    ] = None,
) -> None:
    """Run AGENT on QUESTION, streaming its answer and showing its tool calls."""
    from beluga.agents.config import build_agent
    from beluga.cli.main import load_cli_config

    cfg = load_cli_config(config)
    built = build_agent(cfg, agent)
    built.approve = _approver(yes)
    asyncio.run(_run(built, question, session, as_json))


async def _run(agent: Any, question: str, session: str, as_json: bool) -> None:
    from beluga.agents import FinalOutputEvent

    out = sys.stdout
    try:
        async for event in agent.stream(question, session_id=session):
            if isinstance(event, FinalOutputEvent):
                if as_json:
                    out.write(json.dumps(_summary(event), default=str) + "\n")
                else:
                    out.write("\n")
            elif not as_json:
                _show(event, out)
    finally:
        await agent.aclose()


def _show(event: AgentEvent, out: Any) -> None:
    from beluga.agents import HandoffEvent, ToolCallEvent, ToolResultEvent
    from beluga.schema import TextDelta

    if type(event) is TextDelta:
        out.write(event.text)
        out.flush()
    elif isinstance(event, ToolCallEvent):
        err.print(f"[cyan]→ {escape(event.call.name)}[/]({escape(_cut(event.call.arguments))})")
    elif isinstance(event, ToolResultEvent):
        text = "".join(getattr(p, "text", f"<{type(p).__name__}>") for p in event.result.content)
        style = "red" if event.result.is_error else "green"
        err.print(f"[{style}]← {escape(event.call.name)}: {escape(_cut(text))}[/]")
    elif isinstance(event, HandoffEvent):
        err.print(f"[magenta]⇢ {escape(event.source)} hands off to {escape(event.target)}[/]")


def _summary(event: Any) -> dict[str, Any]:
    result = event.result
    output = result.output
    if hasattr(output, "model_dump"):
        output = output.model_dump(mode="json")
    return {
        "agent": result.agent_name,
        "output": output,
        "steps": result.steps,
        "tool_calls": result.tool_calls,
        "usage": {
            "input_tokens": result.usage.input_tokens,
            "output_tokens": result.usage.output_tokens,
        },
    }


def _approver(yes: bool) -> Any:
    def approve(ctx: RunContext[Any], call: ToolCall) -> bool | tuple[bool, str]:
        if yes:
            return True
        if not sys.stdin.isatty():
            return False, "not approved: no terminal to ask (run with --yes to approve)"
        return typer.confirm(f"Run {call.name}({_cut(call.arguments)})?", err=True)

    return approve


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"
