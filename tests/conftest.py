"""Test-wide guards: no traffic leaves loopback, and no test reads the developer's config."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class NetworkBlockedError(RuntimeError):
    """A test tried to reach an address outside loopback."""


def _check(address: Any) -> None:
    if not isinstance(address, tuple):  # AF_UNIX paths and the like stay local
        return
    host = address[0]
    if host in ("localhost", ""):
        return
    try:
        if ipaddress.ip_address(host.split("%", 1)[0]).is_loopback:
            return
    except ValueError:
        pass
    raise NetworkBlockedError(f"tests may only connect to loopback; blocked {host}:{address[1]}")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(address)
    return _real_connect_ex(self, address)


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No developer config or key leaks into a test."""
    for name in ("BELUGA_CONFIG", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
