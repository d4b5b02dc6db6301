"""Cost of a call from its usage and a per-model price table.

The built-in table (``prices.json``, list prices in USD per million tokens) is overridden per model
by ``llm.prices`` in ``beluga.yaml``. Model ids are matched exactly, then after dropping
provider decorations (``us.anthropic.…-v1:0`` on Bedrock, ``models/`` on Gemini, date suffixes),
then by the longest known prefix, so ``gpt-4o-mini-2024-07-18`` is priced as ``gpt-4o-mini``.
Usage follows the OpenAI convention: cached tokens are part of input, reasoning tokens part of
output (billed as output).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

from beluga.schema import Usage

__all__ = ["Price", "PriceTable"]

_DECORATIONS = re.compile(
    r"^(?:models/|(?:us|eu|apac|global)\.)?(?:anthropic\.|meta\.|mistral\.)?|"
    r"(?:-v\d+(?::\d+)?|@\d+|-\d{8}|-latest)$"
)


@dataclass(slots=True, frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cached_input: float | None = None

    def cost(self, usage: Usage) -> float:
        cached = min(usage.cached_tokens, usage.input_tokens)
        cached_rate = self.input if self.cached_input is None else self.cached_input
        return (
            (usage.input_tokens - cached) * self.input
            + cached * cached_rate
            + usage.output_tokens * self.output
        ) / 1_000_000


class PriceTable:
    """Prices by model id; :meth:`cost` returns None for a model it does not know."""

    def __init__(self, overrides: Mapping[str, Price] | None = None) -> None:
        self._prices = {**_builtin(), **(overrides or {})}
        self._by_length = sorted(self._prices, key=len, reverse=True)
        self._resolved: dict[str, Price | None] = {}

    def price(self, model: str) -> Price | None:
        if model in self._resolved:
            return self._resolved[model]
        found = self._prices.get(model)
        if found is None:
            bare = _strip(model)
            found = self._prices.get(bare) or next(
                (self._prices[k] for k in self._by_length if bare.startswith(k)), None
            )
        self._resolved[model] = found
        return found

    def cost(self, model: str, usage: Usage) -> float | None:
        price = self.price(model)
        return None if price is None else price.cost(usage)


def _strip(model: str) -> str:
    previous = None
    while previous != model:
        previous, model = model, _DECORATIONS.sub("", model)
    return model


@lru_cache(maxsize=1)
def _builtin() -> dict[str, Price]:
    raw = json.loads(files("beluga.llms").joinpath("prices.json").read_text(encoding="utf-8"))
    return {name: Price(**value) for name, value in raw.items() if not name.startswith("_")}
