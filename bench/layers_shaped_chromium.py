"""`make bench-layers-shaped`: issue 16's shaped-viewer criterion with a Chromium host, run
once and printed check by check (tests/support/shaped_verdict.py). The test suite runs the
same scenario once (tests/browser/test_media_layers_shaped_chromium.py, solo); this prints
every check and keeps the reports, for looking into a run (docs/media.md, "A layer per
viewer").

Chromium publishes the studio's three simulcast layers; three Chromium viewers watch, two
over loopback and one in a network namespace of its own whose downlink ``tc tbf`` shapes to
400 kbit/s for 20 s (tests/support/shaped_chromium.py runs it all inside a second
namespace; nothing touches this machine's interfaces). ``SHAPED_DEBUG=1`` adds each layer
switch's timestamp arithmetic to the reports, ``SHAPED_LOG=1`` the server's log (layer
moves, probes, keyframe requests) to the file; ``bench/layers_shaped_chromium.py FILE``
judges an earlier run's reports again. Needs root, iproute2 and Debian's Chromium.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts tests/ on sys.path, for support.*)

from support.chromium import CHROMIUM
from support.netns_pair import missing_tools
from support.shaped_verdict import judge, run_scenario


def report(lines: list[dict[str, Any]]) -> int:
    summary, failures = judge(lines)
    print(json.dumps(summary, indent=1))
    for failure in failures:
        print(f"FAILED: {failure}")
    print("all checks passed" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


def main() -> int:
    if len(sys.argv) > 1:
        return report([json.loads(x) for x in open(sys.argv[1]) if x.startswith("{")])
    missing = missing_tools() or (None if shutil.which(CHROMIUM) else "no Chromium")
    if missing:
        print(f"cannot run: {missing}")
        return 2
    out_dir = Path(tempfile.mkdtemp(prefix="layers-shaped-"))
    status, stderr, lines = run_scenario(out_dir)
    print(f"every report: {out_dir / 'shaped.jsonl'}")
    if status != 0:
        print(stderr)
        return 1
    return report(lines)


if __name__ == "__main__":
    sys.exit(main())
