"""The shape of ``beluga.yaml``. Every key is also a Python keyword of these models.

Provider entries allow extra keys: each provider validates its own options when it is created
(see ``beluga.llms.validate_config``), so a plugin's options need no change here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PrivateAttr,
    SecretStr,
    model_validator,
)

__all__ = [
    "BelugaConfig",
    "LLMConfig",
    "MetricsConfig",
    "ObservabilityConfig",
    "PriceConfig",
    "ProviderConfig",
    "RoleConfig",
    "RoutingConfig",
    "is_secret_key",
]


_SECRET_WORDS = ("api_key", "secret", "token", "password", "credential")


def is_secret_key(key: str) -> bool:
    """Whether a configuration key holds a credential, judged by its name."""
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderConfig(BaseModel):
    """One configured model provider. ``type`` is its registry name (defaults to the key)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str | None = None
    model: str | None = None
    api_key: SecretStr | None = None
    base_url: str | None = None
    timeout: PositiveFloat | None = None
    settings: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _hide_secret_options(cls, data: Any) -> Any:
        """Provider-specific secrets (``aws_secret_access_key``...) get the same protection as
        ``api_key``: masked in every repr, dump and error."""
        if isinstance(data, dict):
            return {
                k: SecretStr(v)
                if k not in cls.model_fields and is_secret_key(k) and isinstance(v, str)
                else v
                for k, v in data.items()
            }
        return data

    def options(self) -> dict[str, Any]:
        """Provider-specific keys (everything not declared above), secrets revealed."""
        return {
            k: v.get_secret_value() if isinstance(v, SecretStr) else v
            for k, v in (self.model_extra or {}).items()
        }


class RoleConfig(_Strict):
    """A user-defined role (planner, coder, ...): who answers, who takes over, with which
    settings. References name a provider entry, another role, or a registry id."""

    provider: str
    fallbacks: list[str] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)


class RoutingConfig(_Strict):
    """How the router treats failures and start-up checks."""

    cooldown: PositiveFloat = 30.0
    """Seconds a provider that failed with a retryable error is skipped."""
    check_timeout: PositiveFloat = 10.0
    """Seconds each provider gets to prove its credentials at start-up."""


class PriceConfig(_Strict):
    """USD per million tokens; overrides the built-in price table for one model."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)


class MetricsConfig(_Strict):
    """Where every call's provider metrics go (``beluga metrics summary`` reads them)."""

    enabled: bool = True
    store: str | None = None
    """``sqlite:///path.db`` (default ``$BELUGA_METRICS_STORE`` or ``~/.beluga/metrics.db``),
    ``postgresql://...`` or ``jsonl:///path.jsonl``."""


class LLMConfig(_Strict):
    """Chat models. ``default`` names an entry of ``providers``, a role, or a registry id such
    as ``local`` or ``openai:gpt-4o-mini``; it answers when no role is named and ends every
    role's fallback chain."""

    default: str = "local"
    settings: dict[str, Any] = Field(default_factory=dict)
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    roles: dict[str, RoleConfig] = Field(default_factory=dict)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    prices: dict[str, PriceConfig] = Field(default_factory=dict)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)


class ObservabilityConfig(_Strict):
    service_name: str = "beluga"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "WARNING"
    log_format: Literal["text", "json"] = "text"


class BelugaConfig(_Strict):
    """The whole configuration. ``BelugaConfig()`` is the offline default stack."""

    version: Literal[1] = 1
    llm: LLMConfig = Field(default_factory=LLMConfig)
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)
    _source: str = PrivateAttr(default="<python>")

    @property
    def source(self) -> str:
        """Where this configuration came from (a file path, or ``<python>``)."""
        return self._source
