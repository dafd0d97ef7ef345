"""UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits; sorts by time.

Python 3.11 has no `uuid.uuid7`. Within one process the ids are strictly increasing: a
12-bit counter (`rand_a`) orders ids of the same millisecond, and a clock that goes back
is treated as not having moved.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def _next_tick() -> tuple[int, int]:
    global _last_ms, _counter
    with _lock:
        now = time.time_ns() // 1_000_000
        if now > _last_ms:
            _last_ms, _counter = now, int.from_bytes(os.urandom(2), "big") & 0x3FF
        else:  # same millisecond (or the clock went back): count on
            _counter += 1
            if _counter > 0xFFF:
                _last_ms, _counter = _last_ms + 1, 0
        return _last_ms, _counter


def uuid7() -> uuid.UUID:
    """A new time-ordered UUID (version 7, RFC 9562 variant)."""
    ms, counter = _next_tick()
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def uuid7_time_ms(value: uuid.UUID) -> int:
    """The Unix time in milliseconds a UUIDv7 carries."""
    return value.int >> 80
