"""What a run measured: per target and load point, the samples, their statistics and cost.

Measures (seconds unless named): ``ttft``, ``itl`` (every gap between chunks, pooled over the
requests), ``e2e``, ``tps`` (output tokens/s of each request). ``throughput`` is the output
tokens of the successful requests over the wall time of the measured phase. Error and timeout
rates count every request sent. Costs come from the price table for the model's id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from beluga.bench.runner import Sample
from beluga.bench.slo import SLO, Clause
from beluga.bench.stats import Summary, percentile, summarize
from beluga.llms.pricing import PriceTable
from beluga.schema import Usage

__all__ = ["MEASURES", "BenchResult", "TargetResult"]

MEASURES = ("ttft", "itl", "e2e", "tps")


@dataclass(slots=True)
class TargetResult:
    """One target at one load point."""

    target: str
    provider: str
    model: str
    load: dict[str, Any]
    samples: list[Sample]
    wall_s: float
    cost: dict[str, float | None] = field(default_factory=dict)
    quality_pass_rate: float | None = None
    _summaries: dict[str, Summary | None] | None = None

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.ok]

    def values(self, measure: str) -> list[float]:
        ok = self.ok
        if measure == "ttft":
            return [s.ttft for s in ok if s.ttft is not None]
        if measure == "itl":
            return [gap for s in ok for gap in s.itls]
        if measure == "e2e":
            return [s.e2e for s in ok]
        if measure == "tps":
            return [t for s in ok if (t := s.tokens_per_s) is not None]
        if measure == "lateness":
            return [s.lateness for s in self.samples]
        raise KeyError(measure)

    def summaries(self) -> dict[str, Summary | None]:
        if self._summaries is None:
            self._summaries = {m: summarize(self.values(m)) for m in MEASURES}
        return self._summaries

    @property
    def error_rate(self) -> float:
        return 1 - len(self.ok) / len(self.samples) if self.samples else 0.0

    @property
    def timeout_rate(self) -> float:
        n = len(self.samples)
        return sum(s.timed_out for s in self.samples) / n if n else 0.0

    @property
    def throughput(self) -> float:
        """Output tokens per second of the whole measured phase (successful requests)."""
        return sum(s.output_tokens for s in self.ok) / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def requests_per_s(self) -> float:
        return len(self.ok) / self.wall_s if self.wall_s > 0 else 0.0

    def errors(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.samples:
            if s.error is not None:
                out[s.error] = out.get(s.error, 0) + 1
        return out

    def observe(self, clause: Clause) -> float | None:
        """The value an SLO clause is judged on."""
        if clause.measure == "error_rate":
            return self.error_rate
        if clause.measure == "throughput":
            return self.throughput
        values = self.values(clause.measure)
        return percentile(values, clause.percentile or 50.0) if values else None

    def meets(self, slo: SLO) -> bool:
        return slo.met(self.observe)

    def price(self, prices: PriceTable) -> None:
        """Cost per request, per 1k successful requests and what cached tokens saved."""
        total = full = 0.0
        priced = False
        for s in self.samples:
            if s.usage is None:
                continue
            cost = prices.cost(self.model, s.usage)
            if cost is None:
                continue
            priced = True
            total += cost
            u = s.usage
            uncached = Usage(u.input_tokens, u.output_tokens, reasoning_tokens=u.reasoning_tokens)
            full += prices.cost(self.model, uncached) or 0.0
        n, ok = len(self.samples), len(self.ok)
        self.cost = {
            "per_request": total / n if priced and n else None,
            "per_1k_successful": 1000 * total / ok if priced and ok else None,
            "cached_savings": full - total if priced else None,
            "total": total if priced else None,
        }

    def to_dict(self, *, samples: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target": self.target,
            "provider": self.provider,
            "model": self.model,
            "load": self.load,
            "requests": len(self.samples),
            "successful": len(self.ok),
            "error_rate": self.error_rate,
            "timeout_rate": self.timeout_rate,
            "errors": self.errors(),
            "wall_s": self.wall_s,
            "throughput_tokens_per_s": self.throughput,
            "requests_per_s": self.requests_per_s,
            "cost": self.cost,
            "quality_pass_rate": self.quality_pass_rate,
            "stats": {
                m: (s.to_dict() if s is not None else None) for m, s in self.summaries().items()
            },
        }
        late = self.values("lateness")
        if late and any(late):
            out["start_lateness_p99_s"] = percentile(late, 99)
        prep = [s.prep for s in self.samples]
        if prep and any(prep):
            out["client_prep_p50_s"] = percentile(prep, 50)
        if samples:
            out["samples"] = [
                {
                    "start": s.start,
                    "ttft": s.ttft,
                    "e2e": s.e2e,
                    "itls": s.itls,
                    "output_tokens": s.output_tokens,
                    "input_tokens": s.usage.input_tokens if s.usage else None,
                    "cached_tokens": s.usage.cached_tokens if s.usage else None,
                    "error": s.error,
                    "timed_out": s.timed_out,
                    "lateness": s.lateness,
                    "prep": s.prep,
                }
                for s in self.samples
            ]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TargetResult:
        samples = [
            Sample(
                start=s["start"],
                e2e=s["e2e"],
                ttft=s["ttft"],
                itls=list(s["itls"]),
                output_tokens=s["output_tokens"],
                usage=Usage(
                    s["input_tokens"], s["output_tokens"], cached_tokens=s["cached_tokens"] or 0
                )
                if s.get("input_tokens") is not None
                else None,
                error=s["error"],
                timed_out=s["timed_out"],
                lateness=s.get("lateness", 0.0),
                prep=s.get("prep", 0.0),
            )
            for s in data.get("samples", [])
        ]
        return cls(
            data["target"],
            data["provider"],
            data["model"],
            data["load"],
            samples,
            data["wall_s"],
            cost=data.get("cost") or {},
            quality_pass_rate=data.get("quality_pass_rate"),
        )


@dataclass(slots=True)
class BenchResult:
    """A whole run: every target and load point, plus what the run cost the client."""

    run_id: str
    created: float
    scenario: str
    label: str | None
    results: list[TargetResult]
    probe: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Search and sustained-run findings, recommendations, SLO verdicts."""

    def to_dict(self, *, samples: bool = True) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "created": self.created,
            "scenario": self.scenario,
            "label": self.label,
            "probe": self.probe,
            "extra": self.extra,
            "results": [r.to_dict(samples=samples) for r in self.results],
        }

    def to_json(self, *, samples: bool = True) -> str:
        return json.dumps(self.to_dict(samples=samples), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchResult:
        return cls(
            data["run_id"],
            data["created"],
            data["scenario"],
            data.get("label"),
            [TargetResult.from_dict(r) for r in data["results"]],
            probe=data.get("probe"),
            extra=data.get("extra") or {},
        )

    def targets(self) -> list[str]:
        return list(dict.fromkeys(r.target for r in self.results))
