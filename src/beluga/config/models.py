"""The shape of ``beluga.yaml``: a version and one section per area.

Each area owns its section model next to its code (``beluga.llms.config.LLMConfig`` is ``llm:``)
and registers it in :data:`sections`, built-ins and plugins alike through the entry-point group
``beluga.config``; :class:`BelugaConfig` composes whatever is registered, so a new area adds its
section without editing this module. Every key is also a Python keyword of these models.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    model_serializer,
    model_validator,
)

from beluga.config._masking import register_credentials, shown
from beluga.config.errors import ConfigError, from_validation, unknown_key
from beluga.core.registry import Registry

if TYPE_CHECKING:
    from pydantic._internal._repr import ReprArgs

__all__ = [
    "BelugaConfig",
    "ConfigModel",
    "ObservabilityConfig",
    "Section",
    "sections",
]

S = TypeVar("S", bound="Section")


class ConfigModel(BaseModel):
    """Base of configuration models: unknown keys are errors, values are immutable, and
    credentials (see ``beluga.config._masking``) are registered with the redactor on validation
    and masked in ``repr``, ``str``, ``model_dump`` and ``model_dump_json``.

    Dumps are for display and comparison; code that needs a real value reads the attribute (or
    an explicit accessor such as ``ProviderConfig.factory_options()``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _register_credentials(self) -> Self:
        for name, value in self._values():
            register_credentials(name, value)
        return self

    @model_serializer(mode="wrap")
    def _mask_credentials(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if not isinstance(data, dict):
            return data
        return {k: shown(str(k), v) for k, v in data.items()}

    def __repr_args__(self) -> ReprArgs:
        for name, value in super().__repr_args__():
            yield name, value if name is None else shown(name, value)

    def _values(self) -> list[tuple[str, Any]]:
        """Every field and extra key with its value."""
        declared = [(name, getattr(self, name)) for name in type(self).model_fields]
        return declared + list((self.__pydantic_extra__ or {}).items())


class Section(ConfigModel):
    """A top-level section of ``beluga.yaml``; ``key`` is its name there."""

    key: ClassVar[str]
    by_name: ClassVar[str | None] = None
    """The field holding the section's entries when the YAML maps names straight to them
    (``agents: {assistant: {...}}``); error key paths then leave that field's name out."""

    @classmethod
    def of(cls, config: BelugaConfig) -> Self:
        """This section of ``config`` (its defaults when the file does not have it)."""
        return config.section(cls)


_log = logging.getLogger(__name__)

sections: Registry[type[Section]] = Registry("configuration section", "beluga.config")
"""Section models by key. Areas register through the ``beluga.config`` entry-point group."""


class ObservabilityConfig(Section):
    key: ClassVar[str] = "observability"

    service_name: str = "beluga"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "WARNING"
    log_format: Literal["text", "json"] = "text"


sections.register(ObservabilityConfig.key, ObservabilityConfig)


class BelugaConfig(ConfigModel):
    """The whole configuration. ``BelugaConfig()`` is the offline default stack.

    Sections are keyword arguments (``BelugaConfig(llm=LLMConfig(...))``) and attributes
    (``config.llm``); typed code reads them with ``LLMConfig.of(config)``.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    version: Literal[1] = 1
    _source: str = PrivateAttr(default="<python>")

    @model_validator(mode="before")
    @classmethod
    def _compose(cls, data: Any, info: ValidationInfo) -> Any:
        """Validate each section with its registered model; absent ones take their defaults."""
        if not isinstance(data, Mapping):
            return data
        source = (info.context or {}).get("source", "<python>")
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key == "version":
                out[key] = value
                continue
            if key not in sections:
                raise unknown_key(source, str(key), str(key), ["version", *sections.names()])
            model = _load_section(str(key), source)
            if model.key != key:
                raise ConfigError(
                    source,
                    str(key),
                    f"{model.__name__} is registered as {key!r} but its key is {model.key!r}",
                    "register the section under its own key",
                )
            out[key] = _section(model, value, source)
        for name in sections.names():
            if name not in out:
                try:
                    model = _load_section(name, source)
                except ConfigError as exc:
                    # A broken plugin section the file does not use must not break the others;
                    # it is reported when its section is used (and by `beluga config check`).
                    _log.warning("%s", exc.message)
                    continue
                out[name] = model()
        return out

    def section(self, model: type[S]) -> S:
        """The section ``model`` of this configuration."""
        value = (self.__pydantic_extra__ or {}).get(model.key)
        if isinstance(value, model):
            return value
        raise ConfigError(
            self._source,
            model.key,
            f"section {model.key!r} is not a {model.__name__}",
            f"register {model.__name__} under the 'beluga.config' entry-point group",
        )

    @property
    def source(self) -> str:
        """Where this configuration came from (a file path, or ``<python>``)."""
        return self._source


def _load_section(name: str, source: str) -> type[Section]:
    """The section model registered as ``name``; a plugin whose module is missing or broken is
    one :class:`ConfigError` naming its entry point and the fix, never a traceback."""
    entry = next((e for e in sections.entries() if e.name == name), None)
    try:
        return sections.get(name)
    except Exception as exc:
        target = entry.target if entry is not None and isinstance(entry.target, str) else "?"
        dist = entry.source if entry is not None else "plugin"
        detail = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        raise ConfigError(
            source,
            name,
            f"section {name!r} comes from the entry point {name} = {target!r} in the group "
            f"'beluga.config' (package {dist}), which cannot be loaded ({detail})",
            f"reinstall or fix the package {dist}, or uninstall it (pip uninstall {dist})",
        ) from None


def _section(model: type[Section], value: Any, source: str) -> Section:
    if isinstance(value, model):
        return value
    if value is None:
        return model()
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise from_validation(
            exc, source, model, (model.key,), hidden=1 if model.by_name else 0
        ) from None
