"""The import contracts in pyproject.toml catch a wrong import.

Each case copies live_server/, signaling/, recordings/ and pyproject.toml into a scratch
directory, appends ONE deliberately wrong import to a package's ``__init__.py`` (those always
exist, whatever the wiring inside looks like) and runs ``lint-imports`` on that copy for the
contract that should catch it. The check is that the run fails and names the injected import,
so it holds even while the real tree still has violations of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("live_server", "signaling", "recordings")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# (contract id, file that gets the import, the import, what the report must name)
CASES = [
    pytest.param(
        "room-no-commerce",
        "live_server/room/__init__.py",
        "import live_server.commerce",
        "live_server.room -> live_server.commerce",
        id="room-imports-commerce",
    ),
    pytest.param(
        "pure-rules",
        "live_server/room/rules/__init__.py",
        "import aiohttp",
        "live_server.room.rules -> aiohttp",
        id="rules-import-aiohttp",
    ),
    pytest.param(
        "pure-rules",
        "live_server/commerce/rules/__init__.py",
        "import sqlite3",
        "live_server.commerce.rules -> sqlite3",
        id="rules-import-sqlite3",
    ),
    pytest.param(
        "layers",
        "live_server/platform/__init__.py",
        "import live_server.accounts",
        "live_server.platform -> live_server.accounts",
        id="platform-imports-a-feature",
    ),
    pytest.param(
        "layers",
        "recordings/__init__.py",
        "import live_server.media",
        "recordings -> live_server.media",
        id="recordings-imports-media",
    ),
    pytest.param(
        "recordings-standalone",
        "recordings/__init__.py",
        "import live_server.settings",
        "recordings -> live_server.settings",
        id="recordings-imports-settings",
    ),
    pytest.param(
        "signaling-public-entry-points",
        "signaling/__init__.py",
        "import live_server.shows.store",
        "signaling -> live_server.shows.store",
        id="signaling-imports-a-store",
    ),
]


def _contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def _scratch_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    for package in PACKAGES:
        shutil.copytree(
            REPO_ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy2(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def _lint_imports(root: Path, contract: str) -> subprocess.CompletedProcess[str]:
    # lint-imports puts its working directory first on sys.path, so the copy is what it reads
    # (not the editable install); PYTHONPATH says the same for any child it may start.
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("COVERAGE_PROCESS_CONFIG", None)  # nothing of ours runs in there: no data to collect
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--contract", contract],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(("contract", "target", "statement", "reported"), CASES)
def test_a_wrong_import_breaks_its_contract(
    tmp_path: Path, contract: str, target: str, statement: str, reported: str
) -> None:
    assert contract in _contracts(), f"pyproject.toml lost the {contract!r} contract"
    root = _scratch_tree(tmp_path)
    module = root / target
    if not module.exists():
        pytest.fail(f"{target} is gone: point this case at the package's new entry point")
    module.write_text(module.read_text() + f"\n{statement}  # injected by the test\n")

    result = _lint_imports(root, contract)

    output = result.stdout + result.stderr
    name = str(_contracts()[contract]["name"])
    assert result.returncode != 0, output
    assert f"{name} BROKEN" in " ".join(output.split()), output
    assert reported in output, output


def test_recordings_may_import_the_platform(tmp_path: Path) -> None:
    root = _scratch_tree(tmp_path)
    module = root / "recordings/__init__.py"
    module.write_text(module.read_text() + "\nimport live_server.platform  # allowed\n")

    result = _lint_imports(root, "recordings-standalone")

    assert "recordings -> live_server.platform" not in result.stdout + result.stderr


def test_every_feature_package_has_a_layer() -> None:
    """A new package under live_server/ must be placed in the layers contract."""
    layers = _contracts()["layers"]["layers"]
    assert isinstance(layers, list)
    named = {part.strip() for layer in layers for part in str(layer).replace(":", "|").split("|")}
    packages = {
        f"live_server.{p.name}"
        for p in (REPO_ROOT / "live_server").iterdir()
        if (p / "__init__.py").exists()
    }
    assert packages - named == set(), "add these packages to [tool.importlinter] layers"
