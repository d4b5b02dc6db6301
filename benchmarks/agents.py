"""The agent loop's own overhead per tool-calling step, next to pydantic-ai, the OpenAI Agents SDK
and LangGraph, with a zero-latency model double in each.

Every contender runs the same two-step loop: the model's first response calls two tools at once
(``add(a, b)`` and ``upper(s)``, both async, so no framework pays for a thread hop), the
framework runs them and sends their results back, and the model's second response is the final
text, made from those results (each contender's answer is checked once before timing, so a
framework that skipped a tool cannot win). The model doubles answer at once: what is measured is
the loop itself (history, tool schemas and validation, dispatch, result messages, run state).

The doubles are each framework's own where it ships one (Beluga's and pydantic-ai's
``FunctionModel``); the OpenAI Agents SDK gets a ``Model`` returning canned Responses items, with
tracing off; LangGraph's prebuilt ReAct agent gets a chat model whose ``bind_tools`` returns
itself. Rounds are interleaved and rotated (``_harness.interleaved``); the figures are medians,
and ratios are medians of per-round ratios against Beluga (above 1: slower than Beluga).

Import time is each framework's agent module imported in a fresh interpreter, the interpreters
interleaved, medians of ``repeats`` after one warm-up each (which also writes bytecode).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from benchmarks._harness import interleaved, ratio_median

os.environ.setdefault("LANGSMITH_TRACING", "false")
os.environ.setdefault("LANGCHAIN_TRACING_V2", "false")
os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")

QUESTION = "What is 2 + 3, and 'hi' in capitals?"
INSTRUCTIONS = "Use the tools, then answer with their results."
EXPECTED = "5 HI"
STEPS = 2  # model requests per run: the parallel tool call, then the answer

Run = Callable[[], Awaitable[str]]

IMPORTS = {
    "beluga": "beluga.agents",
    "pydantic-ai": "pydantic_ai",
    "openai-agents": "agents",
    "langgraph": "langgraph.prebuilt",
}


async def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def upper(s: str) -> str:
    """Upper-case a string."""
    return s.upper()


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# -- Beluga ---------------------------------------------------------------------------------------


def _beluga() -> Run | None:
    import beluga.agents

    if not hasattr(beluga.agents, "Agent"):
        return None
    from beluga.agents import Agent
    from beluga.llms.testing import AgentInfo, FunctionModel
    from beluga.schema import Message, ToolCall

    calls = (ToolCall("c1", "add", '{"a": 2, "b": 3}'), ToolCall("c2", "upper", '{"s": "hi"}'))

    def model(messages: Sequence[Message], info: AgentInfo) -> Message | str:
        if messages[-1].role != "tool":
            return Message.assistant(tool_calls=calls)
        return " ".join(m.text for m in messages if m.role == "tool")

    agent = Agent(FunctionModel(model), tools=[add, upper], instructions=INSTRUCTIONS)

    async def run() -> str:
        result = await agent.run(QUESTION)
        return str(result.output)

    return run


def _beluga_react() -> Run | None:
    """Beluga's loop over :class:`~beluga.agents.react.ReActModel`: what ReAct prompting and
    parsing add for a model without native tool calling (not a peer: an extra row)."""
    import beluga.agents

    if not hasattr(beluga.agents, "Agent"):
        return None
    from beluga.agents import Agent
    from beluga.agents.react import ReActModel
    from beluga.llms.testing import AgentInfo, FunctionModel
    from beluga.schema import Message

    actions = 'Action: add\nAction Input: {"a": 2, "b": 3}\nAction: upper\nAction Input: hi'

    def model(messages: Sequence[Message], info: AgentInfo) -> str:
        last = messages[-1].text
        if not last.startswith("Observation: "):
            return "Thought: both tools at once\n" + actions
        return "Final Answer: " + " ".join(line[13:] for line in last.splitlines())

    agent = Agent(ReActModel(FunctionModel(model)), tools=[add, upper], instructions=INSTRUCTIONS)

    async def run() -> str:
        result = await agent.run(QUESTION)
        return str(result.output)

    return run


# -- pydantic-ai ----------------------------------------------------------------------------------


def _pydantic_ai() -> Run | None:
    if not _available("pydantic_ai"):
        return None
    from pydantic_ai import Agent, Tool
    from pydantic_ai.messages import (
        ModelMessage,
        ModelRequest,
        ModelResponse,
        TextPart,
        ToolCallPart,
        ToolReturnPart,
    )
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        last = messages[-1]
        returns = [p for p in last.parts if isinstance(p, ToolReturnPart)]
        if not (isinstance(last, ModelRequest) and returns):
            return ModelResponse(
                parts=[
                    ToolCallPart("add", {"a": 2, "b": 3}, "c1"),
                    ToolCallPart("upper", {"s": "hi"}, "c2"),
                ]
            )
        return ModelResponse(parts=[TextPart(" ".join(str(p.content) for p in returns))])

    agent = Agent(
        FunctionModel(model),
        instructions=INSTRUCTIONS,
        tools=[Tool(add, takes_ctx=False), Tool(upper, takes_ctx=False)],
    )

    async def run() -> str:
        result = await agent.run(QUESTION)
        return result.output

    return run


# -- OpenAI Agents SDK ----------------------------------------------------------------------------


def _openai_agents() -> Run | None:
    if not _available("agents"):
        return None
    from openai.types.responses import (
        ResponseFunctionToolCall,
        ResponseOutputMessage,
        ResponseOutputText,
    )

    from agents import (
        Agent,
        Model,
        ModelResponse,
        Runner,
        Usage,
        function_tool,
        set_tracing_disabled,
    )

    set_tracing_disabled(True)

    def field(item: Any, name: str) -> Any:
        return item.get(name) if isinstance(item, dict) else getattr(item, name, None)

    class CannedModel(Model):
        """Calls both tools, then answers with their outputs; no I/O."""

        async def get_response(
            self, system_instructions: Any, input: Any, *args: Any, **kw: Any
        ) -> ModelResponse:
            items = input if isinstance(input, list) else []
            outputs = [i for i in items if field(i, "type") == "function_call_output"]
            if not outputs:
                output: list[Any] = [
                    ResponseFunctionToolCall(
                        arguments='{"a": 2, "b": 3}',
                        call_id="c1",
                        name="add",
                        type="function_call",
                        id="fc1",
                        status="completed",
                    ),
                    ResponseFunctionToolCall(
                        arguments='{"s": "hi"}',
                        call_id="c2",
                        name="upper",
                        type="function_call",
                        id="fc2",
                        status="completed",
                    ),
                ]
            else:
                text = " ".join(str(field(o, "output")) for o in outputs)
                output = [
                    ResponseOutputMessage(
                        id="m1",
                        role="assistant",
                        status="completed",
                        type="message",
                        content=[ResponseOutputText(text=text, type="output_text", annotations=[])],
                    )
                ]
            return ModelResponse(output=output, usage=Usage(), response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("the benchmark runs the OpenAI Agents SDK without streaming")

    agent = Agent(
        name="bench",
        instructions=INSTRUCTIONS,
        model=CannedModel(),
        tools=[function_tool(add), function_tool(upper)],
    )

    async def run() -> str:
        result = await Runner.run(agent, QUESTION)
        return str(result.final_output)

    return run


# -- LangGraph ------------------------------------------------------------------------------------


def _langgraph() -> Run | None:
    if not _available("langgraph.prebuilt"):
        return None
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    with warnings.catch_warnings():  # create_react_agent is deprecated for langchain's create_agent
        warnings.simplefilter("ignore")
        from langgraph.prebuilt import create_react_agent

    def reply(messages: list[BaseMessage]) -> AIMessage:
        results = [m for m in messages if isinstance(m, ToolMessage)]
        if not results:
            return AIMessage(
                "",
                tool_calls=[
                    {"name": "add", "args": {"a": 2, "b": 3}, "id": "c1", "type": "tool_call"},
                    {"name": "upper", "args": {"s": "hi"}, "id": "c2", "type": "tool_call"},
                ],
            )
        return AIMessage(" ".join(str(m.content) for m in results))

    class CannedChat(BaseChatModel):
        """Calls both tools, then answers with their results; no I/O."""

        @property
        def _llm_type(self) -> str:
            return "canned"

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            return self

        def _generate(self, messages: list[BaseMessage], *args: Any, **kw: Any) -> ChatResult:
            return ChatResult(generations=[ChatGeneration(message=reply(messages))])

        async def _agenerate(
            self, messages: list[BaseMessage], *args: Any, **kw: Any
        ) -> ChatResult:
            return ChatResult(generations=[ChatGeneration(message=reply(messages))])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = create_react_agent(CannedChat(), [add, upper], prompt=INSTRUCTIONS)

    async def run() -> str:
        state = await graph.ainvoke({"messages": [("user", QUESTION)]})
        return str(state["messages"][-1].content)

    return run


BUILDERS: dict[str, Callable[[], Run | None]] = {
    "beluga": _beluga,
    "beluga+react": _beluga_react,
    "pydantic-ai": _pydantic_ai,
    "openai-agents": _openai_agents,
    "langgraph": _langgraph,
}


async def _loop(runs: int, rounds: int) -> dict[str, Any]:
    contenders: dict[str, Run] = {}
    missing: list[str] = []
    for name, build in BUILDERS.items():
        run = build()
        if run is None:
            missing.append(name)
            continue
        answer = await run()
        if answer != EXPECTED:
            raise AssertionError(f"{name} answered {answer!r}, not {EXPECTED!r}: its loop is wrong")
        contenders[name] = run
    timings = await interleaved(contenders, calls=runs, rounds=rounds, warmup=max(runs // 4, 20))
    base = timings.get("beluga")
    out: dict[str, Any] = {"missing": missing, "frameworks": {}}
    for name, timing in timings.items():
        out["frameworks"][name] = {
            "us_per_run": timing.median * 1e6,
            "us_per_step": timing.median * 1e6 / STEPS,
            "ratio_vs_beluga": None if base is None else ratio_median(timing, base),
        }
    return out


def _import_seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    return float(done.stdout.strip().splitlines()[-1])


def import_times(repeats: int = 7) -> dict[str, float]:
    """Median milliseconds to import each available framework's agent module, fresh each time."""
    modules = {n: m for n, m in IMPORTS.items() if _available(m.split(".")[0])}
    for module in modules.values():
        _import_seconds(module)  # warm-up: bytecode written, files in the page cache
    samples: dict[str, list[float]] = {n: [] for n in modules}
    for _ in range(repeats):
        for name, module in modules.items():
            samples[name].append(_import_seconds(module))
    return {name: statistics.median(s) * 1e3 for name, s in samples.items()}


def run(runs: int = 200, rounds: int = 9, import_repeats: int = 7) -> dict[str, Any]:
    results = asyncio.run(_loop(runs, rounds))
    results["import_ms"] = import_times(import_repeats)
    return results


def report(results: dict[str, Any]) -> None:
    """Print the figures as ``make bench`` shows them."""
    rows = results["frameworks"]
    print("Agent loop: one tool-calling step (two parallel tools), zero-latency model (medians)")
    for name, row in sorted(rows.items(), key=lambda kv: kv[1]["us_per_step"]):
        ratio = row["ratio_vs_beluga"]
        versus = "" if ratio is None else f"  {ratio:.2f}x Beluga"
        per_run = f"({row['us_per_run']:.1f} us/run)"
        print(f"  {name:14} {row['us_per_step']:9.1f} us/step  {per_run}{versus}")
    for name in results["missing"]:
        print(f"  {name:14} not measured (not installed, or its Agent is missing)")
    print("Agent module import in a fresh interpreter (medians)")
    for name, ms in sorted(results["import_ms"].items(), key=lambda kv: kv[1]):
        print(f"  {name:14} import {IMPORTS[name]:20} {ms:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=200, help="agent runs per round")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds")
    parser.add_argument("--imports", type=int, default=7, help="fresh interpreters per module")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    results = run(args.runs, args.rounds, args.imports)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)


if __name__ == "__main__":
    main()
