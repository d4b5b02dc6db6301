"""TurnProcessor after a VAD: pauses inside a turn are not its end; the detector decides."""

from __future__ import annotations

import asyncio

import numpy as np

from beluga.voice.frames import (
    EndFrame,
    Frame,
    InputAudioFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from beluga.voice.pipeline import Pipeline
from beluga.voice.testing import silence, speech
from beluga.voice.turn import TurnProcessor
from tests.voice.vad._speech import needs_espeak, speak
from tests.voice.vad.test_processor import frames

START, STOP = UserStartedSpeakingFrame(), UserStoppedSpeakingFrame()


async def run_in_order(turn: TurnProcessor, script: list[Frame]) -> list[Frame]:
    """Feed frames one at a time, each handled before the next (urgent frames overtake queued
    audio in a pipeline; here the test fixes where each VAD frame falls in the audio)."""
    down: list[Frame] = []

    async def collect(frame: Frame) -> None:
        down.append(frame)

    pipeline = Pipeline([turn], downstream=collect)
    runner = asyncio.create_task(pipeline.run())
    for frame in script:
        seen = turn.stats.frames
        await pipeline.push(frame)
        while turn.stats.frames == seen:  # noqa: ASYNC110 - polls the processor's counter
            await asyncio.sleep(0.001)
    await pipeline.end()
    await runner
    return [f for f in down if not isinstance(f, EndFrame)]


def _marks(down: list[Frame]) -> list[tuple[str, int]]:
    """Speaking frames with the number of audio frames seen before each."""
    out, audio = [], 0
    for f in down:
        if isinstance(f, InputAudioFrame):
            audio += 1
        else:
            out.append((type(f).__name__, audio))
    return out


async def test_silence_turn_ends_after_stop_secs_and_spans_short_pauses() -> None:
    # speech, VAD stop, 0.2 s pause, speech again, VAD stop, then 1 s of silence
    script: list[Frame] = [START, *speech(0.4), STOP, *silence(0.2), START, *speech(0.4)]
    script += [STOP, *silence(1.0)]
    turn = TurnProcessor("silence", stop_secs=0.5)
    down = await run_in_order(turn, script)
    # one turn: one start, and the stop 25 frames (0.5 s) after the second VAD stop (20+10+20+25)
    assert _marks(down) == [("UserStartedSpeakingFrame", 0), ("UserStoppedSpeakingFrame", 75)]
    assert sum(isinstance(f, InputAudioFrame) for f in down) == 20 + 10 + 20 + 50
    assert not turn.in_turn


async def test_stop_secs_zero_ends_at_the_vad_stop() -> None:
    script: list[Frame] = [START, *speech(0.2), STOP, *silence(0.1)]
    down = await run_in_order(TurnProcessor("silence", stop_secs=0.0), script)
    assert _marks(down) == [("UserStartedSpeakingFrame", 0), ("UserStoppedSpeakingFrame", 10)]


@needs_espeak
async def test_smart_turn_ends_a_question_at_once_and_waits_on_an_unfinished_sentence() -> None:
    for text, complete in [
        ("what is the weather in paris?", True),
        ("I would like to book a table for, um, and", False),
    ]:
        audio = frames(speak(text))
        tail = frames(np.zeros(16000 * 4, np.int16))
        turn = TurnProcessor("smart_turn", max_silence_secs=2.0)
        down = await run_in_order(turn, [START, *audio, STOP, *tail])
        n = len(audio)
        stop_at = n if complete else n + 100  # unfinished: ends at max_silence (2 s = 100 frames)
        assert _marks(down) == [
            ("UserStartedSpeakingFrame", 0),
            ("UserStoppedSpeakingFrame", stop_at),
        ], text
        assert turn.predictions[0].complete == complete
