"""A loopback HTTP server that answers like a real service, with faults injected on demand.

:class:`ApiServer` is a :class:`~tests.support.replay_server.ReplayServer` whose replies come
from :meth:`ApiServer.handle` (a stateful fake of a service's API: a vector database, say)
unless a test queued replies with :meth:`enqueue`: those are served first, in order, so a test
injects a 4xx with the service's error body, a 5xx, a 429 with ``retry-after`` or a dropped
connection (``Reply(reset=True)``) exactly where it wants, and the next request reaches the
fake again. Every request is recorded in :attr:`requests`.
"""

from __future__ import annotations

import traceback
from abc import abstractmethod
from urllib.parse import parse_qs, urlsplit

from tests.support.replay_server import ReceivedRequest, ReplayServer, Reply

__all__ = ["ApiServer", "query_of"]


class ApiServer(ReplayServer):
    """Queued replies first, then the fake's own answers."""

    def __init__(self) -> None:
        super().__init__()
        self.failures: list[str] = []  # tracebacks of handle() bugs, asserted empty by tests

    @abstractmethod
    def handle(self, request: ReceivedRequest) -> Reply:
        """The service's answer to ``request``."""

    def _next(self, request: ReceivedRequest) -> Reply:
        self.requests.append(request)
        if self._queue:
            return self._queue.popleft()
        try:
            return self.handle(request)
        except Exception:
            self.failures.append(traceback.format_exc())
            return Reply.json({"error": "fake server bug, see server.failures"}, status=599)


def query_of(request: ReceivedRequest) -> dict[str, str]:
    """The query parameters of ``request`` (the last value of each)."""
    return {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query).items()}
