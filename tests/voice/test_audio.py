"""Audio helpers: format checks, conversion, resampling, re-chunking, WAV and codecs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beluga.core.errors import BelugaError, ErrorCode
from beluga.voice import audio


def _tone(samples: int, rate: int = 16000, freq: float = 440.0, amp: float = 0.5) -> bytes:
    t = np.arange(samples) / rate
    return audio.float32_to_pcm16(amp * np.sin(2 * np.pi * freq * t))


def _arr(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.int32)


def test_check_pcm16_names_what_is_wrong() -> None:
    audio.check_pcm16(b"\x00\x00" * 4, sample_rate=16000, expected_rate=16000)
    with pytest.raises(BelugaError, match="24000 Hz but the session runs at 16000") as info:
        audio.check_pcm16(b"\x00\x00", sample_rate=24000, expected_rate=16000)
    assert info.value.code is ErrorCode.INVALID_REQUEST
    with pytest.raises(BelugaError, match="mono audio, got 2 channels"):
        audio.check_pcm16(b"\x00\x00" * 2, sample_rate=16000, channels=2)
    with pytest.raises(BelugaError, match=r"even byte count.*got 3 bytes"):
        audio.check_pcm16(b"\x00\x00\x00", sample_rate=16000)
    with pytest.raises(BelugaError, match="positive"):
        audio.check_pcm16(b"", sample_rate=0)


def test_float_conversion_round_trips_and_clips() -> None:
    pcm = np.array([-32768, -1, 0, 1, 32767], dtype="<i2").tobytes()
    assert audio.float32_to_pcm16(audio.pcm16_to_float32(pcm)) == pcm
    clipped = _arr(audio.float32_to_pcm16(np.array([2.0, -2.0], dtype=np.float32)))
    assert clipped.tolist() == [32767, -32768]
    with pytest.raises(BelugaError, match="1-D"):
        audio.float32_to_pcm16(np.zeros((2, 2)))


@settings(max_examples=25, deadline=None)
@given(
    rates=st.sampled_from([(8000, 16000), (16000, 8000), (16000, 24000), (48000, 16000)]),
    cuts=st.lists(st.integers(min_value=1, max_value=900), min_size=1, max_size=40),
)
def test_streaming_resampler_length_does_not_drift(rates: tuple[int, int], cuts: list[int]) -> None:
    in_rate, out_rate = rates
    pcm = _tone(sum(cuts), in_rate)
    resampler = audio.Resampler(in_rate, out_rate)
    out = b""
    pos = 0
    for cut in cuts:
        out += resampler.process(pcm[pos * 2 : (pos + cut) * 2])
        pos += cut
    out += resampler.flush()
    expected = sum(cuts) * out_rate / in_rate
    assert abs(len(out) // 2 - expected) <= 2


def test_resampler_keeps_the_tone() -> None:
    pcm = _tone(16000, 16000, freq=500)
    out = audio.resample(pcm, 16000, 8000)
    spectrum = np.abs(np.fft.rfft(_arr(out)))
    assert abs(int(np.argmax(spectrum)) - 500) <= 1  # 1 s of audio: bin index is Hz
    assert audio.resample(pcm, 16000, 16000) == pcm
    with pytest.raises(BelugaError):
        audio.Resampler(0, 16000)


@settings(max_examples=50, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=600),
    cuts=st.lists(st.integers(min_value=0, max_value=700), max_size=30),
)
def test_rechunker_loses_and_duplicates_nothing(size: int, cuts: list[int]) -> None:
    total = sum(cuts)
    pcm = np.arange(total, dtype="<i2").tobytes()
    chunker = audio.Rechunker(size)
    chunks: list[bytes] = []
    pos = 0
    for cut in cuts:
        chunks += chunker.push(pcm[pos * 2 : (pos + cut) * 2])
        pos += cut
    assert all(len(c) == size * 2 for c in chunks)
    assert chunker.pending == total % size
    rest = chunker.flush()
    assert b"".join(chunks) + rest == pcm
    assert chunker.pending == 0


def test_rechunker_20ms_to_silero_windows_and_padding() -> None:
    chunker = audio.Rechunker(512)
    frame = _tone(audio.samples_for(16000, 0.02))
    windows = [w for _ in range(8) for w in chunker.push(frame)]
    assert len(windows) == 5  # 8 x 320 = 2560 = 5 x 512
    assert chunker.pending == 0
    chunker.push(b"\x01\x00" * 10)
    padded = chunker.flush(pad=True)
    assert len(padded) == 1024 and padded[:20] == b"\x01\x00" * 10
    with pytest.raises(BelugaError, match="even byte count"):
        chunker.push(b"\x00")
    with pytest.raises(BelugaError, match="positive"):
        audio.Rechunker(0)


def test_wav_round_trip(tmp_path: Path) -> None:
    pcm = _tone(1600)
    path = tmp_path / "a.wav"
    data = audio.write_wav(path, pcm, 16000)
    assert path.read_bytes() == data
    wav = audio.read_wav(path)
    assert (wav.pcm, wav.sample_rate, wav.channels) == (pcm, 16000, 1)
    assert wav.duration == pytest.approx(0.1)
    assert audio.read_wav(data).pcm == pcm


def test_wav_stereo_downmix_and_errors() -> None:
    stereo = np.array([[100, 300], [-100, -300]], dtype="<i2").tobytes()
    wav = audio.read_wav(audio.write_wav(None, stereo, 8000, channels=2))
    assert _arr(wav.mono()).tolist() == [200, -200]
    with pytest.raises(BelugaError, match="not a readable PCM WAV"):
        audio.read_wav(b"RIFF nonsense")
    with pytest.raises(BelugaError, match="whole number"):
        audio.write_wav(None, b"\x00\x00\x00", 8000)


def test_wav_rejects_8_bit() -> None:
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(b"\x80" * 10)
    with pytest.raises(BelugaError, match="8 bits; voice takes 16-bit"):
        audio.read_wav(buffer.getvalue())


_ALL = np.arange(-32768, 32768, dtype="<i2").tobytes()


def test_g711_matches_the_reference_on_every_sample() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    codes = bytes(range(256))
    assert audio.ulaw_encode(_ALL) == audioop.lin2ulaw(_ALL, 2)
    assert audio.alaw_encode(_ALL) == audioop.lin2alaw(_ALL, 2)
    assert audio.ulaw_decode(codes) == audioop.ulaw2lin(codes, 2)
    assert audio.alaw_decode(codes) == audioop.alaw2lin(codes, 2)


@given(st.binary(max_size=400).filter(lambda b: len(b) % 2 == 0))
def test_g711_round_trip_error_bounds(pcm: bytes) -> None:
    x = _arr(pcm)
    for enc, dec in (
        (audio.ulaw_encode, audio.ulaw_decode),
        (audio.alaw_encode, audio.alaw_decode),
    ):
        y = _arr(dec(enc(pcm)))
        assert len(y) == len(x)
        # logarithmic quantisation: error within half a step, steps ~ 1/16 of the magnitude
        bound = np.maximum(np.abs(x) / 16 + 16, 0) + 132 * (np.abs(x) > 32000)
        assert np.all(np.abs(y - x) <= bound)
        assert dec(enc(dec(enc(pcm)))) == dec(enc(pcm))  # decoded values are fixed points
    with pytest.raises(BelugaError):
        audio.ulaw_encode(b"\x00")


@settings(max_examples=10, deadline=None)
@given(
    rate=st.sampled_from([8000, 16000, 24000, 48000]),
    ms=st.integers(min_value=1, max_value=300),
)
def test_opus_round_trip_length(rate: int, ms: int) -> None:
    samples = audio.samples_for(rate, ms / 1000)
    pcm = _tone(samples, rate)
    packets = audio.opus_encode(pcm, rate)
    frames = -(-samples // audio.samples_for(rate, 0.02))
    assert len(packets) >= frames
    decoded = audio.opus_decode(packets, rate)
    # whole 20 ms packets (the last padded), plus the encoder's look-ahead
    assert samples <= len(decoded) // 2 <= (frames + 2) * audio.samples_for(rate, 0.02)


def test_opus_keeps_the_signal() -> None:
    pcm = _tone(16000, 16000, freq=440, amp=0.5)
    decoded = _arr(audio.opus_decode(audio.opus_encode(pcm, 16000), 16000))
    spectrum = np.abs(np.fft.rfft(decoded[:16000]))
    assert abs(int(np.argmax(spectrum)) - 440) <= 2
    with pytest.raises(BelugaError, match="Opus runs at"):
        audio.opus_encode(pcm, 44100)
