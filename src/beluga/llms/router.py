"""Multi-provider routing by role, with ordered fallbacks and cooldown.

A role (planner, coder, ...) names a primary provider and fallbacks; every chain ends with
``llm.default``. Settings merge global < provider < role < call, each layer once: a provider is
built with the first two (see :mod:`beluga.llms.registry`), each step of a chain adds the role's,
and the call's come last; a provider-keyed entry of ``extra`` reaches only its provider (see
:mod:`beluga.llms._wiring`). Each provider can be wrapped in middleware (retry, timeout,
breaker...), from ``llm.providers.<name>.middleware`` or the ``middleware`` argument: calls go
through it, :meth:`Router.check` and closing use the bare provider.

A retryable failure moves the call down the chain and cools the failed provider down for
``routing.cooldown`` seconds, during which other calls skip it. A stream falls back only while
nothing has been yielded; after that a failure is a
:class:`~beluga.llms.middleware.StreamInterruptedError` holding the partial output.
An unknown role uses the default chain, so code written for roles runs on a one-provider config.

Every decision is logged (``beluga.llms.router``) and traced as a ``route {role}`` span whose
children are the provider calls; no credential is part of either.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeAlias, cast

from beluga.config import BelugaConfig, ConfigError
from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.middleware import Middleware, apply
from beluga.llms._faults import falls_back, is_context_window_error
from beluga.llms._wiring import narrowed
from beluga.llms.base import ChatModel, ModelSettings
from beluga.llms.config import LLMConfig
from beluga.llms.metered import metered, prices_from, recorder_from
from beluga.llms.metrics import MetricsRecorder
from beluga.llms.middleware import StreamInterruptedError, stream_with_restarts
from beluga.llms.pricing import PriceTable
from beluga.llms.registry import (
    _check_reference,
    _middleware,
    _model,
    _provider_types,
    _type_of,
    registry,
    settings_from,
)
from beluga.observability.genai import Operation, start_operation
from beluga.observability.logs import get_logger
from beluga.schema import ChatResponse, Prompt, StreamEvent, ToolDefinition

__all__ = [
    "ProviderCheck",
    "Role",
    "RoleModel",
    "Route",
    "Router",
    "RouterMiddleware",
    "check_providers",
    "check_roles",
    "route_trail",
]

_log = get_logger("beluga.llms.router")
route_trail: ContextVar[list[str] | None] = ContextVar("beluga_route_trail", default=None)
"""When set to a list (a graph sets one per step), each routing decision of calls in that
context appends its provider's name: the last one answered, the ones before it failed."""
_Tools = Sequence[ToolDefinition] | None

RouterMiddleware: TypeAlias = (
    Sequence[Middleware[ChatModel]]
    | Mapping[str, Sequence[Middleware[ChatModel]]]
    | Callable[[str], Sequence[Middleware[ChatModel]]]
)
"""Middleware for the router's providers, outermost first: one list for every provider, a list
per provider name, or a function from a provider name to its list (give each provider its own
stateful wrapper, such as a circuit breaker, this way: a list's wrappers share their state)."""


@dataclass(slots=True, frozen=True)
class Role:
    """A role as Python code states it: references name providers or other roles."""

    provider: str
    fallbacks: Sequence[str] = ()
    settings: ModelSettings = field(default_factory=ModelSettings)


@dataclass(slots=True, frozen=True)
class Route:
    """One step of a chain: a named provider and the settings it gets for this role."""

    name: str
    model: ChatModel
    settings: ModelSettings


@dataclass(slots=True, frozen=True)
class ProviderCheck:
    name: str
    ok: bool
    seconds: float
    error: str | None = None


class Router(AsyncClosing):
    """Routes calls of a role to the first healthy provider of its chain.

    ``provider_types`` gives each provider name its registry type (a name not listed is its
    own type); both key provider-specific entries of ``extra``. Use it as ``async with``.
    """

    def __init__(
        self,
        providers: Mapping[str, ChatModel],
        *,
        roles: Mapping[str, Role] | None = None,
        default: str,
        cooldown: float = 30.0,
        allowed_failures: int = 3,
        provider_settings: Mapping[str, ModelSettings] | None = None,
        provider_types: Mapping[str, str] | None = None,
        middleware: RouterMiddleware | None = None,
        recorder: MetricsRecorder | None = None,
        prices: PriceTable | None = None,
        check_timeout: float = 10.0,
        source: str = "<python>",
    ) -> None:
        self.providers = dict(providers)
        self.cooldown = cooldown
        self.allowed_failures = max(1, allowed_failures)
        self._failures: dict[str, deque[float]] = {}
        self.check_timeout = check_timeout
        self.recorder = recorder
        self._cooling: dict[str, float] = {}
        types = dict(provider_types or {})
        self._names = {name: (types.get(name, name), name) for name in self.providers}
        self._keyed = frozenset({*registry.names(), *self.providers, *types, *types.values()})
        wrapped = {
            name: apply(model, *_wrappers_for(middleware, name))
            for name, model in self.providers.items()
        }
        resolver = _Resolver(
            wrapped, dict(roles or {}), provider_settings or {}, default, source, self._narrow
        )
        self._default = self._metered(resolver.chain(default, "llm.default"), None, prices)
        self._chains = {
            name: self._metered(resolver.role_chain(name), name, prices) for name in roles or {}
        }

    @classmethod
    def from_config(
        cls,
        config: BelugaConfig,
        *,
        roles: Collection[str] | None = None,
        middleware: RouterMiddleware | None = None,
    ) -> Router:
        """Create each provider the chains need once and resolve the chains of ``roles``
        (default: every role; the roles they name come along). ``middleware`` wraps each
        provider outside the middleware its entry configures."""
        chains = check_roles(config)  # every reference, cycle and setting, before any opening
        llm = LLMConfig.of(config)
        roles = (roles,) if isinstance(roles, str) else roles
        unknown = sorted(set(roles or ()) - set(llm.roles))
        if unknown:
            raise ConfigError(
                config.source,
                "llm.roles",
                f"there is no role {unknown[0]!r}",
                f"use one of {', '.join(sorted(llm.roles)) or '(none defined)'}",
            )
        wanted = _named_roles(llm, llm.roles if roles is None else roles)
        refs = sorted({ref for name in (*wanted, "(default)") for ref in chains[name]})
        configured = {ref: _middleware(config, ref) for ref in refs}
        return cls(
            {ref: _model(config, ref) for ref in refs},
            roles={name: role for name, role in _roles(config).items() if name in wanted},
            default=llm.default,
            cooldown=llm.routing.cooldown,
            allowed_failures=llm.routing.allowed_failures,
            provider_types={**_provider_types(llm), **{ref: _type_of(llm, ref) for ref in refs}},
            middleware=lambda ref: [*_wrappers_for(middleware, ref), *configured[ref]],
            recorder=recorder_from(config),
            prices=prices_from(config),
            check_timeout=llm.routing.check_timeout,
            source=config.source,
        )

    def _narrow(self, name: str, settings: ModelSettings) -> ModelSettings:
        """``settings`` with only provider ``name``'s share of a provider-keyed ``extra``."""
        return narrowed(settings, self._names.get(name, (name,)), self._keyed)

    def _metered(
        self, chain: tuple[Route, ...], role: str | None, prices: PriceTable | None
    ) -> tuple[Route, ...]:
        """Each step of the chain records its calls under ``role``."""
        if self.recorder is None:
            return chain
        table = prices or PriceTable()
        return tuple(
            Route(r.name, metered(self.recorder, prices=table, role=role)(r.model), r.settings)
            for r in chain
        )

    # -- selection ---------------------------------------------------------------------

    def chain(self, role: str | None = None) -> tuple[Route, ...]:
        """The full chain of ``role`` (the default chain for None or an unknown role)."""
        return self._chains.get(role, self._default) if role is not None else self._default

    def candidates(self, role: str | None = None) -> tuple[Route, ...]:
        """The chain without providers in cooldown; all of them, soonest-back first, if
        every one is cooling down."""
        chain = self.chain(role)
        if not self._cooling:
            return chain
        now = time.monotonic()
        ready = tuple(r for r in chain if self._cooling.get(r.name, 0.0) <= now)
        return ready or tuple(sorted(chain, key=lambda r: self._cooling.get(r.name, 0.0)))

    def cool_down(self, name: str, error: BelugaError) -> None:
        """Count a failure of ``name``: it cools down for ``cooldown`` seconds once it failed
        ``allowed_failures`` times within that window; a server's ``retry_after`` applies at
        once. Context-window errors say nothing about the provider's health: never counted."""
        if is_context_window_error(error):
            return
        now = time.monotonic()
        recent = self._failures.setdefault(name, deque())
        recent.append(now)
        while recent and recent[0] <= now - self.cooldown:
            recent.popleft()
        wait = error.retry_after or 0.0
        if len(recent) >= self.allowed_failures:
            wait = max(self.cooldown, wait)
            recent.clear()
        if wait > 0:
            self._cooling[name] = max(self._cooling.get(name, 0.0), now + wait)
        self._expire()

    def _expire(self) -> None:
        now = time.monotonic()
        for name in [n for n, until in self._cooling.items() if until <= now]:
            del self._cooling[name]

    def for_role(self, role: str | None) -> RoleModel:
        """A :class:`ChatModel` that routes every call as ``role``."""
        return RoleModel(self, role)

    # -- calls -------------------------------------------------------------------------

    async def generate(
        self,
        prompt: Prompt,
        *,
        role: str | None = None,
        tools: _Tools = None,
        settings: ModelSettings | None = None,
    ) -> ChatResponse:
        routes = self.candidates(role)
        op = _route_span(role)
        error: BelugaError | None = None
        try:
            for attempt, route in enumerate(routes):
                self._decide(op, role, route, attempt, error)
                try:
                    with op.activated():
                        return await route.model.generate(
                            prompt, tools=tools, settings=self._settings(route, settings)
                        )
                except BelugaError as exc:
                    if not falls_back(exc):
                        raise
                    self.cool_down(route.name, exc)
                    error = exc
            raise self._exhausted(role, routes, error)
        except BaseException as exc:
            op.fail(exc)
            raise
        finally:
            op.end()

    def stream(
        self,
        prompt: Prompt,
        *,
        role: str | None = None,
        tools: _Tools = None,
        settings: ModelSettings | None = None,
    ) -> AsyncIterator[StreamEvent]:
        routes = self.candidates(role)
        return self._stream(routes, role, prompt, tools, settings)

    async def _stream(
        self,
        routes: tuple[Route, ...],
        role: str | None,
        prompt: Prompt,
        tools: _Tools,
        settings: ModelSettings | None,
    ) -> AsyncIterator[StreamEvent]:
        op = _route_span(role)
        errors: list[BelugaError] = []
        current = [routes[0]]

        def open_stream(attempt: int) -> AsyncIterator[StreamEvent]:
            route = current[0] = routes[attempt - 1]
            self._decide(op, role, route, attempt - 1, errors[-1] if errors else None)
            return route.model.stream(prompt, tools=tools, settings=self._settings(route, settings))

        async def give_up(attempt: int, error: BelugaError) -> None:
            if not falls_back(error):
                raise error
            self.cool_down(routes[attempt - 1].name, error)
            errors.append(error)
            if attempt >= len(routes):
                raise self._exhausted(role, routes, error)

        try:
            async for event in stream_with_restarts(open_stream, give_up):
                yield event
        except GeneratorExit:  # the consumer stopped reading: not a failure
            raise
        except StreamInterruptedError as exc:  # cut after output: the provider is unhealthy
            if isinstance(exc.cause, BelugaError) and falls_back(exc.cause):
                self.cool_down(current[0].name, exc.cause)
            op.fail(exc)
            raise
        except BaseException as exc:
            op.fail(exc)
            raise
        finally:
            op.end()

    def _settings(self, route: Route, settings: ModelSettings | None) -> ModelSettings:
        """The route's settings under the call's, the call's ``extra`` narrowed to the route."""
        if settings is not None and settings.extra:
            settings = self._narrow(route.name, settings)
        return route.settings.merged(settings)

    def _decide(
        self, op: Operation, role: str | None, route: Route, attempt: int, error: BelugaError | None
    ) -> None:
        reason = (
            "primary"
            if attempt == 0
            else f"fallback after {error.code.value}"
            if error
            else "fallback"
        )
        _log.info(
            "route role=%s provider=%s model=%s reason=%s",
            role or "-",
            route.name,
            route.model.model_name,
            reason,
        )
        op.event(
            "route",
            {
                "beluga.provider": route.name,
                "beluga.reason": reason,
                "gen_ai.request.model": route.model.model_name,
            },
        )
        if attempt == 0:
            op.set("beluga.route.primary", route.name)
        trail = route_trail.get()
        if trail is not None:
            trail.append(route.name)

    def _exhausted(
        self, role: str | None, routes: Sequence[Route], error: BelugaError | None
    ) -> BelugaError:
        tried = ", ".join(r.name for r in routes)
        return BelugaError(
            "llms.router",
            error.code if error else ErrorCode.PROVIDER_UNAVAILABLE,
            f"every provider for role {role or 'default'!r} failed ({tried}); last error: "
            f"{error.message if error else 'none'}",
            retryable=True,
            cause=error,
            retry_after=min((u - time.monotonic() for u in self._cooling.values()), default=None),
        )

    async def check(self, *, timeout: float | None = None) -> list[ProviderCheck]:
        """Prove every provider's credentials in parallel, each within ``timeout`` (default
        ``routing.check_timeout``). Each result is logged; a provider that fails is cooled
        down, so calls go to its fallbacks from the start. Call it at start-up."""
        report = await check_providers(self.providers, timeout=timeout or self.check_timeout)
        until = time.monotonic() + self.cooldown
        for result in report:
            if result.ok:
                _log.info("provider %s ready (%.2fs)", result.name, result.seconds)
            else:
                _log.warning("provider %s failed its check: %s", result.name, result.error)
                self._cooling[result.name] = until
        return report

    async def aclose(self) -> None:
        """Close every provider, then flush and close the metrics recorder."""
        await asyncio.gather(*(m.aclose() for m in self.providers.values()))
        if self.recorder is not None:
            await self.recorder.aclose()


class RoleModel(AsyncClosing):
    """The router seen as one :class:`ChatModel` for one role. It closes the router only if
    it ``owns_router`` (as the model :func:`~beluga.llms.from_config` gives for a role does)."""

    __slots__ = ("owns_router", "role", "router")

    def __init__(self, router: Router, role: str | None, *, owns_router: bool = False) -> None:
        self.router, self.role, self.owns_router = router, role, owns_router

    @property
    def model_name(self) -> str:
        return f"role:{self.role or 'default'}"

    @property
    def provider(self) -> str:
        """``router``: a role answers through whichever provider of its chain is up."""
        return "router"

    async def generate(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> ChatResponse:
        return await self.router.generate(prompt, role=self.role, tools=tools, settings=settings)

    def stream(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> AsyncIterator[StreamEvent]:
        return self.router.stream(prompt, role=self.role, tools=tools, settings=settings)

    async def aclose(self) -> None:
        """Close the router if this model owns it; otherwise whoever made the router does."""
        if self.owns_router:
            await self.router.aclose()


def _wrappers_for(
    middleware: RouterMiddleware | None, name: str
) -> Sequence[Middleware[ChatModel]]:
    """Provider ``name``'s share of the router's ``middleware`` argument."""
    if middleware is None:
        return ()
    if isinstance(middleware, Mapping):
        return middleware.get(name, ())
    if callable(middleware):
        return middleware(name)
    return middleware


def _named_roles(llm: LLMConfig, roles: Collection[str]) -> set[str]:
    """``roles`` and every role they (or ``llm.default``) name, directly or not."""
    todo, found = [*roles, llm.default], set()
    while todo:
        name = todo.pop()
        if name in llm.roles and name not in found:
            found.add(name)
            todo += [llm.roles[name].provider, *llm.roles[name].fallbacks]
    return found


def _route_span(role: str | None) -> Operation:
    return start_operation(
        "route", role or "default", provider="beluga", attributes={"beluga.role": role}
    )


async def check_providers(
    models: Mapping[str, ChatModel], *, timeout: float = 10.0
) -> list[ProviderCheck]:
    """Call every model once (one output token) in parallel; a report line per provider."""
    return list(
        await asyncio.gather(
            *(_check(name, model, timeout) for name, model in sorted(models.items()))
        )
    )


async def _check(name: str, model: ChatModel, timeout: float) -> ProviderCheck:
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            await model.generate("ping", settings=ModelSettings(max_tokens=1))
    except TimeoutError:
        return ProviderCheck(
            name, False, time.perf_counter() - start, f"no answer within {timeout}s"
        )
    except BelugaError as exc:
        return ProviderCheck(
            name, False, time.perf_counter() - start, f"[{exc.code.value}] {exc.message}"
        )
    return ProviderCheck(name, True, time.perf_counter() - start)


def _references(config: BelugaConfig) -> set[str]:
    """Every provider name the default and the roles refer to; a dangling one is an error."""
    llm = LLMConfig.of(config)
    refs = {_check_reference(config, llm.default, "llm.default")}
    for name, role in llm.roles.items():
        refs.add(_check_reference(config, role.provider, f"llm.roles.{name}.provider"))
        refs.update(
            _check_reference(config, ref, f"llm.roles.{name}.fallbacks.{i}")
            for i, ref in enumerate(role.fallbacks)
        )
    return refs - set(llm.roles)


def _roles(config: BelugaConfig) -> dict[str, Role]:
    return {
        name: Role(
            role.provider,
            tuple(role.fallbacks),
            settings_from(role.settings, where=f"llm.roles.{name}.settings", source=config.source),
        )
        for name, role in LLMConfig.of(config).roles.items()
    }


def check_roles(config: BelugaConfig) -> dict[str, list[str]]:
    """Resolve every role's chain by name only (nothing is created): dangling names, cycles
    and bad settings raise :class:`ConfigError`. Returns each role's chain of provider names."""
    placeholders = cast(dict[str, ChatModel], dict.fromkeys(_references(config)))
    llm = LLMConfig.of(config)
    resolver = _Resolver(
        placeholders, _roles(config), {}, llm.default, config.source, lambda _, s: s
    )
    chains = {name: resolver.role_chain(name) for name in llm.roles}
    chains["(default)"] = resolver.chain(llm.default, "llm.default")
    return {name: [r.name for r in chain] for name, chain in chains.items()}


class _Resolver:
    """Expands role references into chains, rejecting cycles and dangling names."""

    def __init__(
        self,
        providers: Mapping[str, ChatModel],
        roles: Mapping[str, Role],
        settings: Mapping[str, ModelSettings],
        default: str,
        source: str,
        narrow: Callable[[str, ModelSettings], ModelSettings],
    ) -> None:
        self.providers, self.roles, self.settings = providers, roles, settings
        self.default, self.source, self.narrow = default, source, narrow
        self._done: dict[str, tuple[Route, ...]] = {}

    def chain(self, ref: str, key: str, seen: tuple[str, ...] = ()) -> tuple[Route, ...]:
        if ref in self.roles:
            if ref in seen:
                cycle = " -> ".join((*seen, ref))
                raise ConfigError(
                    self.source,
                    key,
                    f"roles refer to each other in a cycle: {cycle}",
                    "make one of them name a provider instead",
                )
            return self.role_chain(ref, seen)
        if ref in self.providers:
            return (Route(ref, self.providers[ref], self.settings.get(ref, ModelSettings())),)
        known = ", ".join(sorted({*self.providers, *self.roles})) or "(none)"
        raise ConfigError(
            self.source, key, f"{ref!r} is neither a provider nor a role", f"use one of {known}"
        )

    def role_chain(self, name: str, seen: tuple[str, ...] = ()) -> tuple[Route, ...]:
        """Primary, fallbacks, then the default chain, each provider once, role settings on
        top of what each provider brings."""
        if name in self._done:
            return self._done[name]
        role, seen = self.roles[name], (*seen, name)
        keyed = [(role.provider, f"llm.roles.{name}.provider")]
        keyed += [(ref, f"llm.roles.{name}.fallbacks.{i}") for i, ref in enumerate(role.fallbacks)]
        if self.default not in seen:  # the default is itself a role being expanded: skip it
            keyed.append((self.default, "llm.default"))
        routes: dict[str, Route] = {}
        for ref, key in keyed:
            for route in self.chain(ref, key, seen):
                if route.name not in routes:
                    own = self.narrow(route.name, role.settings)
                    routes[route.name] = Route(route.name, route.model, route.settings.merged(own))
        self._done[name] = tuple(routes.values())
        return self._done[name]
