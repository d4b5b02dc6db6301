"""Which configuration values are credentials, how they are shown, and registering them.

One rule set, judged by key and value, so every section (a plugin's too) gets it without
declaring anything: a key whose name marks a secret (``api_key``, ``aws_secret_access_key``,
``session_token``...), every value of a mapping under a key naming headers (a custom auth header
is a secret whatever its name), and URLs carrying user info or a query (a base URL's password, a
DSN's). :class:`~beluga.config.ConfigModel` registers them with the redactor when a model is
validated and shows them masked in every repr and dump.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr

from beluga.core.redaction import MASK, display_url, redact, register_secret, register_url

__all__ = ["is_secret_key", "register_credentials", "shown"]

_SECRET_WORDS = (
    "api_key",
    "apikey",
    "secret",
    "password",
    "passphrase",
    "credential",
    "private_key",
)
_PARTS = re.compile(r"[^a-z0-9]+")


def is_secret_key(key: str) -> bool:
    """Whether a configuration key holds a credential, judged by its name.

    ``token`` counts as a word (``session_token``, ``hf_token``) but not ``max_tokens``, which is
    a count.
    """
    lowered = key.lower().replace("-", "_")
    if any(word in lowered for word in _SECRET_WORDS):
        return True
    return any(part.endswith("token") for part in _PARTS.split(lowered))


def _is_headers(key: str) -> bool:
    return "header" in key.lower()


def shown(key: str, value: Any) -> Any:
    """``value`` (found under ``key``) as it may be displayed: credentials masked."""
    if value is None or isinstance(value, SecretStr | BaseModel | bool | int | float):
        return value
    if isinstance(value, str):
        return MASK if is_secret_key(key) else _shown_text(value)
    if isinstance(value, Mapping):
        if _is_headers(key):
            return dict.fromkeys(value, MASK)
        return {k: shown(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(shown(key, v) for v in value)
    return value


def register_credentials(key: str, value: Any) -> None:
    """Tell the redactor every credential in ``value`` (found under ``key``)."""
    if isinstance(value, SecretStr):
        register_secret(value.get_secret_value())
    elif isinstance(value, str):
        if is_secret_key(key):
            register_secret(value)
        elif "://" in value:
            register_url(value)
    elif isinstance(value, Mapping):
        headers = _is_headers(key)
        for k, v in value.items():
            if headers and isinstance(v, str | SecretStr):
                register_secret(v.get_secret_value() if isinstance(v, SecretStr) else v)
            else:
                register_credentials(str(k), v)
    elif isinstance(value, list | tuple):
        for v in value:
            register_credentials(key, v)


def _shown_text(text: str) -> str:
    """A URL with user info or a query shows as its safe form; any other text is redacted."""
    if "://" in text and " " not in text.strip():
        try:
            parts = urlsplit(text)
            credentialed = parts.username is not None or parts.password is not None
        except ValueError:
            return MASK  # a URL that does not parse may still hide a password
        if parts.netloc and (credentialed or parts.query):
            return display_url(text)
    return redact(text)
