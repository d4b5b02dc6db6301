"""Middleware: a function from a component to a component of the same protocol.

``compose(a, b, c)(model)`` is ``a(b(c(model)))``: the first middleware is the outermost, so it
sees the call first and the result last, as in ASGI stacks. :class:`Wrapper` is the base of the
objects middlewares return: it holds ``inner``, closes it, and is an async context manager like
what it wraps, so ``async with retrying()(model) as m`` releases the model at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import Generic, TypeVar

from beluga.core.closing import AsyncClosing

__all__ = ["Middleware", "Wrapper", "apply", "compose"]

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


class Wrapper(AsyncClosing, Generic[T]):
    """Holds the wrapped ``inner``; ``aclose`` (and leaving ``async with``) closes it.

    Each area's wrappers derive from it and forward the rest of their protocol."""

    def __init__(self, inner: T) -> None:
        self.inner = inner

    async def aclose(self) -> None:
        """Close the wrapped object, if it can be closed."""
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()

    @property
    def provider(self) -> str:
        """The wrapped provider's name, seen through wrappers that do not forward it, so
        metrics and spans name the real provider."""
        seen: object = self.inner
        for _ in range(32):  # a wrapper chain, never a cycle
            provider = getattr(seen, "provider", None)
            if isinstance(provider, str) and provider:
                return provider
            inner = getattr(seen, "inner", None)
            if inner is None:
                break
            seen = inner
        return type(seen).__name__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"
