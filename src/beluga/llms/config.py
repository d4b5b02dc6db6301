"""The ``llm:`` section of ``beluga.yaml``: providers, roles, routing, prices and metrics.

Provider entries allow extra keys: each provider validates its own options when it is created
(see ``beluga.llms.validate_config``), so a plugin's options need no change here. The section is
registered under the ``beluga.config`` entry-point group (see ``pyproject.toml``).
"""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from pydantic import (
    ConfigDict,
    Field,
    PositiveFloat,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from beluga.config import ConfigModel, Section, is_secret_key
from beluga.core.errors import BelugaError

__all__ = [
    "LLMConfig",
    "MetricsConfig",
    "PriceConfig",
    "ProviderConfig",
    "RoleConfig",
    "RoutingConfig",
]


class ProviderConfig(ConfigModel):
    """One configured model provider. ``type`` is its registry name (defaults to the key).

    Reprs and dumps mask its credentials: the key, secret options, a password or query in
    ``base_url`` and every header value; :meth:`factory_options` gives the real values.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str | None = None
    model: str | None = None
    api_key: SecretStr | None = None
    base_url: str | None = None
    timeout: PositiveFloat | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    middleware: dict[str, Any] = Field(default_factory=dict)
    """``retry``, ``timeout``, ``breaker`` around this provider (see ``beluga.llms._wiring``)."""

    @model_validator(mode="before")
    @classmethod
    def _hide_secret_options(cls, data: Any) -> Any:
        """Provider-specific secrets (``aws_secret_access_key``...) get the same protection as
        ``api_key``: masked in every repr, dump and error."""
        if isinstance(data, dict):
            return {
                k: SecretStr(v)
                if k not in cls.model_fields and is_secret_key(k) and isinstance(v, str)
                else _undated(v)
                for k, v in data.items()
            }
        return data

    def factory_options(self) -> dict[str, Any]:
        """Every keyword of the provider's factory, secrets revealed; unset values left out."""
        options: dict[str, Any] = {
            "model": self.model,
            "api_key": self.api_key.get_secret_value() if self.api_key else None,
            "base_url": self.base_url,
            "timeout": self.timeout,
            **self.options(),
        }
        return {k: v for k, v in options.items() if v is not None}

    def options(self) -> dict[str, Any]:
        """Provider-specific keys (everything not declared above), secrets revealed."""
        return {
            k: v.get_secret_value() if isinstance(v, SecretStr) else v
            for k, v in (self.model_extra or {}).items()
        }


def _undated(value: Any) -> Any:
    """YAML reads an unquoted ``api_version: 2024-10-21`` as a date; every provider option
    spelled like a date is a string to its provider, so it is kept as the text written."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


class RoleConfig(ConfigModel):
    """A user-defined role (planner, coder, ...): who answers, who takes over, with which
    settings. References name a provider entry, another role, or a registry id."""

    provider: str
    fallbacks: list[str] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)


class RoutingConfig(ConfigModel):
    """How the router treats failures and start-up checks."""

    cooldown: PositiveFloat = 30.0
    """Seconds a provider that failed with a retryable error is skipped."""
    check_timeout: PositiveFloat = 10.0
    """Seconds each provider gets to prove its credentials at start-up."""
    allowed_failures: int = Field(default=3, ge=1)
    """Retryable failures within ``cooldown`` seconds before a provider cools down (one failed
    call still falls back at once; a server's ``retry-after`` is honoured at once)."""


class PriceConfig(ConfigModel):
    """USD per million tokens; overrides the built-in price table for one model."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)


class MetricsConfig(ConfigModel):
    """Where every call's provider metrics go (``beluga metrics summary`` reads them)."""

    enabled: bool = True
    store: str | None = None
    """``sqlite:///path.db`` (default ``$BELUGA_METRICS_STORE`` or ``~/.beluga/metrics.db``),
    ``postgresql://...`` or ``jsonl:///path.jsonl``. Its password is masked in reprs and dumps."""

    @field_validator("store")
    @classmethod
    def _valid_store(cls, value: str | None) -> str | None:
        """A malformed URL is a configuration error at load time (and in ``config check``)."""
        if value is None:
            return None
        from beluga.llms.metrics import check_store_url  # imported only when a store is set

        try:
            return check_store_url(value)
        except BelugaError as exc:
            raise PydanticCustomError(
                "store_url", "{problem}", {"problem": exc.message, "fix": "correct the URL"}
            ) from None


class LLMConfig(Section):
    """Chat models. ``default`` names an entry of ``providers``, a role, or a registry id such
    as ``local`` or ``openai:gpt-4o-mini``; it answers when no role is named and ends every
    role's fallback chain."""

    key: ClassVar[str] = "llm"

    default: str = "local"
    settings: dict[str, Any] = Field(default_factory=dict)
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    roles: dict[str, RoleConfig] = Field(default_factory=dict)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    prices: dict[str, PriceConfig] = Field(default_factory=dict)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
