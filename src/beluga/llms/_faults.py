"""Which failures move a routed call to the next model of its chain.

A retryable error (rate limit, outage, ``TIMEOUT``) says the provider is unwell: fall back and
count it towards a cooldown. A context-window error says the prompt is too long *for this model*:
the next model of the chain may have a larger window, so fall back too, but the provider is
healthy and is never cooled down. Each vendor words it differently (their documented errors):

- OpenAI and compatible servers: error code ``context_length_exceeded``, "maximum context length".
- Anthropic (and Claude on Bedrock): "prompt is too long: N tokens > M maximum".
- Gemini: "The input token count (N) exceeds the maximum number of tokens allowed (M)".
- Bedrock: ``ValidationException`` "Input is too long for requested model", "too many input
  tokens".
- xAI: "This model's maximum prompt length is N but the request contains M tokens".
"""

from __future__ import annotations

from beluga.core.errors import BelugaError, ErrorCode

__all__ = ["falls_back", "is_context_window_error"]

_MARKERS = (
    "context_length_exceeded",
    "maximum context length",
    "prompt is too long",
    "exceeds the maximum number of tokens allowed",
    "input is too long for requested model",
    "too many input tokens",
    "maximum prompt length",
)


def is_context_window_error(error: BaseException) -> bool:
    """True if ``error`` (or what caused it) says the prompt does not fit the model's window."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = f"{getattr(current, 'code', '')} {getattr(current, 'message', '')} {current}"
        if any(marker in text.lower() for marker in _MARKERS):
            return True
        current = current.__cause__ or getattr(current, "cause", None)
    return False


def falls_back(error: BelugaError) -> bool:
    """Whether the router tries the next model of the chain after ``error``."""
    return error.retryable or error.code is ErrorCode.TIMEOUT or is_context_window_error(error)
