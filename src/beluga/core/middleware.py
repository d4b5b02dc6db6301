"""Middleware: a function from a component to a component of the same protocol.

``compose(a, b, c)(model)`` is ``a(b(c(model)))``: the first middleware is the outermost, so it
sees the call first and the result last, as in ASGI stacks.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import TypeVar

__all__ = ["Middleware", "apply", "compose"]

T = TypeVar("T")

Middleware = Callable[[T], T]


def compose(*middlewares: Middleware[T]) -> Middleware[T]:
    """Combine middlewares outside-in into one."""

    def composed(inner: T) -> T:
        return reduce(lambda acc, mw: mw(acc), reversed(middlewares), inner)

    return composed


def apply(inner: T, *middlewares: Middleware[T]) -> T:
    """Wrap ``inner`` in ``middlewares``; the first one listed is the outermost."""
    return compose(*middlewares)(inner)
