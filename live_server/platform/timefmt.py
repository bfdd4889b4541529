"""The one ISO 8601 formatter: epoch seconds to UTC with a Z, at a chosen precision."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

Precision = Literal["seconds", "milliseconds", "auto"]


def iso(ts: float | None, timespec: Precision = "seconds") -> str | None:
    """Epoch seconds -> ISO 8601 UTC with a trailing Z; None stays None.

    REST resources use whole seconds; room events carry milliseconds (chat order within a
    second matters); commerce records keep what the clock gave ("auto": microseconds when
    there are any).
    """
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec=timespec).replace("+00:00", "Z")
