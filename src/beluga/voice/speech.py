"""Thin pipeline processors over the STT and TTS protocols.

:class:`STTProcessor` buffers the user's audio and, when the turn ends
(``UserStoppedSpeakingFrame``), pushes the engine's final :class:`TranscriptFrame`;
audio and control frames pass on unchanged. The stop frame is urgent and can overtake audio
still queued; what is buffered then is transcribed at the next stop or at the end.
:class:`TTSProcessor` speaks each
:class:`TextFrame` as :class:`TTSAudioFrame` chunks; it is interruptible, so barge-in cancels
its in-flight synthesis.
"""

from __future__ import annotations

from beluga.voice.frames import InputAudioFrame, TextFrame, UserStoppedSpeakingFrame
from beluga.voice.pipeline import FrameProcessor, handles
from beluga.voice.stt.base import STT
from beluga.voice.tts.base import TTS

__all__ = ["STTProcessor", "TTSProcessor"]


class STTProcessor(FrameProcessor):
    """Transcribes each user turn with ``stt`` (one final transcript per turn)."""

    order = 400

    def __init__(self, stt: STT, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.stt = stt
        self._buffer = bytearray()
        self._rate = 16000

    async def start(self) -> None:
        """Load the engine's model before the first turn (engines with a ``load()``), so the
        first transcript does not pay for it."""
        load = getattr(self.stt, "load", None)
        if callable(load):
            await load()

    @handles(InputAudioFrame)
    async def on_audio(self, frame: InputAudioFrame) -> None:
        """Keep the audio for the turn's transcript, and pass it on."""
        self._buffer.extend(frame.pcm)
        self._rate = frame.sample_rate
        await self.push(frame)

    @handles(UserStoppedSpeakingFrame)
    async def on_stop(self, frame: UserStoppedSpeakingFrame) -> None:
        """The turn ended: pass the frame on, then the transcript."""
        await self.push(frame)
        await self._transcribe()

    async def on_end(self) -> None:
        """Transcribe audio still buffered when the pipeline ends."""
        await self._transcribe()

    async def _transcribe(self) -> None:
        pcm, self._buffer = bytes(self._buffer), bytearray()
        if pcm:
            transcript = await self.stt.transcribe(pcm, self._rate)
            if transcript.text:
                await self.push(transcript)


class TTSProcessor(FrameProcessor):
    """Speaks each text frame with ``tts``."""

    order = 700
    interruptible = True

    def __init__(self, tts: TTS, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.tts = tts

    @handles(TextFrame)
    async def on_text(self, frame: TextFrame) -> None:
        """Audio chunks for the text, as the engine yields them."""
        async for chunk in self.tts.synthesize(frame.text):
            await self.push(chunk)
