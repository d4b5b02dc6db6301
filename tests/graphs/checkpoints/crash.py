"""The kill -9 scenario every checkpoint store passes (see ``tests.graphs._crash_graph``)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from beluga.graphs.checkpoints import Checkpointer

ROOT = Path(__file__).resolve().parents[3]


def spawn(kind: str, target: str, run_id: str, log: Path, mode: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.graphs._crash_graph", kind, target, run_id, str(log), mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def kill_mid_graph_and_resume(
    kind: str, target: str, store: Checkpointer, run_id: str, log: Path
) -> None:
    """Run until the parallel step has stored two of its three branches, SIGKILL the process,
    resume in a fresh one, and check that nothing completed ran again."""
    proc = spawn(kind, target, run_id, log, "run")
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "the run never reached the parallel step"
            cp = await store.get(run_id)
            text = _read(log)
            if cp is not None and len(cp.writes) == 2 and "start slow" in text:
                break
            await asyncio.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    before = _read(log).splitlines()
    assert "done slow" not in before and "start final" not in before
    cp = await store.get(run_id)
    assert cp is not None and cp.step == 2 and sorted(t["node"] for t in cp.next) == ["part"] * 3
    assert sorted(w["update"]["parts"][0] for w in cp.writes.values()) == ["p1", "p2"]

    resumed = spawn(kind, target, run_id, log, "resume")
    _out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, err.decode()
    lines = _read(log).splitlines()
    starts = [line.split()[1] for line in lines if line.startswith("start ")]
    assert starts.count("a") == 1 and starts.count("b") == 1  # completed nodes: not re-run
    assert starts.count("p1") == 1 and starts.count("p2") == 1  # finished branches: kept
    assert starts.count("slow") == 2 and starts.count("final") == 1  # only the killed branch
    assert lines[-1] == "result p1+slow+p2@2"
    history = [m.status for m in await _history(store, run_id)]
    assert history[-1] == "done"


async def _history(store: Checkpointer, run_id: str) -> list[object]:
    return list(await store.history(run_id))


def _read(log: Path) -> str:
    return log.read_text() if log.exists() else ""
