"""schemathesis against the live OpenAPI document of a real `liveshop serve --demo`.

Every check kind (server errors, status codes, content types, response schemas and
headers, negative data rejected, positive data accepted, ...) over every documented
operation, as anonymous, as a viewer and as a host, with a fixed seed and deterministic
generation (tests/integration/openapi_fuzz.toml): a failure is a server bug or a document
bug, never noise. Issue 12, finding 20 and "What to build" part 7.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.helpers import REPO_ROOT, ServerProcess, start_server_process

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).with_name("openapi_fuzz.toml")
HOOKS = REPO_ROOT / "tests" / "support" / "openapi_fuzz_hooks.py"
INTERESTS5 = ["fashion", "beauty", "home", "kitchen", "tech"]


def _post(url: str, body: dict[str, object]) -> dict[str, object]:
    req = urllib.request.Request(
        url,
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        data: dict[str, object] = json.loads(resp.read())
        return data


def _token(server: ServerProcess, username: str, role: str | None = None) -> str:
    """Registers `username`; for another role, raises it in the database (as the test
    fixtures do) and logs in again so that the token carries it."""
    creds = {"username": username, "password": "pw-secret-1"}
    body = _post(
        server.url + "/api/auth/register",
        {**creds, "display_name": username.title(), "interests": INTERESTS5},
    )
    if role is not None:
        with sqlite3.connect(server.data_dir / "liveshop.db") as db:
            db.execute("UPDATE users SET role = ? WHERE username = ?", (role, username))
        body = _post(server.url + "/api/auth/login", creds)
    return str(body["token"])


# Operations that end the identity a run uses (every token of the account stops working):
# the anonymous run still calls them, with whatever account the fuzzer signs up itself.
ENDS_THE_SESSION = ("POST /api/auth/logout", "PUT /api/me/password")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = start_server_process(tmp_path_factory.mktemp("fuzz") / "var", demo=True)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def tokens(server: ServerProcess) -> dict[str, str]:
    """The identities' tokens, made before any run (the fuzzer's own sign-ups can use up
    the sign-up throttle of 127.0.0.1)."""
    return {"viewer": _token(server, "fuzz-viewer"), "host": _token(server, "fuzz-host", "host")}


def _schemathesis(server: ServerProcess, headers: list[str], report: Path) -> None:
    args = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        server.url + "/api/openapi.json",
        "--checks",
        "all",
        "--no-color",
        "--report",
        "ndjson",
        "--report-dir",
        str(report),
    ]
    for header in headers:
        args += ["--header", header]
    if headers:
        for name in ENDS_THE_SESSION:
            args += ["--exclude-name", name]
    # the fuzzer is not code under test: under `make test` (coverage with subprocesses
    # patched) measuring it would double the run; the server it talks to is still measured
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_PROCESS_")}
    env["SCHEMATHESIS_HOOKS"] = str(HOOKS)
    run = subprocess.run(
        args, cwd=report.parent, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode == 0, f"{run.stdout[-20000:]}\n{run.stderr[-3000:]}"


@pytest.mark.parametrize("who", ["anonymous", "viewer", "host"])
def test_openapi_fuzz(
    server: ServerProcess, tokens: dict[str, str], who: str, tmp_path: Path
) -> None:
    headers = [f"Authorization: Bearer {tokens[who]}"] if who in tokens else []
    _schemathesis(server, headers, tmp_path / "report")
