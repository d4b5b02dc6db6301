"""Azure OpenAI: the OpenAI adapters over an Azure endpoint and deployment.

Nothing here knows a wire format: the model delegates to
:class:`~beluga.llms.providers.openai.OpenAIChatModel` (``api="chat"``, the default) or
:class:`~beluga.llms.providers.openai_responses.OpenAIResponsesModel` (``api="responses"``)
built on an Azure client, so request bodies, parsing and error mapping are theirs. What Azure adds
is where the call goes and how it authenticates:

- a dated ``api_version`` (default :data:`DEFAULT_API_VERSION`, or ``OPENAI_API_VERSION``) uses
  the SDK's ``AsyncAzureOpenAI``: ``{endpoint}/openai/deployments/{model}/chat/completions`` or
  ``{endpoint}/openai/responses``, each with ``?api-version=...``, authenticated by the
  ``api-key`` header (or ``Authorization: Bearer`` with ``azure_ad_token``);
- ``api_version="v1"`` uses Azure's versionless v1 API, ``{endpoint}/openai/v1/...`` with the
  deployment name as ``model`` in the body, through the plain OpenAI client as Microsoft documents
  it (key or Entra ID token as a bearer token).

``2025-04-01-preview`` is the default because it is the newest dated version and the first that
serves both reasoning models and the Responses API; the v1 API is Microsoft's path forward.
Spans carry ``gen_ai.provider.name = "azure.ai.openai"`` (OpenTelemetry GenAI conventions) and
the deployment name as the model.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from types import ModuleType
from typing import Final, Literal, cast

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import register_secret
from beluga.core.registry import require
from beluga.llms.base import BaseChatModel, ModelSettings
from beluga.llms.providers._connection import endpoint as connect
from beluga.llms.providers.openai import OpenAIChatModel, OpenAIClientModel
from beluga.llms.providers.openai_responses import OpenAIResponsesModel
from beluga.schema import ChatResponse, Message, StreamEvent, ToolDefinition

__all__ = ["DEFAULT_API_VERSION", "AzureOpenAIChatModel"]

DEFAULT_API_VERSION: Final = "2025-04-01-preview"
_OP = "llms.azure.init"
_HINTS: dict[ErrorCode, str] = {
    ErrorCode.AUTH_FAILED: "check api_key / AZURE_OPENAI_API_KEY (or azure_ad_token) and its "
    "access to this resource",
    ErrorCode.NOT_FOUND: "check the deployment name (model=), the endpoint and api_version",
    ErrorCode.TIMEOUT: "retry, or raise timeout=",
    ErrorCode.RATE_LIMITED: "rate limited; wait and retry, or raise the deployment's quota",
    ErrorCode.PROVIDER_UNAVAILABLE: "the service is failing or overloaded; retry later",
    ErrorCode.INVALID_REQUEST: "fix the request (some options need a newer api_version)",
}


class AzureOpenAIChatModel(BaseChatModel):
    """A model deployed on Azure OpenAI, called through Chat Completions or the Responses API.

    ``model`` is the deployment name. ``api_key`` falls back to ``AZURE_OPENAI_API_KEY``,
    ``endpoint`` (``https://<resource>.openai.azure.com``) to ``AZURE_OPENAI_ENDPOINT`` and
    ``api_version`` to ``OPENAI_API_VERSION``; pass ``azure_ad_token`` (a Microsoft Entra ID
    token) instead of a key to authenticate as an identity.
    """

    provider = "azure.ai.openai"

    def __init__(
        self,
        model: str = "gpt-4o-mini",
        *,
        api_key: str | None = None,
        endpoint: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        azure_ad_token: str | None = None,
        api: Literal["chat", "responses"] = "chat",
        timeout: float | None = None,
        default_headers: dict[str, str] | None = None,
        settings: ModelSettings | None = None,
    ) -> None:
        super().__init__(model, settings=settings)
        if api not in ("chat", "responses"):
            raise BelugaError(
                _OP, ErrorCode.INVALID_CONFIG, f"api={api!r}: use 'chat' or 'responses'"
            )
        if api_key and azure_ad_token:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                "pass either api_key or azure_ad_token, not both",
            )
        key = api_key or (None if azure_ad_token else os.environ.get("AZURE_OPENAI_API_KEY"))
        if not key and not azure_ad_token:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                "no Azure OpenAI credential: set api_key or AZURE_OPENAI_API_KEY, or pass "
                "azure_ad_token (a Microsoft Entra ID token)",
            )
        # base_url is accepted as another name for endpoint: it is the generic config key.
        where = endpoint or base_url or os.environ.get("AZURE_OPENAI_ENDPOINT")
        if not where:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                "no Azure OpenAI endpoint: set endpoint or AZURE_OPENAI_ENDPOINT, e.g. "
                "https://my-resource.openai.azure.com",
            )
        register_secret(azure_ad_token)
        self.timeout: float | None = timeout
        self.api = api
        self.api_version = (
            api_version or os.environ.get("OPENAI_API_VERSION") or DEFAULT_API_VERSION
        )
        conn = connect(
            where.rstrip("/"),
            default_url=where,
            api_key=key,
            headers=default_headers,
            timeout=timeout,
        )
        self.endpoint = conn.shown
        sdk = cast(ModuleType, require("openai", extra="openai"))
        if self.api_version == "v1":
            options = conn.sdk_options(
                sdk, api_key=key or azure_ad_token, base_url=f"{conn.url}/openai/v1"
            )
            client = sdk.AsyncOpenAI(**options)
        else:
            options = conn.sdk_options(
                sdk,
                azure_endpoint=conn.url,
                api_version=self.api_version,
                azure_ad_token=azure_ad_token,
            )
            del options["base_url"]
            client = sdk.AsyncAzureOpenAI(**options)
        wire: type[OpenAIClientModel] = OpenAIChatModel if api == "chat" else OpenAIResponsesModel
        self._inner = wire(model, client=client)
        self._inner._hints = _HINTS
        self._inner.provider = self.provider  # its reasoning parts are Azure's
        self._inner._owns_client = True  # built here, so closed with this model

    async def _generate(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> ChatResponse:
        return await self._inner._generate(messages, tools, settings)

    def _stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> AsyncIterator[StreamEvent]:
        return self._inner._stream(messages, tools, settings)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._inner.aclose()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model={self._model!r}, endpoint={self.endpoint!r}, "
            f"api={self.api!r}, api_version={self.api_version!r})"
        )
