"""A cheaper NTP clock for RTCP sender reports (installed in aiortc by the hooks, used by the
fast send path): the one piece both need, so neither imports the other for it."""

from __future__ import annotations

import time

NTP_UNIX_OFFSET_S = 2208988800  # 1900-01-01 to 1970-01-01


def fast_ntp_time() -> int:
    """``aiortc.clock.current_ntp_time()`` without datetime arithmetic (64-bit NTP)."""
    now = time.time()
    seconds = int(now)
    return ((seconds + NTP_UNIX_OFFSET_S) << 32) | int((now - seconds) * 4294967296.0)
