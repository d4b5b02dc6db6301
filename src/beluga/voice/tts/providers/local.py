"""The offline defaults: hibari (neural, 24 kHz, voice inside the wheel) and espeak-ng.

hibari's default voice ships in the ``hibari-tts`` wheel; other voices would download on first
use, so they are refused unless already in hibari's cache (we never download weights at run
time). Synthesis runs in a worker thread, sentence by sentence, so the first sentence plays
while the next is computed. espeak-ng (Debian ``espeak-ng``) is the robotic fallback: the
command is run with ``--stdout`` and the text on stdin (so no text can be taken for an option),
and its WAV output parsed. :func:`local_tts` picks hibari when installed, else espeak-ng.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import threading
from collections.abc import AsyncIterator
from typing import Any

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.frames import TTSAudioFrame
from beluga.voice.tts.base import SentenceStream, split_sentences

__all__ = ["EspeakTTS", "HibariTTS", "local_tts"]


def _sentences(text: str) -> list[str]:
    done, rest = split_sentences(text)
    return [*done, rest.strip()] if rest.strip() else done


class HibariTTS(AsyncClosing):
    """hibari text-to-speech (24 kHz); ``voice`` must be bundled or already cached."""

    provider = "hibari"
    sample_rate = 24000

    def __init__(self, model: str = "heart", *, speed: float = 1.0, threads: int = 1) -> None:
        self.model = model
        self._speed = speed
        self._threads = threads
        self._engine: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HibariTTS(voice={self.model!r})"

    def _load(self) -> Any:
        with self._lock:
            if self._engine is None:
                try:
                    from hibari import Hibari
                    from hibari.voices import voice_path
                except ImportError as exc:
                    raise BelugaError(
                        "voice.tts.hibari",
                        ErrorCode.INVALID_CONFIG,
                        "hibari-tts is not installed: pip install 'beluga-ai[voice]'",
                    ) from exc
                try:
                    path = voice_path(self.model, download_missing=False)
                except (ValueError, FileNotFoundError) as exc:
                    raise BelugaError(
                        "voice.tts.hibari",
                        ErrorCode.INVALID_CONFIG,
                        f"hibari voice {self.model!r} is not installed (only 'heart' ships in "
                        "the wheel; beluga never downloads voices): use voice 'heart'",
                    ) from exc
                self._engine = Hibari(self.model, model=path, threads=self._threads)
            return self._engine

    def _speak(self, sentence: str) -> bytes:
        from beluga.voice.audio import float32_to_pcm16

        return float32_to_pcm16(self._load()(sentence, speed=self._speed))

    async def synthesize(self, text: str) -> AsyncIterator[TTSAudioFrame]:
        """One frame per sentence, each computed in a thread as the previous one plays."""
        for sentence in _sentences(text):
            pcm = await asyncio.to_thread(self._speak, sentence)
            yield TTSAudioFrame(pcm, self.sample_rate, text=sentence)

    def stream(self) -> SentenceStream:
        """Text in pieces; each complete sentence is spoken at once."""
        return SentenceStream(self.synthesize)

    async def aclose(self) -> None:
        """Drop the model."""
        self._engine = None


class EspeakTTS(AsyncClosing):
    """espeak-ng through its command line (22.05 kHz); ``model`` is an espeak voice (``en-us``)."""

    provider = "espeak"
    sample_rate = 22050

    def __init__(
        self, model: str = "en-us", *, words_per_minute: int = 175, command: str = "espeak-ng"
    ) -> None:
        self.model = model
        self._wpm = words_per_minute
        self._command = command

    def __repr__(self) -> str:
        return f"EspeakTTS(voice={self.model!r})"

    async def _speak(self, sentence: str) -> TTSAudioFrame:
        from beluga.voice.audio import read_wav

        exe = shutil.which(self._command)
        if exe is None:
            raise BelugaError(
                "voice.tts.espeak",
                ErrorCode.INVALID_CONFIG,
                f"{self._command!r} not found: install it (apt-get install espeak-ng)",
            )
        process = await asyncio.create_subprocess_exec(
            exe,
            "--stdout",
            "-v",
            self.model,
            "-s",
            str(self._wpm),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate(sentence.encode("utf-8"))
        if process.returncode != 0:
            raise BelugaError(
                "voice.tts.espeak",
                ErrorCode.INVALID_REQUEST,
                f"espeak-ng failed (exit {process.returncode}): "
                f"{err.decode('utf-8', 'replace').strip()[:300]}; check the voice name",
            )
        wav = read_wav(out)
        return TTSAudioFrame(wav.mono(), wav.sample_rate, text=sentence)

    async def synthesize(self, text: str) -> AsyncIterator[TTSAudioFrame]:
        """One frame per sentence."""
        for sentence in _sentences(text):
            yield await self._speak(sentence)

    def stream(self) -> SentenceStream:
        """Text in pieces; each complete sentence is spoken at once."""
        return SentenceStream(self.synthesize)

    async def aclose(self) -> None:
        """Nothing held between calls."""


def local_tts(model: str | None = None, **options: Any) -> HibariTTS | EspeakTTS:
    """hibari when it is installed, else espeak-ng: the no-key default."""
    if importlib.util.find_spec("hibari") is not None:
        return HibariTTS(model or "heart", **options)
    return EspeakTTS(model or "en-us", **options)
