"""The ``memory:`` section of ``beluga.yaml``, and the one path from it to a live memory.

::

    memory:
      store: sqlite            # memory (this process only), sqlite, redis, postgres
      path: ~/.beluga/memory.db            # sqlite; default $BELUGA_MEMORY_DB or that file
      # url: redis://127.0.0.1:6379/0      # redis; postgres takes a DSN (a secret)
      strategy: window         # buffer, window, tokens, summary, vector
      turns: 20                # window: the last turns shown
      # max_tokens: 4000       # tokens: the newest messages that fit
      # summary: the last keep_turns turns verbatim, older ones folded into a summary
      # model: small           #   summarizer: a role, provider entry or id (default llm.default)
      # keep_turns: 4
      # max_summary_tokens: 300
      # vector: relevant earlier turns by embedding similarity, plus the recent ones
      # embedder: myapp.ai:embedder          #   import path of an Embedder (or a factory)
      # vector_store: myapp.ai:vectors       #   import path of a VectorStore (or a factory)
      # top_k: 4
      # recent_turns: 4

An agent of ``agents:`` uses this section with ``memory: true`` or its own mapping of the same
keys. The URL is a credential: masked in every repr, dump and error. Options of one strategy
given with another are refused (a typo'd strategy would otherwise be silently ignored).

Embedders and vector stores have no registry of names yet (RAG brings the providers), so vector
recall takes import paths: an object, or a class or function called with no arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import PositiveInt, SecretStr, model_validator
from pydantic_core import PydanticCustomError

from beluga.config import ConfigError, Section
from beluga.memory.base import Memory, MessageStore

if TYPE_CHECKING:
    from beluga.config import BelugaConfig

__all__ = ["MemoryConfig", "build_memory", "build_store", "describe", "validate_memory"]

_OPTIONS: dict[str, tuple[str, ...]] = {
    "window": ("turns",),
    "tokens": ("max_tokens",),
    "summary": ("model", "keep_turns", "max_summary_tokens"),
    "vector": ("embedder", "vector_store", "top_k", "recent_turns"),
}
_VECTOR_FIX = (
    "vector recall needs an embedder and a vector store configured: set memory.embedder and "
    "memory.vector_store to import paths ('package.module:name') of an Embedder and a "
    "VectorStore, or of functions returning them (offline: "
    "beluga.embeddings.testing:HashingEmbedder and "
    "beluga.vectorstores.testing:InMemoryVectorStore)"
)


class MemoryConfig(Section):
    """Where conversations are kept and how much of them a model sees."""

    key: ClassVar[str] = "memory"

    store: Literal["memory", "sqlite", "redis", "postgres"] = "sqlite"
    path: str | None = None
    url: SecretStr | None = None
    prefix: str | None = None
    table: str | None = None
    ttl: PositiveInt | None = None
    strategy: Literal["buffer", "window", "tokens", "summary", "vector"] = "window"
    turns: PositiveInt = 20
    max_tokens: PositiveInt | None = None
    model: str | None = None
    keep_turns: PositiveInt = 4
    max_summary_tokens: PositiveInt = 300
    embedder: str | None = None
    vector_store: str | None = None
    top_k: PositiveInt = 4
    recent_turns: PositiveInt = 4

    @model_validator(mode="after")
    def _consistent(self) -> MemoryConfig:
        needs_url = self.store in ("redis", "postgres")
        if needs_url and self.url is None:
            raise ValueError(f"store {self.store!r} needs url (its address)")
        if not needs_url and self.url is not None:
            raise ValueError(f"store {self.store!r} takes no url")
        if self.path is not None and self.store != "sqlite":
            raise ValueError("path is for the sqlite store")
        if self.strategy == "tokens" and self.max_tokens is None:
            raise ValueError("strategy 'tokens' needs max_tokens")
        if self.strategy == "vector" and (self.embedder is None or self.vector_store is None):
            missing = " and ".join(
                k for k in ("embedder", "vector_store") if getattr(self, k) is None
            )
            raise PydanticCustomError(
                "vector_parts",
                "{problem}",
                {"problem": f"strategy 'vector' needs {missing}", "fix": _VECTOR_FIX},
            )
        for strategy, options in _OPTIONS.items():
            stray = [o for o in options if o in self.model_fields_set]
            if stray and strategy != self.strategy:
                raise PydanticCustomError(
                    "strategy_option",
                    "{problem}",
                    {
                        "problem": f"{stray[0]} is an option of strategy {strategy!r}, not of "
                        f"{self.strategy!r}",
                        "fix": f"remove it or set strategy: {strategy}",
                    },
                )
        return self


def build_store(config: MemoryConfig) -> MessageStore:
    """The message store ``config`` names (nothing is opened until it is first used)."""
    from beluga.memory import stores

    url = config.url.get_secret_value() if config.url else ""
    if config.store == "memory":
        return stores.InMemoryStore()
    if config.store == "sqlite":
        return stores.SqliteStore(config.path)
    if config.store == "redis":
        prefix = config.prefix or stores.redis.DEFAULT_PREFIX
        return stores.RedisStore(url, prefix=prefix, ttl=config.ttl)
    return stores.PostgresStore(url, table=config.table or stores.postgres.DEFAULT_TABLE)


def build_memory(
    config: MemoryConfig, *, root: BelugaConfig | None = None, where: str = "memory"
) -> Memory:
    """The memory ``config`` describes: its strategy over its store.

    ``root`` is the whole configuration: the summarizer's ``model`` is a name in it (checked
    now, resolved on the first summary; default ``llm.default``). ``where`` is the key path of
    ``config`` in the file, for errors. Nothing connects: stores and models open on first use.
    """
    from beluga.memory.strategies import BufferMemory, TokenMemory, WindowMemory

    if config.strategy == "vector":
        return _vector(config, root, where)
    if config.strategy == "summary":
        from beluga.memory.summary import SummaryMemory

        spec = _summarizer(config, root, where)
        return SummaryMemory(
            build_store(config),
            spec,
            keep_turns=config.keep_turns,
            max_summary_tokens=config.max_summary_tokens,
            config=root,
        )
    store = build_store(config)
    if config.strategy == "buffer":
        return BufferMemory(store)
    if config.strategy == "tokens":
        assert config.max_tokens is not None  # checked by the model
        return TokenMemory(store, max_tokens=config.max_tokens)
    return WindowMemory(store, turns=config.turns)


def validate_memory(root: BelugaConfig) -> str:
    """Build the ``memory:`` section's memory without connecting (what ``beluga config check``
    runs); a one-line description of it. A problem raises its ConfigError."""
    config = MemoryConfig.of(root)
    build_memory(config, root=root)
    return describe(config)


def describe(config: MemoryConfig) -> str:
    """``sqlite ~/.beluga/memory.db, strategy window (20 turns)``: safe to print (a URL is
    shown without user info)."""
    from beluga.core.redaction import display_url
    from beluga.memory.stores import default_sqlite_path

    if config.store == "sqlite":
        where = f"sqlite {config.path or default_sqlite_path()}"
    elif config.url is not None:
        where = f"{config.store} {display_url(config.url.get_secret_value())}"
    else:
        where = "memory (this process only)"
    detail = {
        "buffer": "whole history",
        "window": f"{config.turns} turns",
        "tokens": f"{config.max_tokens} tokens",
        "summary": f"model {config.model or 'llm.default'}, {config.keep_turns} turns kept",
        "vector": f"top {config.top_k} + {config.recent_turns} recent turns",
    }[config.strategy]
    return f"{where}, strategy {config.strategy} ({detail})"


def _summarizer(config: MemoryConfig, root: BelugaConfig | None, where: str) -> str:
    """The summarizer's name, checked against ``root`` when there is one."""
    from beluga.llms import LLMConfig, registry

    llm = LLMConfig.of(root) if root is not None else LLMConfig()
    spec = config.model or llm.default
    if root is None or spec in llm.roles or spec in llm.providers:
        return spec
    if spec.partition(":")[0] not in registry:
        known = sorted({*llm.roles, *llm.providers})
        raise ConfigError(
            root.source,
            f"{where}.model",
            f"the summarizer {spec!r} names no role, provider entry or registered id",
            f"use one of {', '.join(known) or '(none configured)'}, or an id such as "
            f"'openai:gpt-4o-mini' with provider one of {', '.join(registry.names())}",
        )
    return spec


def _vector(config: MemoryConfig, root: BelugaConfig | None, where: str) -> Memory:
    from beluga.embeddings import Embedder
    from beluga.memory.vector import VectorMemory
    from beluga.vectorstores import VectorStore

    source = root.source if root is not None else "<python>"
    assert config.embedder is not None and config.vector_store is not None  # the model checks
    embedder = _component(config.embedder, Embedder, "an Embedder", source, f"{where}.embedder")
    vectors = _component(
        config.vector_store, VectorStore, "a VectorStore", source, f"{where}.vector_store"
    )
    return VectorMemory(
        build_store(config),
        embedder,
        vectors,
        top_k=config.top_k,
        recent_turns=config.recent_turns,
    )


def _component(path: str, protocol: type[Any], what: str, source: str, key: str) -> Any:
    """The object ``path`` imports (called if it is a class or function), checked to be
    ``what``."""
    from beluga.core.errors import BelugaError
    from beluga.core.registry import import_path

    if ":" not in path:
        raise ConfigError(
            source,
            key,
            f"{path!r} is not an import path (named embedders and vector stores need a "
            "registry this version does not have)",
            _VECTOR_FIX,
        )
    try:
        made = target = import_path(path)
    except BelugaError as exc:
        raise ConfigError(source, key, exc.message, _VECTOR_FIX) from exc
    if isinstance(target, type) or (callable(target) and not isinstance(target, protocol)):
        try:
            made = target()
        except Exception as exc:  # a factory that needs arguments, or fails
            detail = exc.message if isinstance(exc, BelugaError) else f"{type(exc).__name__}"
            raise ConfigError(
                source, key, f"calling {path} failed ({detail})", _VECTOR_FIX
            ) from exc
    if not isinstance(made, protocol):
        raise ConfigError(
            source, key, f"{path} gives a {type(made).__name__}, not {what}", _VECTOR_FIX
        )
    return made
