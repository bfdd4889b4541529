"""An upcoming show as an iCalendar event (RFC 5545), pure text.

Times are UTC ("Z" form), lines end in CRLF, text values escape backslash, semicolon, comma
and newlines, and lines longer than 75 octets are folded (a CRLF and one space), never
inside a UTF-8 sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

#: How long the calendar entry lasts when the show has not ended (one hour).
DEFAULT_DURATION_S = 3600
_FOLD_AT = 75


@dataclass(frozen=True)
class CalendarShow:
    """What the calendar entry says about a show."""

    session_id: int
    title: str
    description: str
    host_name: str
    starts_at: float
    ends_at: float | None
    url: str
    domain: str


def utc_stamp(epoch: float) -> str:
    """An RFC 5545 UTC DATE-TIME: 20261202T183000Z."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%dT%H%M%SZ")


def escape_text(value: str) -> str:
    """An RFC 5545 TEXT value (section 3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Folds a content line at 75 octets (section 3.1)."""
    out: list[str] = []
    current = b""
    limit = _FOLD_AT
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > limit:
            out.append(current.decode())
            current = b""
            limit = _FOLD_AT - 1  # continuation lines start with a space
        current += encoded
    out.append(current.decode())
    return "\r\n ".join(out)


def ics_event(show: CalendarShow, now: float) -> str:
    """A VCALENDAR with one VEVENT for the show (a 15-minute alarm before it starts)."""
    ends = show.ends_at if show.ends_at and show.ends_at > show.starts_at else None
    about = show.description.strip()
    details = f"Live with {show.host_name} on LiveShop: {show.url}"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//LiveShop//Show reminder//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:show-{show.session_id}@{show.domain}",
        f"DTSTAMP:{utc_stamp(now)}",
        f"DTSTART:{utc_stamp(show.starts_at)}",
        f"DTEND:{utc_stamp(ends or show.starts_at + DEFAULT_DURATION_S)}",
        f"SUMMARY:{escape_text(show.title)}",
        f"DESCRIPTION:{escape_text(about + chr(10) + chr(10) + details if about else details)}",
        f"URL:{show.url}",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{escape_text(show.title)} starts soon",
        "TRIGGER:-PT15M",
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + "\r\n" for line in lines)
