"""Credentials in configuration objects: masked in every repr and dump, registered on load."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from beluga.config import BelugaConfig, Section, is_secret_key, load_config, parse_config, sections
from beluga.core import redact
from beluga.llms.config import LLMConfig, MetricsConfig, ProviderConfig

SECRETS = {
    "api_key": "sk-PLANTEDapikey0123456789",
    "url_password": "urlPW-PLANTED-9911",
    "url_query": "qKEY-PLANTED-4477",
    "header": "hdrVAL-PLANTED-5533",
    "dsn_password": "dsnPW-PLANTED-2288",
    "session_token": "tokVAL-PLANTED-6644",
    "extra_header": "xhdr-PLANTED-7722",
}
YAML = """
llm:
  default: gpt
  settings:
    max_tokens: 256
    extra: {{extra_headers: {{X-Trace-Auth: {extra_header}}}}}
  providers:
    gpt:
      type: openai
      api_key: ${{KEY}}
      base_url: http://alice:{url_password}@127.0.0.1:9/v1?key={url_query}
      default_headers: {{X-Custom-Auth: {header}}}
      aws_session_token: {session_token}
  metrics:
    store: postgresql://beluga:{dsn_password}@db.local:5432/metrics
"""


def pieces(secret: str) -> Iterator[str]:
    """The secret and every 6-character piece of it."""
    yield secret
    yield from (secret[i : i + 6] for i in range(len(secret) - 5))


def assert_clean(text: str) -> None:
    for secret in SECRETS.values():
        for piece in pieces(secret.removeprefix("sk-")):
            assert piece not in text, (piece, text)


@pytest.fixture
def config(tmp_path: Path) -> BelugaConfig:
    path = tmp_path / "beluga.yaml"
    path.write_text(YAML.format(**SECRETS))
    return load_config(path, env={"KEY": SECRETS["api_key"]})


def test_no_repr_or_dump_of_any_config_object_shows_a_credential(config: BelugaConfig) -> None:
    llm = LLMConfig.of(config)
    for obj in (config, llm, llm.providers["gpt"], llm.metrics):
        for text in (repr(obj), str(obj), str(obj.model_dump()), obj.model_dump_json()):
            assert_clean(text)
        assert_clean(str(obj.model_dump(mode="json")))


def test_dumps_keep_what_is_safe_to_show(config: BelugaConfig) -> None:
    gpt = config.model_dump(mode="json")["llm"]["providers"]["gpt"]
    assert gpt["base_url"] == "http://127.0.0.1:9/v1"
    assert gpt["default_headers"] == {"X-Custom-Auth": "[REDACTED]"}
    assert config.model_dump()["llm"]["metrics"]["store"] == "postgresql://db.local:5432/metrics"
    assert config.model_dump()["llm"]["settings"]["max_tokens"] == 256


def test_code_still_reads_the_real_values(config: BelugaConfig) -> None:
    gpt = config.llm.providers["gpt"]
    assert gpt.base_url is not None and SECRETS["url_password"] in gpt.base_url
    options = gpt.factory_options()
    assert options["api_key"] == SECRETS["api_key"]
    assert options["default_headers"] == {"X-Custom-Auth": SECRETS["header"]}
    assert options["aws_session_token"] == SECRETS["session_token"]
    store = config.llm.metrics.store
    assert store is not None and SECRETS["dsn_password"] in store


def test_loading_registers_every_credential_with_the_redactor(config: BelugaConfig) -> None:
    text = " | ".join(f"{name}={value}" for name, value in SECRETS.items())
    assert_clean(redact(text))


def test_python_keyword_configs_are_registered_and_masked_too() -> None:
    header, password = "kwHEADER-PLANTED-3141", "kwPASS-PLANTED-2718"
    entry = ProviderConfig(
        type="openai",
        base_url=f"https://u:{password}@example.test/v1",
        default_headers={"X-Anything": header},
    )
    assert header not in repr(entry) and password not in repr(entry)
    assert header not in redact(f"sent {header}") and password not in redact(f"pw {password}")
    store = MetricsConfig(store=f"postgresql://u:{password}@h/db")
    assert password not in repr(store) and password not in store.model_dump_json()


class VaultSection(Section):
    key: ClassVar[str] = "vault_test"

    address: str = "https://vault.local"
    client_secret: str = ""


def test_a_plugin_section_gets_the_same_masking() -> None:
    secret = "vaultSECRET-PLANTED-1618"
    sections.register("vault_test", VaultSection)
    try:
        config = parse_config({"vault_test": {"client_secret": secret}}, env={})
        for text in (repr(config), config.model_dump_json(), str(VaultSection.of(config))):
            assert secret not in text
        assert VaultSection.of(config).client_secret == secret
    finally:
        sections.unregister("vault_test")


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("api_key", True),
        ("x-api-key", True),
        ("aws_secret_access_key", True),
        ("aws_session_token", True),
        ("hf_token", True),
        ("db_password", True),
        ("max_tokens", False),
        ("tokenizer", False),
        ("model", False),
    ],
)
def test_secret_keys_are_judged_by_name(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_a_bad_metrics_store_url_is_a_config_error_at_its_key(tmp_path: Path) -> None:
    from beluga.config import ConfigError

    path = tmp_path / "beluga.yaml"
    path.write_text("llm:\n  metrics: {store: 'postgresql://u:pw-PLANTED-77@h:99999/db'}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.key_path == "llm.metrics.store"
    assert "port" in info.value.message and "PLANTED" not in str(info.value)


def test_config_check_prints_no_credential(tmp_path: Path) -> None:
    from beluga.cli import app

    path = tmp_path / "beluga.yaml"
    token_line = f"      aws_session_token: {SECRETS['session_token']}\n"
    path.write_text(YAML.format(**SECRETS).replace(token_line, ""))
    env = {"KEY": SECRETS["api_key"]}
    result = CliRunner().invoke(app, ["config", "check", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "metrics: postgresql://db.local:5432/metrics" in result.stdout
    assert_clean(result.output)
