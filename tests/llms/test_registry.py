"""``from_config``: one path from configuration to a model, shared with the router."""

from __future__ import annotations

from pathlib import Path

import pytest

from beluga.config import BelugaConfig, ConfigError, load_config
from beluga.llms import ModelSettings, from_config, validate_config
from beluga.llms.router import RoleModel, Router
from tests.llms._servers import completion, error
from tests.support.replay_server import ReplayServer


def config_of(tmp_path: Path, text: str) -> BelugaConfig:
    path = tmp_path / "beluga.yaml"
    path.write_text(text)
    return load_config(path, env={})


def openai_entry(name: str, server: ReplayServer, extra: str = "") -> str:
    return (
        f"    {name}: {{type: openai, model: m-{name}, base_url: '{server.url}/v1',"
        f" api_key: sk-test-0123456789{extra}}}\n"
    )


async def test_a_role_name_gives_a_model_answering_through_its_chain(tmp_path: Path) -> None:
    async with ReplayServer() as down, ReplayServer() as up:
        config = config_of(
            tmp_path,
            "llm:\n  default: up\n  providers:\n"
            + openai_entry("down", down)
            + openai_entry("up", up)
            + "  roles:\n    helper: {provider: down, settings: {temperature: 0.3}}\n",
        )
        down.enqueue(error(503))
        up.enqueue(completion("the fallback answers"))
        async with from_config(config, "helper") as model:
            assert isinstance(model, RoleModel) and model.model_name == "role:helper"
            assert (await model.generate("hi")).text == "the fallback answers"
    assert up.requests[0].json()["temperature"] == 0.3  # the role's settings came along


async def test_the_default_may_be_a_role(tmp_path: Path) -> None:
    config = config_of(
        tmp_path,
        "llm:\n  default: helper\n  providers:\n    t: {type: test, text: from t}\n"
        "  roles:\n    helper: {provider: t}\n",
    )
    model = from_config(config)
    assert (await model.generate("hi")).text == "from t"
    await model.aclose()


def test_an_unknown_name_gives_the_same_error_on_every_path(tmp_path: Path) -> None:
    text = "llm:\n  default: {}\n  providers:\n    gpt4: {{type: test}}\n"
    with pytest.raises(ConfigError) as direct:
        from_config(config_of(tmp_path, text.format("gpt4")), "gtp4")
    with pytest.raises(ConfigError) as routed:
        Router.from_config(config_of(tmp_path, text.format("gtp4")))
    for caught in (direct.value, routed.value):
        assert "'gtp4' names no provider, role or registered id" in caught.message
        assert "did you mean 'gpt4'?" in caught.message
    assert routed.value.key_path == "llm.default"


async def test_settings_layers_merge_once_and_extra_merges_key_by_key(tmp_path: Path) -> None:
    async with ReplayServer() as server:
        config = config_of(
            tmp_path,
            "llm:\n  default: gpt\n"
            "  settings: {temperature: 0.1, max_tokens: 50, extra: {service_tier: auto}}\n"
            "  providers:\n"
            + openai_entry("gpt", server, ", settings: {temperature: 0.5, extra: {seed: 3}}"),
        )
        server.enqueue(completion("ok"))
        model = from_config(config)
        await model.generate("hi")
        await model.aclose()
    body = server.requests[0].json()
    assert (body["temperature"], body["max_completion_tokens"]) == (0.5, 50)
    assert (body["service_tier"], body["seed"]) == ("auto", 3)  # both layers' extra


async def test_global_extra_keyed_by_provider_type_reaches_only_that_type(
    tmp_path: Path,
) -> None:
    async with ReplayServer() as server:
        config = config_of(
            tmp_path,
            "llm:\n  default: gpt\n  settings:\n    extra:\n"
            "      openai: {logprobs: true}\n      anthropic: {top_k: 5}\n  providers:\n"
            + openai_entry("gpt", server),
        )
        server.enqueue(completion("ok"))
        model = from_config(config)
        await model.generate("hi")
        await model.aclose()
    body = server.requests[0].json()
    assert body["logprobs"] is True
    assert not {"top_k", "openai", "anthropic"} & set(body)


async def test_a_provider_comes_with_its_configured_middleware(tmp_path: Path) -> None:
    async with ReplayServer() as server:
        config = config_of(
            tmp_path,
            "llm:\n  default: gpt\n  providers:\n"
            + openai_entry(
                "gpt", server, ", middleware: {retry: {max_attempts: 2, base_delay: 0}}"
            ),
        )
        server.enqueue(error(503), completion("second try"))
        model = from_config(config)
        assert (await model.generate("hi", settings=ModelSettings())).text == "second try"
        await model.aclose()
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("middleware", "key"),
    [
        ("{retry: {max_atempts: 2}}", "llm.providers.t.middleware.retry.max_atempts"),
        ("{retry: {max_attempts: 0}}", "llm.providers.t.middleware.retry.max_attempts"),
        ("{timeout: soon}", "llm.providers.t.middleware.timeout"),
        ("{breaker: {reset_after: -1}}", "llm.providers.t.middleware.breaker.reset_after"),
        ("{cache: true}", "llm.providers.t.middleware.cache"),
    ],
)
def test_bad_middleware_is_a_config_error_at_its_key(
    tmp_path: Path, middleware: str, key: str
) -> None:
    config = config_of(
        tmp_path,
        f"llm:\n  default: t\n  providers:\n    t: {{type: test, middleware: {middleware}}}\n",
    )
    for build in (validate_config, from_config, Router.from_config):
        with pytest.raises(ConfigError) as caught:
            build(config)
        assert caught.value.key_path == key, build


@pytest.mark.parametrize(
    ("line", "key", "said"),
    [
        ("stop: 5", "llm.settings.stop", "stop=5 is not valid: use a string"),
        ("stop: [END, 7]", "llm.settings.stop", "a list of non-empty strings"),
        ("temperature: hot", "llm.settings.temperature", "temperature='hot' is not valid"),
        ("top_p: 7", "llm.settings.top_p", "top_p=7 is not valid"),
        ("max_tokens: 0", "llm.settings.max_tokens", "max_tokens=0 is not valid"),
        ("parallel_tool_calls: 3", "llm.settings.parallel_tool_calls", "True or False"),
    ],
)
def test_settings_are_checked_by_model_settings_and_located_in_the_file(
    tmp_path: Path, line: str, key: str, said: str
) -> None:
    path = tmp_path / "beluga.yaml"
    path.write_text(f"llm:\n  settings:\n    {line}\n")
    with pytest.raises(ConfigError) as caught:
        validate_config(load_config(path))
    message = caught.value.message
    assert caught.value.key_path == key and str(path) in message
    assert said in message and "expected" not in message and "tuple" not in message
