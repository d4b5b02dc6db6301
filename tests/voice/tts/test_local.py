"""The offline TTS engines and the sentence streaming every non-streaming engine gets."""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice.tts import create, split_sentences
from beluga.voice.tts.providers.local import EspeakTTS, HibariTTS, local_tts

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="no espeak-ng")
needs_hibari = pytest.mark.skipif(importlib.util.find_spec("hibari") is None, reason="no hibari")


def test_split_sentences_keeps_the_unfinished_rest() -> None:
    done, rest = split_sentences('It is 3.5 degrees. "Really?" Yes! And then')
    assert done == ["It is 3.5 degrees.", '"Really?"', "Yes!"]
    assert rest == "And then"
    assert split_sentences("no end yet") == ([], "no end yet")


@needs_hibari
def test_local_prefers_hibari() -> None:
    assert isinstance(local_tts(), HibariTTS)
    assert isinstance(create("local"), HibariTTS)


@needs_hibari
async def test_hibari_refuses_a_voice_it_would_download() -> None:
    tts = HibariTTS("fenrir")
    with pytest.raises(BelugaError) as info:
        [f async for f in tts.synthesize("Hello.")]
    assert info.value.code is ErrorCode.INVALID_CONFIG
    assert "never downloads" in info.value.message


@needs_hibari
async def test_hibari_yields_one_frame_per_sentence_at_24k() -> None:
    tts = create("hibari")
    frames = [f async for f in tts.synthesize("Hello there. How are you")]
    assert [f.text for f in frames] == ["Hello there.", "How are you"]
    assert all(f.sample_rate == 24000 and len(f.pcm) > 24000 for f in frames)


@needs_espeak
async def test_stream_speaks_each_sentence_as_it_completes() -> None:
    tts = EspeakTTS()
    async with tts.stream() as session:
        await session.send("Hello ")
        await session.send("there. How")
        iterator = aiter(session)
        first = await anext(iterator)  # spoken before the rest of the text exists
        assert first.text == "Hello there."
        await session.send(" are you")
        await session.finish()
        rest = [f async for f in iterator]
    assert [f.text for f in rest] == ["How are you"]
    assert first.sample_rate == 22050 and len(first.pcm) > 10000


async def test_missing_espeak_command_says_how_to_install() -> None:
    with pytest.raises(BelugaError) as info:
        [f async for f in EspeakTTS(command="espeak-ng-missing").synthesize("Hi.")]
    assert "apt-get install espeak-ng" in info.value.message


async def test_finished_stream_refuses_more_text() -> None:
    session = EspeakTTS().stream()
    await session.finish()
    with pytest.raises(BelugaError):
        await session.send("late")
