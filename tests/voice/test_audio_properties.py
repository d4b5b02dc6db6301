"""Property tests the audio path relies on, beyond tests/voice/test_audio.py: chunking never
changes what a resampler outputs, up-then-down resampling keeps the signal, conversions, WAV
and G.711 round trips are exact, and the output step's transport frames lose no sample and
credit every word once, in order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from beluga.voice import audio
from beluga.voice.frames import TTSAudioFrame, WordTiming
from beluga.voice.processors.output import _credits, _cut

pcm16 = st.lists(st.integers(-32768, 32767), max_size=2000).map(
    lambda xs: np.asarray(xs, dtype="<i2").tobytes()
)
RATES = [(8000, 16000), (16000, 8000), (16000, 24000), (22050, 16000), (48000, 16000)]


def tone(samples: int, rate: int) -> bytes:
    t = np.arange(samples) / rate
    return audio.float32_to_pcm16(0.4 * np.sin(2 * np.pi * 300.0 * t))


@settings(max_examples=30, deadline=None)
@given(
    rates=st.sampled_from(RATES),
    cuts=st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=30),
)
def test_how_a_stream_is_cut_never_changes_the_resampled_audio(
    rates: tuple[int, int], cuts: list[int]
) -> None:
    in_rate, out_rate = rates
    pcm = tone(sum(cuts), in_rate)
    whole = audio.resample(pcm, in_rate, out_rate)
    stream = audio.Resampler(in_rate, out_rate)
    out, pos = b"", 0
    for cut in cuts:
        out += stream.process(pcm[pos * 2 : (pos + cut) * 2])
        pos += cut
    out += stream.flush()
    assert abs(len(out) - len(whole)) <= 4  # a sample at most: no drift
    a = np.frombuffer(out, "<i2").astype(int)
    b = np.frombuffer(whole, "<i2").astype(int)
    n = min(a.size, b.size)
    assert np.abs(a[:n] - b[:n]).max(initial=0) <= 16  # the same audio (filter rounding aside)


@settings(max_examples=15, deadline=None)
@given(
    rates=st.sampled_from([(16000, 48000), (8000, 16000), (16000, 24000)]), ms=st.integers(100, 800)
)
def test_up_then_down_keeps_the_signal_and_its_length(rates: tuple[int, int], ms: int) -> None:
    low, high = rates
    pcm = tone(low * ms // 1000, low)
    back = audio.resample(audio.resample(pcm, low, high), high, low)
    assert abs(len(back) - len(pcm)) <= 4  # at most a sample or two of drift over the trip
    a = np.frombuffer(pcm, "<i2").astype(float)
    b = np.frombuffer(back, "<i2").astype(float)[: a.size]
    edge = low // 100  # the filters' edges (10 ms) are allowed to differ
    err = np.sqrt(np.mean((a[edge:-edge] - b[edge:-edge]) ** 2))
    assert err < 0.02 * 32768 * 0.4


@given(pcm16)
def test_pcm16_float_pcm16_is_exact(pcm: bytes) -> None:
    assert audio.float32_to_pcm16(audio.pcm16_to_float32(pcm)) == pcm


@settings(max_examples=40, deadline=None)
@given(pcm=pcm16, rate=st.sampled_from([8000, 16000, 22050, 24000, 48000]), stereo=st.booleans())
def test_wav_round_trip_is_exact(pcm: bytes, rate: int, stereo: bool) -> None:
    channels = 2 if stereo else 1
    pcm = pcm[: len(pcm) // (2 * channels) * 2 * channels]
    wav = audio.read_wav(audio.write_wav(None, pcm, rate, channels))
    assert (wav.pcm, wav.sample_rate, wav.channels) == (pcm, rate, channels)


@given(st.binary(max_size=300))
def test_g711_bytes_round_trip_exactly(data: bytes) -> None:
    # Every G.711 byte decodes to a sample that encodes back to a byte decoding the same.
    for decode, encode in (
        (audio.ulaw_decode, audio.ulaw_encode),
        (audio.alaw_decode, audio.alaw_encode),
    ):
        samples = decode(data)
        assert len(samples) == 2 * len(data)
        assert decode(encode(samples)) == samples


@given(pcm=pcm16, rate=st.sampled_from([16000, 22050, 24000]), frame_ms=st.sampled_from([10, 20]))
def test_transport_frames_lose_no_sample(pcm: bytes, rate: int, frame_ms: int) -> None:
    pieces = _cut(TTSAudioFrame(pcm, rate), frame_ms)
    assert b"".join(pieces) == pcm
    limit = audio.samples_for(rate, frame_ms / 1000) * 2
    assert all(0 < len(p) <= limit for p in pieces)
    assert all(len(p) == limit for p in pieces[:-1])


@given(
    words=st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=1, max_size=30),
    pieces=st.integers(1, 60),
    timed=st.booleans(),
)
def test_every_word_is_credited_once_in_order(words: list[str], pieces: int, timed: bool) -> None:
    seconds = pieces * 0.02
    step = seconds / len(words)
    timings = tuple(WordTiming(w, i * step, (i + 1) * step) for i, w in enumerate(words))
    frame = TTSAudioFrame(
        bytes(2 * 320 * pieces), 16000, text=" ".join(words), words=timings if timed else ()
    )
    credits = _credits(frame, pieces)
    assert credits is not None and len(credits) == pieces
    assert [w for c in credits for w in c] == words
