"""Exit codes of ``beluga`` and the wrapper that turns framework errors into them.

0 success; 1 the operation failed (provider error, timeout, ...); 2 bad command-line usage
(Typer's own); 3 invalid configuration or a missing extra; 130 interrupted. A user error prints
one readable line with the fix, never a traceback (``BELUGA_DEBUG=1`` shows it).
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
            if os.environ.get("BELUGA_DEBUG"):
                raise
            err.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
            code = EXIT_CONFIG if exc.code is ErrorCode.INVALID_CONFIG else EXIT_FAILED
            raise typer.Exit(code) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]
