"""How `make pytest` spreads the suite over pytest-xdist workers (``-n N --dist loadgroup``).

A work unit is a test file, so a module's expensive fixtures (a server process, generated
recordings) are built once, on one worker; a test marked ``xdist_group("name")`` joins the
unit ``name`` instead, which keeps tests from different files on one worker one after the
other (heavy media work that would miss a timing target beside another). Units go out in
collection order (browser tests first, the short unit tests last to fill the tail), not
by test count, which would hand the few-but-long files out last.
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadScopeScheduling


class FileOrGroupScheduling(LoadScopeScheduling):
    """LoadScopeScheduling with a test file (or its xdist_group) as the unit."""

    def _split_scope(self, nodeid: str) -> str:
        # with --dist loadgroup, xdist suffixes the node id of a marked test with "@name"
        if nodeid.rfind("@") > nodeid.rfind("]"):
            return nodeid.rsplit("@", 1)[-1]
        return nodeid.split("::", 1)[0]


def make_scheduler(config: Any, log: Any) -> FileOrGroupScheduling | None:
    """The scheduler for ``--dist loadgroup``; other modes keep xdist's own."""
    if config.getvalue("dist") != "loadgroup":
        return None
    config.option.loadscopereorder = False
    return FileOrGroupScheduling(config, log)
