"""Log-scale duration histograms, packed so that merging thousands of them is cheap.

Bins (DDSketch, Masson et al., VLDB 2019): bin ``i`` holds durations in ``(γ^(i-1), γ^i]`` with
``γ = (1+α)/(1-α)`` and reads back as ``2γ^i/(γ+1)``, within a relative error ``α`` =
:data:`RELATIVE_ERROR` (1 %) of every value it holds. So a nearest-rank percentile read from a
merged histogram is within 1 % of the exact nearest-rank percentile of the raw values. Durations
are clamped to [1 µs, 1e5 s]: at most 1,268 bins, each fits an int16.

Packing (one blob per rollup bucket, key and kind):

``S`` + int16 bins, one per call: sparse, for up to 128 calls when smaller than the dense form.
      Merging is ``Counter.update`` over the array, which runs in C.
``D`` + int16 lowest bin + uint32 count per bin up to the highest: dense (``W``: uint64 counts,
      should a bin ever pass 2^32). Merging widens the counts to 64-bit lanes of one Python
      ``int`` (four slice copies) and adds it to the total with one shift and add: every lane
      at once, in C, with no carry between lanes (a lane would need 2^64 calls).

So merging any blob costs a few microseconds of C work, never a Python loop per bin or per call:
a summary reads thousands of blobs in milliseconds.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections import Counter
from collections.abc import Mapping

__all__ = [
    "GAMMA",
    "MAX_BIN",
    "MIN_BIN",
    "RELATIVE_ERROR",
    "HistogramMerge",
    "bin_of",
    "bin_value",
    "decode",
    "encode",
    "percentile",
]

RELATIVE_ERROR = 0.01
GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR)
_LOG_GAMMA = math.log(GAMMA)
_MIN_VALUE = 1e-6
_MAX_VALUE = 1e5
MIN_BIN = math.ceil(math.log(_MIN_VALUE) / _LOG_GAMMA)
MAX_BIN = math.ceil(math.log(_MAX_VALUE) / _LOG_GAMMA)
_LANE = 64
_SPARSE = 0x53  # "S"
_DENSE = 0x44  # "D"
_WIDE = 0x57  # "W"
_MAX_SPARSE = 128
_LITTLE = sys.byteorder == "little"


def bin_of(value: float) -> int:
    """The histogram bin of a duration in seconds."""
    if value <= _MIN_VALUE:
        return MIN_BIN
    if value >= _MAX_VALUE:
        return MAX_BIN
    return math.ceil(math.log(value) / _LOG_GAMMA)


def bin_value(index: int) -> float:
    """The value a bin reads back as (within :data:`RELATIVE_ERROR` of all it holds)."""
    if index <= MIN_BIN:
        return _MIN_VALUE
    return 2.0 * GAMMA**index / (GAMMA + 1.0)


def percentile(hist: Mapping[int, int], q: float, total: int | None = None) -> float | None:
    """Nearest-rank ``q``-quantile (0 < q <= 1) of a histogram; ``None`` if it is empty."""
    n = sum(hist.values()) if total is None else total
    if n <= 0:
        return None
    rank = max(1, math.ceil(q * n - 1e-9))  # the guard keeps 0.95 * 100 at rank 95
    seen = 0
    for index in sorted(hist):
        seen += hist[index]
        if seen >= rank:
            return bin_value(index)
    return bin_value(max(hist))  # pragma: no cover - only if total disagrees with hist


def _array(typecode: str, data: bytes) -> array[int]:
    values = array(typecode)
    values.frombytes(data)
    if not _LITTLE:  # pragma: no cover - big-endian hosts
        values.byteswap()
    return values


def _bytes(values: array[int]) -> bytes:
    if not _LITTLE:  # pragma: no cover - big-endian hosts
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def encode(counts: Mapping[int, int]) -> bytes:
    """Pack ``{bin: count}`` (counts > 0) as the smaller of the sparse and dense forms."""
    if not counts:
        return b""
    lo, hi = min(counts), max(counts)
    calls = sum(counts.values())
    if calls <= _MAX_SPARSE and calls <= 2 * (hi - lo + 1):
        bins = array("h")
        for index, n in sorted(counts.items()):
            bins.extend([index] * n)
        return bytes((_SPARSE,)) + _bytes(bins)
    wide = max(counts.values()) >= 2**32
    lanes = array("Q" if wide else "I", bytes((8 if wide else 4) * (hi - lo + 1)))
    for index, n in counts.items():
        lanes[index - lo] = n
    tag = _WIDE if wide else _DENSE
    return bytes((tag,)) + lo.to_bytes(2, "little", signed=True) + _bytes(lanes)


def decode(blob: bytes | None) -> Counter[int]:
    """Unpack a blob made by :func:`encode` (empty or ``None``: an empty histogram)."""
    merge = HistogramMerge()
    merge.add_blob(blob)
    return merge.counts()


class HistogramMerge:
    """Adds packed histograms (and single values) together; :meth:`counts` reads the result."""

    __slots__ = ("dense", "sparse")

    def __init__(self) -> None:
        self.dense = 0
        self.sparse: Counter[int] = Counter()

    def add_blob(self, blob: bytes | None) -> None:
        if not blob:
            return
        tag = blob[0]
        if tag == _SPARSE:
            self.sparse.update(_array("h", blob[1:]))
        elif tag in (_DENSE, _WIDE):
            lo = int.from_bytes(blob[1:3], "little", signed=True)
            lanes = blob[3:]
            if tag == _DENSE:  # uint32 counts -> 64-bit lanes
                wide = bytearray(2 * len(lanes))
                for k in range(4):
                    wide[k::8] = lanes[k::4]
                lanes = bytes(wide)
            self.dense += int.from_bytes(lanes, "little") << (_LANE * (lo - MIN_BIN))
        else:
            raise ValueError(f"unknown histogram encoding {tag:#x}")

    def add_value(self, seconds: float) -> None:
        self.sparse[bin_of(seconds)] += 1

    def add_counts(self, counts: Mapping[int, int]) -> None:
        self.sparse.update(counts)

    def counts(self) -> Counter[int]:
        out = Counter(self.sparse)
        if self.dense:
            width = (self.dense.bit_length() + _LANE - 1) // _LANE
            lanes = _array("Q", self.dense.to_bytes(width * 8, "little"))
            for offset, n in enumerate(lanes):
                if n:
                    out[MIN_BIN + offset] += n
        return out
