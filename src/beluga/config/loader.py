"""Load ``beluga.yaml``: YAML, then ``${VAR}``/``${VAR:-default}`` expansion, then environment
overrides (``BELUGA_LLM__DEFAULT=openai``), then validation.

Every failure is a :class:`ConfigError` naming the file, the key path and the fix, because the
person reading it is usually deploying, not developing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from beluga.config._masking import is_secret_key
from beluga.config._yaml import MAX_BYTES, load_yaml, read_config_file
from beluga.config.errors import ConfigError, from_validation
from beluga.config.models import BelugaConfig, sections
from beluga.core.redaction import register_secret

__all__ = ["find_config", "load_config", "parse_config"]

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_ENV_PREFIX = "BELUGA_"


def find_config(path: str | Path | None = None) -> Path | None:
    """The config file to use: ``path``, else ``$BELUGA_CONFIG``, else ``./beluga.yaml``."""
    if path is not None:
        return Path(path)
    if env := os.environ.get("BELUGA_CONFIG"):
        return Path(env)
    default = Path("beluga.yaml")
    return default if default.is_file() else None


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    max_bytes: int = MAX_BYTES,
) -> BelugaConfig:
    """Read and validate the configuration; no file means the offline defaults.

    The file must be a regular UTF-8 file of at most ``max_bytes`` (1 MiB by default); aliases,
    nesting and expansion are bounded before anything is expanded (see ``beluga.config._yaml``).
    """
    env = os.environ if env is None else env
    file = find_config(path)
    if file is None:
        return parse_config({}, source="<defaults>", env=env)
    source = str(file)
    data = load_yaml(read_config_file(file, max_bytes=max_bytes), source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            source,
            "",
            f"the top level is a {type(data).__name__}",
            "make it a mapping such as 'llm: {default: local}'",
        )
    return parse_config(data, source=source, env=env)


def parse_config(
    data: Mapping[str, Any], *, source: str = "<python>", env: Mapping[str, str] | None = None
) -> BelugaConfig:
    """Validate an already-parsed mapping (expansion and environment overrides included)."""
    env = os.environ if env is None else env
    expanded = _expand(dict(data), env, source, ())
    _apply_env_overrides(expanded, env, source)
    try:
        config = BelugaConfig.model_validate(expanded, context={"source": source})
    except ValidationError as exc:
        raise from_validation(exc, source, BelugaConfig) from None
    config._source = source
    return config


def _expand(value: Any, env: Mapping[str, str], source: str, path: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        expanded = _VAR.sub(lambda m: _lookup(m, env, source, path), value)
        if path and is_secret_key(path[-1]):
            register_secret(expanded)
        return expanded
    if isinstance(value, dict):
        return {k: _expand(v, env, source, (*path, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, source, (*path, str(i))) for i, v in enumerate(value)]
    return value


def _lookup(
    match: re.Match[str], env: Mapping[str, str], source: str, path: tuple[str, ...]
) -> str:
    if match.group(0) == "$$":
        return "$"
    name, default = match.group(1), match.group(2)
    if name in env and env[name] != "":
        return env[name]
    if default is not None:
        return default
    raise ConfigError(
        source,
        ".".join(path),
        f"environment variable {name} is not set",
        f"export {name}=..., or give a default: ${{{name}:-value}}",
    )


def _apply_env_overrides(data: dict[str, Any], env: Mapping[str, str], source: str) -> None:
    """``BELUGA_LLM__PROVIDERS__GPT__TIMEOUT=2.5`` sets ``llm.providers.gpt.timeout``.

    Values are YAML (``2.5`` is a number, ``[a, b]`` a list), read within the same bounds as the
    file; a secret key's value is taken as written, since a key is text whatever it looks like.
    """
    for key, raw in env.items():
        if not key.startswith(_ENV_PREFIX) or "__" not in key:
            continue
        parts = [p.lower() for p in key[len(_ENV_PREFIX) :].split("__")]
        if parts[0] not in sections:
            continue
        where = f"{source} + ${key}"
        node = data
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(
                    where, ".".join(parts), f"{part} is not a mapping", f"unset {key}"
                )
            node = child
        if is_secret_key(parts[-1]) or not raw:
            value: Any = raw
        else:
            value = load_yaml(raw, where, key_path=".".join(parts), what=f"${key}")
        if is_secret_key(parts[-1]) and isinstance(value, str):
            register_secret(value)
        node[parts[-1]] = value
