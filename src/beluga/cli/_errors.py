"""Exit codes of ``beluga`` and the wrapper that turns framework errors into them.

0 success; 1 the operation failed (provider error, timeout, ...); 2 bad command-line usage
(Typer's own); 3 invalid configuration or a missing extra; 130 interrupted. A user error prints
one readable line with the fix, never a traceback. ``BELUGA_DEBUG=1`` shows the traceback of an
operation that failed, but a configuration error stays one line (with the operation and the
kinds of its causes added): its traceback would quote the file, and a line of it may hold a key.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from beluga.core.errors import BelugaError, ErrorCode

__all__ = ["EXIT_CONFIG", "EXIT_FAILED", "EXIT_INTERRUPTED", "err", "friendly"]

EXIT_FAILED = 1
EXIT_CONFIG = 3
EXIT_INTERRUPTED = 130

err = Console(stderr=True, highlight=False)
F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """Framework errors become one line on stderr and a meaningful exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BelugaError as exc:
            is_config = exc.code is ErrorCode.INVALID_CONFIG
            debug = bool(os.environ.get("BELUGA_DEBUG"))
            if debug and not is_config:
                raise
            line = f"{exc.message}{_debug_context(exc) if debug else ''}"
            err.print(f"[bold red]error:[/] {escape(line)}", soft_wrap=True)
            raise typer.Exit(EXIT_CONFIG if is_config else EXIT_FAILED) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]


def _debug_context(exc: BelugaError) -> str:
    """`` (debug: op config.load; caused by ScannerError)``: what failed, never what it read."""
    causes: list[str] = []
    seen: set[int] = set()
    cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    while cause is not None and id(cause) not in seen and len(causes) < 5:
        seen.add(id(cause))
        causes.append(type(cause).__name__)
        cause = cause.__cause__ or (None if cause.__suppress_context__ else cause.__context__)
    chain = f"; caused by {' <- '.join(causes)}" if causes else ""
    return f" (debug: op {exc.op}{chain})"
