"""Fixtures for provider tests: a replay server per test, and no proxy in the way.

Spans are captured with the suite-wide ``telemetry`` fixture of ``tests/conftest.py`` (a process
has one global tracer provider).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.replay_server import ReplayServer

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """The HTTP client must talk to the replay server directly, never through a proxy."""
    for name in (*_PROXY_VARS, "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def server() -> AsyncIterator[ReplayServer]:
    async with ReplayServer() as replay:
        yield replay
