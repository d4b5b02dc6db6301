"""Foundation shared by every area: errors, registries, middleware, streams, ids, run_sync."""

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.ids import new_id
from beluga.core.middleware import Middleware, apply, compose
from beluga.core.redaction import MASK, display_url, redact, register_secret, register_url
from beluga.core.registry import Registry, RegistryEntry, import_path, require
from beluga.core.sentinel import NOT_GIVEN, NotGiven
from beluga.core.streams import aclose, merge, tee, with_timeout
from beluga.core.sync import run_sync

__all__ = [
    "MASK",
    "NOT_GIVEN",
    "AsyncClosing",
    "BelugaError",
    "ErrorCode",
    "Middleware",
    "NotGiven",
    "Registry",
    "RegistryEntry",
    "aclose",
    "apply",
    "compose",
    "display_url",
    "import_path",
    "merge",
    "new_id",
    "redact",
    "register_secret",
    "register_url",
    "require",
    "run_sync",
    "tee",
    "with_timeout",
]
