"""Roles, fallback, cooldown, settings merging and mid-stream fallback, against real local
servers that fail the ways providers do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest

from beluga.config import ConfigError, load_config
from beluga.core import BelugaError, ErrorCode
from beluga.llms import ChatModel, ModelSettings
from beluga.llms._faults import is_context_window_error
from beluga.llms.middleware import StreamInterruptedError
from beluga.llms.router import Role, Router
from beluga.schema import ChatResponse, Message, ResponseBuilder, StreamEvent, TextDelta
from tests.conftest import Telemetry
from tests.llms._servers import anthropic_message, completion, error, gemini_content, stream
from tests.support.replay_server import ReplayServer, Reply


@pytest.fixture
async def servers() -> AsyncIterator[dict[str, ReplayServer]]:
    names = ("alpha", "beta", "gamma")
    started = {n: ReplayServer() for n in names}
    for s in started.values():
        await s.start()
    yield started
    for s in started.values():
        await s.aclose()


def write_config(
    tmp_path: Path,
    servers: dict[str, ReplayServer],
    roles: str,
    extra: str = "",
    default: str = "alpha",
    timeout: float = 1.0,
) -> Path:
    providers = "".join(
        f"    {name}:\n      type: openai\n      model: model-{name}\n"
        f"      base_url: {srv.url}/v1\n      api_key: sk-test-{name}-0123456789\n"
        f"      timeout: {timeout}\n      settings: {{temperature: 0.5}}\n"
        for name, srv in servers.items()
    )
    path = tmp_path / "beluga.yaml"
    path.write_text(
        f"llm:\n  default: {default}\n  settings: {{max_tokens: 100, temperature: 0.1}}\n"
        f"  routing: {{cooldown: 30, allowed_failures: 1}}\n"
        f"{extra}  providers:\n{providers}  roles:\n{roles}"
    )
    return path


ROLES = """\
    planner: {provider: alpha, fallbacks: [beta], settings: {temperature: 0.9}}
    coder: {provider: beta, fallbacks: [gamma]}
    reviewer: {provider: gamma}
    clarifier: {provider: planner}
"""


def sent(server: ReplayServer) -> list[dict[str, object]]:
    return [r.json() for r in server.requests]


async def test_each_role_uses_its_primary_with_merged_settings(
    tmp_path: Path, servers: dict[str, ReplayServer]
) -> None:
    router = Router.from_config(load_config(write_config(tmp_path, servers, ROLES), env={}))
    for name in servers:
        servers[name].enqueue(completion(f"from {name}"))
    assert (await router.generate("plan", role="planner")).text == "from alpha"
    assert (await router.generate("code", role="coder")).text == "from beta"
    assert (await router.generate("review", role="reviewer")).text == "from gamma"
    (alpha,), (beta,), (gamma,) = (sent(servers[n]) for n in servers)
    assert (alpha["model"], alpha["temperature"], alpha["max_completion_tokens"]) == (
        "model-alpha",
        0.9,
        100,
    )  # role 0.9 > provider 0.5 > global 0.1
    assert (beta["temperature"], gamma["temperature"]) == (0.5, 0.5)  # provider > global
    servers["alpha"].enqueue(completion("again"))  # per-call settings beat the role's
    await router.generate("x", role="planner", settings=ModelSettings(temperature=0.0))
    assert sent(servers["alpha"])[-1]["temperature"] == 0.0
    await router.aclose()


async def test_single_provider_config_still_works_for_any_role(tmp_path: Path) -> None:
    async with ReplayServer() as only:
        path = tmp_path / "beluga.yaml"
        path.write_text(
            f"llm:\n  default: main\n  providers:\n    main:\n      type: openai\n"
            f"      base_url: {only.url}/v1\n      api_key: sk-test-0123456789\n"
        )
        router = Router.from_config(load_config(path, env={}))
        only.enqueue(completion("one"), completion("two"))
        assert (await router.generate("hi")).text == "one"
        assert (await router.generate("hi", role="planner")).text == "two"  # unknown role
        await router.aclose()


@pytest.mark.parametrize(
    "failure",
    [
        error(500),
        error(503),
        error(529, "overloaded"),
        error(429, "slow down", {"retry-after": "0"}),
        Reply(200, [("content-type", "application/json")], b'{"choices": [', close=True),
        Reply(reset=True),  # connection reset before any byte
        Reply(200, [], b"", delay=3.0),  # client timeout (1 s)
    ],
    ids=["500", "503", "529", "429", "malformed", "reset", "timeout"],
)
async def test_retryable_failure_falls_back_and_cools_down(
    tmp_path: Path, servers: dict[str, ReplayServer], failure: Reply
) -> None:
    router = Router.from_config(load_config(write_config(tmp_path, servers, ROLES), env={}))
    servers["alpha"].enqueue(failure)
    servers["beta"].enqueue(completion("beta saves the day"), completion("beta again"))
    assert (await router.generate("plan", role="planner")).text == "beta saves the day"
    # alpha is cooling down: the next planner call goes straight to beta
    assert (await router.generate("plan", role="planner")).text == "beta again"
    assert len(servers["alpha"].requests) == 1
    await router.aclose()


async def test_non_retryable_failure_is_raised_not_hidden(
    tmp_path: Path, servers: dict[str, ReplayServer]
) -> None:
    router = Router.from_config(load_config(write_config(tmp_path, servers, ROLES), env={}))
    servers["alpha"].enqueue(error(401, "invalid api key"))
    with pytest.raises(BelugaError) as info:
        await router.generate("plan", role="planner")
    assert info.value.code is ErrorCode.AUTH_FAILED
    assert servers["beta"].requests == []
    await router.aclose()


async def test_cooldown_expires(servers: dict[str, ReplayServer]) -> None:
    from beluga.llms import create

    models = {
        n: create("openai:m", base_url=f"{s.url}/v1", api_key="sk-test-0123456789")
        for n, s in servers.items()
    }
    router = Router(models, roles={"r": Role("alpha", ["beta"])}, default="gamma", cooldown=0.1)
    servers["alpha"].enqueue(error(500), completion("alpha is back"))
    servers["beta"].enqueue(completion("beta"))
    assert (await router.generate("x", role="r")).text == "beta"
    await asyncio.sleep(0.15)
    assert (await router.generate("x", role="r")).text == "alpha is back"
    await router.aclose()


async def test_whole_chain_failing_reports_every_provider(
    tmp_path: Path, servers: dict[str, ReplayServer]
) -> None:
    router = Router.from_config(load_config(write_config(tmp_path, servers, ROLES), env={}))
    servers["beta"].enqueue(error(503))
    servers["gamma"].enqueue(error(500))
    servers["alpha"].enqueue(error(502))  # the default ends the coder chain
    with pytest.raises(BelugaError) as info:
        await router.generate("code", role="coder")
    assert "beta, gamma, alpha" in info.value.message
    assert info.value.retryable
    await router.aclose()


async def test_stream_falls_back_before_content(
    tmp_path: Path, servers: dict[str, ReplayServer]
) -> None:
    router = Router.from_config(load_config(write_config(tmp_path, servers, ROLES), env={}))
    servers["alpha"].enqueue(
        Reply.sse([{"error": {"message": "overloaded", "type": "server_error"}}])
    )
    servers["beta"].enqueue(stream(["Hello", " world"]))
    events = [e async for e in router.stream("hi", role="planner")]
    builder = ResponseBuilder()
    for e in events:
        builder.add(e)
    assert builder.build().text == "Hello world"
    await router.aclose()


async def test_stream_cut_before_content_falls_back(
    tmp_path: Path, servers: dict[str, ReplayServer]
) -> None:
    router = Router.from_config(load_config(write_config(tmp_path, servers, ROLES), env={}))
    servers["alpha"].enqueue(stream(["never"], cut_after=40))  # cut inside the first event
    servers["beta"].enqueue(stream(["ok"]))
    text = "".join(
        [e.text async for e in router.stream("hi", role="planner") if isinstance(e, TextDelta)]
    )
    assert text == "ok"
    await router.aclose()


async def test_stream_failure_after_content_keeps_partial_output(
    tmp_path: Path, servers: dict[str, ReplayServer]
) -> None:
    router = Router.from_config(load_config(write_config(tmp_path, servers, ROLES), env={}))
    whole = stream(["Once", " upon", " a", " time"])
    cut = len(whole.wire_body()) - 120  # after a few words, before the end
    servers["alpha"].enqueue(stream(["Once", " upon", " a", " time"], cut_after=cut))
    got: list[StreamEvent] = []
    with pytest.raises(StreamInterruptedError) as info:
        async for event in router.stream("story", role="planner"):
            got.append(event)
    assert info.value.partial.text.startswith("Once")
    assert info.value.partial.text == "".join(e.text for e in got if isinstance(e, TextDelta))
    assert servers["beta"].requests == []  # no silent switch after output was seen
    await router.aclose()


async def test_three_providers_four_roles(tmp_path: Path) -> None:
    """OpenAI, Anthropic and Gemini adapters, each against its own server, behind four roles."""
    async with ReplayServer() as oai, ReplayServer() as claude, ReplayServer() as gem:
        path = tmp_path / "beluga.yaml"
        path.write_text(
            "llm:\n  default: gpt\n  providers:\n"
            f"    gpt: {{type: openai, model: gpt-4o-mini, base_url: '{oai.url}/v1',"
            " api_key: sk-test-0123456789}\n"
            f"    claude: {{type: anthropic, model: claude-sonnet-4-5, base_url: '{claude.url}',"
            " api_key: sk-ant-test-0123456789}\n"
            f"    gem: {{type: gemini, model: gemini-2.5-flash, base_url: '{gem.url}',"
            " api_key: AIzaTEST0123456789abcdefghijklmnopqrs}\n"
            "  roles:\n"
            "    planner: {provider: claude, fallbacks: [gpt], settings: {temperature: 0.9}}\n"
            "    coder: {provider: gpt}\n"
            "    reviewer: {provider: gem, fallbacks: [claude]}\n"
            "    clarifier: {provider: planner}\n"
        )
        router = Router.from_config(load_config(path, env={}))
        claude.enqueue(anthropic_message("plan"), anthropic_message("clarify"))
        oai.enqueue(completion("code"))
        gem.enqueue(gemini_content("review"))
        got = {
            role: (await router.generate(f"as {role}", role=role)).text
            for role in ("planner", "coder", "reviewer", "clarifier")
        }
        await router.aclose()
    assert got == {"planner": "plan", "coder": "code", "reviewer": "review", "clarifier": "clarify"}
    assert [r.path for r in claude.requests] == ["/v1/messages", "/v1/messages"]
    assert [r.json()["temperature"] for r in claude.requests] == [0.9, 0.9]
    assert gem.requests[0].path.endswith("/models/gemini-2.5-flash:generateContent")
    assert oai.requests[0].json()["messages"] == [{"role": "user", "content": "as coder"}]


async def test_fifty_concurrent_tasks_do_not_cross_talk(
    tmp_path: Path, servers: dict[str, ReplayServer]
) -> None:
    # A generous timeout: fifty requests on a loaded machine must not fall back (that is tested
    # elsewhere); what this test checks is that answers never cross.
    path = write_config(tmp_path, servers, ROLES, timeout=30.0)
    router = Router.from_config(load_config(path, env={}))
    plan = {"planner": "alpha", "coder": "beta", "reviewer": "gamma"}
    tasks = [(f"task-{i}", list(plan)[i % 3]) for i in range(50)]
    for _, role in tasks:
        servers[plan[role]].enqueue(completion(f"answer from {plan[role]}"))

    async def run(prompt: str, role: str) -> tuple[str, str, str]:
        model = router.for_role(role)
        response = await model.generate(prompt)
        return prompt, role, response.text

    results = await asyncio.gather(*(run(p, r) for p, r in tasks))
    for prompt, role, text in results:
        assert text == f"answer from {plan[role]}", (prompt, role)
    for role, server in plan.items():
        prompts = sorted(r["messages"][0]["content"] for r in sent(servers[server]))  # type: ignore[index]
        assert prompts == sorted(p for p, r in tasks if r == role)
        temps = {r["temperature"] for r in sent(servers[server])}
        assert temps == ({0.9} if role == "planner" else {0.5})
    await router.aclose()


@pytest.mark.parametrize(
    ("roles", "key"),
    [
        ("    a: {provider: b}\n    b: {provider: a}\n", "llm.roles.b.provider"),
        ("    a: {provider: nowhere}\n", "llm.roles.a.provider"),
        ("    a: {provider: alpha, fallbacks: [beta, ghost]}\n", "llm.roles.a.fallbacks.1"),
    ],
    ids=["cycle", "dangling", "dangling-fallback"],
)
def test_bad_references_are_config_errors_naming_the_key(
    tmp_path: Path, servers: dict[str, ReplayServer], roles: str, key: str
) -> None:
    path = write_config(tmp_path, servers, roles)
    with pytest.raises(ConfigError) as info:
        Router.from_config(load_config(path, env={}))
    assert info.value.key_path == key
    assert str(path) in str(info.value)


async def test_check_reports_each_provider(
    tmp_path: Path, servers: dict[str, ReplayServer]
) -> None:
    router = Router.from_config(load_config(write_config(tmp_path, servers, ROLES), env={}))
    servers["alpha"].enqueue(completion("pong"))
    servers["beta"].enqueue(error(401, "invalid api key"))
    servers["gamma"].enqueue(Reply(200, [], b"", delay=2.0))
    report = {c.name: c for c in await router.check(timeout=0.5)}
    assert report["alpha"].ok
    assert not report["beta"].ok and "auth_failed" in (report["beta"].error or "")
    assert not report["gamma"].ok
    assert all("sk-test" not in (c.error or "") for c in report.values())
    # providers that failed their check are cooled down: coder skips beta and gamma
    servers["alpha"].enqueue(completion("alpha answers"))
    assert (await router.generate("x", role="coder")).text == "alpha answers"
    assert len(servers["beta"].requests) == 1  # only the check reached beta
    await router.aclose()


async def test_routing_is_traced_with_provider_calls_as_children(
    tmp_path: Path, servers: dict[str, ReplayServer], telemetry: Telemetry
) -> None:
    router = Router.from_config(load_config(write_config(tmp_path, servers, ROLES), env={}))
    servers["alpha"].enqueue(error(503))
    servers["beta"].enqueue(completion("ok"))
    await router.generate("plan", role="planner")
    spans = {s.name: s for s in telemetry.finished_spans()}
    route = spans["route planner"]
    assert {s.parent.span_id for n, s in spans.items() if n.startswith("chat ")} == {  # type: ignore[union-attr]
        route.context.span_id  # type: ignore[union-attr]
    }
    decisions = [dict(e.attributes or {}) for e in route.events if e.name == "route"]
    assert [(d["beluga.provider"], d["beluga.reason"]) for d in decisions] == [
        ("alpha", "primary"),
        ("beta", "fallback after provider_unavailable"),
    ]
    text = repr([dict(s.attributes or {}) for s in spans.values()]) + repr(decisions)
    assert "sk-test" not in text
    await router.aclose()


async def test_stream_cut_after_output_cools_the_provider_down(
    tmp_path: Path, servers: dict[str, ReplayServer]
) -> None:
    router = Router.from_config(load_config(write_config(tmp_path, servers, ROLES), env={}))
    whole = stream(["Once", " upon", " a", " time"])
    servers["alpha"].enqueue(
        stream(["Once", " upon", " a", " time"], cut_after=len(whole.wire_body()) - 120)
    )
    servers["beta"].enqueue(completion("beta answers"))
    with pytest.raises(StreamInterruptedError):
        async for _ in router.stream("story", role="planner"):
            pass
    assert (await router.generate("again", role="planner")).text == "beta answers"
    assert len(servers["alpha"].requests) == 1
    await router.aclose()


class _Double:
    """A model double: answers with its name, or raises the queued errors first."""

    def __init__(self, name: str, *errors: BelugaError) -> None:
        self.model_name, self.errors, self.calls = name, list(errors), 0

    async def generate(self, prompt: object, **_: object) -> ChatResponse:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return ChatResponse(message=Message.assistant(self.model_name))

    def stream(self, prompt: object, **_: object) -> AsyncIterator[StreamEvent]:
        raise AssertionError("not used")

    async def aclose(self) -> None:
        return None


def _router(models: dict[str, _Double], **options: Any) -> Router:
    return Router(
        cast(dict[str, ChatModel], models),
        roles={"r": Role("a", ["b"])},
        default="b",
        **options,
    )


def _rate_limited(retry_after: float | None = None) -> BelugaError:
    return BelugaError(
        "t", ErrorCode.RATE_LIMITED, "slow down", retryable=True, retry_after=retry_after
    )


async def test_one_rate_limit_below_the_threshold_does_not_cool_down() -> None:
    a, b = _Double("a", _rate_limited(), _rate_limited()), _Double("b")
    router = _router({"a": a, "b": b}, allowed_failures=2)
    assert (await router.generate("x", role="r")).text == "b"  # fell back at once
    assert router.candidates("r")[0].name == "a"  # but one failure does not cool a down
    assert (await router.generate("x", role="r")).text == "b"
    assert [r.name for r in router.candidates("r")] == ["b"]  # the second one does


async def test_retry_after_is_honoured_at_once() -> None:
    a, b = _Double("a", _rate_limited(retry_after=60)), _Double("b")
    router = _router({"a": a, "b": b}, allowed_failures=5)
    await router.generate("x", role="r")
    assert [r.name for r in router.candidates("r")] == ["b"]


async def test_context_window_error_falls_back_without_cooldown() -> None:
    too_long = BelugaError(
        "t", ErrorCode.INVALID_REQUEST, "prompt is too long: 250000 tokens > 200000 maximum"
    )
    a, b = _Double("a", too_long), _Double("b")
    router = _router({"a": a, "b": b}, allowed_failures=1)
    assert (await router.generate("x", role="r")).text == "b"
    assert router.candidates("r")[0].name == "a"  # the provider is healthy


async def test_timeout_falls_back_even_when_not_marked_retryable() -> None:
    late = BelugaError("t", ErrorCode.TIMEOUT, "no answer within the deadline")
    a, b = _Double("a", late), _Double("b")
    assert (await _router({"a": a, "b": b}).generate("x", role="r")).text == "b"


async def test_other_invalid_requests_do_not_fall_back() -> None:
    bad = BelugaError("t", ErrorCode.INVALID_REQUEST, "unknown parameter 'foo'")
    a, b = _Double("a", bad), _Double("b")
    with pytest.raises(BelugaError):
        await _router({"a": a, "b": b}).generate("x", role="r")
    assert b.calls == 0


@pytest.mark.parametrize(
    "message",
    [
        "This model's maximum context length is 128000 tokens. (context_length_exceeded)",
        "prompt is too long: 227255 tokens > 200000 maximum",
        "The input token count (2551556) exceeds the maximum number of tokens allowed (1048576).",
        "ValidationException: Input is too long for requested model.",
        "This model's maximum prompt length is 131072 but the request contains 140000 tokens.",
    ],
    ids=["openai", "anthropic", "gemini", "bedrock", "xai"],
)
def test_context_window_errors_of_each_vendor(message: str) -> None:
    assert is_context_window_error(BelugaError("t", ErrorCode.INVALID_REQUEST, message))
    assert is_context_window_error(
        BelugaError("t", ErrorCode.INVALID_REQUEST, "x", cause=RuntimeError(message))
    )
    assert not is_context_window_error(BelugaError("t", ErrorCode.INVALID_REQUEST, "bad tool"))


# -- one path from config, middleware, provider-keyed extra, lifecycle --------------------


class _Closable(_Double):
    closed = False

    async def aclose(self) -> None:
        self.closed = True


async def test_router_is_an_async_context_manager_that_closes_its_models() -> None:
    a, b = _Closable("a"), _Closable("b")
    async with _router({"a": a, "b": b}) as router:
        assert (await router.generate("x", role="r")).text == "a"
        assert not a.closed
    assert a.closed and b.closed


def _unavailable() -> BelugaError:
    return BelugaError("t", ErrorCode.PROVIDER_UNAVAILABLE, "down", retryable=True)


@pytest.mark.parametrize("form", ["list", "mapping", "callable"])
async def test_python_middleware_wraps_each_provider(form: str) -> None:
    from beluga.core.resilience import RetryPolicy
    from beluga.llms.middleware import retrying

    retry = retrying(RetryPolicy(max_attempts=2, base_delay=0.0))
    middleware: Any = {
        "list": [retry],
        "mapping": {"a": [retry]},
        "callable": lambda name: [retry] if name == "a" else [],
    }[form]
    a, b = _Double("a", _unavailable()), _Double("b")
    router = _router({"a": a, "b": b}, middleware=middleware)
    assert (await router.generate("x", role="r")).text == "a"  # retried on a, no fallback
    assert (a.calls, b.calls) == (2, 0)


async def test_a_breaker_per_provider_from_a_callable_opens_for_that_provider_only() -> None:
    from beluga.core.resilience import CircuitBreaker
    from beluga.llms.middleware import circuit_breaker

    breakers: dict[str, CircuitBreaker] = {}

    def per_provider(name: str) -> list[Any]:
        breakers[name] = CircuitBreaker(name, failure_threshold=1, reset_after=60)
        return [circuit_breaker(breakers[name])]

    a, b = _Double("a", _unavailable()), _Double("b")
    router = _router({"a": a, "b": b}, middleware=per_provider, allowed_failures=100)
    assert (await router.generate("x", role="r")).text == "b"
    assert (breakers["a"].state, breakers["b"].state) == ("open", "closed")
    assert (await router.generate("x", role="r")).text == "b"
    assert a.calls == 1  # the open circuit answered for a, without calling it


async def test_yaml_middleware_retries_a_provider_before_falling_back(
    tmp_path: Path, servers: dict[str, ReplayServer]
) -> None:
    path = write_config(tmp_path, servers, ROLES)
    text = path.read_text().replace(
        "      timeout: 1.0\n",
        "      timeout: 1.0\n      middleware: {retry: {max_attempts: 2, base_delay: 0}}\n",
        1,  # alpha only
    )
    path.write_text(text)
    servers["alpha"].enqueue(error(503), completion("alpha, second try"))
    async with Router.from_config(load_config(path, env={})) as router:
        assert (await router.generate("plan", role="planner")).text == "alpha, second try"
    assert (len(servers["alpha"].requests), len(servers["beta"].requests)) == (2, 0)


async def test_yaml_timeout_middleware_falls_back_when_the_deadline_passes(
    tmp_path: Path, servers: dict[str, ReplayServer]
) -> None:
    path = write_config(tmp_path, servers, ROLES)
    path.write_text(
        path.read_text().replace(
            "      timeout: 1.0\n", "      timeout: 1.0\n      middleware: {timeout: 0.2}\n", 1
        )
    )
    servers["alpha"].enqueue(Reply(200, [], b"", delay=0.8))  # within the SDK's 1 s timeout
    servers["beta"].enqueue(completion("beta in time"))
    async with Router.from_config(load_config(path, env={})) as router:
        assert (await router.generate("plan", role="planner")).text == "beta in time"


async def test_role_extra_keyed_by_provider_type_reaches_only_that_provider(
    tmp_path: Path,
) -> None:
    async with ReplayServer() as oai, ReplayServer() as claude:
        path = tmp_path / "beluga.yaml"
        path.write_text(
            "llm:\n  default: gpt\n  routing: {allowed_failures: 1}\n  providers:\n"
            f"    gpt: {{type: openai, model: gpt-4o-mini, base_url: '{oai.url}/v1',"
            " api_key: sk-test-0123456789}\n"
            f"    claude: {{type: anthropic, model: claude-sonnet-4-5, base_url: '{claude.url}',"
            " api_key: sk-ant-test-0123456789}\n"
            "  roles:\n"
            "    planner:\n"
            "      provider: claude\n"
            "      fallbacks: [gpt]\n"
            "      settings:\n"
            "        extra:\n"
            "          service_tier: auto\n"  # plain: every provider
            "          anthropic: {top_k: 5}\n"  # by type
            "          openai: {logprobs: true}\n"
            "          gpt: {top_logprobs: 2}\n"  # by entry name
        )
        claude.enqueue(error(529, "overloaded"))
        oai.enqueue(completion("from gpt"), completion("again"))
        async with Router.from_config(load_config(path, env={})) as router:
            assert (await router.generate("plan", role="planner")).text == "from gpt"
            # a call's own keyed extra is narrowed the same way
            call = ModelSettings(extra={"anthropic": {"top_k": 1}, "openai": {"seed": 7}})
            await router.generate("plan", role="planner", settings=call)
    to_claude, to_gpt, to_gpt_again = claude.requests[0].json(), *(r.json() for r in oai.requests)
    assert (to_claude["top_k"], to_claude["service_tier"]) == (5, "auto")
    assert not {"logprobs", "top_logprobs", "anthropic", "openai", "gpt"} & set(to_claude)
    assert (to_gpt["logprobs"], to_gpt["top_logprobs"], to_gpt["service_tier"]) == (
        True,
        2,
        "auto",
    )
    assert not {"top_k", "anthropic", "openai", "gpt"} & set(to_gpt)
    assert to_gpt_again["seed"] == 7 and "top_k" not in to_gpt_again


async def test_from_config_of_a_subset_of_roles_creates_only_their_providers(
    tmp_path: Path, servers: dict[str, ReplayServer]
) -> None:
    config = load_config(write_config(tmp_path, servers, ROLES), env={})
    async with Router.from_config(config, roles=["clarifier"]) as router:
        assert sorted(router.providers) == ["alpha", "beta"]  # clarifier -> planner -> beta
        assert [r.name for r in router.chain("clarifier")] == ["alpha", "beta"]
    with pytest.raises(ConfigError, match=r"there is no role 'clarifer'.*use one of clarifier"):
        Router.from_config(config, roles=["clarifer"])


def test_router_from_config_opens_no_metrics_store_thread_or_exit_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import atexit
    import threading

    store = tmp_path / "never" / "metrics.db"
    monkeypatch.setenv("BELUGA_METRICS_STORE", f"sqlite://{store}")
    path = tmp_path / "beluga.yaml"
    path.write_text(
        "llm:\n  default: t\n  providers:\n    t: {type: test}\n  roles:\n    r: {provider: t}\n"
    )
    threads, hooks = threading.active_count(), atexit._ncallbacks()
    router = Router.from_config(load_config(path, env={}))
    assert router.recorder is not None  # metrics are on, yet nothing is opened
    assert (threading.active_count(), atexit._ncallbacks()) == (threads, hooks)
    assert not store.exists() and not store.parent.exists()
    asyncio.run(router.aclose())
    assert not store.exists()


async def test_a_routed_call_counts_each_provider_call_once_in_the_duration_metric(
    telemetry: Telemetry,
) -> None:
    """The route span is not a model call: dashboards summing ``chat`` durations must see the
    two provider attempts, not a third point for the route around them."""
    from beluga.llms.testing import FunctionModel, TestModel

    def down(messages: object, info: object) -> ChatResponse:
        raise _unavailable()

    models: dict[str, ChatModel] = {
        "a": FunctionModel(down, model="duration-a"),
        "b": TestModel("duration-b", text="ok"),
    }
    router = Router(models, roles={"duration-role": Role("a", ["b"])}, default="b")
    assert (await router.generate("x", role="duration-role")).text == "ok"

    def count(model: str) -> int:
        return sum(
            p.count
            for p in telemetry.metric_points("gen_ai.client.operation.duration")
            if p.attributes.get("gen_ai.request.model") == model
        )

    assert (count("duration-a"), count("duration-b")) == (1, 1)
    route_points = [  # a route point, if any is recorded, is never counted as a model call
        p
        for p in telemetry.metric_points("gen_ai.client.operation.duration")
        if p.attributes.get("beluga.role") == "duration-role"
        or p.attributes.get("gen_ai.request.model") == "duration-role"
    ]
    assert all(p.attributes["gen_ai.operation.name"] == "route" for p in route_points)
    route_spans = [s for s in telemetry.finished_spans() if s.name == "route duration-role"]
    assert len(route_spans) == 1
