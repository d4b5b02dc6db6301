"""The ``bench:`` section of ``beluga.yaml`` and the scenario files ``beluga bench run`` reads.

::

    bench:
      store: sqlite:///home/me/.beluga/bench.db   # default: bench.db next to the metrics store
      save: true                # keep every run in the history store
      requests: 20              # per target and load point
      warmup: 2                 # requests sent first and not counted
      timeout: 60               # seconds per request
      regression_threshold: 0.10  # compare: worse by more than 10 % and significant = regression
      alpha: 0.05
      scenarios:
        chat: {targets: [fast, slow], requests: 50, load: {mode: concurrency, concurrency: [1, 10]}}

A scenario (inline above, or its own YAML file) says what to send and how: ``prompts`` or a
``synthetic`` length distribution (prompt and answer tokens, with a seed), ``tools``, ``output``
(a JSON schema), ``stream``, ``warmup``, ``load`` and an optional ``slo`` and ``quality`` check.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator

from beluga.config import ConfigError, ConfigModel, Section
from beluga.core.errors import BelugaError, ErrorCode

__all__ = [
    "BenchConfig",
    "LoadConfig",
    "QualityConfig",
    "Scenario",
    "SyntheticConfig",
    "TokenDistribution",
    "load_scenario",
]


class TokenDistribution:
    """Token counts drawn from ``fixed:N``, ``normal:MEAN,SD``, ``uniform:LOW,HIGH`` or ``N``
    (at least 1 each)."""

    def __init__(self, spec: str | int) -> None:
        self.spec = str(spec)
        text = self.spec.strip()
        kind, sep, rest = text.partition(":")
        try:
            if not sep:
                kind, values = "fixed", [float(text)]
            else:
                values = [float(v) for v in rest.split(",") if v.strip()]
        except ValueError:
            raise self._bad() from None
        need = {"fixed": 1, "normal": 2, "uniform": 2}.get(kind)
        if need is None or len(values) != need or any(v < 0 for v in values):
            raise self._bad()
        self.kind, self.values = kind, values

    def _bad(self) -> BelugaError:
        return BelugaError(
            "bench.scenario",
            ErrorCode.INVALID_CONFIG,
            f"token distribution {self.spec!r} is not valid; write 200, fixed:200, "
            "normal:200,40 or uniform:50,150",
        )

    def draw(self, rng: random.Random) -> int:
        if self.kind == "fixed":
            value = self.values[0]
        elif self.kind == "normal":
            value = rng.gauss(self.values[0], self.values[1])
        else:
            value = rng.uniform(self.values[0], self.values[1])
        return max(round(value), 1)


class SyntheticConfig(ConfigModel):
    """Prompts of ``prompt_tokens`` words asking for ``output_tokens`` tokens (``max_tokens``)."""

    prompt_tokens: str | int = 128
    output_tokens: str | int = 64
    count: PositiveInt = 32
    """Distinct prompts drawn (requests cycle through them)."""
    seed: int = 0

    @field_validator("prompt_tokens", "output_tokens")
    @classmethod
    def _valid(cls, value: str | int) -> str | int:
        TokenDistribution(value)
        return value


class LoadConfig(ConfigModel):
    """How requests are sent; a list of ``concurrency`` or ``rate`` values is a sweep."""

    mode: Literal["sync", "concurrency", "rate", "poisson"] = "sync"
    concurrency: list[PositiveInt] = Field(default_factory=lambda: [1])
    rate: list[PositiveFloat] = Field(default_factory=list)
    duration: PositiveFloat | None = None
    """Seconds of a sustained run (requests are sent until it ends)."""
    window: PositiveFloat = 10.0
    """Seconds per window when a sustained run looks for degradation."""

    @field_validator("concurrency", "rate", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return [value] if isinstance(value, int | float) and not isinstance(value, bool) else value


class QualityConfig(ConfigModel):
    """The check an answer must pass for a cheaper model to be recommended: ``contains`` (a
    regular expression searched in the answer) or ``check`` (``module:function`` taking the
    answer text and returning a bool)."""

    contains: str | None = None
    check: str | None = None
    min_pass_rate: float = Field(default=0.95, ge=0, le=1)

    @field_validator("contains")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value


class Scenario(ConfigModel):
    """What a run sends to each target, and how."""

    name: str = "default"
    targets: list[str] = Field(default_factory=list)
    """Provider entries, roles or registry ids (``mock:fast``); default: ``llm.default``."""
    prompts: list[str] = Field(default_factory=list)
    synthetic: SyntheticConfig | None = None
    system: str | None = None
    tools: list[dict[str, Any]] = Field(default_factory=list)
    """``{name, description, parameters}`` each (parameters a JSON schema)."""
    output: dict[str, Any] | None = None
    """A JSON schema the answer must follow (structured output)."""
    max_tokens: PositiveInt | None = None
    stream: bool = True
    requests: PositiveInt | None = None
    warmup: int | None = Field(default=None, ge=0)
    timeout: PositiveFloat | None = None
    seed: int = 0
    load: LoadConfig = Field(default_factory=LoadConfig)
    slo: str | None = None
    """A target such as ``p95 ttft < 500ms and error_rate < 1%``."""
    quality: QualityConfig | None = None


class BenchConfig(Section):
    """Defaults of ``beluga bench`` and its named scenarios."""

    key: ClassVar[str] = "bench"

    store: str | None = None
    save: bool = True
    requests: PositiveInt = 20
    warmup: int = Field(default=2, ge=0)
    timeout: PositiveFloat = 60.0
    regression_threshold: float = Field(default=0.10, ge=0)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    scenarios: dict[str, Scenario] = Field(default_factory=dict)


def load_scenario(path: Path) -> Scenario:
    """A scenario from its YAML file; errors name the file and the key."""
    import yaml
    from pydantic import ValidationError

    source = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(
            source, "", f"cannot read the scenario ({exc.strerror})", "check the path"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, "", f"not valid YAML: {exc}", "fix the syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(source, "", "a scenario is a mapping", "write keys such as targets:")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(source, key, first["msg"], "see docs/readme/bench.md") from None
