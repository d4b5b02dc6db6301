"""One registry type for every area (LLMs, embedders, vector stores, voice, ...).

Built-ins register a lazy ``"module:attribute"`` path so that importing :mod:`beluga` never imports
a provider SDK; third-party packages register through the entry-point group of the area (for LLMs
``beluga.llms``). An unknown name raises an error suggesting the closest registered name (a typo
such as ``opnai``), listing what is registered and how to get more.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import threading
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Generic, TypeVar, cast

from beluga.core.errors import BelugaError, ErrorCode

__all__ = ["Registry", "RegistryEntry", "import_path", "require"]

T = TypeVar("T")


@dataclass(slots=True)
class RegistryEntry(Generic[T]):
    """A registered name: its target (loaded or still an import path) and the extra it needs."""

    name: str
    target: T | str
    extra: str | None = None
    requires: tuple[str, ...] = ()
    source: str = "builtin"

    @property
    def loaded(self) -> bool:
        return not isinstance(self.target, str)

    @property
    def available(self) -> bool:
        """Whether the modules it needs are installed (checked without importing them)."""
        return all(importlib.util.find_spec(m) is not None for m in self.requires)


class Registry(Generic[T]):
    """Names to factories for one area, with entry-point discovery.

    ``kind`` is the area's human name ("LLM provider"); ``group`` its entry-point group.
    """

    def __init__(self, kind: str, group: str) -> None:
        self.kind = kind
        self.group = group
        self._entries: dict[str, RegistryEntry[T]] = {}
        self._discovered = False
        self._lock = threading.Lock()

    def register(
        self,
        name: str,
        target: T | str,
        *,
        extra: str | None = None,
        requires: tuple[str, ...] = (),
        replace: bool = False,
    ) -> None:
        """Register ``target`` (an object or a lazy ``"module:attr"`` path) under ``name``.

        ``requires`` lists the optional modules it needs and ``extra`` the install extra that
        brings them, so listings can tell what is usable without importing anything.
        """
        if not name or not name.replace("-", "_").replace(".", "_").isidentifier():
            raise BelugaError(
                f"registry.{self.group}.register",
                ErrorCode.INVALID_REQUEST,
                f"invalid {self.kind} name {name!r}: use letters, digits, '-', '_' or '.'",
            )
        if name in self._entries and not replace:
            raise BelugaError(
                f"registry.{self.group}.register",
                ErrorCode.INVALID_REQUEST,
                f"{self.kind} {name!r} is already registered; pass replace=True to override it",
            )
        self._entries[name] = RegistryEntry(name, target, extra, requires)

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        """Return the target registered as ``name``, importing it on first use."""
        entry = self._entries.get(name)
        if entry is None:
            self._discover()
            entry = self._entries.get(name)
        if entry is None:
            raise self._unknown(name)
        if isinstance(entry.target, str):
            entry.target = cast(T, import_path(entry.target, extra=entry.extra))
        return entry.target

    def names(self) -> list[str]:
        """Sorted names of everything registered, plugins included."""
        self._discover()
        return sorted(self._entries)

    def entries(self) -> list[RegistryEntry[T]]:
        self._discover()
        return [self._entries[n] for n in sorted(self._entries)]

    def suggest(self, name: str) -> str | None:
        """The registered name closest to a mistyped ``name`` (case aside), if any is close."""
        names = self.names()
        by_case = {n.lower(): n for n in names}
        if name.lower() in by_case:
            return by_case[name.lower()]
        close = difflib.get_close_matches(name.lower(), list(by_case), n=1, cutoff=0.6)
        return by_case[close[0]] if close else None

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._entries

    def _discover(self) -> None:
        if self._discovered:
            return
        with self._lock:
            if self._discovered:
                return
            for ep in entry_points(group=self.group):
                if ep.name not in self._entries:
                    source = ep.dist.name if ep.dist else "plugin"
                    self._entries[ep.name] = RegistryEntry(ep.name, ep.value, source=source)
            self._discovered = True

    def _unknown(self, name: str) -> BelugaError:
        known = ", ".join(self.names()) or "(none)"
        guess = self.suggest(name)
        hint = f" Did you mean {guess!r}?" if guess else ""
        return BelugaError(
            f"registry.{self.group}.get",
            ErrorCode.NOT_FOUND,
            f"unknown {self.kind} {name!r}.{hint} Registered: {known}. "
            f"If it comes from a plugin, install that package (it registers under the "
            f"entry-point group {self.group!r}); built-in providers need their extra, "
            f"e.g. pip install 'beluga-ai[{name}]'.",
        )


def import_path(path: str, *, extra: str | None = None) -> object:
    """Import ``"package.module:attribute"``; a missing dependency names the extra to install."""
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise _missing(exc, extra, path) from exc
    try:
        return getattr(module, attr) if attr else module
    except AttributeError as exc:
        raise BelugaError(
            "registry.import", ErrorCode.INVALID_CONFIG, f"{path!r}: {module_name} has no {attr!r}"
        ) from exc


def require(module: str, *, extra: str) -> object:
    """Import an optional dependency, or fail saying which extra provides it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise _missing(exc, extra, module) from exc


def _missing(exc: ModuleNotFoundError, extra: str | None, what: str) -> BelugaError:
    hint = f"pip install 'beluga-ai[{extra}]'" if extra else f"install the package providing {what}"
    return BelugaError(
        "registry.import",
        ErrorCode.INVALID_CONFIG,
        f"{what} needs the module {exc.name!r}, which is not installed: {hint}",
        cause=exc,
    )
