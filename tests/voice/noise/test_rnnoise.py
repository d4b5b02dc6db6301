"""RNNoise removes steady noise and keeps speech, streaming at 16 kHz and 48 kHz."""

from __future__ import annotations

import numpy as np
import pytest

from beluga.core.errors import BelugaError
from beluga.voice.noise import NoiseSuppressor, create, registry
from beluga.voice.noise.rnnoise import RNNoiseSuppressor
from beluga.voice.vad import volume_dbfs
from tests.voice.vad._speech import needs_espeak, speak


def _run(sup: RNNoiseSuppressor, sig: np.ndarray, frame: int) -> np.ndarray:
    parts = [sup.process_sync(sig[i : i + frame]) for i in range(0, sig.size, frame)]
    return np.concatenate(parts)


@pytest.mark.parametrize("rate", [16000, 48000])
def test_noise_alone_is_attenuated_and_no_samples_go_missing(rate: int) -> None:
    noise = np.random.default_rng(0).normal(0, 1500, rate * 3).astype(np.int16)
    sup = RNNoiseSuppressor(sample_rate=rate, offload=False)
    out = _run(sup, noise, rate // 50)  # 20 ms frames
    # the output is the input delayed < 50 ms (one 480-sample frame + resampler delay)
    assert noise.size - int(rate * 0.05) <= out.size <= noise.size
    tail = slice(rate, None)  # after RNNoise's first second of adaptation
    assert volume_dbfs(out[tail]) < volume_dbfs(noise[tail]) - 15


@needs_espeak
async def test_speech_survives_in_noise() -> None:
    rate = 16000
    rng = np.random.default_rng(1)
    speech = speak("what is the weather in paris? I would like to know.", rate)
    lead = rng.normal(0, 800, rate * 2).astype(np.int16)
    noisy = np.concatenate([lead, speech]).astype(np.int32)
    noisy[lead.size :] += rng.normal(0, 800, speech.size).astype(np.int32)
    sig = np.clip(noisy, -32768, 32767).astype(np.int16)
    sup = create("rnnoise", sample_rate=rate)
    assert isinstance(sup, NoiseSuppressor)
    out = np.concatenate([await sup.process(sig[i : i + 320]) for i in range(0, sig.size, 320)])
    noise_only = out[rate : 2 * rate - 800]
    speech_part = out[2 * rate + 800 :]
    assert volume_dbfs(speech_part) > volume_dbfs(noise_only) + 20
    # the voice keeps most of its loudness
    assert volume_dbfs(speech_part) > volume_dbfs(speech) - 6


def test_reset_and_registry() -> None:
    assert "rnnoise" in registry.names()
    sup = RNNoiseSuppressor(offload=False)
    sup.process_sync(np.ones(100, np.int16))
    sup.reset()
    assert sup.process_sync(np.zeros(0, np.int16)).size == 0
    with pytest.raises(BelugaError, match="sample_rate"):
        RNNoiseSuppressor(sample_rate=0)
