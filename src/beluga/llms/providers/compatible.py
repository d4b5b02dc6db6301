"""OpenAI-compatible vendors: one Chat Completions adapter, a preset per vendor.

Each preset only knows where the vendor lives, which environment variable holds its key and
what ``gen_ai.provider.name`` its spans carry; the wire format is ``OpenAIChatModel``'s. Any other
compatible server works through ``openai`` with ``base_url``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, ClassVar

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.base import ModelSettings
from beluga.llms.providers.openai import OpenAIChatModel

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = [
    "CerebrasChatModel",
    "CompatibleChatModel",
    "DeepSeekChatModel",
    "FireworksChatModel",
    "GroqChatModel",
    "LMStudioChatModel",
    "MistralChatModel",
    "OpenRouterChatModel",
    "TogetherChatModel",
    "VLLMChatModel",
]


class CompatibleChatModel(OpenAIChatModel):
    """A vendor preset: ``base_url``, key variable and default model filled in."""

    base_url_default: ClassVar[str]
    key_env: ClassVar[str | None] = None
    default_model: ClassVar[str] = ""

    def __init__(
        self,
        model: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        default_headers: dict[str, str] | None = None,
        settings: ModelSettings | None = None,
        client: AsyncOpenAI | None = None,
    ) -> None:
        key = api_key or (os.environ.get(self.key_env) if self.key_env else None)
        if self.key_env and not key and client is None:
            raise BelugaError(
                f"llms.{self.provider}.init",
                ErrorCode.INVALID_CONFIG,
                f"no {self.provider} API key: set api_key or the {self.key_env} variable",
            )
        chosen = model or self.default_model
        if not chosen:
            raise BelugaError(
                f"llms.{self.provider}.init",
                ErrorCode.INVALID_CONFIG,
                f"{self.provider} needs model= (the name the server serves)",
            )
        super().__init__(
            chosen,
            api_key=key,
            base_url=base_url or self.base_url_default,
            timeout=timeout,
            default_headers=default_headers,
            settings=settings,
            client=client,
        )


class GroqChatModel(CompatibleChatModel):
    provider = "groq"
    base_url_default = "https://api.groq.com/openai/v1"
    key_env = "GROQ_API_KEY"
    default_model = "llama-3.3-70b-versatile"


class MistralChatModel(CompatibleChatModel):
    provider = "mistral_ai"
    base_url_default = "https://api.mistral.ai/v1"
    key_env = "MISTRAL_API_KEY"
    default_model = "mistral-small-latest"


class TogetherChatModel(CompatibleChatModel):
    provider = "together_ai"
    base_url_default = "https://api.together.xyz/v1"
    key_env = "TOGETHER_API_KEY"
    default_model = "meta-llama/Llama-3.3-70B-Instruct-Turbo"


class DeepSeekChatModel(CompatibleChatModel):
    provider = "deepseek"
    base_url_default = "https://api.deepseek.com/v1"
    key_env = "DEEPSEEK_API_KEY"
    default_model = "deepseek-chat"


class OpenRouterChatModel(CompatibleChatModel):
    provider = "openrouter"
    base_url_default = "https://openrouter.ai/api/v1"
    key_env = "OPENROUTER_API_KEY"
    default_model = "openai/gpt-4o-mini"


class CerebrasChatModel(CompatibleChatModel):
    provider = "cerebras"
    base_url_default = "https://api.cerebras.ai/v1"
    key_env = "CEREBRAS_API_KEY"
    default_model = "llama-3.3-70b"


class FireworksChatModel(CompatibleChatModel):
    provider = "fireworks"
    base_url_default = "https://api.fireworks.ai/inference/v1"
    key_env = "FIREWORKS_API_KEY"
    default_model = "accounts/fireworks/models/llama-v3p3-70b-instruct"


class VLLMChatModel(CompatibleChatModel):
    """A vLLM server (``vllm serve MODEL``); no key unless it was started with one."""

    provider = "vllm"
    base_url_default = "http://localhost:8000/v1"


class LMStudioChatModel(CompatibleChatModel):
    provider = "lmstudio"
    base_url_default = "http://localhost:1234/v1"
