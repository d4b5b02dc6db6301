"""The bench: section, scenario files and token distributions."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from beluga.bench.config import BenchConfig, Scenario, TokenDistribution, load_scenario
from beluga.config import BelugaConfig, ConfigError
from beluga.core.errors import BelugaError


def test_section_is_registered_with_defaults() -> None:
    cfg = BelugaConfig.model_validate(
        {"bench": {"requests": 7, "scenarios": {"s": {"targets": ["mock"]}}}}
    )
    bench = BenchConfig.of(cfg)
    assert bench.requests == 7 and bench.warmup == 2
    assert bench.scenarios["s"].targets == ["mock"]
    assert BenchConfig.of(BelugaConfig()).regression_threshold == 0.10


def test_token_distributions() -> None:
    rng = random.Random(0)
    assert TokenDistribution(200).draw(rng) == 200
    draws = [TokenDistribution("uniform:10,20").draw(rng) for _ in range(200)]
    assert min(draws) >= 10 and max(draws) <= 20
    assert TokenDistribution("normal:5,50").draw(rng) >= 1
    with pytest.raises(BelugaError, match="normal:200,40"):
        TokenDistribution("gamma:1")


def test_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: chat\ntargets: [mock:a]\n"
        "synthetic: {prompt_tokens: 'normal:50,5', output_tokens: 8}\n"
        "load: {mode: concurrency, concurrency: 4}\nslo: p95 ttft < 1s\n"
    )
    scenario = load_scenario(path)
    assert scenario.name == "chat" and scenario.load.concurrency == [4]
    assert scenario.synthetic is not None and scenario.synthetic.count == 32


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("load: {mode: burst}\n", "load.mode"),
        ("synthetic: {prompt_tokens: lots}\n", "synthetic.prompt_tokens"),
        ("requests: 0\n", "requests"),
        ("- a\n", ""),
    ],
)
def test_bad_scenario_names_the_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert str(path) in str(info.value)
    assert key in str(info.value)


def test_missing_scenario_file() -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_scenario(Path("/nonexistent/s.yaml"))
    assert Scenario().stream is True
