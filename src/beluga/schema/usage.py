"""Token usage, with the cached, reasoning and audio counts that pricing depends on."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Usage"]


@dataclass(slots=True, frozen=True)
class Usage:
    """Tokens of one call. ``cached_tokens`` and ``audio_input_tokens`` are part of
    ``input_tokens``; ``reasoning_tokens`` and ``audio_output_tokens`` part of ``output_tokens``
    (the OpenAI convention; adapters of other APIs convert to it)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    audio_input_tokens: int = 0
    audio_output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_tokens + other.cached_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.audio_input_tokens + other.audio_input_tokens,
            self.audio_output_tokens + other.audio_output_tokens,
        )
