"""``beluga.yaml`` plus environment, validated; every option also a Python keyword."""

from beluga.config.loader import ConfigError, find_config, load_config, parse_config
from beluga.config.models import BelugaConfig, LLMConfig, ObservabilityConfig, ProviderConfig

__all__ = [
    "BelugaConfig",
    "ConfigError",
    "LLMConfig",
    "ObservabilityConfig",
    "ProviderConfig",
    "find_config",
    "load_config",
    "parse_config",
]
