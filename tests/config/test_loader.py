from __future__ import annotations

import os
import traceback
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


# Hostile or broken files: each is one ConfigError naming the file, without expanding or hanging.


def _bomb(levels: int = 9) -> str:
    lines = ['      a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    previous = "a"
    for name in "bcdefghijk"[: levels - 1]:
        lines.append(f"      {name}: &{name} [{', '.join([f'*{previous}'] * 10)}]")
        previous = name
    return "llm:\n  settings:\n    extra:\n" + "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    path = write(tmp_path, _bomb())  # ~500 bytes that would expand to 10**9 values
    assert path.stat().st_size < 600
    with pytest.raises(ConfigError, match="expands to more than") as info:
        load_config(path, env={})
    assert info.value.source == str(path)
    assert info.value.key_path.startswith("llm.settings.extra.")


def test_a_self_referencing_alias_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "llm: &a\n  settings: *a\n")
    with pytest.raises(ConfigError, match=r"alias \*a refers to a value that contains it") as info:
        load_config(path, env={})
    assert info.value.key_path == "llm.settings"


def test_too_many_aliases_are_refused(tmp_path: Path) -> None:
    items = ", ".join(["*x"] * 1001)
    path = write(tmp_path, f"llm:\n  settings:\n    extra: {{v: &x 1, l: [{items}]}}\n")
    with pytest.raises(ConfigError, match="more than 1,000 aliases"):
        load_config(path, env={})


def test_ordinary_aliases_still_work(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "llm:\n  settings: &s {temperature: 0.5}\n  providers:\n"
        "    a: {type: test, settings: *s}\n    b: {type: test, settings: {<<: *s, seed: 1}}\n",
    )
    llm = load_config(path, env={}).llm
    assert llm.providers["a"].settings == {"temperature": 0.5}
    assert llm.providers["b"].settings == {"temperature": 0.5, "seed": 1}


def test_deep_nesting_is_refused_with_its_key_path(tmp_path: Path) -> None:
    text = "llm:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(70)) + "  " * 71 + "v: 1\n"
    with pytest.raises(ConfigError, match="nests deeper than 64") as info:
        load_config(write(tmp_path, text), env={})
    assert info.value.key_path.startswith("llm.k0.k1.k2")


def test_a_file_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "beluga.yaml"
    path.write_bytes(b"llm: {}\n" + b"#" * (1 << 20))
    with pytest.raises(ConfigError, match="larger than 1 MiB") as info:
        load_config(path, env={})
    assert info.value.source == str(path)
    small = write(tmp_path, "llm: {default: test}\n")
    with pytest.raises(ConfigError, match="larger than 10 bytes"):
        load_config(small, env={}, max_bytes=10)
    assert load_config(small, env={}, max_bytes=100).llm.default == "test"


@pytest.mark.skipif(not Path("/proc/self/maps").is_file(), reason="needs Linux /proc")
def test_the_size_cap_holds_even_when_stat_reports_no_size() -> None:
    # /proc files are regular and report size 0: only a bounded read catches them.
    assert Path("/proc/self/maps").stat().st_size == 0
    with pytest.raises(ConfigError, match="larger than 64 bytes"):
        load_config("/proc/self/maps", env={}, max_bytes=64)


@pytest.mark.timeout(10)
def test_dev_zero_is_refused_not_read() -> None:
    with pytest.raises(ConfigError, match="it is a device, not a regular file") as info:
        load_config("/dev/zero", env={})
    assert info.value.source == "/dev/zero"


@pytest.mark.timeout(10)
def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "beluga.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="named pipe, not a regular file"):
        load_config(fifo, env={})


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="it is a directory") as info:
        load_config(tmp_path, env={})
    assert "beluga.yaml file inside it" in info.value.fix


def test_an_unreadable_file_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "llm: {}\n")

    def denied(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", denied)  # tests may run as root, where chmod 000 reads
    with pytest.raises(ConfigError, match=r"cannot read it \(permission denied\)") as info:
        load_config(path, env={})
    assert "chmod" in info.value.fix


def test_non_utf8_bytes_are_located_not_quoted(tmp_path: Path) -> None:
    path = tmp_path / "beluga.yaml"
    path.write_bytes(b"llm:\n  default: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not valid UTF-8") as info:
        load_config(path, env={})
    assert "line 2, column 12" in info.value.message
    assert "save the file as UTF-8" in info.value.fix


def test_a_value_yaml_cannot_construct_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "llm:\n  default: 2026-13-45\n"), env={})
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, f"llm:\n  default: {'1' * 5000}\n"), env={})


def test_control_characters_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not allowed") as info:
        load_config(write(tmp_path, "llm:\n  default: a\x01b\n"), env={})
    assert "\n" not in info.value.message


def test_a_yaml_error_never_quotes_the_line_holding_a_key(tmp_path: Path) -> None:
    path = write(tmp_path, f"llm:\n  providers:\n    p: {{api_key: {KEY}, base_url: a: b}}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    shown = "".join(traceback.format_exception(info.value))
    assert "invalid YAML" in shown
    assert KEY not in shown and "PLANTED" not in shown
    assert "\n" not in info.value.message


def test_a_yaml_error_in_an_environment_override(tmp_path: Path) -> None:
    path = write(tmp_path, "llm: {}\n")
    with pytest.raises(ConfigError, match=r"invalid YAML in \$BELUGA_LLM__SETTINGS") as info:
        load_config(path, env={"BELUGA_LLM__SETTINGS": "{temperature: [1"})
    assert info.value.source == f"{path} + $BELUGA_LLM__SETTINGS"
    assert info.value.key_path == "llm.settings"
    with pytest.raises(ConfigError, match="refers to a value that contains it"):
        load_config(path, env={"BELUGA_LLM__SETTINGS": "&a {extra: *a}"})


def test_a_secret_override_is_taken_as_written(tmp_path: Path) -> None:
    key = "[not: yaml, sk-PLANTED-override-123"
    config = load_config(
        write(tmp_path, "llm: {providers: {p: {type: test}}}\n"),
        env={"BELUGA_LLM__PROVIDERS__P__API_KEY": key},
    )
    api_key = config.llm.providers["p"].api_key
    assert api_key is not None and api_key.get_secret_value() == key


def test_a_missing_variable_in_a_secret_field_reads_clearly(tmp_path: Path) -> None:
    path = write(tmp_path, "llm:\n  providers:\n    gpt:\n      api_key: ${NOPE_KEY}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert "environment variable NOPE_KEY is not set" in info.value.message
    assert "REDACTED" not in info.value.message
