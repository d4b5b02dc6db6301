"""The ``vectorstores:`` section of ``beluga.yaml``, and the one path from it to a live store.

::

    vectorstores:
      default: docs            # a name below, or a provider name (memory, faiss, pgvector)
      stores:
        docs:
          provider: faiss      # the embedded default: SQLite + HNSW (usearch: the small one)
          path: ~/.beluga/vectors.db
          collection: docs
          metric: cosine       # cosine (default), dot or euclidean
          embedder: local      # the embeddings entry whose vectors it holds (CLI search)
        shared:
          provider: pgvector
          dsn: ${BELUGA_PG_DSN}  # a credential: masked in every repr, dump and error
          table: docs
          ef_search: 64        # any other key is the provider's keyword

Switching store is this section alone: code asks for :func:`build_vector_store` and gets the
store the file names, traced. With no section the default is ``local``: the embedded FAISS
store at ``$BELUGA_VECTORS_DB`` or ``~/.beluga/vectors.db``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from pydantic import ConfigDict, Field, SecretStr

from beluga.config import BelugaConfig, ConfigError, ConfigModel, Section
from beluga.core.errors import BelugaError, ErrorCode
from beluga.vectorstores.base import VectorStore
from beluga.vectorstores.middleware import traced
from beluga.vectorstores.registry import DEFAULT_PROVIDER, VectorStoreFactory, registry

__all__ = [
    "DEFAULT_STORE",
    "VectorStoreConfig",
    "VectorStoresConfig",
    "build_vector_store",
    "store_entry",
    "validate_vectorstores",
]

DEFAULT_STORE = "local"
_OWN = ("provider", "embedder")


class VectorStoreConfig(ConfigModel):
    """One named store: its provider, the embedder of its vectors, and any other key as the
    provider's own keyword (``path``, ``collection``, ``table``, ``metric``, ...)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    provider: str = DEFAULT_PROVIDER
    dsn: SecretStr | None = None
    embedder: str | None = None

    def factory_options(self) -> dict[str, Any]:
        """The provider's keywords, credentials unmasked."""
        options: dict[str, Any] = dict(self.__pydantic_extra__ or {})
        if self.dsn is not None:
            options["dsn"] = self.dsn.get_secret_value()
        return options


class VectorStoresConfig(Section):
    """Which store answers by default, and the named ones."""

    key: ClassVar[str] = "vectorstores"

    default: str = DEFAULT_STORE
    stores: dict[str, VectorStoreConfig] = Field(default_factory=dict)


def store_entry(config: BelugaConfig, name: str | None = None) -> tuple[str, VectorStoreConfig]:
    """The entry ``name`` refers to (default: ``vectorstores.default``): a named entry, a
    provider name with its defaults, or ``local`` (the embedded default)."""
    section = VectorStoresConfig.of(config)
    ref = name or section.default
    key = "vectorstores.default" if name is None else f"vectorstores.stores.{ref}"
    entry = section.stores.get(ref)
    if entry is not None:
        return ref, entry
    if ref == DEFAULT_STORE:
        return ref, VectorStoreConfig()
    _factory(ref, key, config.source, ref)
    return ref, VectorStoreConfig(provider=ref)


def build_vector_store(config: BelugaConfig, name: str | None = None) -> VectorStore:
    """The traced store ``name`` refers to (see :func:`store_entry`)."""
    ref, entry = store_entry(config, name)
    where = f"vectorstores.stores.{ref}"
    factory = _factory(entry.provider, f"{where}.provider", config.source)
    options = entry.factory_options()
    _check_options(factory, entry.provider, options, where, config.source)
    return traced(_call(lambda: factory(**options), where, config.source))


def validate_vectorstores(config: BelugaConfig) -> list[str]:
    """Check every store entry and the default without opening any; the names checked."""
    section, source = VectorStoresConfig.of(config), config.source
    for name, entry in section.stores.items():
        where = f"vectorstores.stores.{name}"
        factory = _factory(entry.provider, f"{where}.provider", source)
        _check_options(factory, entry.provider, entry.factory_options(), where, source)
    store_entry(config)
    return sorted(section.stores)


def _factory(provider: str, key: str, source: str, ref: str | None = None) -> VectorStoreFactory:
    if provider not in registry:
        guess = registry.suggest(provider)
        hint = f"did you mean {guess!r}? " if guess else ""
        problem = (
            f"{ref!r} names no store entry or provider"
            if ref is not None
            else f"unknown vector store provider {provider!r}"
        )
        raise ConfigError(
            source,
            key,
            problem,
            f"{hint}use one of {', '.join(registry.names())}, a name under "
            "vectorstores.stores, or install the plugin that provides it",
        )
    return registry.get(provider)


def _check_options(
    factory: VectorStoreFactory,
    provider: str,
    options: Mapping[str, Any],
    key: str,
    source: str,
) -> None:
    params = inspect.signature(factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    for option in options:
        if option not in params:
            allowed = sorted({*params, *_OWN})
            raise ConfigError(
                source,
                f"{key}.{option}",
                f"vector store provider {provider!r} has no option {option!r}",
                f"use one of {', '.join(allowed)}",
            )


def _call(make: Callable[[], VectorStore], key: str, source: str) -> VectorStore:
    try:
        return make()
    except ConfigError:
        raise
    except BelugaError as exc:
        if exc.code not in (ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_REQUEST):
            raise
        raise ConfigError(source, key, exc.message, "see docs/readme/vectorstores.md") from exc
