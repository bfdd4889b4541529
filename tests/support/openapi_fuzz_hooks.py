"""schemathesis hooks for tests/integration/test_openapi_fuzz.py (loaded through
SCHEMATHESIS_HOOKS): WHIP and WHEP bodies are SDP text, sent as schemathesis sends text."""

from __future__ import annotations

import schemathesis

schemathesis.serializer.alias("application/sdp", "text/plain")
