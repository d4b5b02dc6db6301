"""Keep credentials out of every text the framework emits.

Two nets: exact values registered as secrets (every API key the config or a provider sees is
registered on load) and patterns that look like credentials (``sk-...``, bearer tokens,
``api_key=...``) for keys we were never told about. Logs, span attributes, error messages and
reprs all pass through :func:`redact`.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from urllib.parse import parse_qsl, urlsplit, urlunsplit

__all__ = [
    "MASK",
    "display_url",
    "is_credential_query",
    "redact",
    "register_secret",
    "register_url",
]

MASK = "[REDACTED]"
_MIN_SECRET_LEN = 6
_MAX_SECRETS = 4096
"""Registered values kept; the least recently registered is forgotten first, so a process that
sees a new key per request does not grow (or slow :func:`redact`) forever."""

_registered: OrderedDict[str, None] = OrderedDict()
_secrets: tuple[str, ...] = ()
"""Snapshot of ``_registered`` that :func:`redact` reads without the lock, longest first so a
secret that contains another is masked whole."""
_lock = threading.Lock()

_PATTERNS = re.compile(
    r"""
      (?:sk|pk|rk|ak)-[A-Za-z0-9_\-]{12,}                 # OpenAI/Anthropic style keys
    | xai-[A-Za-z0-9]{16,}
    | gsk_[A-Za-z0-9]{16,}                                # Groq
    | AIza[0-9A-Za-z_\-]{30,}                             # Google API keys
    | (?:AKIA|ASIA)[0-9A-Z]{16}                           # AWS access key ids
    | (?<=://)[^\s/@:"']+:[^\s/@"']+(?=@)                  # user:password@ in any URL
    | (?i:bearer)\s+[A-Za-z0-9._~+/\-]{12,}=*
    | (?i:(?:api[_-]?key|x-api-key|token|secret|password|authorization)["']?\s*[:=]\s*["']?)
      (?:(?i:bearer|basic)\s+)?[^\s"',;&]{6,}
    """,
    re.VERBOSE,
)


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that it is masked wherever it would appear (the most recent
    ``_MAX_SECRETS`` values are kept)."""
    global _secrets
    if not value or len(value) < _MIN_SECRET_LEN:
        return
    with _lock:
        if value in _registered:
            _registered.move_to_end(value)
            return
        _registered[value] = None
        while len(_registered) > _MAX_SECRETS:
            _registered.popitem(last=False)
        _secrets = tuple(sorted(_registered, key=len, reverse=True))


def register_url(url: str | None) -> None:
    """Register the credentials of ``url`` (a base URL or DSN) as secrets: its password, and
    the query values that are credentials (see :func:`is_credential_query`).

    Not every query value: ``api-version=2024-10-21`` registered would mask that date in every
    message of the process.
    """
    if not url:
        return
    try:
        parts = urlsplit(url)
        register_secret(parts.password)
    except ValueError:
        head = url.partition("://")[2].rpartition("@")[0]
        register_secret(head.partition(":")[2])
        return
    for name, value in parse_qsl(parts.query, keep_blank_values=False):
        if is_credential_query(name, value):
            register_secret(value)


_QUERY_WORDS = frozenset(
    {
        "key",
        "apikey",
        "token",
        "sig",
        "signature",
        "password",
        "passwd",
        "pwd",
        "secret",
        "credential",
        "credentials",
        "auth",
        "authorization",
        "session",
        "sessionid",
        "sslpassword",
        "passphrase",
    }
)
_PARAM_PARTS = re.compile(r"[^a-z0-9]+")
_KEY_LIKE = re.compile(r"[A-Za-z0-9+/_~.=-]{20,}")


def is_credential_query(name: str, value: str) -> bool:
    """Whether the query parameter ``name=value`` carries a credential.

    By name: ``code`` (an OAuth code), or any word of it (split at ``_``, ``-``, ``.``) is one
    of key, token, sig, signature, password, secret, credential, auth, session... (``api_key``,
    ``access_token``, ``X-Amz-Signature``, ``client_secret``, a SAS ``sig``), or a word ends in
    ``key``, ``token``, ``secret`` or ``password`` (``apikey``, ``sslpassword``). By value,
    whatever the name: 20 or more characters of a token alphabet mixing upper case, lower case
    and digits, which is how generated keys look and how versions, names, ids and dates never
    do.
    """
    lowered = name.lower()
    if lowered == "code":  # an OAuth authorization code (but not ``country_code``)
        return True
    words = _PARAM_PARTS.split(lowered)
    if any(
        w in _QUERY_WORDS or w.endswith(("key", "token", "secret", "password")) for w in words if w
    ):
        return True
    return (
        _KEY_LIKE.fullmatch(value) is not None
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )


def display_url(url: str) -> str:
    """``url`` safe to show: no user info, query or fragment (any may carry credentials)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return MASK
    if ":" in host:
        host = f"[{host}]"
    if port is not None:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def redact(text: str) -> str:
    """Return ``text`` with every known secret and credential-looking token masked."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return _PATTERNS.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    token = match.group(0)
    # Keep the "api_key=" / "Bearer " prefix so the reader still knows what was hidden.
    for sep in ("=", ":", " "):
        head, found, _ = token.partition(sep)
        if found and head.strip("\"' ").lower() in _LABELS:
            return f"{head}{sep}{MASK}"
    return MASK


_LABELS = frozenset(
    {
        "api_key",
        "api-key",
        "apikey",
        "x-api-key",
        "token",
        "secret",
        "password",
        "authorization",
        "bearer",
    }
)
