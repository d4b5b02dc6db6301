"""NoiseProcessor: same-size frames out, continuous timestamps, noise removed."""

from __future__ import annotations

import numpy as np
import pytest

from beluga.voice.frames import InputAudioFrame
from beluga.voice.noise import NoiseProcessor
from beluga.voice.testing import run_processor
from beluga.voice.vad import volume_dbfs
from tests.voice.vad.test_processor import frames


async def test_noise_processor_keeps_frame_size_and_clock() -> None:
    noise = np.random.default_rng(2).normal(0, 1500, 16000 * 2).astype(np.int16)
    inputs = frames(noise)
    down, _ = await run_processor(NoiseProcessor("rnnoise"), inputs)
    out = [f for f in down if isinstance(f, InputAudioFrame)]
    assert len(inputs) - 3 <= len(out) < len(inputs)  # held back: < 50 ms of latency
    assert all(f.samples == 320 and f.sample_rate == 16000 for f in out)
    assert [f.timestamp for f in out] == pytest.approx([i * 0.02 for i in range(len(out))])
    cleaned = np.frombuffer(b"".join(f.pcm for f in out[50:]), np.int16)
    assert volume_dbfs(cleaned) < volume_dbfs(noise[16000:]) - 15


async def test_other_rates_pass_through_untouched() -> None:
    sig = np.random.default_rng(3).normal(0, 1000, 8000).astype(np.int16)
    proc = NoiseProcessor("rnnoise", offload=False)
    first = frames(sig, 16000)[:1]
    other = [InputAudioFrame(b"\x01\x00" * 160, 8000, timestamp=1.0)]
    down, _ = await run_processor(proc, first + other)
    assert down[-1] is other[0]
