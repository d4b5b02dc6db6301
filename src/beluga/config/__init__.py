"""``beluga.yaml`` plus environment, validated; every option also a Python keyword."""

from beluga.config.loader import ConfigError, find_config, load_config, parse_config
from beluga.config.models import (
    BelugaConfig,
    LLMConfig,
    MetricsConfig,
    ObservabilityConfig,
    PriceConfig,
    ProviderConfig,
    RoleConfig,
    RoutingConfig,
)

__all__ = [
    "BelugaConfig",
    "ConfigError",
    "LLMConfig",
    "MetricsConfig",
    "ObservabilityConfig",
    "PriceConfig",
    "ProviderConfig",
    "RoleConfig",
    "RoutingConfig",
    "find_config",
    "load_config",
    "parse_config",
]
