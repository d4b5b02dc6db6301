"""A replay server per test (loopback), and no reranker key or proxy in the way."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.replay_server import ReplayServer

_VARS = ("CO_API_KEY", "COHERE_API_KEY", "CO_API_URL", "VOYAGE_API_KEY", "JINA_API_KEY")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def server() -> AsyncIterator[ReplayServer]:
    async with ReplayServer() as replay:
        yield replay
