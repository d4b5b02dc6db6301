"""Counting the tokens of a history, for the token-limited and summary strategies.

:class:`TokenCounter` is the seam: ``count(messages)`` gives the tokens those messages take in
a prompt. :func:`token_counter_for` picks the best counter for a model:

- a model that counts its own tokens (a ``count_tokens(messages)`` coroutine) is asked;
- the local llama.cpp model (``provider == "local"``, a GGUF ``path``) is counted with its own
  tokenizer (:class:`LlamaTokenCounter`, which loads the vocabulary only, not the weights);
- any other model gets :class:`EstimateTokenCounter`, a documented estimate: one token per 4
  characters of text (OpenAI's rule of thumb for English; code and other scripts run denser)
  plus 4 tokens of framing per message, tool call names and arguments included. Cloud APIs
  tokenize server-side, so an estimate is what a client can do without their tokenizers; keep
  a safety margin in the budget.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from beluga.core.registry import require
from beluga.schema import Message, ReasoningPart, TextPart

__all__ = [
    "EstimateTokenCounter",
    "LlamaTokenCounter",
    "TokenCounter",
    "message_text",
    "token_counter_for",
]

_FRAMING = 4
"""Tokens a chat template adds around one message (``<|im_start|>role\\n ... <|im_end|>\\n``
is 4-5 for ChatML; OpenAI documents 3-4)."""


@runtime_checkable
class TokenCounter(Protocol):
    """How many prompt tokens messages take."""

    async def count(self, messages: Sequence[Message]) -> int: ...


def message_text(message: Message) -> str:
    """What of a message a tokenizer sees: role, text, reasoning, tool calls and their ids."""
    pieces: list[str] = [message.role]
    for part in message.content:
        if isinstance(part, TextPart | ReasoningPart):
            pieces.append(part.text)
    for call in message.tool_calls:
        pieces.extend((call.name, call.arguments))
    if message.tool_call_id:
        pieces.append(message.tool_call_id)
    return "\n".join(pieces)


class EstimateTokenCounter:
    """``ceil(characters / chars_per_token)`` plus ``framing`` tokens per message."""

    def __init__(self, *, chars_per_token: float = 4.0, framing: int = _FRAMING) -> None:
        self.chars_per_token = chars_per_token
        self.framing = framing

    async def count(self, messages: Sequence[Message]) -> int:
        return sum(
            math.ceil(len(message_text(m)) / self.chars_per_token) + self.framing for m in messages
        )

    def __repr__(self) -> str:
        return f"EstimateTokenCounter(chars_per_token={self.chars_per_token})"


class LlamaTokenCounter:
    """Exact token counts from a GGUF model's own tokenizer (needs ``beluga-ai[local]``).

    Only the vocabulary is loaded (``vocab_only``), on first use and off the event loop.
    """

    def __init__(self, path: str | Path, *, framing: int = _FRAMING) -> None:
        self.path = Path(path)
        self.framing = framing
        self._llama: Any = None
        self._lock = threading.Lock()

    async def count(self, messages: Sequence[Message]) -> int:
        texts = [message_text(m) for m in messages]
        return await asyncio.to_thread(self._count, texts)

    def _count(self, texts: list[str]) -> int:
        with self._lock:
            if self._llama is None:
                llama_cpp: Any = require("llama_cpp", extra="local")
                self._llama = llama_cpp.Llama(
                    model_path=str(self.path), vocab_only=True, verbose=False
                )
            tokenize = self._llama.tokenize
            return sum(
                len(tokenize(t.encode("utf-8"), add_bos=False, special=True)) + self.framing
                for t in texts
            )

    def __repr__(self) -> str:
        return f"LlamaTokenCounter({str(self.path)!r})"


class _ModelCounter:
    """A model's own ``count_tokens(messages)``."""

    def __init__(self, model: Any) -> None:
        self._model = model

    async def count(self, messages: Sequence[Message]) -> int:
        return int(await self._model.count_tokens(messages))


def token_counter_for(model: object | None) -> TokenCounter:
    """The most exact counter available for ``model`` (see the module docstring)."""
    if model is not None and callable(getattr(model, "count_tokens", None)):
        return _ModelCounter(model)
    path = getattr(model, "path", None)
    if getattr(model, "provider", None) == "local" and isinstance(path, Path):
        return LlamaTokenCounter(path)
    return EstimateTokenCounter()
