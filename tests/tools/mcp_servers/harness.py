"""Start the demo MCP server over stdio or streamable HTTP for a test, and stop it after.

Waits are generous (the suite runs on loaded 2-core machines) and nothing is timed: a wait
that runs out fails with what the server printed.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEMO", "STARTUP", "HttpDemo", "dead_port", "http_demo", "process_gone"]

DEMO = str(Path(__file__).with_name("demo.py"))
STARTUP = 60.0
"""Seconds a server may take to start (Python plus the SDK's imports on a busy machine)."""


@dataclass
class HttpDemo:
    """A running HTTP demo server: its URL, and a way to bring it back after a crash."""

    port: int
    process: subprocess.Popen[str]
    token: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def restart(self) -> None:
        """Start the server again on the same port (after it crashed or was killed)."""
        _stop(self.process)
        self.process = _start(self.port, self.token)[1]


@contextmanager
def http_demo(token: str | None = None) -> Iterator[HttpDemo]:
    """The demo server over HTTP; with ``token``, it refuses requests without that bearer."""
    port, process = _start(0, token)
    demo = HttpDemo(port, process, token)
    try:
        yield demo
    finally:
        _stop(demo.process)


def dead_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def process_gone(pid: int, within: float = STARTUP) -> bool:
    """Whether process ``pid`` has ended (waiting up to ``within`` seconds for it to go)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _start(port: int, token: str | None) -> tuple[int, subprocess.Popen[str]]:
    # stderr to a file: a pipe nobody reads could fill up and stall the server.
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            [sys.executable, DEMO, "http", str(port), *([token] if token else [])],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], STARTUP)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("PORT "):
            _stop(process)
            errors.seek(0)
            raise RuntimeError(
                f"the MCP demo server did not start: {line!r} {errors.read()[-2000:]}"
            )
    return int(line.split()[1]), process


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=STARTUP)
    if process.stdout is not None:
        process.stdout.close()
