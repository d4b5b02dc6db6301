"""Amazon Bedrock embeddings: Titan Text v2, Titan Multimodal and Cohere Embed, through
``aiobotocore``'s ``invoke_model`` (the bodies are in :mod:`._bedrock_bodies`).

The Titan models embed one input per call, so a batch becomes concurrent calls
(``max_concurrency``, default 8); Cohere takes 96 texts per call. Titan Multimodal and Cohere
v4 put a text and an image in one vector space. Credentials come from the keywords, a
``profile`` or the AWS default chain (environment, config files, instance roles), signed with
SigV4; the SDK's own retries are off. ``base_url`` points at a proxy or a local endpoint.
"""

from __future__ import annotations

import asyncio
import json
import os
from contextlib import AsyncExitStack
from typing import Any, ClassVar

from beluga.config.endpoints import guard_sdk_logs, reject_userinfo
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.provider_errors import (
    error_for_status,
    not_json,
    our_code,
    own_failure,
    scrub,
    timed_out,
    unreachable,
)
from beluga.core.redaction import display_url, register_secret
from beluga.core.registry import require
from beluga.embeddings._batching import Batch
from beluga.embeddings._provider import ProviderEmbedder
from beluga.embeddings.base import EmbedInput
from beluga.embeddings.providers._bedrock_bodies import family_of, parse, request

__all__ = ["BedrockEmbedder"]

_SIZES = {"titan-text": 1024, "titan-image": 1024, "cohere-v3": 1024, "cohere-v4": 1536}
_BATCH = {"titan-text": 1, "titan-image": 1, "cohere-v3": 96, "cohere-v4": 96}
_TOKENS_HEADER = "x-amzn-bedrock-input-token-count"


class BedrockEmbedder(ProviderEmbedder):
    """An embedding model on Amazon Bedrock (``region`` falls back to ``AWS_REGION``, then
    ``us-east-1``). ``input_type`` is Cohere's (``search_document``, ``search_query``,
    ``classification``, ``clustering``); ``normalize`` is Titan Text's."""

    provider: ClassVar[str] = "bedrock"

    def __init__(
        self,
        model: str = "amazon.titan-embed-text-v2:0",
        *,
        dimensions: int | None = None,
        input_type: str = "search_document",
        normalize: bool = True,
        region: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        profile: str | None = None,
        base_url: str | None = None,
        timeout: float | None = 60.0,
        max_concurrency: int = 8,
    ) -> None:
        self.family = family_of(model)
        super().__init__(model, dimensions or _SIZES[self.family])
        self._send_dimensions = dimensions
        self._input_type, self._normalize = input_type, normalize
        self.max_inputs = _BATCH[self.family]
        self.max_concurrency = max_concurrency
        reject_userinfo(base_url, "embeddings.bedrock.init", "Bedrock signs with AWS credentials")
        if (aws_access_key_id is None) != (aws_secret_access_key is None):
            raise BelugaError(
                "embeddings.bedrock.init",
                ErrorCode.INVALID_CONFIG,
                "give both aws_access_key_id and aws_secret_access_key, or neither (to use a "
                "profile or the default credential chain)",
            )
        for secret in (aws_secret_access_key, aws_session_token):
            register_secret(secret)
        for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            register_secret(os.environ.get(name))
        guard_sdk_logs()
        self._session_module: Any = require("aiobotocore.session", extra="bedrock")
        self._exc: Any = require("botocore.exceptions", extra="bedrock")
        config: Any = require("botocore.config", extra="bedrock")
        self.region = region or os.environ.get("AWS_REGION") or "us-east-1"
        self._where = display_url(base_url) if base_url else f"Bedrock ({self.region})"
        seconds = 60.0 if timeout is None else timeout
        self._profile = profile
        self._options: dict[str, Any] = {
            "region_name": self.region,
            "endpoint_url": base_url,
            "aws_access_key_id": aws_access_key_id,
            "aws_secret_access_key": aws_secret_access_key,
            "aws_session_token": aws_session_token,
            "config": config.Config(
                retries={"total_max_attempts": 1, "mode": "standard"},
                connect_timeout=seconds,
                read_timeout=seconds,
                signature_version="v4",
            ),
        }
        self._client: Any = None
        self._stack: AsyncExitStack | None = None
        self._lock = asyncio.Lock()

    async def _get_client(self) -> Any:
        async with self._lock:
            if self._client is None:
                stack = AsyncExitStack()
                try:
                    session = self._session_module.AioSession(profile=self._profile)
                    creator = session.create_client("bedrock-runtime", **self._options)
                    self._client = await stack.enter_async_context(creator)
                except Exception as exc:
                    await stack.aclose()
                    raise self._error(exc, "embeddings.bedrock.init") from exc
                self._stack = stack
            return self._client

    def body(self, batch: list[EmbedInput]) -> dict[str, Any]:
        """The JSON body ``invoke_model`` sends for ``batch``."""
        return request(
            self.family,
            batch,
            dimensions=self._send_dimensions,
            input_type=self._input_type,
            normalize=self._normalize,
        )

    async def _embed_batch(self, batch: list[EmbedInput]) -> Batch:
        op = "embeddings.bedrock.embed"
        payload = json.dumps(self.body(batch))
        client = await self._get_client()
        try:
            response = await client.invoke_model(
                modelId=self._model,
                body=payload,
                contentType="application/json",
                accept="application/json",
            )
            async with response["body"] as stream:
                raw = await stream.read()
        except Exception as exc:
            raise self._error(exc, op) from exc
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise not_json(op, self._where, exc) from exc
        with our_code(op):
            vectors, tokens = parse(self.family, data)
            headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            tokens = tokens or int(headers.get(_TOKENS_HEADER) or 0)
            return Batch(vectors, tokens)

    def _error(self, exc: BaseException, op: str) -> BelugaError:
        if isinstance(exc, BelugaError):
            return exc
        scrub(exc)
        errors = self._exc
        if isinstance(exc, errors.ClientError):
            response = exc.response if isinstance(exc.response, dict) else {}
            error, meta = response.get("Error") or {}, response.get("ResponseMetadata") or {}
            name, message = str(error.get("Code") or ""), str(error.get("Message") or "")
            status = meta.get("HTTPStatusCode")
            said = f"{name}: {message}" if name and not name.isdigit() else message
            return error_for_status(
                op,
                status if isinstance(status, int) else 500,
                said,
                provider=self._where,
                headers=meta.get("HTTPHeaders"),
                cause=exc,
            )
        if isinstance(exc, errors.ConnectTimeoutError | errors.ReadTimeoutError | TimeoutError):
            return timed_out(op, self._where, exc)
        if isinstance(exc, errors.ConnectionError | errors.HTTPClientError | OSError):
            check = "region/base_url and the network"
            return unreachable(op, self._where, exc, type(exc).__name__, check=check)
        if isinstance(exc, errors.NoCredentialsError | errors.PartialCredentialsError):
            return BelugaError(
                op,
                ErrorCode.INVALID_CONFIG,
                f"no usable AWS credentials ({type(exc).__name__}); set aws_access_key_id and "
                "aws_secret_access_key, a profile, or the AWS default chain",
                cause=exc,
            )
        return own_failure(op, exc, "AWS SDK")

    async def aclose(self) -> None:
        """Close the client (created again if the embedder is used afterwards)."""
        async with self._lock:
            stack, self._stack, self._client = self._stack, None, None
            if stack is not None:
                await stack.aclose()

    def __repr__(self) -> str:
        return f"BedrockEmbedder(model={self._model!r}, region={self.region!r})"
