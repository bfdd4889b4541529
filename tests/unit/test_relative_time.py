"""The pages' shared relative-time formatter (web_client/js/time.js), run in Node: "just
now" for the moment a comment is posted (never "in 0 s"), minutes and hours ago, a
future time "in 5 min"."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

TIME_JS = Path(__file__).resolve().parents[2] / "web_client" / "js" / "time.js"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

NOW = "2026-03-12T15:00:00.000Z"
CASES = {
    NOW: "just now",  # posted this very moment
    "2026-03-12T15:00:00.400Z": "just now",  # the server's clock a hair ahead of ours
    "2026-03-12T15:00:40Z": "just now",
    "2026-03-12T14:59:15Z": "just now",
    "2026-03-12T14:58:00Z": "2 min ago",
    "2026-03-12T14:01:00Z": "59 min ago",
    "2026-03-12T12:00:00Z": "3 h ago",
    "2026-03-11T13:00:00Z": "yesterday",
    "2026-03-08T15:00:00Z": "4 days ago",
    "2026-03-12T15:05:00Z": "in 5 min",
    "2026-03-12T17:00:00Z": "in 2 h",
    "2026-03-13T16:00:00Z": "tomorrow",
    "2026-03-15T15:00:00Z": "in 3 days",
    "not a date": "",
    "": "",
}


def test_relative_times_read_like_people_say_them() -> None:
    script = (
        f"import {{ formatRelative }} from {json.dumps(TIME_JS.as_uri())};\n"
        f"const now = Date.parse({json.dumps(NOW)});\n"
        f"const cases = {json.dumps(list(CASES))};\n"
        "const out = Object.fromEntries(cases.map((c) => [c, formatRelative(c, now)]));\n"
        "out.older = formatRelative('2026-01-02T10:00:00Z', now);\n"
        "out.default_now = formatRelative(new Date().toISOString());\n"
        "console.log(JSON.stringify(out));\n"
    )
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    got = json.loads(done.stdout)
    for iso, expected in CASES.items():
        assert got[iso] == expected, (iso, got[iso])
    assert got["older"] and "ago" not in got["older"] and "in " not in got["older"]
    assert got["default_now"] == "just now"
    # never a zero count, never seconds
    assert not any(re.search(r"(^|\s)0 |\d s\b", text) for text in got.values()), got
