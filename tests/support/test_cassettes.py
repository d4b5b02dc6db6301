"""Tests of the replay harness itself: broken or unknown recordings never break collection."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cassettes import (
    cassette_root,
    cassettes,
    in_use,
    safe_select,
    skip_reasons,
    unreadable,
)

PROVIDERS = ("anthropic", "bedrock", "google", "groq", "mistral", "ollama", "openai")


@pytest.mark.parametrize("value", [None, [], {}, "", False])
def test_recorded_defaults_are_not_features_in_use(value: object) -> None:
    assert not in_use(value)


@pytest.mark.parametrize("value", [{"include_usage": True}, ["x"], "auto", 0, True])
def test_recorded_values_are_features_in_use(value: object) -> None:
    assert in_use(value)


def test_a_file_that_is_not_yaml_is_reported_not_raised(tmp_path: Path) -> None:
    folder = tmp_path / "openai"
    folder.mkdir()
    (folder / "broken.yaml").write_text("interactions: [ {request: \n", encoding="utf-8")
    (folder / "empty.yaml").write_text("interactions: []\n", encoding="utf-8")
    assert [c.name for c in cassettes("openai", tmp_path)] == ["empty"]
    broken = unreadable("openai", tmp_path)
    assert list(broken) == [folder / "broken.yaml"]
    assert "Error" in broken[folder / "broken.yaml"]


def test_a_missing_folder_gives_no_cassettes(tmp_path: Path) -> None:
    assert cassettes("openai", tmp_path / "nowhere") == []
    assert unreadable("openai", tmp_path / "nowhere") == {}


@dataclass
class _Case:
    id: str
    body: dict[str, object]

    @property
    def skip_reason(self) -> str | None:
        return None if self.body["messages"] else "no messages"


def test_an_unknown_shape_becomes_a_skip_naming_the_cassette() -> None:
    cases = [_Case("openai/a#0", {"messages": [1]}), _Case("openai/b#0", {})]
    reasons = skip_reasons(cases)
    assert list(reasons) == ["openai/b#0"]
    assert "openai/b#0" in reasons["openai/b#0"] and "messages" in reasons["openai/b#0"]


def test_a_predicate_that_cannot_read_a_case_leaves_it_out() -> None:
    cases = [_Case("a", {"messages": [1]}), _Case("b", {})]
    assert [c.id for c in safe_select(cases, lambda c: bool(c.body["messages"]))] == ["a"]


def test_every_shared_cassette_is_readable() -> None:
    """A recording that is not valid YAML is a broken recording: fail, naming it and why."""
    if not cassette_root().is_dir():
        pytest.skip(f"no cassettes at {cassette_root()} (set BELUGA_CASSETTES)")
    broken = {str(p): why for name in PROVIDERS for p, why in unreadable(name).items()}
    assert not broken, f"unreadable cassettes: {broken}"
