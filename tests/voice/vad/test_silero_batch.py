"""Batching windows of many sessions into one ONNX run changes no probability."""

from __future__ import annotations

import asyncio

import numpy as np

from beluga.voice.vad.silero import SileroBatcher, SileroModel, SileroVAD
from tests.voice.vad._speech import needs_espeak, speak

pytestmark = needs_espeak


def _streams() -> list[np.ndarray]:
    texts = ["what is the weather in paris?", "book a table for two", "", "hello"]
    rng = np.random.default_rng(3)
    out = []
    for i, t in enumerate(texts):
        sig = speak(t) if t else rng.normal(0, 500, 16000).astype(np.int16)
        lead = np.zeros(512 * (i + 1), np.int16)  # sessions out of step with each other
        full = np.concatenate([lead, sig, np.zeros(512 * 80, np.int16)])
        out.append(full[: 512 * 80])
    return out


async def test_batched_probabilities_equal_single_inference_per_session() -> None:
    streams = _streams()
    reference = []
    for s in streams:
        vad = SileroVAD(mode="inline")
        reference.append([vad.confidence_sync(s[i : i + 512]) for i in range(0, s.size, 512)])

    batcher = SileroBatcher(SileroModel.shared(), max_batch=3, max_wait=0.001)
    sessions = [SileroVAD(mode="batch", batcher=batcher) for _ in streams]

    async def run(vad: SileroVAD, s: np.ndarray) -> list[float]:
        return [await vad.confidence(s[i : i + 512]) for i in range(0, s.size, 512)]

    got = await asyncio.gather(*(run(v, s) for v, s in zip(sessions, streams, strict=True)))
    assert batcher.batches < sum(len(r) for r in reference)  # it really batched
    for ref, g in zip(reference, got, strict=True):
        np.testing.assert_allclose(g, ref, atol=1e-4)
    # sessions stayed isolated: they heard different things, so their outputs differ
    assert not np.allclose(got[0], got[1], atol=1e-2)


async def test_thread_mode_equals_inline() -> None:
    s = _streams()[0]
    inline, threaded = SileroVAD(mode="inline"), SileroVAD(mode="thread")
    a = [inline.confidence_sync(s[i : i + 512]) for i in range(0, s.size, 512)]
    b = [await threaded.confidence(s[i : i + 512]) for i in range(0, s.size, 512)]
    np.testing.assert_allclose(a, b, atol=1e-5)


async def test_reset_restores_a_fresh_session() -> None:
    s = _streams()[0]
    vad = SileroVAD(mode="inline")
    first = [vad.confidence_sync(s[i : i + 512]) for i in range(0, 512 * 30, 512)]
    vad.reset()
    again = [vad.confidence_sync(s[i : i + 512]) for i in range(0, 512 * 30, 512)]
    np.testing.assert_allclose(first, again, atol=1e-6)


class _Broken:
    path = "broken"

    def run(self, x: np.ndarray, state: np.ndarray, sample_rate: int) -> None:
        raise RuntimeError("onnx exploded")


async def test_a_failed_batch_fails_each_waiting_session_with_a_beluga_error() -> None:
    from beluga.core.errors import BelugaError

    batcher = SileroBatcher(_Broken(), max_batch=2)  # type: ignore[arg-type]
    a, b = (SileroVAD(mode="batch", batcher=batcher) for _ in range(2))
    window = np.zeros(512, np.int16)
    results = await asyncio.gather(
        a.confidence(window), b.confidence(window), return_exceptions=True
    )
    assert all(isinstance(r, BelugaError) and "batch of 2" in str(r) for r in results)
    assert batcher.backlog == 0


async def test_a_cancelled_session_does_not_disturb_the_others() -> None:
    batcher = SileroBatcher(SileroModel.shared(), max_batch=8, max_wait=0.001)
    s = _streams()[0]
    quitter, stayer = (SileroVAD(mode="batch", batcher=batcher) for _ in range(2))
    ref = SileroVAD(mode="inline")
    task = asyncio.create_task(quitter.confidence(s[:512]))
    await asyncio.sleep(0)
    task.cancel()
    got = [await stayer.confidence(s[i : i + 512]) for i in range(0, 512 * 10, 512)]
    want = [ref.confidence_sync(s[i : i + 512]) for i in range(0, 512 * 10, 512)]
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert batcher.backlog == 0
