"""Audio plumbing for voice sessions: PCM16 checks, conversion, resampling, WAV, G.711, Opus.

A session carries PCM16 little-endian mono at one sample rate; everything entering it is
checked here with an error that names what was wrong. Resampling uses soxr (a maintained,
high-quality resampler) through one :class:`Resampler` per stream, so chunk boundaries never
drift: ``soxr.ResampleStream`` keeps the filter state between chunks. μ-law and A-law are
G.711 implemented with numpy tables (the stdlib ``audioop`` is deprecated and gone in 3.13).
Opus goes through PyAV, whose wheels bundle libopus (and which faster-whisper already pulls
in), so no system library is needed. numpy, soxr and av are imported lazily: ``import beluga``
stays fast.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from beluga.core.errors import BelugaError, ErrorCode

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "Rechunker",
    "Resampler",
    "WavAudio",
    "alaw_decode",
    "alaw_encode",
    "check_pcm16",
    "float32_to_pcm16",
    "opus_decode",
    "opus_encode",
    "pcm16_to_float32",
    "read_wav",
    "resample",
    "samples_for",
    "ulaw_decode",
    "ulaw_encode",
    "write_wav",
]

_OP = "voice.audio"
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


def _invalid(message: str) -> BelugaError:
    return BelugaError(_OP, ErrorCode.INVALID_REQUEST, message)


def samples_for(sample_rate: int, seconds: float) -> int:
    """Samples in ``seconds`` of audio at ``sample_rate`` (20 ms at 16 kHz is 320)."""
    return round(sample_rate * seconds)


def check_pcm16(
    pcm: bytes, *, sample_rate: int, expected_rate: int | None = None, channels: int = 1
) -> None:
    """Raise a clear :class:`BelugaError` unless ``pcm`` is whole PCM16 frames at the right rate.

    The session's audio is PCM16 mono: a wrong rate, channel count or a truncated buffer (an odd
    byte count, or one that splits a multi-channel frame) is a caller's mistake worth naming.
    """
    if sample_rate <= 0:
        raise _invalid(f"sample rate must be positive, got {sample_rate} Hz")
    if expected_rate is not None and sample_rate != expected_rate:
        raise _invalid(
            f"audio is at {sample_rate} Hz but the session runs at {expected_rate} Hz; "
            "resample it with beluga.voice.audio.Resampler first"
        )
    if channels != 1:
        raise _invalid(f"voice sessions take mono audio, got {channels} channels; downmix first")
    if len(pcm) % 2:
        raise _invalid(
            f"PCM16 audio must have an even byte count (2 bytes a sample), got {len(pcm)} bytes: "
            "the buffer was truncated mid-sample"
        )


def pcm16_to_float32(pcm: bytes) -> npt.NDArray[np.float32]:
    """PCM16 bytes as float32 samples in [-1, 1) (what VAD and STT models eat)."""
    import numpy as np

    if len(pcm) % 2:
        raise _invalid(f"PCM16 audio must have an even byte count, got {len(pcm)} bytes")
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def float32_to_pcm16(samples: npt.ArrayLike) -> bytes:
    """Float samples in [-1, 1] as PCM16 bytes; out-of-range values clip instead of wrapping."""
    import numpy as np

    arr = np.asarray(samples, dtype=np.float32)
    if arr.ndim != 1:
        raise _invalid(f"expected mono samples (a 1-D array), got shape {arr.shape}")
    scaled = np.clip(np.rint(arr * 32768.0), -32768, 32767)
    return bytes(scaled.astype("<i2").tobytes())


class Resampler:
    """A streaming PCM16 resampler: feed chunks, get output with no drift at chunk boundaries.

    Keep one per stream (per session direction); the total output length tracks
    ``input_length * out_rate / in_rate`` however the input is split. Call :meth:`flush` at the
    end of the stream to get the filter's tail.
    """

    __slots__ = ("_stream", "in_rate", "out_rate")

    def __init__(self, in_rate: int, out_rate: int, *, quality: str = "HQ") -> None:
        if in_rate <= 0 or out_rate <= 0:
            raise _invalid(f"sample rates must be positive, got {in_rate} -> {out_rate} Hz")
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream: Any = None
        if in_rate != out_rate:
            import soxr

            self._stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="int16", quality=quality)

    def process(self, pcm: bytes) -> bytes:
        """Resample one chunk of PCM16 mono; the output may lag by the filter's delay."""
        check_pcm16(pcm, sample_rate=self.in_rate)
        if self._stream is None:
            return pcm
        import numpy as np

        out = self._stream.resample_chunk(np.frombuffer(pcm, dtype="<i2"), last=False)
        return bytes(out.astype("<i2").tobytes())

    def flush(self) -> bytes:
        """The samples still inside the filter, at the end of the stream."""
        if self._stream is None:
            return b""
        import numpy as np

        out = self._stream.resample_chunk(np.zeros(0, dtype="<i2"), last=True)
        return bytes(out.astype("<i2").tobytes())


def resample(pcm: bytes, in_rate: int, out_rate: int) -> bytes:
    """Resample a whole PCM16 mono buffer (one-shot; streams use :class:`Resampler`)."""
    resampler = Resampler(in_rate, out_rate)
    return resampler.process(pcm) + resampler.flush()


class Rechunker:
    """Regroup a PCM16 stream into chunks of exactly ``samples`` samples, losing nothing.

    Transports send 20 ms frames; Silero VAD wants 512-sample windows (32 ms at 16 kHz).
    :meth:`push` returns every whole chunk now available; :meth:`flush` returns the remainder
    (shorter than a chunk), optionally zero-padded to a whole chunk.
    """

    __slots__ = ("_buffer", "_size")

    def __init__(self, samples: int) -> None:
        if samples <= 0:
            raise _invalid(f"chunk size must be a positive number of samples, got {samples}")
        self._size = samples * 2
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Samples held back until a whole chunk is available."""
        return len(self._buffer) // 2

    def push(self, pcm: bytes) -> list[bytes]:
        """Add PCM16 bytes; return the whole chunks they complete, in order."""
        if len(pcm) % 2:
            raise _invalid(f"PCM16 audio must have an even byte count, got {len(pcm)} bytes")
        self._buffer += pcm
        size = self._size
        count = len(self._buffer) // size
        if not count:
            return []
        chunks = [bytes(self._buffer[i * size : (i + 1) * size]) for i in range(count)]
        del self._buffer[: count * size]
        return chunks

    def flush(self, *, pad: bool = False) -> bytes:
        """The held-back remainder (zero-padded to a whole chunk if ``pad`` and not empty)."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        if pad and rest:
            rest += b"\x00" * (self._size - len(rest))
        return rest


# --- WAV ---------------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class WavAudio:
    """PCM16 audio read from a WAV file."""

    pcm: bytes
    sample_rate: int
    channels: int

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return len(self.pcm) / (2 * self.channels * self.sample_rate)

    def mono(self) -> bytes:
        """The audio downmixed to mono PCM16 (the mean of the channels)."""
        if self.channels == 1:
            return self.pcm
        import numpy as np

        arr = np.frombuffer(self.pcm, dtype="<i2").reshape(-1, self.channels)
        return bytes(arr.mean(axis=1).round().astype("<i2").tobytes())


def read_wav(source: str | Path | bytes) -> WavAudio:
    """Read a PCM16 WAV file (a path or its bytes)."""
    handle: Any = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        with wave.open(handle, "rb") as wav:
            width = wav.getsampwidth()
            if width != 2:
                raise _invalid(
                    f"WAV sample width is {width * 8} bits; voice takes 16-bit PCM, "
                    "convert it (e.g. sox in.wav -b 16 out.wav)"
                )
            frames = wav.readframes(wav.getnframes())
            return WavAudio(frames, wav.getframerate(), wav.getnchannels())
    except (wave.Error, EOFError) as exc:
        raise _invalid(f"not a readable PCM WAV file: {exc}") from exc


def write_wav(target: str | Path | None, pcm: bytes, sample_rate: int, channels: int = 1) -> bytes:
    """Write PCM16 as a WAV file (to ``target`` if given); return the file's bytes."""
    if len(pcm) % (2 * channels):
        raise _invalid(f"{len(pcm)} bytes is not a whole number of {channels}-channel samples")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    data = buffer.getvalue()
    if target is not None:
        Path(target).write_bytes(data)
    return data


# --- G.711 μ-law / A-law ----------------------------------------------------------------------

_TABLES: dict[str, Any] = {}


def _ulaw_decode_one(byte: int) -> int:
    u = ~byte & 0xFF
    exponent = (u >> 4) & 0x07
    magnitude = (((u & 0x0F) << 3) + 0x84) << exponent
    magnitude -= 0x84
    return -magnitude if u & 0x80 else magnitude


def _alaw_decode_one(byte: int) -> int:
    a = byte ^ 0x55
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    step = (mantissa << 4) + 8
    magnitude = step if exponent == 0 else (step + 0x100) << (exponent - 1)
    return magnitude if a & 0x80 else -magnitude


def _ulaw_encode_one(sample: int) -> int:
    # G.711 on the 14-bit magnitude: bias 33, clip 8159, segment by the magnitude's bit length.
    value = sample >> 2
    mask = 0xFF
    if value < 0:
        value = -value
        mask = 0x7F
    value = min(value, 8159) + 0x21
    segment = value.bit_length() - 6
    if segment >= 8:  # past the last segment: the largest code
        return 0x7F ^ mask
    code = (segment << 4) | ((value >> (segment + 1)) & 0x0F)
    return code ^ mask


def _alaw_encode_one(sample: int) -> int:
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(sample if sample >= 0 else -sample - 1, 32767) >> 3
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (sign | code) ^ 0x55


def _table(name: str) -> Any:
    table = _TABLES.get(name)
    if table is None:
        import numpy as np

        if name == "ulaw_dec":
            table = np.array([_ulaw_decode_one(b) for b in range(256)], dtype="<i2")
        elif name == "alaw_dec":
            table = np.array([_alaw_decode_one(b) for b in range(256)], dtype="<i2")
        elif name == "ulaw_enc":
            table = np.array([_ulaw_encode_one(s) for s in range(-32768, 32768)], dtype=np.uint8)
        else:
            table = np.array([_alaw_encode_one(s) for s in range(-32768, 32768)], dtype=np.uint8)
        _TABLES[name] = table
    return table


def _encode(pcm: bytes, name: str) -> bytes:
    import numpy as np

    if len(pcm) % 2:
        raise _invalid(f"PCM16 audio must have an even byte count, got {len(pcm)} bytes")
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int32) + 32768
    return bytes(_table(name)[samples].tobytes())


def _decode(data: bytes, name: str) -> bytes:
    import numpy as np

    return bytes(_table(name)[np.frombuffer(data, dtype=np.uint8)].tobytes())


def ulaw_encode(pcm: bytes) -> bytes:
    """PCM16 to G.711 μ-law, one byte a sample (telephony, e.g. Twilio media streams)."""
    return _encode(pcm, "ulaw_enc")


def ulaw_decode(data: bytes) -> bytes:
    """G.711 μ-law to PCM16."""
    return _decode(data, "ulaw_dec")


def alaw_encode(pcm: bytes) -> bytes:
    """PCM16 to G.711 A-law, one byte a sample (European telephony)."""
    return _encode(pcm, "alaw_enc")


def alaw_decode(data: bytes) -> bytes:
    """G.711 A-law to PCM16."""
    return _decode(data, "alaw_dec")


# --- Opus --------------------------------------------------------------------------------------


def _check_opus_rate(sample_rate: int) -> None:
    if sample_rate not in OPUS_RATES:
        raise _invalid(
            f"Opus runs at {', '.join(map(str, OPUS_RATES))} Hz, not {sample_rate} Hz; "
            "resample first"
        )


def opus_encode(pcm: bytes, sample_rate: int, *, bitrate: int = 32000) -> list[bytes]:
    """Encode PCM16 mono as Opus packets (20 ms each; the last one padded with silence)."""
    import av

    check_pcm16(pcm, sample_rate=sample_rate)
    _check_opus_rate(sample_rate)
    codec: Any = av.CodecContext.create("libopus", "w")
    codec.sample_rate = sample_rate
    codec.layout = "mono"
    codec.format = "s16"
    codec.bit_rate = bitrate
    codec.open()
    step = samples_for(sample_rate, 0.02) * 2
    packets: list[bytes] = []
    pts = 0
    for start in range(0, len(pcm), step):
        chunk = pcm[start : start + step].ljust(step, b"\x00")
        frame: Any = av.AudioFrame(format="s16", layout="mono", samples=step // 2)
        frame.planes[0].update(chunk)
        frame.sample_rate = sample_rate
        frame.pts = pts
        pts += step // 2
        packets.extend(bytes(p) for p in codec.encode(frame))
    packets.extend(bytes(p) for p in codec.encode(None))
    return packets


def opus_decode(packets: list[bytes], sample_rate: int) -> bytes:
    """Decode Opus packets to PCM16 mono at ``sample_rate``."""
    import av

    _check_opus_rate(sample_rate)
    codec: Any = av.CodecContext.create("libopus", "r")
    codec.sample_rate = sample_rate
    codec.layout = "mono"
    codec.open()
    # libopus decodes at 48 kHz; PyAV's resampler brings it to the rate asked for.
    resampler: Any = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
    out = bytearray()
    for data in packets:
        for frame in codec.decode(av.Packet(data)):
            for converted in resampler.resample(frame):
                out += _as_pcm16(converted.to_ndarray())
    for converted in resampler.resample(None):
        out += _as_pcm16(converted.to_ndarray())
    return bytes(out)


def _as_pcm16(arr: Any) -> bytes:
    import numpy as np

    flat = np.asarray(arr).reshape(-1)
    if flat.dtype == np.int16:
        return bytes(flat.astype("<i2").tobytes())
    return float32_to_pcm16(flat)
