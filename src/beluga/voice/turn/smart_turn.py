"""Smart Turn v3 (pipecat's BSD-2 audio end-of-turn model) with onnxruntime and numpy.

The ONNX file ships inside the ``pipecat-ai`` wheel (``pipecat/audio/turn/smart_turn/data/
smart-turn-v3.2-cpu.onnx``); install that wheel with ``pip install --no-deps pipecat-ai==1.14.0``
(``make models``) — its own dependencies are ~500 MB and we import nothing from it. The model
takes Whisper log-mel features (80 bins x 800 frames = the last 8 s of 16 kHz audio, zero-padded
at the front) and returns P(turn complete). One call costs ~100 ms of CPU, so it runs in a worker
thread, never on the event loop; the session is shared by every detector in the process.

If the model says "not finished", the turn still ends after ``max_silence_secs`` of silence, so
a user who trails off is never left hanging.
"""

from __future__ import annotations

import asyncio
import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.registry import require
from beluga.voice.turn._features import log_mel
from beluga.voice.turn.base import TurnPrediction

__all__ = ["SmartTurnDetector", "smart_turn_model_path"]

_RATE = 16000
_SECONDS = 8


def smart_turn_model_path() -> Path:
    """The smart-turn ONNX file inside the installed ``pipecat-ai`` wheel (not imported)."""
    spec = importlib.util.find_spec("pipecat")
    for loc in list(spec.submodule_search_locations or []) if spec else []:
        path = Path(loc) / "audio" / "turn" / "smart_turn" / "data" / "smart-turn-v3.2-cpu.onnx"
        if path.is_file():
            return path
    raise BelugaError(
        "voice.turn.smart_turn",
        ErrorCode.INVALID_CONFIG,
        "the smart-turn model was not found: install the wheel that ships it, without its "
        "dependencies: `pip install --no-deps pipecat-ai==1.14.0` (or `make models`), "
        "or pass model_path= to the ONNX file",
    )


@lru_cache(maxsize=2)
def _session(path: str) -> Any:
    ort: Any = require("onnxruntime", extra="voice")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])


def _last_seconds(audio: npt.NDArray[np.int16]) -> npt.NDArray[np.float32]:
    n = _RATE * _SECONDS
    x = audio[-n:].astype(np.float32) * (1.0 / 32768.0)
    return np.pad(x, (n - x.size, 0)) if x.size < n else x


class SmartTurnDetector:
    """End of turn when smart-turn's P(complete) exceeds ``threshold``."""

    def __init__(
        self,
        *,
        threshold: float = 0.5,
        max_silence_secs: float = 3.0,
        model_path: str | None = None,
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise BelugaError(
                "voice.turn.smart_turn",
                ErrorCode.INVALID_CONFIG,
                f"threshold must be between 0 and 1, got {threshold}",
            )
        self.threshold = threshold
        self.max_silence_secs = max_silence_secs
        self.model_path = Path(model_path) if model_path else smart_turn_model_path()
        self._session = _session(str(self.model_path))

    @property
    def sample_rate(self) -> int:
        return _RATE

    def probability(self, audio: npt.NDArray[np.int16]) -> float:
        """P(complete) of the turn whose 16 kHz audio is ``audio`` (blocking, ~100 ms)."""
        features = log_mel(_last_seconds(audio))[None, :, :]
        (out,) = self._session.run(None, {"input_features": features})
        return float(np.asarray(out).reshape(-1)[0])

    async def predict(self, audio: npt.NDArray[np.int16], *, silence_secs: float) -> TurnPrediction:
        prob = await asyncio.to_thread(self.probability, audio)
        done = prob > self.threshold or silence_secs >= self.max_silence_secs
        return TurnPrediction(done, prob, None if done else self.max_silence_secs)
