"""A mock chat model with known latencies and injected faults, for benchmarks and CI with no key.

``mock:fast`` answers in-process; ``beluga bench serve-mock`` serves the same model over the
OpenAI-compatible chat-completions protocol (SSE streams, 429/5xx bodies, cut connections), so
any OpenAI-compatible client, ours or a peer benchmark tool, can be measured against it.

Every answer follows a :class:`~beluga.llms.providers._mock_timing.Schedule` drawn from a seeded
generator: the first token is due ``ttft`` after the call starts and each next one ``itl`` after
the one before (``tokens_per_s`` sets a fixed ``itl``). Tokens are sent at those deadlines on the
monotonic clock, not after accumulated sleeps. The answer has ``max_tokens`` tokens when the call
asks for a limit (a benchmark fixes answer lengths this way), else ``output_tokens``; each word of
the prompt counts as one input token, and ``cached_fraction`` of them are reported as cached.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Sequence

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.base import BaseChatModel, ModelSettings
from beluga.llms.providers._mock_timing import Delay, Faults, Schedule, parse_delay, word
from beluga.schema import (
    ChatResponse,
    FinishEvent,
    Message,
    ResponseBuilder,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolDefinition,
    Usage,
    UsageEvent,
)

__all__ = ["MockChatModel", "answer_pieces", "count_input_tokens"]


class MockChatModel(BaseChatModel):
    """Answers with mock words on a known, seeded timeline; fails at the configured rates."""

    provider = "mock"

    def __init__(
        self,
        model: str = "mock",
        *,
        ttft: str | float = "fixed:50ms",
        itl: str | float = "fixed:10ms",
        tokens_per_s: float | None = None,
        output_tokens: int = 32,
        seed: int = 0,
        rate_limit_rate: float = 0.0,
        server_error_rate: float = 0.0,
        cut_rate: float = 0.0,
        cached_fraction: float = 0.0,
        settings: ModelSettings | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__(model, settings=settings, timeout=timeout)
        self.ttft = parse_delay(ttft, "ttft")
        if tokens_per_s is not None:
            if tokens_per_s <= 0:
                raise BelugaError(
                    "llms.mock.config",
                    ErrorCode.INVALID_CONFIG,
                    f"mock tokens_per_s={tokens_per_s!r}; use a positive rate",
                )
            self.itl = Delay("fixed", 1.0 / tokens_per_s)
        else:
            self.itl = parse_delay(itl, "itl")
        if output_tokens < 1:
            raise BelugaError(
                "llms.mock.config",
                ErrorCode.INVALID_CONFIG,
                f"mock output_tokens={output_tokens!r}; use at least 1",
            )
        if not 0.0 <= cached_fraction <= 1.0:
            raise BelugaError(
                "llms.mock.config",
                ErrorCode.INVALID_CONFIG,
                f"mock cached_fraction={cached_fraction!r}; use a number from 0 to 1",
            )
        self.output_tokens = output_tokens
        self.faults = Faults(rate_limit_rate, server_error_rate, cut_rate)
        self.cached_fraction = cached_fraction
        self.seed = seed
        self._rng = random.Random(seed)

    def schedule(self, tokens: int) -> Schedule:
        """The next answer's timeline (draws advance the model's seeded generator)."""
        return Schedule.draw(self._rng, self.ttft, self.itl, tokens, self.faults)

    def _tokens(self, settings: ModelSettings) -> int:
        return settings.max_tokens or self.output_tokens

    def _usage(self, messages: Sequence[Message], output: int) -> Usage:
        given = count_input_tokens(messages)
        return Usage(given, output, cached_tokens=int(given * self.cached_fraction))

    def _fail(self, fault: str) -> BelugaError:
        if fault == "rate_limit":
            return BelugaError(
                "llms.mock.call",
                ErrorCode.RATE_LIMITED,
                f"mock model {self.model_name!r} injected a rate limit (429)",
                retryable=True,
            )
        return BelugaError(
            "llms.mock.call",
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"mock model {self.model_name!r} injected "
            + ("a cut stream" if fault == "cut" else "a server error (500)"),
            retryable=True,
        )

    async def _generate(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> ChatResponse:
        builder = ResponseBuilder()
        async for event in self._stream(messages, tools, settings):
            builder.add(event)
        return builder.build()

    async def _stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> AsyncIterator[StreamEvent]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        tokens = self._tokens(settings)
        plan = self.schedule(tokens)
        if plan.fault in ("rate_limit", "server_error"):
            raise self._fail(plan.fault)
        pieces, tool = answer_pieces(messages, tools, settings, tokens)
        for i, offset in enumerate(plan.offsets):
            delay = start + offset - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if plan.fault == "cut" and i == plan.cut_after:
                raise self._fail("cut")
            if tool is None:
                yield TextDelta(pieces[i])
            else:
                yield ToolCallDelta(
                    0, "call_0" if i == 0 else None, tool if i == 0 else None, pieces[i]
                )
        yield UsageEvent(self._usage(messages, tokens))
        yield FinishEvent("tool_calls" if tool else "stop", model=self.model_name)


def count_input_tokens(messages: Sequence[Message]) -> int:
    """Input tokens as the mock counts them: one per word of the conversation, at least 1."""
    return max(sum(len(m.text.split()) for m in messages), 1)


def answer_pieces(
    messages: Sequence[Message],
    tools: Sequence[ToolDefinition],
    settings: ModelSettings,
    tokens: int,
) -> tuple[list[str], str | None]:
    """The ``tokens`` pieces of an answer and the name of the tool it calls (or None): words,
    JSON valid for the requested output schema, or arguments for the first tool offered."""
    from beluga.llms.testing import example_for_schema

    answered = any(m.role == "tool" for m in messages)
    if tools and not answered and settings.tool_choice != "none":
        return _split(json.dumps(example_for_schema(tools[0].parameters)), tokens), tools[0].name
    if settings.output is not None:
        return _split(json.dumps(example_for_schema(settings.output.schema)), tokens), None
    return [word(i) for i in range(tokens)], None


def _split(text: str, parts: int) -> list[str]:
    """``text`` in ``parts`` pieces (the last ones empty when the text is shorter)."""
    size = max(-(-len(text) // parts), 1)
    return [text[i * size : (i + 1) * size] for i in range(parts)]
