"""Summary memory: the last turns verbatim, everything older folded into a rolling summary.

After each save, when a session holds more than ``keep_turns`` turns that no summary covers,
the oldest of them (all but the last ``keep_turns``) are sent to a chat model together with
the current summary, and its answer becomes the new summary. Only turns not yet summarized
are sent, so each turn is read by the summarizer once, whatever the length of the session.
The save (so the end of an agent's run) waits for that call, bounded by ``timeout``: no task
outlives the call that started it. ``instructions`` may say ``{max_tokens}``, replaced by
``max_summary_tokens``, which also caps the summarizer's answer.

The summary is stored in the session's own history, as a marker record
(:func:`beluga.memory._turns.summary_marker`, saying how many messages it covers), so it
survives a restart on any store and is cleared with the session. The whole history stays in
the store: the summary only changes what a model is shown, which is one system message
(``Summary of the earlier conversation: ...``) before the turns it does not cover.

The summarizer is a side path of the save: if it fails, times out or answers nothing, no
marker is written, so the next load shows the full unsummarized turns (nothing is lost) and
the next save tries again; the first failure of an outage logs one warning and every failure
adds to :attr:`SummaryMemory.failures` (and marks the save's span). Turns are cut at user
messages only, so a tool call always stays with its result.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING

from beluga.core.errors import BelugaError, ErrorCode
from beluga.memory._degrade import Degradation
from beluga.memory._turns import latest_summary, summary_marker, turn_starts
from beluga.memory.base import MessageStore
from beluga.memory.strategies import BufferMemory, positive
from beluga.observability import Operation
from beluga.schema import MediaPart, Message

if TYPE_CHECKING:
    from beluga.config import BelugaConfig
    from beluga.llms import ChatModel

__all__ = ["DEFAULT_SUMMARY_INSTRUCTIONS", "SUMMARY_PREFIX", "SummaryMemory", "transcript"]

DEFAULT_SUMMARY_INSTRUCTIONS = (
    "You maintain the running summary of a conversation between a user and an assistant. "
    "You are given the summary so far (possibly empty) and the next part of the conversation. "
    "Answer with the updated summary only: keep every fact, name, number, decision, preference "
    "and open question that later turns may need, including what tools returned; drop "
    "greetings and repetition. Write plain prose in the third person, at most about "
    "{max_tokens} tokens."
)
SUMMARY_PREFIX = "Summary of the earlier conversation:\n"
_MAX_CHARS = 2000
"""Longest text of one message sent to the summarizer (a long tool result is cut)."""


class SummaryMemory(BufferMemory):
    """The last ``keep_turns`` turns, after one system message summarizing the rest.

    ``model`` is any :class:`~beluga.llms.ChatModel`, or a name resolved on first use through
    :func:`beluga.llms.from_config` in ``config`` (default: the loaded ``beluga.yaml``): a role
    of ``llm.roles``, a provider entry or a registry id such as ``"openai:gpt-4o-mini"``. A
    model resolved from a name is closed with the memory; one passed in is the caller's.
    """

    strategy = "summary"

    def __init__(
        self,
        store: MessageStore,
        model: ChatModel | str,
        *,
        keep_turns: int = 4,
        max_summary_tokens: int = 300,
        instructions: str = DEFAULT_SUMMARY_INSTRUCTIONS,
        timeout: float | None = 60.0,
        config: BelugaConfig | None = None,
    ) -> None:
        super().__init__(store)
        if not isinstance(model, str) and not callable(getattr(model, "generate", None)):
            raise BelugaError(
                "memory.summary",
                ErrorCode.INVALID_CONFIG,
                f"model is a {type(model).__name__}: pass a ChatModel or the name of a role, "
                "provider entry or registry id",
            )
        self.keep_turns = positive("keep_turns", keep_turns)
        self.max_summary_tokens = positive("max_summary_tokens", max_summary_tokens)
        self.instructions = instructions
        self.timeout = timeout
        self._degradation = Degradation("summary")
        self._spec = model
        self._model: ChatModel | None = None if isinstance(model, str) else model
        self._owns_model = False
        self._config = config
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @property
    def failures(self) -> int:
        """Summaries that failed (the turns were kept whole instead)."""
        return self._degradation.failures

    @property
    def model_name(self) -> str:
        """The summarizer's name (as given, before it is resolved)."""
        return self._spec if isinstance(self._spec, str) else self._spec.model_name

    async def summary(self, session_id: str) -> str:
        """The session's current summary (empty when nothing is summarized yet)."""
        text, _, _ = latest_summary(await self.store.messages(session_id))
        return text

    async def aclose(self) -> None:
        model, owned = self._model, self._owns_model
        if owned and model is not None:
            self._model, self._owns_model = None, False
            await model.aclose()
        await super().aclose()

    # -- the strategy ----------------------------------------------------------------------------

    async def _load(self, session_id: str, query: Sequence[Message]) -> list[Message]:
        text, covers, plain = latest_summary(await self.store.messages(session_id))
        head = [Message.system(SUMMARY_PREFIX + text)] if text else []
        return [*head, *plain[covers:]]

    async def _save(self, session_id: str, messages: Sequence[Message], op: Operation) -> None:
        await self.store.append(session_id, messages)
        lock = self._locks.get(session_id)
        if lock is None:
            lock = self._locks[session_id] = asyncio.Lock()
        async with lock:  # one fold at a time per session in this process
            await self._fold(session_id, op)

    async def _fold(self, session_id: str, op: Operation) -> None:
        text, covers, plain = latest_summary(await self.store.messages(session_id))
        rest = plain[covers:]
        starts = turn_starts(rest)
        if len(starts) <= self.keep_turns:
            return
        cut = starts[-self.keep_turns]
        op.set("beluga.memory.summarized_messages", cut)
        try:
            summary = await self._summarize(text, rest[:cut])
            await self.store.append(session_id, [summary_marker(summary, covers + cut)])
        except Exception as exc:  # a timeout too; cancellation goes through
            self._degradation.failed(
                exc, op, f"by {self.model_name!r}; the full turns are kept, the next save retries"
            )
            return
        self._degradation.succeeded()

    async def _summarize(self, previous: str, messages: Sequence[Message]) -> str:
        from beluga.llms import ModelSettings

        model = self._resolved()
        prompt = [
            Message.system(self.instructions.replace("{max_tokens}", str(self.max_summary_tokens))),
            Message.user(
                f"Summary so far:\n{previous or '(none yet)'}\n\n"
                f"Next part of the conversation:\n{transcript(messages)}"
            ),
        ]
        settings = ModelSettings(max_tokens=self.max_summary_tokens)
        async with asyncio.timeout(self.timeout):
            response = await model.generate(prompt, settings=settings)
        text = response.message.text.strip()
        if not text:
            raise BelugaError(
                "memory.summary",
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"the summarizer {self.model_name!r} answered with no text",
            )
        return text

    def _resolved(self) -> ChatModel:
        if self._model is None:
            from beluga.config import load_config
            from beluga.llms import from_config

            assert isinstance(self._spec, str)
            config = self._config if self._config is not None else load_config()
            self._model, self._owns_model = from_config(config, self._spec), True
        return self._model

    def __repr__(self) -> str:
        return (
            f"SummaryMemory({self.store!r}, model={self.model_name!r}, "
            f"keep_turns={self.keep_turns})"
        )


def transcript(messages: Sequence[Message]) -> str:
    """``messages`` as the lines a summarizer reads: who said what, which tools were called
    with what, and what they returned (each text cut at 2,000 characters)."""
    lines: list[str] = []
    names = {c.id: c.name for m in messages for c in m.tool_calls}
    for message in messages:
        text = _cut(message.text)
        media = sum(isinstance(p, MediaPart) for p in message.content)
        if media:
            text = f"{text} [{media} attachment{'s' if media > 1 else ''}]".strip()
        if message.role == "tool":
            label = message.name or names.get(message.tool_call_id or "", message.tool_call_id)
            status = "failed" if message.is_error else "returned"
            lines.append(f"Tool {label} {status}: {text}")
            continue
        who = {"user": "User", "assistant": "Assistant", "system": "System"}[message.role]
        if text:
            lines.append(f"{who}: {text}")
        for call in message.tool_calls:
            lines.append(f"Assistant called tool {call.name} ({call.id}): {_cut(call.arguments)}")
    return "\n".join(lines)


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_CHARS else text[:_MAX_CHARS] + " [...]"
