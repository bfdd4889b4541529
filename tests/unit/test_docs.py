"""The README documents every setting and the two commands."""

from __future__ import annotations

from pathlib import Path

from live_server.settings import ENV_PREFIX, settings_field_names

ROOT = Path(__file__).resolve().parents[2]


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [n for n in settings_field_names() if f"{ENV_PREFIX}{n.upper()}`" not in readme]
    assert not missing, f"settings missing from the README's configuration table: {missing}"


def test_readme_quick_start_has_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make run" in quick and "make test" in quick
    makefile = (ROOT / "Makefile").read_text()
    assert "\nrun:" in makefile and "\ntest:" in makefile
