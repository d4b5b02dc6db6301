"""The frame pipeline: dispatch, forwarding, ordering, backpressure, interruption, end, cancel."""

from __future__ import annotations

import asyncio

import pytest

from beluga.core.errors import BelugaError
from beluga.voice.frames import (
    AudioFrame,
    CancelFrame,
    EndFrame,
    ErrorFrame,
    Frame,
    InputAudioFrame,
    InterruptionFrame,
    LLMDeltaFrame,
    OutputAudioFrame,
    TextFrame,
    TranscriptFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from beluga.voice.pipeline import FrameProcessor, Pipeline, handles
from beluga.voice.testing import run_processor


class Upper(FrameProcessor):
    order = 10

    @handles(TextFrame)
    async def on_text(self, frame: TextFrame) -> None:
        await self.push(TextFrame(frame.text.upper()))


class Louder(Upper):
    """Inherits the text handler and adds one for audio (subclasses too)."""

    order = 20

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[type[Frame]] = []

    @handles(AudioFrame)
    async def on_audio(self, frame: AudioFrame) -> None:
        self.seen.append(type(frame))
        await self.push(frame)
        await self.push_upstream(TextFrame("heard"))


async def test_unhandled_frames_are_forwarded_and_handlers_dispatch() -> None:
    down, up = await run_processor(Upper(), [TextFrame("hi"), LLMDeltaFrame("x")])
    assert down == [TextFrame("HI"), LLMDeltaFrame("x")]
    assert up == []


async def test_handlers_are_inherited_and_resolve_subclasses() -> None:
    processor = Louder()
    frame = InputAudioFrame(b"\x00\x00", 16000)
    down, up = await run_processor(processor, [frame, TextFrame("a")])
    assert down == [frame, TextFrame("A")]
    assert up == [TextFrame("heard")]
    assert processor.seen == [InputAudioFrame]
    assert processor.stats.frames == 2
    assert processor.stats.total_ns > 0


def test_runner_frames_cannot_get_handlers() -> None:
    with pytest.raises(BelugaError, match="on_interrupt"):
        handles(InterruptionFrame)
    with pytest.raises(BelugaError, match="on_end"):
        handles(EndFrame)


async def test_push_outside_a_pipeline_is_a_clear_error() -> None:
    with pytest.raises(BelugaError, match="not in a running Pipeline"):
        await Upper().push(TextFrame("x"))


class Tag(FrameProcessor):
    def __init__(self, tag: str, order: int) -> None:
        super().__init__(name=tag)
        self.tag = tag
        self.order = order  # type: ignore[misc]

    @handles(TextFrame)
    async def on_text(self, frame: TextFrame) -> None:
        await self.push(TextFrame(frame.text + self.tag))


async def test_processors_run_in_order_number() -> None:
    out: list[Frame] = []

    async def sink(frame: Frame) -> None:
        out.append(frame)

    pipeline = Pipeline([Tag("c", 30), Tag("a", 10), Tag("b", 20)], downstream=sink)
    task = asyncio.create_task(pipeline.run())
    await pipeline.push(TextFrame(">"))
    await pipeline.end()
    await task
    assert out == [TextFrame(">abc"), EndFrame()]
    assert set(pipeline.stats()) == {"a", "b", "c"}
    assert pipeline.stats()["a"]["frames"] == 1


class Gate(FrameProcessor):
    """Holds every text frame until released; records interruption and end."""

    interruptible = True

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.entered = asyncio.Event()
        self.events: list[str] = []
        self.interrupted = asyncio.Event()

    @handles(TextFrame)
    async def on_text(self, frame: TextFrame) -> None:
        self.entered.set()
        await self.release.wait()
        await self.push(frame)

    async def on_interrupt(self) -> None:
        self.events.append("interrupt")
        self.interrupted.set()

    async def on_end(self) -> None:
        self.events.append("end")


async def _collecting(processors: list[FrameProcessor], **kw: int) -> tuple[Pipeline, list[Frame]]:
    out: list[Frame] = []

    async def sink(frame: Frame) -> None:
        out.append(frame)

    return Pipeline(processors, downstream=sink, **kw), out


async def test_backpressure_blocks_the_producer() -> None:
    gate = Gate()
    pipeline, out = await _collecting([gate], queue_size=2)
    async with pipeline:
        await pipeline.push(TextFrame("1"))  # taken by the handler, which blocks
        await gate.entered.wait()
        await pipeline.push(TextFrame("2"))
        await pipeline.push(TextFrame("3"))
        blocked = asyncio.create_task(pipeline.push(TextFrame("4")))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert not blocked.done()  # inbox full: the producer waits
        gate.release.set()
        await blocked
        await pipeline.end()
        await pipeline.wait()
    assert [f.text for f in out if isinstance(f, TextFrame)] == ["1", "2", "3", "4"]


async def test_urgent_frames_overtake_queued_data() -> None:
    gate = Gate()
    pipeline, out = await _collecting([gate])
    async with pipeline:
        await pipeline.push(TextFrame("a"))
        await gate.entered.wait()
        await pipeline.push(TextFrame("b"))
        await pipeline.push(UserStartedSpeakingFrame())
        for _ in range(5):
            await asyncio.sleep(0)
        assert out == [UserStartedSpeakingFrame()]  # ahead of "a" (busy) and "b" (queued)
        gate.release.set()
        await pipeline.end()
        await pipeline.wait()
    assert out[1:] == [TextFrame("a"), TextFrame("b"), EndFrame()]


async def test_interruption_cancels_in_flight_work_and_flushes_reply_frames() -> None:
    gate = Gate()
    pipeline, out = await _collecting([gate])
    async with pipeline:
        await pipeline.push(TextFrame("in flight"))
        await gate.entered.wait()
        await pipeline.push(TextFrame("queued"))
        await pipeline.push(OutputAudioFrame(b"\x00\x00", 16000))
        await pipeline.push(TranscriptFrame("user words"))  # user input survives
        await pipeline.push(InterruptionFrame())
        await gate.interrupted.wait()
        gate.release.set()
        await pipeline.end()
        await pipeline.wait()
    assert out == [InterruptionFrame(), TranscriptFrame("user words"), EndFrame()]
    assert gate.events == ["interrupt", "end"]


class Slow(FrameProcessor):
    """Not interruptible: its in-flight frame completes through an interruption."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.entered = asyncio.Event()

    @handles(TranscriptFrame)
    async def on_transcript(self, frame: TranscriptFrame) -> None:
        self.entered.set()
        await self.release.wait()
        await self.push(frame)


async def test_interruption_spares_non_interruptible_work() -> None:
    slow = Slow()
    pipeline, out = await _collecting([slow])
    async with pipeline:
        await pipeline.push(TranscriptFrame("keep"))
        await slow.entered.wait()
        await pipeline.push(InterruptionFrame())
        for _ in range(3):
            await asyncio.sleep(0)
        slow.release.set()
        await pipeline.end()
        await pipeline.wait()
    assert out == [InterruptionFrame(), TranscriptFrame("keep"), EndFrame()]


async def test_cancel_stops_now_and_no_task_outlives_the_pipeline() -> None:
    gate = Gate()
    pipeline, out = await _collecting([gate, Upper()])
    before = asyncio.all_tasks()
    task = asyncio.create_task(pipeline.run())
    await pipeline.push(TextFrame("stuck"))
    await gate.entered.wait()
    await pipeline.push(TextFrame("queued"))
    await pipeline.push(CancelFrame())
    await task
    assert pipeline.cancelled
    assert out == []
    assert gate.events == []  # no end: nothing drained
    assert asyncio.all_tasks() - before == set()
    await pipeline.push(TextFrame("after"))  # a stopped pipeline ignores frames
    with pytest.raises(BelugaError, match="runs only once"):
        await pipeline.run()


async def test_leaving_the_context_cancels_everything() -> None:
    gate = Gate()
    pipeline, _ = await _collecting([gate])
    before = asyncio.all_tasks()
    async with pipeline:
        await pipeline.push(TextFrame("stuck"))
        await gate.entered.wait()
    assert asyncio.all_tasks() - before == set()


class Boom(FrameProcessor):
    closed = False

    @handles(TextFrame)
    async def on_text(self, frame: TextFrame) -> None:
        raise ValueError("bad text")

    async def aclose(self) -> None:
        Boom.closed = True


async def test_a_failing_handler_stops_the_pipeline_with_an_error_frame() -> None:
    up: list[Frame] = []

    async def upstream(frame: Frame) -> None:
        up.append(frame)

    pipeline = Pipeline([Upper(), Boom()], upstream=upstream)
    task = asyncio.create_task(pipeline.run())
    await pipeline.push(TextFrame("x"))
    with pytest.raises(BelugaError, match="Boom failed: ValueError: bad text"):
        await task
    assert Boom.closed
    assert pipeline.error is not None


async def test_fatal_error_frame_leaving_upstream_stops() -> None:
    from beluga.core.errors import ErrorCode

    error = BelugaError("test", ErrorCode.INTERNAL, "fatal")

    class Raiser(FrameProcessor):
        @handles(TextFrame)
        async def on_text(self, frame: TextFrame) -> None:
            await self.push_upstream(ErrorFrame(error, fatal=True))

    with pytest.raises(BelugaError, match="fatal"):
        await run_processor(Raiser(), [TextFrame("x")])


def test_pipeline_config_errors() -> None:
    with pytest.raises(BelugaError, match="needs a processor"):
        Pipeline([])
    with pytest.raises(BelugaError, match="queue_size"):
        Pipeline([Upper()], queue_size=0)


class SlowStop(FrameProcessor):
    """Like an STT: on the (urgent) stop it works a while, then pushes a transcript."""

    @handles(UserStoppedSpeakingFrame)
    async def on_stop(self, frame: UserStoppedSpeakingFrame) -> None:
        await self.push(frame)
        await asyncio.sleep(0.05)
        await self.push(TranscriptFrame("late words"))


async def test_end_waits_for_work_an_urgent_frame_started() -> None:
    audio = [InputAudioFrame(b"\0\0" * 320, 16000) for _ in range(3)]
    out: list[Frame] = []

    async def sink(frame: Frame) -> None:
        out.append(frame)

    pipeline = Pipeline([SlowStop()], downstream=sink)
    task = asyncio.create_task(pipeline.run())
    for frame in [*audio, UserStoppedSpeakingFrame()]:
        await pipeline.push(frame)
    await pipeline.end()
    await task
    assert TranscriptFrame("late words") in out  # not lost behind the end
    assert out[-1] == EndFrame() and len(out) == 6


class Recorder(FrameProcessor):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    @handles(InputAudioFrame)
    async def on_audio(self, frame: InputAudioFrame) -> None:
        self.seen.append("audio")

    @handles(UserStartedSpeakingFrame)
    async def on_start(self, frame: UserStartedSpeakingFrame) -> None:
        self.seen.append("start")


async def test_urgent_frames_overtake_even_when_data_handlers_never_wait() -> None:
    recorder = Recorder()
    pipeline = Pipeline([recorder])
    task = asyncio.create_task(pipeline.run())
    await asyncio.sleep(0)
    for _ in range(5):
        await pipeline.push(InputAudioFrame(b"\0\0", 16000))
    await pipeline.push(UserStartedSpeakingFrame())
    await pipeline.end()
    await task
    assert recorder.seen[0] == "start" and recorder.seen.count("audio") == 5


class Replayer(FrameProcessor):
    """Interruptible; speaks the text frames it gets (records them)."""

    interruptible = True

    def __init__(self) -> None:
        super().__init__()
        self.spoken: list[str] = []
        self.release = asyncio.Event()

    @handles(TextFrame)
    async def on_text(self, frame: TextFrame) -> None:
        await self.release.wait()
        self.spoken.append(frame.text)


async def test_an_interruption_drops_only_the_frames_it_overtook() -> None:
    replayer = Replayer()
    pipeline = Pipeline([replayer])
    task = asyncio.create_task(pipeline.run())
    for text in ("old 1", "old 2", "old 3"):
        await pipeline.push(TextFrame(text))
    await asyncio.sleep(0.01)  # "old 1" is in flight
    await pipeline.push(InterruptionFrame())
    await pipeline.push(TextFrame("new"))  # queued after the interruption: kept
    replayer.release.set()
    await pipeline.end()
    await task
    assert replayer.spoken == ["new"]
