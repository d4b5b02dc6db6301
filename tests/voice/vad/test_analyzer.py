"""The shared analyzer: exact re-chunking and the state machine on synthetic sequences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beluga.core.errors import BelugaError
from beluga.voice.vad import (
    Rechunker,
    VADAnalyzer,
    VADEventKind,
    VADParams,
    VADState,
    VADStateMachine,
    volume_dbfs,
)
from beluga.voice.vad.energy import EnergyVAD


@given(
    size=st.integers(1, 700),
    chunks=st.lists(st.integers(0, 1500), max_size=30),
)
def test_rechunker_loses_and_repeats_no_sample(size: int, chunks: list[int]) -> None:
    total = sum(chunks)
    stream = np.arange(total, dtype=np.int64).astype(np.int16)
    rc = Rechunker(size)
    windows, pos = [], 0
    for n in chunks:
        windows += rc.push(stream[pos : pos + n])
        pos += n
    assert all(w.size == size for w in windows)
    joined = np.concatenate(windows) if windows else np.zeros(0, dtype=np.int16)
    assert len(windows) == total // size
    assert rc.pending == total % size
    np.testing.assert_array_equal(joined, stream[: len(windows) * size])


def test_rechunker_windows_are_copies() -> None:
    rc = Rechunker(4)
    first = rc.push(np.array([1, 2, 3, 4], dtype=np.int16))[0]
    rc.push(np.array([9, 9, 9, 9], dtype=np.int16))
    assert first.tolist() == [1, 2, 3, 4]


def _reference(
    voiced: list[bool], start_n: int, stop_n: int, win: float
) -> list[tuple[str, float]]:
    """Run-length reading of the rules, written independently of the state machine."""
    events: list[tuple[str, float]] = []
    speaking, run, run_start = False, 0, 0
    for i, v in enumerate(voiced):
        if v != speaking:  # a window that argues for changing state
            if run == 0:
                run_start = i
            run += 1
            if run >= (start_n if not speaking else stop_n):
                speaking = not speaking
                events.append(("started" if speaking else "stopped", run_start * win))
                run = 0
        else:
            run = 0
    return events


@settings(max_examples=300)
@given(
    voiced=st.lists(st.booleans(), max_size=200),
    start_secs=st.sampled_from([0.0, 0.02, 0.064, 0.1, 0.2, 0.5]),
    stop_secs=st.sampled_from([0.0, 0.032, 0.2, 0.8]),
    win=st.sampled_from([0.01, 0.02, 0.032]),
)
def test_state_machine_matches_run_length_rules(
    voiced: list[bool], start_secs: float, stop_secs: float, win: float
) -> None:
    sm = VADStateMachine(VADParams(start_secs=start_secs, stop_secs=stop_secs), win)
    got = []
    for i, v in enumerate(voiced):
        ev = sm.update(v, i * win)
        if ev is not None:
            got.append((ev.kind.value, ev.timestamp))
    start_n = max(1, math.ceil(start_secs / win - 1e-9))
    stop_n = max(1, math.ceil(stop_secs / win - 1e-9))
    assert got == _reference(voiced, start_n, stop_n, win)
    # events alternate, beginning with a start
    assert [k for k, _ in got] == ["started", "stopped"] * (len(got) // 2) + (
        ["started"] if len(got) % 2 else []
    )
    assert sm.speaking == (len(got) % 2 == 1)


@given(probs=st.lists(st.floats(0, 1), min_size=1, max_size=100), thr=st.floats(0, 1))
def test_confidence_threshold_and_volume_gate(probs: list[float], thr: float) -> None:
    sm = VADStateMachine(VADParams(confidence=thr, min_volume=-40.0), 0.02)
    for p in probs:
        assert sm.voiced(p, -30.0) == (p >= thr)
        assert not sm.voiced(p, -41.0)


def test_states_walk_the_cycle() -> None:
    sm = VADStateMachine(VADParams(start_secs=0.04, stop_secs=0.04), 0.02)
    seen = []
    for v in [True, True, False, True, False, False]:
        sm.update(v, 0.0)
        seen.append(sm.state)
    assert seen == [
        VADState.STARTING,
        VADState.SPEAKING,
        VADState.STOPPING,
        VADState.SPEAKING,
        VADState.STOPPING,
        VADState.QUIET,
    ]


def test_volume_dbfs() -> None:
    assert volume_dbfs(np.zeros(320, dtype=np.int16)) == -100.0
    full = np.full(320, 32767, dtype=np.int16)
    assert volume_dbfs(full) == pytest.approx(0.0, abs=0.01)
    assert volume_dbfs((full // 10).astype(np.int16)) == pytest.approx(-20.0, abs=0.05)


@pytest.mark.parametrize("kwargs", [{"start_secs": -1}, {"confidence": 1.5}, {"min_volume": 3.0}])
def test_bad_params_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(BelugaError, match="must"):
        VADParams(**kwargs)


async def test_analyzer_timestamps_follow_samples_across_odd_frame_sizes() -> None:
    rate = 16000
    tone = (np.sin(np.arange(rate) * 2 * np.pi * 440 / rate) * 8000).astype(np.int16)
    sig = np.concatenate([np.zeros(rate // 2, np.int16), tone, np.zeros(rate, np.int16)])
    analyzer = VADAnalyzer(EnergyVAD(), VADParams(start_secs=0.1, stop_secs=0.3))
    events, pos = [], 0
    for size in [123, 777, 320, 1] * 1000:
        if pos >= sig.size:
            break
        events += await analyzer.feed(sig[pos : pos + size].tobytes(), 5.0)
        pos += size
    assert [e.kind for e in events] == [VADEventKind.STARTED, VADEventKind.STOPPED]
    assert events[0].timestamp == pytest.approx(5.5, abs=0.02)
    assert events[1].timestamp == pytest.approx(6.5, abs=0.02)


async def test_analyzer_resamples_other_input_rates() -> None:
    rate = 48000
    tone = (np.sin(np.arange(rate) * 2 * np.pi * 300 / rate) * 8000).astype(np.int16)
    sig = np.concatenate([np.zeros(rate // 2, np.int16), tone, np.zeros(rate, np.int16)])
    analyzer = VADAnalyzer(EnergyVAD(), VADParams(), sample_rate=rate)
    events = []
    for i in range(0, sig.size, 960):
        events += await analyzer.feed(sig[i : i + 960].tobytes())
    assert [e.kind for e in events] == [VADEventKind.STARTED, VADEventKind.STOPPED]
    assert events[0].timestamp == pytest.approx(0.5, abs=0.03)
    assert events[1].timestamp == pytest.approx(1.5, abs=0.03)
