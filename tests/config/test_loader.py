from __future__ import annotations

from pathlib import Path

import pytest

from beluga.config import BelugaConfig, ConfigError, load_config, parse_config
from beluga.core import ErrorCode

KEY = "sk-test-PLANTED0123456789abcdef"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "beluga.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_means_offline_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config.model_dump() == BelugaConfig().model_dump()
    assert config.llm.default == "local"
    assert config.source == "<defaults>"


def test_full_file_with_expansion(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
llm:
  default: gpt
  settings: {temperature: 0.2}
  providers:
    gpt:
      type: openai
      model: ${MODEL:-gpt-4o-mini}
      api_key: ${OPENAI_API_KEY}
      base_url: http://127.0.0.1:${PORT}/v1
      organization: org-1
observability: {log_level: INFO}
""",
    )
    config = load_config(path, env={"OPENAI_API_KEY": KEY, "PORT": "8080"})
    gpt = config.llm.providers["gpt"]
    assert gpt.model == "gpt-4o-mini"
    assert gpt.base_url == "http://127.0.0.1:8080/v1"
    assert gpt.api_key is not None and gpt.api_key.get_secret_value() == KEY
    assert gpt.options() == {"organization": "org-1"}
    assert config.source == str(path)
    assert KEY not in repr(config) and KEY not in str(config)


def test_dollar_escape(tmp_path: Path) -> None:
    config = parse_config({"llm": {"default": "price$$5"}}, env={})
    assert config.llm.default == "price$5"


def test_missing_variable_names_file_key_and_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "llm:\n  providers:\n    gpt:\n      api_key: ${NOPE_KEY}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    err = info.value
    assert err.code is ErrorCode.INVALID_CONFIG
    assert err.source == str(path)
    assert err.key_path == "llm.providers.gpt.api_key"
    assert "NOPE_KEY" in err.message
    assert "${NOPE_KEY:-value}" in err.fix


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = write(tmp_path, "llm:\n  defualt: local\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.key_path == "llm.defualt"
    assert "did you mean 'default'" in info.value.fix
    assert str(path) in str(info.value)


def test_unknown_section(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "lm: {}\n"), env={})
    assert info.value.key_path == "lm"
    assert "did you mean 'llm'" in info.value.fix


def test_wrong_type_and_literal(tmp_path: Path) -> None:
    path = write(tmp_path, "llm:\n  providers:\n    p: {timeout: soon}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.key_path == "llm.providers.p.timeout"
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "observability: {log_level: LOUD}\n"), env={})
    assert info.value.key_path == "observability.log_level"
    assert "DEBUG" in info.value.fix


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"line \d+, column \d+") as info:
        load_config(write(tmp_path, "llm:\n  default: [unclosed\n"), env={})
    assert "YAML" in info.value.message


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="top level is a list"):
        load_config(write(tmp_path, "- a\n- b\n"), env={})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.yaml")


def test_env_var_points_at_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "llm: {default: test}\n")
    monkeypatch.setenv("BELUGA_CONFIG", str(path))
    assert load_config().llm.default == "test"


def test_environment_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, "llm: {default: local}\n")
    env = {
        "BELUGA_LLM__DEFAULT": "gpt",
        "BELUGA_LLM__PROVIDERS__GPT__TIMEOUT": "2.5",
        "BELUGA_PG_DSN": "postgresql://unrelated",  # not a section: ignored
    }
    config = load_config(path, env=env)
    assert config.llm.default == "gpt"
    assert config.llm.providers["gpt"].timeout == 2.5


def test_python_keywords_equal_yaml(tmp_path: Path) -> None:
    from beluga.llms.config import LLMConfig, ProviderConfig

    by_kw = BelugaConfig(
        llm=LLMConfig(default="gpt", providers={"gpt": ProviderConfig(type="openai", model="m")})
    )
    by_yaml = load_config(
        write(tmp_path, "llm: {default: gpt, providers: {gpt: {type: openai, model: m}}}\n"),
        env={},
    )
    assert by_kw.model_dump() == by_yaml.model_dump()


def test_provider_specific_secrets_are_masked(tmp_path: Path) -> None:
    secret = "PLANTEDsecretKEY0123456789abcdefghijklmn"
    path = write(
        tmp_path,
        "llm:\n  providers:\n    aws:\n      type: bedrock\n      region: us-east-1\n"
        "      aws_secret_access_key: ${AWS_SECRET}\n",
    )
    config = load_config(path, env={"AWS_SECRET": secret})
    entry = config.llm.providers["aws"]
    assert entry.options() == {"region": "us-east-1", "aws_secret_access_key": secret}
    for text in (repr(config), str(config), repr(entry), str(config.model_dump())):
        assert secret not in text
