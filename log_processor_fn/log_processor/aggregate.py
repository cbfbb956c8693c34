"""Per-minute, per-dimension-set aggregation, and its EMF documents.

Counts are summed; distributions keep a histogram (value -> count) with values
rounded to three significant digits, so the output grows with the number of
dimension combinations and distinct values, not with the number of lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from .metrics import MetricSpec

MINUTE_MS = 60_000
# EMF limits: at most 100 metrics per document and 100 values per metric.
MAX_VALUES = 100

SeriesKey = tuple[int, tuple[str, ...], tuple[str, ...]]


@dataclass
class Series:
    """Every metric of one minute and one set of dimension values."""

    counts: dict[MetricSpec, float] = field(default_factory=dict)
    histograms: dict[MetricSpec, dict[float, int]] = field(default_factory=dict)

    def count(self, spec: MetricSpec, amount: float = 1) -> None:
        self.counts[spec] = self.counts.get(spec, 0) + amount

    def observe(self, spec: MetricSpec, value: float) -> None:
        histogram = self.histograms.get(spec)
        if histogram is None:
            histogram = self.histograms[spec] = {}
        rounded = quantize(value, spec.significant_digits)
        histogram[rounded] = histogram.get(rounded, 0) + 1


def minute_of(time_ms: int) -> int:
    return time_ms - time_ms % MINUTE_MS


def quantize(value: float, significant_digits: int = 3) -> float:
    """``value`` to ``significant_digits``; whole numbers below 10**digits stay exact."""
    if value < 10**significant_digits:
        return round(value)
    return float(round(value, significant_digits - len(str(int(value)))))


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

    def observe(self, minute: int, spec: MetricSpec, values: tuple[str, ...], value: float) -> None:
        self.at(minute, spec.dimensions, values).observe(spec, value)

    def documents(self, namespace: str) -> list[dict[str, Any]]:
        """EMF documents, one per minute and dimension set (more when values overflow)."""
        documents = []
        for (minute, names, values), series in sorted(self.series.items(), key=_order):
            pending = {spec: sorted(hist.items()) for spec, hist in series.histograms.items()}
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
