"""The output step: transport-sized frames, and crediting what was played (timings or share)."""

from __future__ import annotations

from beluga.voice.frames import (
    LLMReplyStartFrame,
    OutputAudioFrame,
    PauseOutputFrame,
    TTSAudioFrame,
    WordTiming,
)
from beluga.voice.pipeline import Direction
from beluga.voice.processors import OutputProcessor, SessionState
from beluga.voice.processors.output import _credits
from beluga.voice.testing import run_processor

RATE = 16000


def tts(seconds: float, text: str = "", words: tuple[WordTiming, ...] = ()) -> TTSAudioFrame:
    return TTSAudioFrame(b"\1\0" * int(RATE * seconds), RATE, text=text, words=words)


async def test_a_sentence_frame_leaves_as_20ms_frames_and_credits_every_word() -> None:
    state = SessionState(session_id="s")
    output = OutputProcessor(state)
    down, _ = await run_processor(output, [LLMReplyStartFrame(), tts(1.0, "one two three")])
    audio = [f for f in down if isinstance(f, OutputAudioFrame)]
    assert len(audio) == 50 and all(f.samples == 320 for f in audio)
    assert b"".join(f.pcm for f in audio) == tts(1.0).pcm  # nothing lost or added
    assert state.played == ["one", "two", "three"]
    assert output.played_frames == 50 and round(output.played_seconds, 6) == 1.0


def test_without_timings_words_are_credited_in_proportion() -> None:
    credits = _credits(tts(1.0, "a b c d"), 10)
    assert credits is not None
    heard_after = [sum(len(c) for c in credits[: i + 1]) for i in range(10)]
    assert heard_after[1] == 0 and heard_after[2] == 1  # a quarter played: one word
    assert heard_after[4] == 2 and heard_after[-1] == 4


def test_word_timings_decide_when_a_word_is_heard() -> None:
    words = (WordTiming("slow", 0.0, 0.8), WordTiming("end", 0.8, 1.0))
    credits = _credits(tts(1.0, "slow end", words), 10)
    assert credits is not None
    assert [i for i, c in enumerate(credits) if c] == [3, 8]  # at each word's middle
    # Timings on the engine's timeline (not the frame's) are taken from the first word.
    later = (WordTiming("late", 5.0, 5.1), WordTiming("word", 5.2, 5.3))
    shifted = _credits(tts(0.4, "", later), 4)
    assert shifted == [["late"], [], ["word"], []]


async def test_muted_output_drops_audio_and_credits_nothing() -> None:
    state = SessionState(session_id="s")
    state.muted = True
    output = OutputProcessor(state)
    down, _ = await run_processor(output, [tts(0.1, "gone")])
    assert not [f for f in down if isinstance(f, OutputAudioFrame)]
    assert output.dropped_frames == 5 and state.played == []


async def test_pause_is_reported() -> None:
    output = OutputProcessor(SessionState(session_id="s"))
    assert not output.paused
    await output._dispatch(PauseOutputFrame(), Direction.DOWN)
    assert output.paused
