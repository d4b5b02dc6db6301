"""Where a provider is reached and with which credentials, set up once for every adapter of
every area (LLMs, embedders, ...).

An :class:`Endpoint` holds what pydantic-ai's provider objects hold: the URL the SDK gets, the
URL shown in messages and reprs, the headers every request carries, the API key and the
timeout. :func:`endpoint` registers every credential in them as a secret (the key, every
configured header value whatever its name, the URL's password and query values), so none
reaches a message, span, log or repr.

User info in a base URL (``http://user:pw@proxy/v1``) is never handed to an SDK: the SDKs and
their HTTP clients log request URLs (``httpx`` at INFO, the OpenAI and Anthropic SDKs at DEBUG).
It becomes an ``Authorization: Basic`` header instead, which is what the HTTP client would have
sent for it; a configured ``Authorization`` header takes precedence. Adapters whose
authentication owns that header (Bedrock's SigV4, xAI's gRPC bearer key) reject user info with
:func:`reject_userinfo`. The SDKs' loggers also get the redacting filter, for query values.
"""

from __future__ import annotations

import base64
import functools
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import unquote

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import display_url, register_secret, register_url
from beluga.core.timing import mark_send
from beluga.observability.logs import RedactingFilter

__all__ = ["Endpoint", "endpoint", "env_key", "guard_sdk_logs", "reject_userinfo"]

# Loggers of the SDKs and HTTP clients under the adapters that print URLs, headers or bodies.
_SDK_LOGGERS = (
    "httpx",
    "httpx2",
    "openai._base_client",
    "anthropic._base_client",
    "google_genai._api_client",
    "botocore.endpoint",
    "botocore.auth",
    "botocore.parsers",
    "botocore.hooks",
    "aiobotocore.regions",
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A provider's connection settings, credentials registered as secrets.

    ``url`` is what the SDK gets (no user info; ``None`` for the SDK's default), ``shown`` the
    URL safe for messages and reprs, ``headers`` the configured headers plus the Basic
    authorization the user info stood for.
    """

    url: str | None
    shown: str
    headers: dict[str, str] | None
    api_key: str | None
    timeout: float | None

    def sdk_options(self, sdk: ModuleType, **more: Any) -> dict[str, Any]:
        """Keywords for a client of the Stainless SDK ``sdk`` (OpenAI, Anthropic): its own
        retries off, and its HTTP client marking each send for ``beluga bench``."""
        hooks = {"request": [mark_send]}
        options: dict[str, Any] = {
            "api_key": self.api_key,
            "base_url": self.url,
            "default_headers": self.headers,
            "max_retries": 0,
            "http_client": sdk.DefaultAsyncHttpxClient(event_hooks=hooks),
            **more,
        }
        if self.timeout is not None:
            options["timeout"] = self.timeout
        return options


def endpoint(
    base_url: str | None,
    *,
    default_url: str,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> Endpoint:
    """The :class:`Endpoint` of ``base_url`` (``default_url`` when unset), secrets registered."""
    guard_sdk_logs()
    register_secret(api_key)
    register_url(base_url)
    merged = dict(headers or {})
    for value in merged.values():
        register_secret(value)
    url = base_url or None
    if url is not None:
        url, basic = _split_userinfo(url)
        if basic is not None:
            register_secret(basic)
            if not any(name.lower() == "authorization" for name in merged):
                merged["Authorization"] = basic
    return Endpoint(
        url=url,
        shown=display_url(url or default_url),
        headers=merged or None,
        api_key=api_key,
        timeout=timeout,
    )


def env_key(api_key: str | None, *names: str) -> str | None:
    """``api_key``, else the first of the environment variables ``names`` that is set."""
    return api_key or next((os.environ[n] for n in names if os.environ.get(n)), None)


def reject_userinfo(base_url: str | None, op: str, why: str) -> None:
    """Refuse a ``base_url`` with user info where it cannot be sent (``why`` says what
    authenticates instead); the password is registered first, so the error cannot show it."""
    register_url(base_url)
    if base_url and _split_userinfo(base_url)[1] is not None:
        raise BelugaError(
            op,
            ErrorCode.INVALID_CONFIG,
            f"base_url {display_url(base_url)!r} carries user info, which this provider cannot "
            f"send ({why}); remove the 'user:password@' part",
        )


@functools.cache
def guard_sdk_logs() -> None:
    """Give the SDKs' loggers the redacting filter (free while their level is off)."""
    for name in _SDK_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


def _split_userinfo(url: str) -> tuple[str, str | None]:
    """``url`` without its user info, and the ``Basic ...`` header value it stood for."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    userinfo, at, host = rest[:end].rpartition("@")
    if not at:
        return url, None
    user, _, password = userinfo.partition(":")
    register_secret(unquote(password))
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
    return f"{scheme}{sep}{host}{rest[end:]}", f"Basic {token}"
