"""Prometheus metrics through prometheus-client: one registry per application.

Each app gets its own `CollectorRegistry` (tests build many apps in one process, and a
process-wide default registry would refuse the second app's metrics). Features create
their counters and histograms through `Metrics` at wiring time and keep the objects;
`/metrics` renders the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

#: Latency buckets (seconds) for request-style work: 1 ms to 10 s.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


class _CallbackGauge(Collector):
    """A gauge read at scrape time from a callable (e.g. live rooms, open peers)."""

    def __init__(self, name: str, help_text: str, fn: Callable[[], float]) -> None:
        self._name, self._help, self._fn = name, help_text, fn

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(self._name, self._help, value=float(self._fn()))

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return [GaugeMetricFamily(self._name, self._help)]


class _CallbackGaugeFamily(Collector):
    """A gauge with labels whose samples a callable gives at scrape time."""

    def __init__(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str],
        fn: Callable[[], Iterable[tuple[Sequence[str], float]]],
    ) -> None:
        self._name, self._help, self._labels, self._fn = name, help_text, list(labels), fn

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self._name, self._help, labels=self._labels)
        for values, value in self._fn():
            family.add_metric(list(values), float(value))
        yield family

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return [GaugeMetricFamily(self._name, self._help, labels=self._labels)]


class Metrics:
    """The application's metric registry and the factories features use."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()

    def counter(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Counter:
        """A monotonic counter (prometheus-client adds the `_total` suffix if missing)."""
        return Counter(name, help_text, labelnames=tuple(labels), registry=self.registry)

    def histogram(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> Histogram:
        """A latency (or size) distribution with the given bucket bounds."""
        return Histogram(
            name,
            help_text,
            labelnames=tuple(labels),
            buckets=tuple(buckets),
            registry=self.registry,
        )

    def gauge(self, name: str, help_text: str, fn: Callable[[], float]) -> None:
        """A gauge whose value `fn` gives at scrape time."""
        self.registry.register(_CallbackGauge(name, help_text, fn))

    def gauge_family(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str],
        fn: Callable[[], Iterable[tuple[Sequence[str], float]]],
    ) -> None:
        """A labelled gauge: `fn` gives (label values, value) pairs at scrape time."""
        self.registry.register(_CallbackGaugeFamily(name, help_text, labels, fn))

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
