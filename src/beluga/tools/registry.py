"""Tools by name and by import path, for configuration (``beluga.yaml`` agents).

Built-in tool factories are registered by name (``http_fetch``, ``calculator``, ``read_file``)
in :data:`registry`, and plugins add theirs through the ``beluga.tools`` entry-point
group; :func:`create_tool` builds one with its options. :func:`load_tool` resolves either a
registered name or an import path ``"package.module:function"`` (or ``:object``, a Tool or a
Toolset already), so a YAML file can name any tool a project defines.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.registry import Registry
from beluga.tools.base import Tool, Toolset
from beluga.tools.function import FunctionTool

__all__ = ["ToolFactory", "create_tool", "load_tool", "registry"]

ToolFactory = Callable[..., Tool]
"""Builds a tool from keyword options (``http_fetch(allowed_hosts=[...])``)."""

registry: Registry[ToolFactory] = Registry("tool", "beluga.tools")
registry.register("http_fetch", "beluga.tools.builtins.fetch:http_fetch")
registry.register("calculator", "beluga.tools.builtins.arithmetic:calculator")
registry.register("read_file", "beluga.tools.builtins.files:read_file")

_OP = "tools.load"


def create_tool(name: str, **options: Any) -> Tool:
    """The registered tool ``name`` built with ``options``; a wrong option is an
    INVALID_CONFIG error naming the tool."""
    factory = registry.get(name)
    try:
        return factory(**options)
    except TypeError as exc:
        raise BelugaError(
            _OP,
            ErrorCode.INVALID_CONFIG,
            f"tool {name!r} does not take these options ({exc}); check its documentation",
            cause=exc,
        ) from exc


def load_tool(spec: str, **options: Any) -> Tool | Toolset:
    """A tool or toolset from ``spec``: a registered name (built with ``options``) or an
    import path ``"package.module:attribute"``.

    The attribute may be a Tool or Toolset (returned as is) or a typed function (made a
    :class:`FunctionTool`). Errors say which part failed: the module is not found, importing
    it failed, the attribute is missing, or it is neither a tool nor callable.
    """
    if ":" not in spec:
        return create_tool(spec, **options)
    if options:
        raise _error(f"{spec!r} is an import path; options are only for registered tools")
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise _error(f"{spec!r} is not an import path; write 'package.module:function'")
    target = _attribute(_module(module_name, spec), attribute, spec)
    if isinstance(target, type):
        raise _error(f"{spec!r} is a class; point at an instance of it, or at a function")
    if isinstance(target, Tool | Toolset):
        return target
    if callable(target):
        return FunctionTool(target)
    raise _error(
        f"{spec!r} is a {type(target).__name__}, not a tool: point at a typed function, a "
        "Tool or a Toolset"
    )


def _module(name: str, spec: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name != exc.name and not name.startswith(f"{exc.name}."):
            raise _error(
                f"importing {name!r} for {spec!r} failed: it needs the module {exc.name!r}, "
                "which is not installed",
                exc,
            ) from exc
        raise _error(
            f"no module {name!r} for {spec!r}; check the spelling and that its package is "
            "installed (or on PYTHONPATH)",
            exc,
            code=ErrorCode.NOT_FOUND,
        ) from exc
    except Exception as exc:
        raise _error(
            f"importing {name!r} for {spec!r} failed: {type(exc).__name__}: {exc}", exc
        ) from exc


def _attribute(module: Any, path: str, spec: str) -> Any:
    target = module
    for part in path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise _error(
                f"{spec!r}: {module.__name__} has no attribute {path!r}",
                code=ErrorCode.NOT_FOUND,
            ) from None
    return target


def _error(
    message: str, cause: BaseException | None = None, *, code: ErrorCode = ErrorCode.INVALID_CONFIG
) -> BelugaError:
    return BelugaError(_OP, code, message, cause=cause)
