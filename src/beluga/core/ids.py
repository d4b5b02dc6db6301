"""Short, sortable, collision-safe identifiers for calls, sessions and runs."""

from __future__ import annotations

import os
import time

__all__ = ["new_id"]

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase


def new_id(prefix: str = "") -> str:
    """Return ``prefix_`` + 26 base32 chars: 48 bits of milliseconds then 80 random bits.

    Ids sort by creation time, like ULIDs, so logs and stores read in order.
    """
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    body = "".join(reversed(chars))
    return f"{prefix}_{body}" if prefix else body
