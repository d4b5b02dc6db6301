"""Chat models: the protocol, the provider registry, and the test doubles.

Providers load lazily: ``create("openai:gpt-4o-mini")`` imports the OpenAI SDK, ``import beluga``
does not.
"""

from beluga.llms.base import BaseChatModel, ChatModel, ModelSettings, ToolChoice
from beluga.llms.config import LLMConfig, ProviderConfig, RoleConfig
from beluga.llms.registry import create, from_config, registry, settings_from, validate_config

__all__ = [
    "BaseChatModel",
    "ChatModel",
    "LLMConfig",
    "ModelSettings",
    "ProviderConfig",
    "RoleConfig",
    "ToolChoice",
    "create",
    "from_config",
    "registry",
    "settings_from",
    "validate_config",
]
