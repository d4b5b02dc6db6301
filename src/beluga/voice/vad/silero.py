"""Silero VAD v6 with onnxruntime and numpy alone (no torch), for many sessions per process.

The model ships inside the ``silero-vad`` wheel (``silero_vad/data/silero_vad.onnx``); we find
the file with :func:`importlib.util.find_spec` and never import ``silero_vad`` (it imports torch).
Install it with ``pip install --no-deps silero-vad==6.2.3`` (``make models``). Per window
the model takes 512 new samples plus the previous window's last 64 at 16 kHz (256 + 32 at 8 kHz)
and a recurrent state of shape (2, B, 128); the batch dimension B lets one ONNX run serve many
sessions, each with its own state and context.

Three ways to run it (``mode``), measured by ``benchmarks/voice_vad.py``: N sessions, each
feeding 20 ms frames of espeak-ng speech and silence paced in real time (6 s), on this 2-core
machine while other jobs kept its load average at 18-25 (so our process got a small share of
the CPUs; figures are lower bounds). Lag = frame handled minus frame due; CPU % of one core per
session; "real time" = p99 lag < 100 ms and no growing lag. Memory: <= 0.3 MB RSS per session in
every mode (state, context, buffers; the 2.3 MB model is shared).

====== ===== ===================== ========= ====================
mode     N    lag p50 / p99 (ms)    CPU %/s   real time
====== ===== ===================== ========= ====================
batch    50        3.1 / 11.6         0.54    yes (backlog <= 30)
thread   50        7.1 / 70.9         0.76    yes
inline   50       56 / 897            0.53    no
batch   100        4.6 / 260          0.40    no (p99); yes at load 7-12: 3.9 / 13.7
thread  100     2179 / 3088           0.45    no (at load 7-12: 12.8 / 356, no)
inline  100     3049 / 10254          0.23    no
batch   200     1213 / 4506           0.17    no (CPU-starved: 34 % of a core in all)
batch   300     5150 / 6536           0.14    no (CPU-starved); thread, inline worse
====== ===== ===================== ========= ====================

The model alone costs 0.117 ms of CPU per window (0.36 % of a core per session) one at a time
and 0.059 ms in batches of 64 (0.18 %): batching halves the inference cost, and its one
onnxruntime call per batch, in a worker thread, keeps the event loop free where ``inline``
blocks it and ``thread`` pays a thread hop per window. At ~0.4-0.5 % of a core per session
all told, one core carries ~200 batched sessions (the Python side is single-threaded); 200 and
300 could not be shown in real time here because the shared machine gave us a fraction of a
core. Choice: ``batch`` (default; up to 64 windows or 2 ms per batch). ``thread`` and ``inline``
stay for one-session tools and for measuring. An engine belongs to the event loop it first ran
on (the batcher is per loop).
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.registry import require
from beluga.voice.vad.base import check_rate

__all__ = ["Mode", "SileroBatcher", "SileroModel", "SileroVAD", "silero_model_path"]

Mode = Literal["batch", "thread", "inline"]
"""How a session runs Silero: batched across sessions, in a worker thread, or inline."""
_STATE = 128


def silero_model_path() -> Path:
    """Where an installed wheel keeps the Silero ONNX model (found without importing it).

    ``silero-vad`` has it under ``data/``; ``pipecat-ai`` (installed for smart-turn) ships the
    same v6 file under ``audio/vad/data/``, so either wheel is enough.
    """
    for package, sub in (("silero_vad", ("data",)), ("pipecat", ("audio", "vad", "data"))):
        spec = importlib.util.find_spec(package)
        for loc in list(spec.submodule_search_locations or []) if spec else []:
            path = Path(loc).joinpath(*sub, "silero_vad.onnx")
            if path.is_file():
                return path
    raise BelugaError(
        "voice.vad.silero",
        ErrorCode.INVALID_CONFIG,
        "the Silero VAD model was not found: install it without torch with "
        "`pip install --no-deps silero-vad==6.2.3` (or `make models`), "
        "or pass model_path= to an ONNX file",
    )


class SileroModel:
    """One onnxruntime session of the Silero model, shared by every session in the process.

    ``run`` is thread-safe (onnxruntime sessions are) and releases the GIL while it computes.
    """

    def __init__(self, path: Path | str | None = None, *, threads: int = 1) -> None:
        ort: Any = require("onnxruntime", extra="voice")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.path = Path(path) if path else silero_model_path()
        self._session = ort.InferenceSession(
            str(self.path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._sr = {rate: np.array(rate, dtype=np.int64) for rate in (8000, 16000)}
        # onnxruntime's first run allocates (~100 ms here): do it now, not on a live frame.
        self.run(np.zeros((1, 576), np.float32), np.zeros((2, 1, _STATE), np.float32), 16000)

    def run(
        self, x: npt.NDArray[np.float32], state: npt.NDArray[np.float32], sample_rate: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Probabilities (B,) and new states (2, B, 128) for inputs (B, context + window)."""
        out, new_state = self._session.run(
            None, {"input": x, "state": state, "sr": self._sr[sample_rate]}
        )
        return np.asarray(out, dtype=np.float32).reshape(-1), np.asarray(new_state)

    @staticmethod
    def shared(path: Path | str | None = None) -> SileroModel:
        """The process-wide model for ``path`` (the wheel's file by default), loaded once."""
        return _shared(str(path) if path else "")


@lru_cache(maxsize=4)
def _shared(path: str) -> SileroModel:
    return SileroModel(path or None)


_executor_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """A small process-wide pool for inference off the event loop (2 workers: this box has 2)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="beluga-vad")
        return _executor


class SileroBatcher:
    """Collects windows from many sessions and runs them as one batch, off the event loop.

    A batch leaves when ``max_batch`` windows are waiting or ``max_wait`` seconds after its first
    window arrived, whichever comes first. ``backlog`` counts windows waiting or in flight.
    """

    def __init__(
        self,
        model: SileroModel,
        sample_rate: int = 16000,
        *,
        max_batch: int = 64,
        max_wait: float = 0.002,
    ) -> None:
        self.model = model
        self.sample_rate = sample_rate
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._x: list[npt.NDArray[np.float32]] = []
        self._states: list[npt.NDArray[np.float32]] = []
        self._futures: list[asyncio.Future[tuple[float, npt.NDArray[np.float32]]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self.in_flight = 0
        self.batches = 0

    @property
    def backlog(self) -> int:
        return len(self._futures) + self.in_flight

    async def submit(
        self, x: npt.NDArray[np.float32], state: npt.NDArray[np.float32]
    ) -> tuple[float, npt.NDArray[np.float32]]:
        """Probability and new state (2, 1, 128) of one session's input row ``x``."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[tuple[float, npt.NDArray[np.float32]]] = loop.create_future()
        self._x.append(x)
        self._states.append(state)
        self._futures.append(fut)
        if len(self._futures) >= self.max_batch:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.max_wait, self._flush)
        return await fut

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._futures:
            return
        xs, states, futures = self._x, self._states, self._futures
        self._x, self._states, self._futures = [], [], []
        self.in_flight += len(futures)
        self.batches += 1
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(
            _pool(),
            self.model.run,
            np.stack(xs),
            np.concatenate(states, axis=1),
            self.sample_rate,
        )
        job.add_done_callback(lambda done: self._deliver(done, futures))

    def _deliver(
        self,
        done: asyncio.Future[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]],
        futures: list[asyncio.Future[tuple[float, npt.NDArray[np.float32]]]],
    ) -> None:
        self.in_flight -= len(futures)
        exc = done.exception()
        if exc is not None:
            error = (
                exc
                if isinstance(exc, BelugaError)
                else BelugaError(
                    "voice.vad.silero",
                    ErrorCode.INTERNAL,
                    f"Silero inference failed for a batch of {len(futures)} windows: {exc}",
                    cause=exc,
                )
            )
            for fut in futures:
                if not fut.done():
                    fut.set_exception(error)
            return
        probs, states = done.result()
        for i, fut in enumerate(futures):
            if not fut.done():
                fut.set_result((float(probs[i]), states[:, i : i + 1, :].copy()))


_batchers: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[int, int], SileroBatcher]
] = weakref.WeakKeyDictionary()


def _loop_batcher(model: SileroModel, sample_rate: int) -> SileroBatcher:
    """The batcher this event loop shares for ``model`` at ``sample_rate`` (gone with the loop)."""
    per_loop = _batchers.setdefault(asyncio.get_running_loop(), {})
    key = (id(model), sample_rate)
    batcher = per_loop.get(key)
    if batcher is None:
        batcher = per_loop[key] = SileroBatcher(model, sample_rate)
    return batcher


class SileroVAD:
    """A session's Silero VAD engine (its own recurrent state and context, a shared model)."""

    def __init__(
        self,
        *,
        sample_rate: int = 16000,
        mode: Mode = "batch",
        model: SileroModel | None = None,
        model_path: str | None = None,
        batcher: SileroBatcher | None = None,
    ) -> None:
        self._rate = check_rate("silero", sample_rate, (8000, 16000))
        if mode not in ("batch", "thread", "inline"):
            raise BelugaError(
                "voice.vad.silero",
                ErrorCode.INVALID_CONFIG,
                f"mode must be 'batch', 'thread' or 'inline', got {mode!r}",
            )
        self.mode: Mode = mode
        self.model = model or SileroModel.shared(model_path)
        self._batcher = batcher
        self._window = 512 if sample_rate == 16000 else 256
        self._context_len = 64 if sample_rate == 16000 else 32
        self._x = np.zeros((1, self._context_len + self._window), dtype=np.float32)
        self._state = np.zeros((2, 1, _STATE), dtype=np.float32)

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def window_samples(self) -> int:
        return self._window

    def _prepare(self, window: npt.NDArray[np.int16]) -> npt.NDArray[np.float32]:
        if window.size != self._window:
            raise BelugaError(
                "voice.vad.silero",
                ErrorCode.INVALID_REQUEST,
                f"a Silero window is {self._window} samples at {self._rate} Hz, got "
                f"{window.size}: feed it through VADAnalyzer, which re-chunks",
            )
        x = self._x
        x[0, : self._context_len] = x[0, -self._context_len :]
        x[0, self._context_len :] = window.astype(np.float32) * (1.0 / 32768.0)
        return x

    async def confidence(self, window: npt.NDArray[np.int16]) -> float:
        """Speech probability of one window, updating this session's state."""
        x = self._prepare(window)
        if self.mode == "batch":
            if self._batcher is None:  # the running loop's shared batcher, looked up once
                self._batcher = _loop_batcher(self.model, self._rate)
            prob, self._state = await self._batcher.submit(x[0].copy(), self._state)
            return prob
        if self.mode == "thread":
            loop = asyncio.get_running_loop()
            probs, self._state = await loop.run_in_executor(
                _pool(), self.model.run, x.copy(), self._state, self._rate
            )
        else:
            probs, self._state = self.model.run(x, self._state, self._rate)
        return float(probs[0])

    def confidence_sync(self, window: npt.NDArray[np.int16]) -> float:
        """Inline probability of one window (scripts, tests, reference for the batched path)."""
        probs, self._state = self.model.run(self._prepare(window), self._state, self._rate)
        return float(probs[0])

    def reset(self) -> None:
        self._x[:] = 0.0
        self._state = np.zeros((2, 1, _STATE), dtype=np.float32)
