"""Vendor presets on the OpenAI-compatible adapter: where they point, which key they need, and
how their calls are named in traces."""

from __future__ import annotations

import pytest

from beluga.core import BelugaError, ErrorCode
from beluga.llms import create, registry
from beluga.llms.providers.compatible import CompatibleChatModel
from tests.conftest import Telemetry
from tests.llms._servers import completion
from tests.support.cassettes import (
    Interaction,
    cassette_root,
    cassettes,
    expressible,
    in_use,
    safe_select,
)
from tests.support.replay_server import ReplayServer, Reply

VENDORS = [
    "groq",
    "mistral",
    "together",
    "deepseek",
    "openrouter",
    "cerebras",
    "fireworks",
    "vllm",
    "lmstudio",
]


@pytest.mark.parametrize("name", VENDORS)
async def test_preset_speaks_chat_completions(name: str, telemetry: Telemetry) -> None:
    cls = registry.get(name)
    assert issubclass(cls, CompatibleChatModel)  # type: ignore[arg-type]
    async with ReplayServer() as server:
        server.enqueue(completion("hi there"))
        model = create(
            name, base_url=f"{server.url}/v1", api_key="sk-test-0123456789", model="some-model"
        )
        assert (await model.generate("hello")).text == "hi there"
        await model.aclose()
    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.json()["model"] == "some-model"
    (span,) = telemetry.finished_spans()
    assert dict(span.attributes or {})["gen_ai.provider.name"] == cls.provider  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", [n for n in VENDORS if n not in ("vllm", "lmstudio")])
def test_hosted_vendor_needs_its_key(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cls = registry.get(name)
    monkeypatch.delenv(cls.key_env, raising=False)  # type: ignore[attr-defined]
    with pytest.raises(BelugaError) as info:
        create(name)
    assert info.value.code is ErrorCode.INVALID_CONFIG
    assert cls.key_env in info.value.message  # type: ignore[attr-defined]


def test_key_comes_from_the_vendor_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk_test0123456789abcdef")
    model = create("groq")
    assert model.model_name == "llama-3.3-70b-versatile"
    assert "api.groq.com" in repr(model)
    assert "gsk_test" not in repr(model)


def test_local_servers_need_a_model_name() -> None:
    with pytest.raises(BelugaError, match="needs model="):
        create("vllm")


def _plain_answer(interaction: Interaction) -> bool:
    body = interaction.request.body
    return bool(
        interaction.response.is_json
        and interaction.response.status == 200
        and isinstance(body, dict)
        and not in_use(body.get("stream"))
        and not in_use(body.get("tools"))
        and isinstance(body["messages"][-1]["content"], str)
    )


async def test_groq_recording_through_the_groq_preset() -> None:
    interactions = [i for c in cassettes("groq") for i in c.interactions]
    recorded = next(iter(safe_select(interactions, _plain_answer)), None)
    if recorded is None:
        pytest.skip(f"no recorded non-streaming Groq text answer under {cassette_root()}")
    body = recorded.request.body
    with expressible("groq", "read the recorded question and answer"):
        question, model_name = body["messages"][-1]["content"], body["model"]
        choice = recorded.response.parsed_body["choices"][0]
        want_text = choice["message"].get("content") or ""
        want_input = recorded.response.parsed_body["usage"]["prompt_tokens"]
    async with ReplayServer() as server:
        server.enqueue(Reply.recorded(recorded.response))
        model = create(
            "groq",
            base_url=f"{server.url}/v1",
            api_key="gsk_test0123456789abcdef",
            model=model_name,
        )
        response = await model.generate(question)
        await model.aclose()
    assert response.text == want_text
    assert response.usage.input_tokens == want_input
