"""What every embedding provider shares: limits, batching, checks and the GenAI span.

A provider says how one API call is made (:meth:`ProviderEmbedder._embed_batch`) and what the
API's limits are (``max_inputs``, ``max_tokens``, ``max_concurrency``); :meth:`embed` splits a
call into batches within those limits, runs them with bounded concurrency, checks that every
input got one vector of ``dimensions`` floats, and records the ``embeddings {model}`` span with
the input token usage and duration metrics (OpenTelemetry GenAI conventions).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.embeddings._batching import Batch, run_batches, split
from beluga.embeddings.base import EmbedInput
from beluga.observability.genai import start_operation

__all__ = ["ProviderEmbedder"]


class ProviderEmbedder(AsyncClosing):
    """Base of the built-in embedders (see the module docstring)."""

    provider: ClassVar[str]
    max_inputs: int = 2048
    max_tokens: int | None = None
    max_concurrency: int = 4

    def __init__(self, model: str, dimensions: int) -> None:
        self._model = model
        self._dimensions = dimensions

    @property
    def model_name(self) -> str:
        return self._model

    @property
    def dimensions(self) -> int:
        return self._dimensions

    async def embed(self, inputs: Sequence[EmbedInput]) -> list[list[float]]:
        """One vector per input, in order; batches cut to the API's limits."""
        items = list(inputs)
        if not items:
            return []
        with start_operation(
            "embeddings", self._model, provider=self.provider, attributes=self._attributes()
        ) as op:
            batches = split(items, self.max_inputs, self.max_tokens)
            result = await run_batches(
                batches, self._checked_batch, max_concurrency=self.max_concurrency
            )
            if result.input_tokens:
                op.set("gen_ai.usage.input_tokens", result.input_tokens)
                op.tokens(result.input_tokens, None)
            return result.vectors

    def _attributes(self) -> dict[str, object]:
        return {"gen_ai.embeddings.dimension.count": self._dimensions}

    async def _checked_batch(self, batch: list[EmbedInput]) -> Batch:
        result = await self._embed_batch(batch)
        if len(result.vectors) != len(batch):
            raise self._bad_answer(f"{len(result.vectors)} vectors for {len(batch)} inputs")
        for vector in result.vectors:
            if len(vector) != self._dimensions:
                raise self._bad_answer(
                    f"a vector of {len(vector)} floats where {self._dimensions} were expected; "
                    "set dimensions= to the model's size"
                )
        return result

    def _bad_answer(self, what: str) -> BelugaError:
        return BelugaError(
            f"embeddings.{self.provider}",
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"{self.provider} ({self._model}) answered {what}; check the model name and base_url",
            retryable=False,
        )

    @abstractmethod
    async def _embed_batch(self, batch: list[EmbedInput]) -> Batch:
        """One API call for ``batch`` (already within the limits)."""

    async def aclose(self) -> None:
        """Nothing held by default; providers with a client close it."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self._model!r}, dimensions={self._dimensions})"
