"""Per-minute, per-dimension-set aggregation, and its EMF documents.

Counts are summed; distributions become histograms (value -> count) of rounded
values, so the output grows with the number of dimension combinations and
distinct values, not with the number of lines.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from math import floor, log10
from typing import Any

from .metrics import MetricSpec

MINUTE_MS = 60_000
# EMF limits: at most 100 metrics per document and 100 values per metric.
MAX_VALUES = 100
# CloudWatch refuses metric data more than 14 days old or 2 hours ahead, and with it
# the whole EMF document. The margin covers the time between the processor reading
# its clock and CloudWatch checking the document (a 60 s timeout, log delivery), and
# clock drift.
MAX_AGE_MS = 14 * 24 * 60 * MINUTE_MS
MAX_AHEAD_MS = 2 * 60 * MINUTE_MS
WINDOW_MARGIN_MS = 5 * MINUTE_MS

SeriesKey = tuple[int, tuple[str, ...], tuple[str, ...]]


@dataclass
class Series:
    """Every metric of one minute and one set of dimension values."""

    counts: dict[MetricSpec, float] = field(default_factory=dict)
    samples: dict[MetricSpec, list[float]] = field(default_factory=dict)

    def count(self, spec: MetricSpec, amount: float = 1) -> None:
        self.counts[spec] = self.counts.get(spec, 0) + amount

    def observe(self, spec: MetricSpec, values: list[float]) -> None:
        if values:
            self.samples.setdefault(spec, []).extend(values)


def minute_of(time_ms: int) -> int:
    return time_ms - time_ms % MINUTE_MS


def publishable_minutes(now_ms: int) -> tuple[int, int]:
    """The first and last minute CloudWatch takes metric data for at ``now_ms``."""
    return now_ms - MAX_AGE_MS + WINDOW_MARGIN_MS, now_ms + MAX_AHEAD_MS - WINDOW_MARGIN_MS


def histogram(values: list[float], significant_digits: int) -> list[tuple[float, int]]:
    """Sorted (value, count) pairs of ``values`` rounded to ``significant_digits``.

    Whole units below 10**digits stay exact (latencies arrive in whole ms), so the
    pairs are few and every percentile is within half a unit of its last digit.
    """
    limit = 10**significant_digits
    if max(values) < limit:
        # The common case runs in C: map() and Counter, no Python work per value.
        return sorted(Counter(map(round, values)).items())

    def ndigits(value: float) -> int:
        return 0 if value < limit else significant_digits - 1 - floor(log10(value))

    return sorted(Counter(map(round, values, map(ndigits, values))).items())


class Aggregates:
    def __init__(self) -> None:
        self.series: dict[SeriesKey, Series] = {}

    def at(self, minute: int, dimensions: tuple[str, ...], values: tuple[str, ...]) -> Series:
        """The series of ``minute`` for these dimension values (names as in the contract)."""
        key = (minute, dimensions, values)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = Series()
        return series

    def count(
        self, minute: int, spec: MetricSpec, values: tuple[str, ...], amount: float = 1
    ) -> None:
        self.at(minute, spec.dimensions, values).count(spec, amount)

    def observe(
        self, minute: int, spec: MetricSpec, values: tuple[str, ...], samples: list[float]
    ) -> None:
        self.at(minute, spec.dimensions, values).observe(spec, samples)

    def documents(self, namespace: str) -> list[dict[str, Any]]:
        """EMF documents, one per minute and dimension set (more when values overflow)."""
        documents = []
        for (minute, names, values), series in sorted(self.series.items(), key=_order):
            pending = {
                spec: histogram(samples, spec.significant_digits)
                for spec, samples in series.samples.items()
            }
            counts: dict[MetricSpec, float] = dict(series.counts)
            while counts or any(pending.values()):
                document: dict[str, Any] = dict(zip(names, values, strict=True))
                emitted: list[MetricSpec] = []
                for spec, total in counts.items():
                    document[spec.name] = total
                    emitted.append(spec)
                counts = {}
                for spec, items in pending.items():
                    if items:
                        chunk = list(islice(items, MAX_VALUES))
                        pending[spec] = items[MAX_VALUES:]
                        document[spec.name] = _histogram(chunk)
                        emitted.append(spec)
                document["_aws"] = {
                    "Timestamp": minute,
                    "CloudWatchMetrics": [
                        {
                            "Namespace": namespace,
                            "Dimensions": [list(names)],
                            "Metrics": [{"Name": s.name, "Unit": s.unit.value} for s in emitted],
                        }
                    ],
                }
                documents.append(document)
        return documents


def _order(item: tuple[SeriesKey, Series]) -> SeriesKey:
    return item[0]


def _histogram(items: list[tuple[float, int]]) -> dict[str, Any]:
    """A value/count distribution, as CloudWatch's own EMF exporters write histograms."""
    values = [value for value, _ in items]
    counts = [count for _, count in items]
    return {
        "Values": values,
        "Counts": counts,
        "Max": values[-1],
        "Min": values[0],
        "Count": sum(counts),
        "Sum": sum(value * count for value, count in items),
    }
