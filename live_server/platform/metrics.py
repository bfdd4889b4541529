"""A tiny Prometheus text-format registry: counters and callback gauges.

No client library needed: areas register gauges (a callable returning the current value)
and bump counters; `/metrics` renders them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable

GaugeFn = Callable[[], float | Awaitable[float]]


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in labels
    )
    return "{" + inner + "}"


class Metrics:
    """Counters (monotonic, with labels) and gauges (read at scrape time)."""

    def __init__(self) -> None:
        self._counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
        self._help: dict[str, tuple[str, str]] = {}
        self._gauges: dict[str, GaugeFn] = {}

    def counter(self, name: str, help_text: str) -> None:
        self._help[name] = ("counter", help_text)

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        series = self._counters[name]
        series[key] = series.get(key, 0.0) + amount

    def gauge(self, name: str, help_text: str, fn: GaugeFn) -> None:
        self._help[name] = ("gauge", help_text)
        self._gauges[name] = fn

    async def render(self) -> str:
        lines: list[str] = []
        for name in sorted(set(self._counters) | set(self._gauges)):
            kind, help_text = self._help.get(name, ("untyped", name))
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            if name in self._gauges:
                value = self._gauges[name]()
                if isinstance(value, Awaitable):
                    value = await value
                lines.append(f"{name} {float(value)}")
            for labels, total in sorted(self._counters.get(name, {}).items()):
                lines.append(f"{name}{_labels(labels)} {total}")
        return "\n".join(lines) + "\n"
