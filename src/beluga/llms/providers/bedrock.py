"""AWS Bedrock through the Converse API, on aiobotocore (botocore's async flavour).

botocore does everything that must not be hand-rolled: SigV4 signing (or bearer auth with a
Bedrock API key), the credential chain (environment, profiles, SSO, containers, instance roles),
regional endpoints, and decoding of the binary ``application/vnd.amazon.eventstream`` that
``converse_stream`` answers with. The SDK is imported when a model is created, never when this
module is imported; the client itself is created on first use (its service description is read
in a worker thread, so the event loop is not blocked by that file I/O) and closed by
:meth:`BedrockChatModel.aclose`.

``base_url`` with user info is refused (SigV4 or the bearer key owns the ``Authorization``
header, and aiohttp would fail on both). botocore's own retries are off (one attempt): the
retry, timeout and fallback middleware decide from :attr:`BelugaError.retryable`. The
request/response mapping lives in ``_bedrock_wire``.

Usage::

    model = BedrockChatModel("us.amazon.nova-micro-v1:0", region="eu-west-1")  # default chain
    model = BedrockChatModel(api_key="...")               # a Bedrock API key (bearer token)
    model = BedrockChatModel(profile="dev")               # a named profile of ~/.aws/config
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from types import ModuleType, SimpleNamespace
from typing import Any, cast

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import display_url, register_secret
from beluga.core.registry import require
from beluga.llms.base import BaseChatModel, ModelSettings
from beluga.llms.providers._bedrock_wire import build_request, parse_response, stream_events
from beluga.llms.providers._connection import guard_sdk_logs, reject_userinfo
from beluga.llms.providers._errors import (
    error_for_status,
    our_code,
    own_failure,
    retry_after_from,
    scrub,
    status_code,
    timed_out,
    unreachable,
)
from beluga.llms.providers._preflight import check_sendable
from beluga.schema import ChatResponse, Message, StreamEvent, ToolDefinition

__all__ = ["BedrockChatModel"]

_SERVICE = "bedrock-runtime"
_DEFAULT_REGION = "us-east-1"
_CONNECT_TIMEOUT = 10.0
_READ_TIMEOUT = 300.0  # non-streamed answers of large models often take over botocore's 60 s
_API_KEY_ENV = "AWS_BEARER_TOKEN_BEDROCK"
# botocore errors that mean missing or unusable credentials or settings.
_CONFIG_ERRORS = """NoCredentialsError PartialCredentialsError NoAuthTokenError ProfileNotFound
    CredentialRetrievalError TokenRetrievalError NoRegionError"""


@functools.cache
def _sdk() -> SimpleNamespace:
    """The SDK pieces this provider uses, imported once (and only when a model is created)."""

    def mod(name: str) -> ModuleType:
        return cast(ModuleType, require(name, extra="bedrock"))

    exceptions = mod("botocore.exceptions")
    # botocore's DEBUG records show signed headers (a bearer key, a session token) and bodies.
    guard_sdk_logs()
    # A failed connection, a cut or corrupt body, an undecodable event-stream frame.
    transport = (
        exceptions.ConnectionError,
        exceptions.HTTPClientError,
        mod("botocore.eventstream").ParserError,
        mod("aiohttp").ClientError,
    )
    return SimpleNamespace(
        AioSession=mod("aiobotocore.session").AioSession,
        AioCredentialResolver=mod("aiobotocore.credentials").AioCredentialResolver,
        Config=mod("botocore.config").Config,
        FrozenAuthToken=mod("botocore.tokens").FrozenAuthToken,
        create_loader=mod("botocore.loaders").create_loader,
        exc=exceptions,
        transport=transport,
        config_errors=tuple(getattr(exceptions, name) for name in _CONFIG_ERRORS.split()),
        # Everything the SDK raises, mapped to a BelugaError by _map_error.
        errors=(exceptions.ClientError, exceptions.BotoCoreError, *transport, TimeoutError),
    )


class _StaticToken:
    """A botocore token provider handing out one Bedrock API key (no repr of the key)."""

    __slots__ = ("_token",)

    def __init__(self, token: Any) -> None:
        self._token = token

    def load_token(self, **_: Any) -> Any:
        return self._token


@functools.cache
def _loader(data_path: str | None) -> Any:
    """One botocore data loader per search path, shared by every model: it caches the parsed
    service description, so only the first model pays for reading it."""
    return _sdk().create_loader(data_path)


def _warm(loader: Any) -> None:
    """Read the service description and endpoint data (blocking file I/O, run in a thread),
    so that creating the client on the event loop finds them cached."""
    loader.load_service_model(_SERVICE, "service-2")
    loader.load_service_model(_SERVICE, "endpoint-rule-set-1")
    loader.load_data_with_path("endpoints")
    for name in ("partitions", "sdk-default-configuration"):
        loader.load_data(name)


class BedrockChatModel(BaseChatModel):
    """A chat model on Amazon Bedrock, through the Converse API.

    Every keyword is also a ``beluga.yaml`` key. ``region`` falls back to ``AWS_REGION``, then
    to the SDK's configuration (``AWS_DEFAULT_REGION``, the profile), then ``us-east-1``.
    Credentials: explicit ``aws_access_key_id``/``aws_secret_access_key`` (and
    ``aws_session_token``), else ``api_key`` (a Bedrock API key, sent as a bearer token;
    default ``AWS_BEARER_TOKEN_BEDROCK``), else botocore's chain (``profile``, environment,
    SSO, container and instance roles). ``base_url`` replaces the endpoint (a VPC endpoint, a
    proxy, or a local test server); ``timeout`` bounds connecting and each read, in seconds.
    """

    provider = "aws.bedrock"  # the gen_ai.provider.name of the OpenTelemetry GenAI conventions

    def __init__(
        self,
        model: str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        *,
        region: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        profile: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        settings: ModelSettings | None = None,
    ) -> None:
        super().__init__(model, settings=settings)
        self.timeout: float | None = timeout
        reject_userinfo(
            base_url, "llms.bedrock.init", "Bedrock authenticates with AWS credentials or api_key"
        )
        sdk = _sdk()
        self._sdk = sdk
        for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", _API_KEY_ENV):
            register_secret(os.environ.get(name))  # whatever the chain may pick up
        for secret in (aws_secret_access_key, aws_session_token, api_key):
            register_secret(secret)
        if (aws_access_key_id is None) != (aws_secret_access_key is None):
            raise BelugaError(
                "llms.bedrock.init",
                ErrorCode.INVALID_CONFIG,
                "give both aws_access_key_id and aws_secret_access_key, or neither (to use "
                "api_key, a profile or the default credential chain)",
            )
        explicit_keys = aws_access_key_id is not None
        if api_key and explicit_keys:
            raise BelugaError(
                "llms.bedrock.init",
                ErrorCode.INVALID_CONFIG,
                "give either api_key (a Bedrock API key) or AWS access keys, not both",
            )
        if not api_key and not explicit_keys and not profile:
            api_key = os.environ.get(_API_KEY_ENV) or None
        try:
            session = sdk.AioSession(profile=profile)
            self._loader = _loader(session.get_config_variable("data_path"))
            session.register_component("data_loader", self._loader)
            self.region: str = (
                region
                or os.environ.get("AWS_REGION")
                or session.get_config_variable("region")
                or _DEFAULT_REGION
            )
        except sdk.exc.BotoCoreError as exc:  # e.g. ProfileNotFound
            raise _map_error(exc, "llms.bedrock.init", "Bedrock", sdk) from exc
        self.base_url = base_url
        config: dict[str, Any] = {
            "retries": {"total_max_attempts": 1, "mode": "standard"},
            "connect_timeout": timeout if timeout is not None else _CONNECT_TIMEOUT,
            "read_timeout": timeout if timeout is not None else _READ_TIMEOUT,
        }
        if api_key:
            config["signature_version"] = "bearer"
            session.register_component("token_provider", _StaticToken(sdk.FrozenAuthToken(api_key)))
            # A bearer key needs no AWS credentials: skip the chain (and its metadata lookups).
            session.register_component("credential_provider", sdk.AioCredentialResolver([]))
        else:
            # SigV4, stated in code: botocore would otherwise switch to bearer auth whenever
            # AWS_BEARER_TOKEN_BEDROCK is set, even over explicit keys or a profile.
            config["signature_version"] = "v4"
        self._session = session
        self._client_options: dict[str, Any] = {
            "region_name": self.region,
            "endpoint_url": base_url,
            "aws_access_key_id": aws_access_key_id,
            "aws_secret_access_key": aws_secret_access_key,
            "aws_session_token": aws_session_token,
            "config": sdk.Config(**config),
        }
        self._client: Any = None
        self._stack: AsyncExitStack | None = None
        self._lock = asyncio.Lock()

    @property
    def _where(self) -> str:
        return display_url(self.base_url) if self.base_url else f"Bedrock ({self.region})"

    async def _get_client(self, op: str) -> Any:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                stack = AsyncExitStack()
                try:
                    await asyncio.to_thread(_warm, self._loader)
                    creator = self._session.create_client(_SERVICE, **self._client_options)
                    self._client = await stack.enter_async_context(creator)
                except self._sdk.errors as exc:
                    await stack.aclose()
                    raise _map_error(exc, op, self._where, self._sdk) from exc
                self._stack = stack
        return self._client

    async def _generate(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> ChatResponse:
        op = "llms.bedrock.generate"
        check_sendable(messages, tools, settings, op)
        request = build_request(self._model, messages, tools, settings, op, self.provider)
        client = await self._get_client(op)
        try:
            data = await client.converse(**request)
        except self._sdk.errors as exc:
            raise _map_error(exc, op, self._where, self._sdk) from exc
        with our_code(op):
            return parse_response(
                data, op, self._where, self._model, _request_id(data), self.provider
            )

    async def _stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> AsyncIterator[StreamEvent]:
        op = "llms.bedrock.stream"
        check_sendable(messages, tools, settings, op)
        request = build_request(self._model, messages, tools, settings, op, self.provider)
        client = await self._get_client(op)
        try:
            response = await client.converse_stream(**request)
        except self._sdk.errors as exc:
            raise _map_error(exc, op, self._where, self._sdk) from exc
        stream, rid = response["stream"], _request_id(response)
        events = stream_events(stream, op, self._where, self._model, rid, self.provider)
        try:
            async for event in events:
                yield event
        except self._sdk.errors as exc:
            raise _map_error(exc, op, self._where, self._sdk, streaming=True) from exc
        except BelugaError:
            raise
        except Exception as exc:  # our reading of the events: a bug, not a provider failure
            raise own_failure(op, exc, "stream parser") from exc
        finally:
            await events.aclose()
            stream.close()

    async def aclose(self) -> None:
        """Close the client (it is created again if the model is used afterwards)."""
        async with self._lock:
            stack, self._stack, self._client = self._stack, None, None
            if stack is not None:
                await stack.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self._model!r}, region={self.region!r})"


def _request_id(data: Any) -> str | None:
    meta = data.get("ResponseMetadata") if isinstance(data, dict) else None
    value = meta.get("RequestId") if isinstance(meta, dict) else None
    return value if isinstance(value, str) and value else None


# --------------------------------------------------------------------------- errors

# Error codes that arrive without an HTTP status (exceptions inside the event stream), with the
# status the API documents for them.
_STATUS_OF = {
    "validationexception": 400,
    "accessdeniedexception": 403,
    "resourcenotfoundexception": 404,
    "modeltimeoutexception": 408,
    "throttlingexception": 429,
    "modelnotreadyexception": 429,
    "modelerrorexception": 424,
    "modelstreamerrorexception": 424,
    "internalserverexception": 500,
    "serviceunavailableexception": 503,
}
# Error codes whose meaning the HTTP status alone gets wrong: (code, retryable, next step).
_DOWN, _RETRY = ErrorCode.PROVIDER_UNAVAILABLE, "retry, or fall back to another model"
_BY_ERROR_CODE: dict[str, tuple[ErrorCode, bool, str]] = {
    "modelnotreadyexception": (_DOWN, True, "the model is being loaded; retry in a few seconds"),
    "modelerrorexception": (_DOWN, True, f"the model failed while answering; {_RETRY}"),
    "modelstreamerrorexception": (_DOWN, True, f"the model failed while streaming; {_RETRY}"),
    "servicequotaexceededexception": (
        ErrorCode.CAPACITY_EXCEEDED,
        False,
        "an account quota is used up; request a quota increase or use another region",
    ),
    "expiredtokenexception": (
        ErrorCode.AUTH_FAILED,
        False,
        "the AWS credentials have expired; refresh them (aws sso login, new session token)",
    ),
}


def _map_error(
    exc: BaseException, op: str, where: str, sdk: SimpleNamespace, *, streaming: bool = False
) -> BelugaError:
    """The :class:`BelugaError` for an exception raised by aiobotocore/botocore."""
    if isinstance(exc, BelugaError):
        return exc
    scrub(exc)
    errors = sdk.exc
    if isinstance(exc, errors.ClientError):
        return _client_error(exc, op, where)
    detail = type(exc).__name__
    if isinstance(exc, (errors.ConnectTimeoutError, errors.ReadTimeoutError, TimeoutError)):
        what = "connecting" if isinstance(exc, errors.ConnectTimeoutError) else "answering"
        return timed_out(op, where, exc, what)
    if isinstance(exc, sdk.transport):
        check = "region/base_url and the network"
        return unreachable(op, where, exc, detail, streaming=streaming, check=check)
    if isinstance(exc, errors.ParamValidationError):
        return BelugaError(
            op, ErrorCode.INVALID_REQUEST, f"the AWS SDK rejected the request: {exc}", cause=exc
        )
    if isinstance(exc, sdk.config_errors):
        return BelugaError(
            op,
            ErrorCode.INVALID_CONFIG,
            f"AWS credentials or configuration are missing or invalid ({detail}: {exc}); set "
            "aws_access_key_id/aws_secret_access_key, api_key, profile or region, or "
            "configure the AWS credential chain",
            cause=exc,
        )
    return own_failure(op, exc, "AWS SDK")


def _client_error(exc: Any, op: str, where: str) -> BelugaError:
    """A service error: an HTTP error answer, or an exception event inside the stream."""
    response = exc.response if isinstance(exc.response, dict) else {}
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    name = str(error.get("Code") or "")
    key = name.lower()
    message = str(error.get("Message") or "").strip() or "no message"
    said = f"{name}: {message}" if name and not name.isdigit() else message
    headers = meta.get("HTTPHeaders") if isinstance(meta.get("HTTPHeaders"), dict) else None
    status = meta.get("HTTPStatusCode")
    special = _BY_ERROR_CODE.get(key)
    if isinstance(status, int) and special is None:
        return error_for_status(op, status, said, provider=where, headers=headers, cause=exc)
    if special is not None:
        code, retryable, step = special
    else:  # an exception event of the stream: no HTTP status of its own
        code, retryable = status_code(_STATUS_OF.get(key, 500))
        step = "retry" if retryable else "fix the request"
    if isinstance(status, int):
        text = f"{where} answered HTTP {status}: {said[:500]}; {step}"
    else:
        text = f"{where} failed mid-stream with {said[:500]}; {step}"
    return BelugaError(
        op, code, text, retryable=retryable, cause=exc, retry_after=retry_after_from(headers)
    )
