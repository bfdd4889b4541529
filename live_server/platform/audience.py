"""Who is one viewer, for counting "watching": the one key every connection of a person
(or of an anonymous device) maps to, whether it is a room socket or a video connection.

A signed-in viewer is their user, on every device and tab. An anonymous page names its
device with a random key it keeps in localStorage (sent as the room handshake's
`auth.viewer_key` and as WHEP's `X-Viewer-Key` header), so its room socket and its video
connection count once. The key is hashed: whatever a client sends is safe to keep and has
a bounded size. A connection without either is a viewer of its own.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

#: A device key: 1-200 visible ASCII characters (the page's random id).
_DEVICE_KEY: Final = re.compile(r"[\x21-\x7e]{1,200}")
#: The header a page sends its device key in with WHEP (and analytics events).
VIEWER_KEY_HEADER: Final = "X-Viewer-Key"


def device_key(raw: object) -> str | None:
    """A client's device key if it is well formed, else None (never an error: a page that
    sends nothing or garbage is still a viewer, counted per connection)."""
    if isinstance(raw, str) and _DEVICE_KEY.fullmatch(raw):
        return raw
    return None


def audience_key(user_id: int | None, device: str | None) -> str | None:
    """The viewer a connection belongs to: `u:<user id>` when signed in, `d:<hash>` for an
    anonymous device that named itself, None when neither (count the connection alone)."""
    if user_id is not None:
        return f"u:{user_id}"
    if device is not None:
        return "d:" + hashlib.sha256(device.encode("ascii", "replace")).hexdigest()[:24]
    return None


def user_of(key: str) -> int | None:
    """The user id of a `u:` key, None for any other."""
    if key.startswith("u:") and key[2:].isdigit():
        return int(key[2:])
    return None
