"""Provider call metrics: record every call, summarize and export them.

The hot path hands a :class:`CallRecord` to :meth:`MetricsRecorder.record` (no I/O); the
recorder writes batches to a :class:`MetricsStore` from its own thread. Stores, chosen by URL
with :func:`open_store`:

``sqlite:///path/metrics.db``  the default (``$BELUGA_METRICS_DB`` or ``~/.beluga/metrics.db``)
``postgresql://user@host/db``  PostgreSQL (``pip install 'beluga-ai[postgres]'``); add
                               ``?schema=name`` to keep the tables in their own schema
``jsonl:///path/metrics.jsonl`` append-only JSON lines, where SQLite cannot lock (see
                               :mod:`beluga.llms.metrics.jsonl`); :func:`migrate_jsonl_to_sqlite`
                               moves them into SQLite later
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from beluga.core.errors import BelugaError as _BelugaError
from beluga.core.errors import ErrorCode as _ErrorCode
from beluga.core.redaction import display_url as _display_url
from beluga.llms.metrics.base import (
    CALL_FIELDS,
    CallRecord,
    MetricsFilter,
    MetricsStore,
    SummaryRow,
    parse_time,
    short_error,
)
from beluga.llms.metrics.jsonl import JsonlStore, migrate_jsonl_to_sqlite
from beluga.llms.metrics.postgres import PostgresStore
from beluga.llms.metrics.recorder import MetricsRecorder
from beluga.llms.metrics.sqlite import SqliteStore, default_sqlite_path

__all__ = [
    "CALL_FIELDS",
    "CallRecord",
    "JsonlStore",
    "MetricsFilter",
    "MetricsRecorder",
    "MetricsStore",
    "PostgresStore",
    "SqliteStore",
    "SummaryRow",
    "check_store_url",
    "default_sqlite_path",
    "default_store_url",
    "migrate_jsonl_to_sqlite",
    "open_store",
    "parse_time",
    "short_error",
]

_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_SCHEMES = ("sqlite", "jsonl", "postgresql", "postgres")
_FORMS = "sqlite:///path/metrics.db, postgresql://user@host:5432/db or jsonl:///path/metrics.jsonl"


def _bad_url(url: str, problem: str) -> _BelugaError:
    return _BelugaError(
        "llms.metrics.store",
        _ErrorCode.INVALID_CONFIG,
        f"invalid metrics store URL {_display_url(url)!r}: {problem}; use {_FORMS} "
        "(llm.metrics.store, $BELUGA_METRICS_STORE or --store)",
    )


def check_store_url(url: str | os.PathLike[str]) -> str:
    """Validate a metrics store URL without opening anything; returns it as text.

    Raises :class:`~beluga.core.errors.BelugaError` (``invalid_config``) naming the URL as
    :func:`~beluga.core.redaction.display_url` shows it (no user info, no query) and the forms
    that work: an unknown scheme, a PostgreSQL port that is not a number from 1 to 65535, a JSON
    lines URL with no path. Called by :func:`open_store` and
    ``recorder_from``, so a bad URL fails at start-up while a store that is down does not.
    """
    text = str(url)
    scheme, sep, rest = text.partition("://")
    if not sep:
        if not text.strip():
            raise _bad_url(text, "it is empty")
        return text
    scheme = scheme.lower()
    if scheme not in _SCHEMES:
        raise _bad_url(text, f"unknown scheme {scheme!r}")
    if scheme == "jsonl" and not rest:
        raise _bad_url(text, "it names no file")
    if scheme.startswith("postgres"):
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise _bad_url(text, "the port must be a number from 1 to 65535") from None
        if port == 0:
            raise _bad_url(text, "the port must be a number from 1 to 65535")
    return text


def default_store_url() -> str:
    """``$BELUGA_METRICS_STORE``, else the default SQLite file."""
    return os.environ.get("BELUGA_METRICS_STORE") or f"sqlite://{default_sqlite_path()}"


def open_store(url: str | os.PathLike[str] | None = None, *, create: bool = True) -> MetricsStore:
    """Open the store ``url`` names (default: :func:`default_store_url`).

    ``sqlite://PATH``, ``jsonl://PATH`` (so ``sqlite:///abs/path.db`` is absolute, and
    ``sqlite://rel.db`` or ``sqlite://~/m.db`` work too), ``postgresql://...``; a bare path is
    SQLite, or JSON lines if it ends in ``.jsonl``/``.ndjson``. ``create=False`` fails on a
    missing file instead of creating an empty store.
    """
    text = check_store_url(url if url is not None else default_store_url())
    scheme, sep, rest = text.partition("://")
    if not sep:
        path = Path(text)
        if path.suffix.lower() in _JSONL_SUFFIXES:
            return JsonlStore(path, create=create)
        return SqliteStore(path, create=create)
    scheme = scheme.lower()
    if scheme == "sqlite":
        return SqliteStore(rest or None, create=create)
    if scheme == "jsonl":
        return JsonlStore(rest, create=create)
    return PostgresStore(text)
