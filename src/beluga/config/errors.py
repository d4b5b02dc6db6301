"""The configuration error, and the translation of pydantic's errors into it.

Every failure names the file, the key path and the fix, because the person reading it is usually
deploying, not developing.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from beluga.core.errors import BelugaError, ErrorCode

__all__ = ["ConfigError", "from_validation", "unknown_key"]


class ConfigError(BelugaError):
    """A configuration problem, located by file and key path.

    The message reads ``beluga.yaml (llm.providers.gpt.api_key): problem. Fix: fix``: the key
    path is in parentheses because ``api_key: <words>`` is what a leaked credential looks like,
    and the redactor would mask the first word of the problem.
    """

    def __init__(self, source: str, key_path: str, problem: str, fix: str) -> None:
        self.source = source
        self.key_path = key_path
        self.fix = fix
        where = f"{source} ({key_path})" if key_path else source
        super().__init__("config.load", ErrorCode.INVALID_CONFIG, f"{where}: {problem}. Fix: {fix}")


def from_validation(
    exc: ValidationError,
    source: str,
    model: type[BaseModel],
    prefix: Sequence[str] = (),
    *,
    hidden: int = 0,
) -> ConfigError:
    """The first error of ``exc`` (raised validating ``model`` at ``prefix``) as a ConfigError;
    the key path leaves out the first ``hidden`` parts of the error's location."""
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    key_path = ".".join([*prefix, *loc[hidden:]])
    kind = err["type"]
    if kind == "extra_forbidden":
        inner = _model_at(model, loc[:-1])
        allowed = sorted(inner.model_fields) if inner else []
        return unknown_key(source, key_path, loc[-1], allowed)
    if kind == "missing":
        return ConfigError(source, key_path, "required key is missing", "add it")
    if kind.startswith("literal_error"):
        ctx = err.get("ctx", {})
        return ConfigError(
            source,
            key_path,
            f"invalid value {err.get('input')!r}",
            f"use one of {ctx.get('expected', '')}",
        )
    count = len(exc.errors())
    more = f" ({count - 1} more problem(s) after this one)" if count > 1 else ""
    fix = err.get("ctx", {}).get("fix")  # a validator that knows the fix says it
    return ConfigError(
        source,
        key_path,
        f"{err['msg']}{more}",
        str(fix) if fix else "give a value of the expected type (see the example beluga.yaml)",
    )


def unknown_key(source: str, key_path: str, key: str, allowed: Sequence[str]) -> ConfigError:
    """An unknown key, with the closest allowed one suggested."""
    guess = difflib.get_close_matches(key, allowed, n=1)
    fix = f"did you mean {guess[0]!r}?" if guess else f"allowed keys here: {', '.join(allowed)}"
    return ConfigError(source, key_path, "unknown key", f"remove it or rename it; {fix}")


def _model_at(model: type[BaseModel], loc: list[str]) -> type[BaseModel] | None:
    """The model class found at ``loc`` under ``model``, through nested models and dicts."""
    annotation: Any = model
    for part in loc:
        if get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]  # ``part`` is a key of the mapping
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part)
            if field is None:
                return None
            annotation = field.annotation
        else:
            return None
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )
