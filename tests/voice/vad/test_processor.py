"""VADProcessor in a pipeline: audio goes through untouched, speaking frames where speech is."""

from __future__ import annotations

import numpy as np

from beluga.voice.frames import InputAudioFrame, UserStartedSpeakingFrame, UserStoppedSpeakingFrame
from beluga.voice.testing import run_processor
from beluga.voice.vad import VADEventKind, VADParams, VADProcessor
from tests.voice.vad._speech import needs_espeak, speak


def frames(sig: np.ndarray, rate: int = 16000, ms: int = 20) -> list[InputAudioFrame]:
    n = rate * ms // 1000
    return [
        InputAudioFrame(sig[i : i + n].tobytes(), rate, timestamp=i / rate)
        for i in range(0, sig.size - n + 1, n)
    ]


@needs_espeak
async def test_silero_processor_forwards_audio_and_marks_speech() -> None:
    speech = speak("what is the weather in paris?")
    sig = np.concatenate([np.zeros(16000, np.int16), speech, np.zeros(16000, np.int16)])
    inputs = frames(sig)
    vad = VADProcessor("silero", params=VADParams(stop_secs=0.3))
    down, up = await run_processor(vad, inputs)
    audio = [f for f in down if isinstance(f, InputAudioFrame)]
    assert audio == inputs  # every frame forwarded, unchanged and in order
    marks = [type(f) for f in down if not isinstance(f, InputAudioFrame)]
    assert marks == [UserStartedSpeakingFrame, UserStoppedSpeakingFrame]
    assert [e.kind for e in vad.events] == [VADEventKind.STARTED, VADEventKind.STOPPED]
    assert 0.95 < vad.events[0].timestamp < 1.1
    assert up == []
    assert not vad.speaking


async def test_energy_processor_at_48k_input() -> None:
    rate = 48000
    tone = (np.sin(np.arange(rate) * 2 * np.pi * 300 / rate) * 8000).astype(np.int16)
    sig = np.concatenate([np.zeros(rate // 2, np.int16), tone, np.zeros(rate, np.int16)])
    vad = VADProcessor("energy")
    down, _ = await run_processor(vad, frames(sig, rate))
    marks = [type(f) for f in down if not isinstance(f, InputAudioFrame)]
    assert marks == [UserStartedSpeakingFrame, UserStoppedSpeakingFrame]
    assert abs(vad.events[0].timestamp - 0.5) < 0.05


async def test_a_change_of_input_rate_starts_a_new_stream() -> None:
    rate = 16000
    tone = (np.sin(np.arange(rate) * 2 * np.pi * 300 / rate) * 8000).astype(np.int16)
    first = frames(np.concatenate([tone, np.zeros(rate, np.int16)]), rate)
    tone48 = np.repeat(tone, 3)
    second = frames(
        np.concatenate([np.zeros(48000, np.int16), tone48, np.zeros(48000, np.int16)]), 48000
    )
    vad = VADProcessor("energy")
    down, _ = await run_processor(vad, first + second)
    marks = [type(f) for f in down if not isinstance(f, InputAudioFrame)]
    assert marks == [UserStartedSpeakingFrame, UserStoppedSpeakingFrame] * 2
    assert vad.analyzer is not None and vad.analyzer.input_rate == 48000
