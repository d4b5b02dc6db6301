"""The STT and TTS processors in a pipeline run, on the real offline engines."""

from __future__ import annotations

import shutil

import pytest

from beluga.voice.frames import (
    InputAudioFrame,
    TextFrame,
    TranscriptFrame,
    TTSAudioFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from beluga.voice.speech import STTProcessor, TTSProcessor
from beluga.voice.stt import create as create_stt
from beluga.voice.testing import run_processor
from beluga.voice.tts.providers.local import EspeakTTS

pytest.importorskip("faster_whisper")
pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="no espeak-ng")


async def test_tts_then_stt_processors() -> None:
    spoken, _ = await run_processor(TTSProcessor(EspeakTTS()), [TextFrame("Good morning.")])
    audio = [f for f in spoken if isinstance(f, TTSAudioFrame)]
    assert audio and audio[0].text == "Good morning."

    frames = [
        UserStartedSpeakingFrame(),
        *(InputAudioFrame(f.pcm, f.sample_rate) for f in audio),
        UserStoppedSpeakingFrame(),
    ]
    out, _ = await run_processor(STTProcessor(create_stt("local")), frames)
    transcripts = [f for f in out if isinstance(f, TranscriptFrame)]
    assert [t.text.lower().strip(".") for t in transcripts] == ["good morning"]
    assert sum(isinstance(f, InputAudioFrame) for f in out) == len(audio)  # audio passes on
