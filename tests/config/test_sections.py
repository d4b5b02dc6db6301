"""Sections are owned by their areas: a new one plugs in without editing the foundation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from beluga.config import BelugaConfig, ConfigError, Section, parse_config, sections
from beluga.llms.config import LLMConfig


class VoiceSection(Section):
    key: ClassVar[str] = "voice_test"

    sample_rate: int = 16000
    vad: str = "silero"


class Mislabelled(Section):
    key: ClassVar[str] = "something_else"


@pytest.fixture
def voice() -> Iterator[None]:
    sections.register("voice_test", VoiceSection)
    try:
        yield
    finally:
        sections.unregister("voice_test")


def test_builtin_llm_section_is_registered_by_entry_point() -> None:
    assert "llm" in sections
    config = BelugaConfig()
    assert isinstance(LLMConfig.of(config), LLMConfig)
    assert config.llm is LLMConfig.of(config)  # attribute access for users and YAML-minded code


@pytest.mark.usefixtures("voice")
def test_a_registered_section_is_validated_and_defaulted() -> None:
    config = parse_config({"voice_test": {"sample_rate": 8000}}, env={})
    assert VoiceSection.of(config) == VoiceSection(sample_rate=8000)
    assert VoiceSection.of(BelugaConfig()) == VoiceSection()
    assert BelugaConfig(voice_test=VoiceSection(vad="webrtc")).voice_test.vad == "webrtc"


@pytest.mark.usefixtures("voice")
def test_errors_inside_a_plugin_section_name_its_key_path() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"voice_test": {"sample_rat": 8000}}, source="b.yaml", env={})
    assert info.value.key_path == "voice_test.sample_rat"
    assert "did you mean 'sample_rate'" in info.value.fix
    with pytest.raises(ConfigError) as info:
        parse_config({"voice_test": {"sample_rate": "fast"}}, source="b.yaml", env={})
    assert info.value.key_path == "voice_test.sample_rate"
    assert info.value.source == "b.yaml"


@pytest.mark.usefixtures("voice")
def test_environment_overrides_reach_plugin_sections() -> None:
    config = parse_config({}, env={"BELUGA_VOICE_TEST__VAD": "energy"})
    assert VoiceSection.of(config).vad == "energy"


def test_unknown_top_level_key_lists_the_registered_sections() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"observabilty": {}}, env={})
    assert info.value.key_path == "observabilty"
    assert "did you mean 'observability'" in info.value.fix


def test_a_section_registered_under_another_key_is_refused() -> None:
    sections.register("mislabelled", Mislabelled)
    try:
        with pytest.raises(ConfigError, match="its key is 'something_else'"):
            parse_config({"mislabelled": {}}, env={})
    finally:
        sections.unregister("mislabelled")


def test_nested_unknown_keys_suggest_from_the_nested_model() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(
            {
                "llm": {
                    "providers": {"p": {"type": "openai"}},
                    "roles": {"r": {"provider": "p", "fallback": []}},
                }
            },
            env={},
        )
    assert info.value.key_path == "llm.roles.r.fallback"
    assert "did you mean 'fallbacks'" in info.value.fix


@pytest.fixture
def broken_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A package registers a ``beluga.config`` section whose module is not installed."""
    from importlib.metadata import EntryPoint

    import beluga.core.registry as core_registry

    real = core_registry.entry_points
    fake = EntryPoint("broken_section", "beluga_missing_plugin.config:Broken", "beluga.config")

    def entry_points(*, group: str) -> list[EntryPoint]:
        found = list(real(group=group))
        return [*found, fake] if group == "beluga.config" else found

    monkeypatch.setattr(core_registry, "entry_points", entry_points)
    monkeypatch.setattr(sections, "_discovered", False)
    try:
        yield
    finally:
        sections.unregister("broken_section")


@pytest.mark.usefixtures("broken_plugin")
def test_a_broken_plugin_section_does_not_break_a_config_that_does_not_use_it() -> None:
    config = parse_config({"llm": {"default": "test"}}, source="b.yaml", env={})
    assert LLMConfig.of(config).default == "test"
    assert isinstance(BelugaConfig(), BelugaConfig)


@pytest.mark.usefixtures("broken_plugin")
def test_using_a_broken_plugin_section_is_one_error_naming_the_entry_point() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"broken_section": {"x": 1}}, source="b.yaml", env={})
    err = info.value
    assert err.key_path == "broken_section"
    assert "beluga_missing_plugin.config:Broken" in err.message
    assert "'beluga.config'" in err.message
    assert "uninstall" in err.fix
    assert err.__cause__ is None and "\n" not in err.message
