"""``beluga.yaml`` plus environment, validated; every option also a Python keyword.

Each area owns its section (``beluga.llms.config.LLMConfig`` for ``llm:``) and registers it in
:data:`sections`; :class:`BelugaConfig` composes them.
"""

from beluga.config._masking import is_secret_key
from beluga.config.errors import ConfigError
from beluga.config.loader import find_config, load_config, parse_config
from beluga.config.models import (
    BelugaConfig,
    ConfigModel,
    ObservabilityConfig,
    Section,
    sections,
)

__all__ = [
    "BelugaConfig",
    "ConfigError",
    "ConfigModel",
    "ObservabilityConfig",
    "Section",
    "find_config",
    "is_secret_key",
    "load_config",
    "parse_config",
    "sections",
]
