"""Real engines on espeak-ng speech between silences: start and stop at the right times."""

from __future__ import annotations

import numpy as np
import pytest

from beluga.core.errors import BelugaError
from beluga.voice.vad import VADAnalyzer, VADEventKind, VADParams, create, registry
from tests.voice.vad._speech import needs_espeak, speak

pytestmark = needs_espeak

RATE = 16000


def _true_bounds(speech: np.ndarray, lead: float) -> tuple[float, float]:
    blocks = speech[: speech.size // 160 * 160].reshape(-1, 160).astype(np.float64)
    loud = np.nonzero(np.sqrt((blocks**2).mean(axis=1)) > 300)[0]
    return lead + loud[0] * 0.01, lead + (loud[-1] + 1) * 0.01


# Silero: within one 32 ms window (+ the 10 ms grain of the loudness bounds). WebRTC and energy
# miss the soft "wh" and the stop-consonant gap at the start, so they start later.


async def _events(name: str, sig: np.ndarray) -> list[tuple[VADEventKind, float]]:
    analyzer = VADAnalyzer(create(name), VADParams(start_secs=0.1, stop_secs=0.3))
    out = []
    for i in range(0, sig.size, 320):  # 20 ms transport frames
        out += [(e.kind, e.timestamp) for e in await analyzer.feed(sig[i : i + 320].tobytes(), 0.0)]
    return out


@pytest.mark.parametrize(("name", "tol"), [("silero", 0.045), ("webrtc", 0.2), ("energy", 0.2)])
async def test_speech_starts_and_stops_where_it_is(name: str, tol: float) -> None:
    speech = speak("what is the weather in paris?")
    sig = np.concatenate([np.zeros(RATE, np.int16), speech, np.zeros(RATE, np.int16)])
    start, end = _true_bounds(speech, 1.0)
    events = await _events(name, sig)
    assert [k for k, _ in events] == [VADEventKind.STARTED, VADEventKind.STOPPED]
    assert events[0][1] == pytest.approx(start, abs=tol)
    assert events[1][1] == pytest.approx(end, abs=tol)


async def test_silero_ignores_noise_that_fools_energy() -> None:
    noise = np.random.default_rng(1).normal(0, 2000, RATE * 2).astype(np.int16)
    assert await _events("silero", noise) == []
    assert [k for k, _ in await _events("energy", noise)] == [VADEventKind.STARTED]


async def test_silero_confidence_is_high_in_speech_low_in_silence() -> None:
    from beluga.voice.vad.silero import SileroVAD

    vad = SileroVAD(mode="inline")
    speech = speak("hello there, how are you doing today?")
    probs = [vad.confidence_sync(speech[i : i + 512]) for i in range(0, speech.size - 511, 512)]
    assert max(probs) > 0.9
    assert np.mean(np.array(probs) > 0.5) > 0.6
    vad.reset()
    silence = [vad.confidence_sync(np.zeros(512, np.int16)) for _ in range(20)]
    assert max(silence) < 0.1


def test_registry_lists_builtins_and_rejects_bad_options() -> None:
    assert {"silero", "webrtc", "energy"} <= set(registry.names())
    with pytest.raises(BelugaError, match="Did you mean 'silero'"):
        create("silerro")
    with pytest.raises(BelugaError, match="10, 20 or 30 ms"):
        create("webrtc", frame_ms=25)
    with pytest.raises(BelugaError, match="8000, 16000 Hz"):
        create("silero", sample_rate=44100)
    with pytest.raises(BelugaError, match="re-chunks"):
        create("silero", mode="inline").confidence_sync(np.zeros(320, np.int16))  # type: ignore[attr-defined]
