"""Turn detectors: the silence timeout, Whisper features, and smart-turn on espeak-ng speech."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from beluga.core.errors import BelugaError
from beluga.voice.turn import TurnDetector, create, registry
from beluga.voice.turn._features import _filters, log_mel
from tests.voice.vad._speech import needs_espeak, speak


@given(stop=st.floats(0, 5), silence=st.floats(0, 10))
async def test_silence_detector_ends_the_turn_after_stop_secs(stop: float, silence: float) -> None:
    det = create("silence", stop_secs=stop)
    pred = await det.predict(np.zeros(10, np.int16), silence_secs=silence)
    assert pred.complete == (silence >= stop)
    assert pred.probability == (1.0 if pred.complete else 0.0)


def test_registry() -> None:
    assert {"silence", "smart_turn"} <= set(registry.names())
    assert isinstance(create("silence"), TurnDetector)
    with pytest.raises(BelugaError, match=">= 0"):
        create("silence", stop_secs=-1)
    with pytest.raises(BelugaError, match="between 0 and 1"):
        create("smart_turn", threshold=1.5)


def test_log_mel_shape_and_range() -> None:
    rate = 16000
    t = np.arange(8 * rate) / rate
    tone = (0.3 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    feats = log_mel(tone)
    assert feats.shape == (80, 800)
    # Whisper's scaling keeps features within 8 log10 units below the peak: [(m-8+4)/4, (m+4)/4]
    assert float(feats.max() - feats.min()) <= 2.0 + 1e-6
    # a 1 kHz tone lights the mel bin whose filter is centred nearest 1 kHz, in every frame
    peak_bin = int(np.argmax(_filters(80)[:, int(1000 / (rate / 400))]))
    assert (np.argmax(feats[:, 10:-10], axis=0) == peak_bin).all()


def test_mel_filters_cover_the_band_without_gaps() -> None:
    filters = _filters(80)
    assert filters.shape == (80, 201)
    covered = filters.sum(axis=0)
    assert (covered[1:200] > 0).all()  # every bin between DC and Nyquist feeds some filter


@needs_espeak
async def test_smart_turn_tells_a_complete_question_from_an_unfinished_sentence() -> None:
    det = create("smart_turn")
    done = await det.predict(speak("what is the weather in paris?"), silence_secs=0.2)
    unfinished = await det.predict(
        speak("I would like to book a table for, um, and"), silence_secs=0.2
    )
    assert done.complete and done.probability > 0.8
    assert not unfinished.complete and unfinished.probability < 0.2


@needs_espeak
async def test_smart_turn_ends_the_turn_after_max_silence_even_if_unsure() -> None:
    det = create("smart_turn", max_silence_secs=2.0)
    pred = await det.predict(speak("I would like to book a table for, um, and"), silence_secs=2.5)
    assert pred.complete and pred.probability < 0.2


@needs_espeak
def test_smart_turn_keeps_the_last_eight_seconds() -> None:
    from beluga.voice.turn.smart_turn import SmartTurnDetector

    det = SmartTurnDetector()
    question = speak("what is the weather in paris?")
    # a long unfinished lead-in beyond 8 s does not change the verdict on what was said last
    long = np.concatenate([np.zeros(16000 * 10, np.int16), question])
    assert det.probability(long) == pytest.approx(det.probability(question), abs=1e-4)
