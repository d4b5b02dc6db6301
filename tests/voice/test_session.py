"""VoiceSession with the scripted fakes: turns, barge-in, backchannel, false interruption,
cancellation, memory and hooks — each asserting what was played, kept and dropped."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.testing import AgentInfo, FunctionModel
from beluga.memory import BufferMemory
from beluga.memory.stores.inmemory import InMemoryStore
from beluga.schema import Message, TextDelta
from beluga.voice.frames import OutputAudioFrame
from beluga.voice.processors import STAGES, InterruptionPolicy, LatencyReport
from beluga.voice.session import SessionHooks, VoiceSession
from beluga.voice.testing import FakeSTT, FakeTTS, FakeVAD, SpeechScript, silence, speech

# Ten sentences of four words: 80 frames.
LONG = " ".join(f"W{i}." if i % 4 == 3 else f"W{i}" for i in range(40))
FRAMES_PER_WORD = 2


class Sink:
    """The transport: counts output frames, and marks when events happened."""

    def __init__(self) -> None:
        self.frames: list[OutputAudioFrame] = []
        self.marks: dict[str, int] = {}
        self.waiters: list[tuple[int, asyncio.Event]] = []

    async def __call__(self, frame: OutputAudioFrame) -> None:
        self.frames.append(frame)
        for count, event in self.waiters:
            if len(self.frames) >= count:
                event.set()

    async def played(self, count: int) -> None:
        event = asyncio.Event()
        self.waiters.append((count, event))
        if len(self.frames) >= count:
            event.set()
        await asyncio.wait_for(event.wait(), 10)

    def mark(self, name: str) -> None:
        self.marks.setdefault(name, len(self.frames))


class Replies:
    """A responder with the chat-model stream shape: reply *n* to turn *n*, word by word;
    records the streams closed before their end."""

    def __init__(self, *replies: str, delay: float = 0.0) -> None:
        self.replies = list(replies)
        self.delay = delay
        self.turn = -1
        self.closed_early: list[int] = []
        self.seen: list[list[Message]] = []

    async def stream(self, messages: Sequence[Message]) -> AsyncIterator[TextDelta]:
        self.turn += 1
        turn = self.turn
        self.seen.append(list(messages))
        words = self.replies[turn].split(" ")
        done = False
        try:
            for i, word in enumerate(words):
                if self.delay:
                    await asyncio.sleep(self.delay)
                yield TextDelta(word if i == 0 else " " + word)
            done = True
        finally:
            if not done:
                self.closed_early.append(turn)


def session(
    replies: Replies,
    scripts: Sequence[SpeechScript | str],
    sink: Sink,
    *,
    policy: InterruptionPolicy | None = None,
    realtime: bool = True,
    **options: Any,
) -> tuple[VoiceSession, FakeTTS]:
    tts = FakeTTS(frames_per_word=FRAMES_PER_WORD)
    hooks = options.pop("hooks", None) or SessionHooks()
    for name in ("on_interruption", "on_false_interruption", "on_bot_turn", "on_user_turn"):
        if getattr(hooks, name) is None:

            async def mark(*args: Any, _name: str = name) -> None:
                sink.mark(_name)

            setattr(hooks, name, mark)
    voice = VoiceSession(
        replies,
        vad=FakeVAD(),
        turn=None,
        stt=FakeSTT(scripts),
        tts=tts,
        interruption=policy,
        output=sink,
        realtime=realtime,
        hooks=hooks,
        **options,
    )
    return voice, tts


async def say(voice: VoiceSession, seconds: float, tail: float = 0.1) -> None:
    for frame in [*speech(seconds), *silence(tail)]:
        await voice.push(frame)


def heard(reply: str, frames: int) -> str:
    """The words of ``reply`` whose first frame reached the transport."""
    return " ".join(reply.split()[: math.ceil(frames / FRAMES_PER_WORD)])


async def test_a_turn_is_answered_spoken_and_measured(telemetry: Any) -> None:
    replies, sink = Replies("Hi there. How are you?"), Sink()
    voice, tts = session(replies, ["hello"], sink, realtime=False)
    async with voice:
        await say(voice, 0.3)
        await voice.end()

    assert tts.spoken == ["Hi there.", "How are you?"]  # sentence by sentence
    assert len(sink.frames) == 5 * FRAMES_PER_WORD  # every word played, nothing dropped
    assert [(m.role, m.text) for m in voice.messages] == [
        ("user", "hello"),
        ("assistant", "Hi there. How are you?"),
    ]
    [turn] = voice.report.turns
    row = turn.as_dict()
    assert all(row[f"{s}_ms"] is not None for s in ("stt_final", "llm_first_token"))
    assert row["first_audio_out_ms"] is not None and not turn.interrupted
    assert row["stt_final_ms"] <= row["llm_first_token_ms"] <= row["first_audio_out_ms"]
    assert set(voice.report.median()) == {f"{s}_ms" for s in STAGES}
    spans = {s.name: s for s in telemetry.finished_spans()}
    assert "voice_turn" in spans and "voice.first_audio_out" in spans
    assert spans["voice_turn"].attributes["gen_ai.conversation.id"] == voice.session_id
    stages = {
        p.attributes["beluga.voice.stage"]
        for p in telemetry.metric_points("beluga.voice.turn.latency")
    }
    assert {"stt_final", "llm_first_token", "tts_first_audio", "first_audio_out"} <= stages


async def test_barge_in_cancels_reply_drops_audio_and_keeps_what_was_played() -> None:
    replies, sink = Replies(LONG, "Okay."), Sink()
    voice, tts = session(replies, ["tell me a story", "stop please"], sink)
    async with voice:
        await say(voice, 0.3)
        await sink.played(6)
        await say(voice, 0.6)  # longer than min_duration: an interruption
        await voice.end()

    played_first = sink.marks["on_interruption"]
    assert 6 <= played_first < 40 * FRAMES_PER_WORD  # cut off: the rest was dropped
    # After the cut only the second reply reached the transport.
    assert len(sink.frames) - played_first == 1 * FRAMES_PER_WORD
    assert [(m.role, m.text) for m in voice.messages] == [
        ("user", "tell me a story"),
        ("assistant", heard(LONG, played_first)),  # what the user heard, not what was written
        ("user", "stop please"),
        ("assistant", "Okay."),
    ]
    assert [t.interrupted for t in voice.report.turns] == [True, False]
    assert len(tts.spoken) < 10 + 1  # queued sentences were never synthesized
    assert tts.spoken[-1] == "Okay."


async def test_barge_in_cancels_the_llm_stream_in_flight() -> None:
    replies, sink = Replies(LONG, "Sure.", delay=0.01), Sink()
    voice, _ = session(replies, ["go on", "wait"], sink)
    async with voice:
        await say(voice, 0.3)
        await sink.played(2)
        await say(voice, 0.6)
        await voice.end()

    assert replies.closed_early == [0]  # the first reply's stream was closed mid-way
    assert voice.messages[1].text == heard(LONG, sink.marks["on_interruption"])
    assert voice.messages[-1].text == "Sure."


async def test_backchannel_does_not_interrupt() -> None:
    replies, sink = Replies("One two three four five six seven eight."), Sink()
    voice, _ = session(replies, ["hi", "uh-huh"], sink)
    async with voice:
        await say(voice, 0.3)
        await sink.played(2)
        await say(voice, 0.2)  # short and only listener feedback
        await voice.end()

    assert "on_interruption" not in sink.marks
    assert len(sink.frames) == 8 * FRAMES_PER_WORD  # the whole reply played
    assert [(m.role, m.text) for m in voice.messages] == [
        ("user", "hi"),
        ("assistant", "One two three four five six seven eight."),
    ]  # the "uh-huh" is no turn


async def test_a_short_utterance_with_words_interrupts_despite_min_duration() -> None:
    replies, sink = Replies(LONG, "Yes?"), Sink()
    voice, _ = session(replies, ["hi", "hold on"], sink)
    async with voice:
        await say(voice, 0.3)
        await sink.played(4)
        await say(voice, 0.2)  # under min_duration, but real words
        await voice.end()

    assert "on_interruption" in sink.marks
    assert [m.text for m in voice.messages][2:] == ["hold on", "Yes?"]


async def test_false_interruption_resumes_the_reply() -> None:
    replies, sink = Replies("One two three four five six seven eight nine ten."), Sink()
    policy = InterruptionPolicy(min_duration=0.5, false_interruption_timeout=0.1)
    voice, _ = session(replies, ["hi", SpeechScript(None)], sink, policy=policy)
    async with voice:
        await say(voice, 0.3)
        await sink.played(2)
        await say(voice, 0.2)  # a cough: speech, but no transcript
        await voice.end()

    assert "on_false_interruption" in sink.marks
    assert "on_interruption" not in sink.marks
    assert len(sink.frames) == 10 * FRAMES_PER_WORD  # held, then played to the end
    assert [m.text for m in voice.messages] == [
        "hi",
        "One two three four five six seven eight nine ten.",
    ]


async def test_interruptions_can_be_disabled() -> None:
    replies, sink = Replies("One two three four five six.", "Next."), Sink()
    voice, _ = session(
        replies, ["hi", "tell me more"], sink, policy=InterruptionPolicy(enabled=False)
    )
    async with voice:
        await say(voice, 0.3)
        await sink.played(2)
        await say(voice, 0.6)
        await voice.end()

    assert "on_interruption" not in sink.marks
    assert len(sink.frames) == (6 + 1) * FRAMES_PER_WORD
    assert [m.text for m in voice.messages] == [
        "hi",
        "One two three four five six.",
        "tell me more",
        "Next.",
    ]


async def test_cancel_mid_reply_stops_llm_and_output() -> None:
    replies, sink = Replies(LONG, delay=0.005), Sink()
    ended: list[LatencyReport] = []

    async def on_end(report: LatencyReport) -> None:
        ended.append(report)

    voice, _ = session(replies, ["hi"], sink, hooks=SessionHooks(on_end=on_end))
    async with voice:
        await say(voice, 0.3)
        await sink.played(2)
    count = len(sink.frames)
    await asyncio.sleep(0.05)

    assert len(sink.frames) == count < 40 * FRAMES_PER_WORD  # nothing after the cancel
    assert replies.closed_early == [0]
    assert [m.role for m in voice.messages] == ["user"]  # no reply was finished or heard
    assert len(ended) == 1


async def test_end_does_not_overtake_the_last_turn() -> None:
    """The input ends while the user is still speaking: the turn is still answered, spoken and
    played before the session stops (the end waits for queued audio and text)."""
    replies, sink = Replies("Fine thanks. And you?"), Sink()
    voice, _ = session(replies, ["how are you"], sink, realtime=False)
    async with voice:
        for frame in speech(0.3):
            await voice.push(frame)
        await voice.end()

    assert [m.text for m in voice.messages] == ["how are you", "Fine thanks. And you?"]
    assert len(sink.frames) == 4 * FRAMES_PER_WORD


async def test_memory_carries_the_conversation_per_session() -> None:
    store = InMemoryStore()
    memory = BufferMemory(store)
    for expected_history in (0, 2):
        replies, sink = Replies("Noted."), Sink()
        voice, _ = session(
            replies, ["remember blue"], sink, realtime=False, memory=memory, session_id="s1"
        )
        async with voice:
            await say(voice, 0.3)
            await voice.end()
        assert len(replies.seen[0]) == expected_history + 1
    other = await memory.load("s2")
    assert other == []  # nothing leaks into another session
    assert [m.text for m in await memory.load("s1")] == ["remember blue", "Noted."] * 2


async def test_hooks_see_the_events_and_a_failing_hook_only_warns() -> None:
    events: list[tuple[Any, ...]] = []

    async def record(*args: Any, name: str) -> None:
        events.append((name, *args))

    async def broken(text: str) -> None:
        raise RuntimeError("hook bug")

    hooks = SessionHooks(
        on_start=lambda: record(name="start"),
        on_user_turn=broken,
        on_bot_turn=lambda text, interrupted: record(text, interrupted, name="bot"),
        on_end=lambda report: record(len(report.turns), name="end"),
    )
    replies, sink = Replies("Hello."), Sink()
    voice, _ = session(replies, ["hi"], sink, realtime=False, hooks=hooks)
    async with voice:
        await say(voice, 0.3)
        await voice.end()
    assert events == [("start",), ("bot", "Hello.", False), ("end", 1)]


async def test_responder_error_is_reported_and_the_session_goes_on() -> None:
    errors: list[BelugaError] = []

    async def on_error(error: BelugaError) -> None:
        errors.append(error)

    async def failing(messages: Sequence[Message], info: AgentInfo) -> AsyncIterator[str]:
        if len(messages) == 1:
            raise BelugaError("test", ErrorCode.PROVIDER_UNAVAILABLE, "model down")
        yield "Back."

    sink = Sink()
    voice = VoiceSession(
        FunctionModel(stream_function=failing),
        vad=FakeVAD(),
        turn=None,
        stt=FakeSTT(["one", "two"]),
        tts=FakeTTS(),
        output=sink,
        hooks=SessionHooks(on_error=on_error),
    )
    async with voice:
        await say(voice, 0.3)
        await say(voice, 0.3)
        await voice.end()
    assert [e.message for e in errors] == ["model down"]
    assert [m.text for m in voice.messages] == ["one", "two", "Back."]


async def test_misuse_gets_clear_errors() -> None:
    voice = VoiceSession(Replies("x"), vad=FakeVAD(), turn=None, stt=FakeSTT([]), tts=FakeTTS())
    with pytest.raises(BelugaError, match="not started"):
        await voice.push_audio(b"\0\0")
    async with voice:
        with pytest.raises(BelugaError, match="even byte count"):
            await voice.push_audio(b"\0")
    with pytest.raises(BelugaError, match="no stream"):
        VoiceSession(object(), vad=FakeVAD(), stt=FakeSTT([]), tts=FakeTTS())
    with pytest.raises(BelugaError, match="must be positive"):
        VoiceSession(Replies("x"), sample_rate=0, stt=FakeSTT([]), tts=FakeTTS())
