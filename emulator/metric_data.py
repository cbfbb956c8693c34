"""Metric data as CloudWatch keeps it, from EMF documents: series, datapoints, statistics.

One EMF document publishes each of its metrics once per dimension set; a value is a
number, a list of numbers, or a statistic set with values and their counts (the form the
log processor writes). A series keeps (value, weight) pairs, so percentiles come from the
same samples CloudWatch would have.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

Dimensions = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, str, Dimensions]  # namespace, metric name, sorted dimensions
Pairs = list[tuple[float, float]]  # (value, weight)
Samples = tuple[float, float, Pairs]  # count, sum, pairs
PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")
SEARCH_SCHEMA = re.compile(r"^\s*\{([^}]*)\}\s*(.*)$")
SEARCH_TERM = re.compile(r'(\w+)="([^"]*)"')


def number(value: Any) -> float:
    # bool is an int to Python, and json.loads accepts NaN: neither is a number to CloudWatch.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"not a number: {value!r}")
    return float(value)


def samples_of(value: Any) -> Samples:
    """The samples one EMF value stands for: a number, a list, or a statistic set."""
    if isinstance(value, dict):
        values = [number(v) for v in value["Values"]]
        counts = [number(c) for c in value["Counts"]]
        if len(values) != len(counts) or any(c < 0 for c in counts):
            raise ValueError("Values and Counts do not pair up")
        # CloudWatch reports the statistic set's own Count and Sum: the Values may be rounded.
        pairs = list(zip(values, counts, strict=True))
        return number(value["Count"]), number(value["Sum"]), pairs
    values = [number(v) for v in value] if isinstance(value, list) else [number(value)]
    return float(len(values)), math.fsum(values), [(v, 1.0) for v in values]


def parse_document(document: Any) -> Iterator[tuple[SeriesKey, str, Samples]]:
    """Each (series, unit, samples) an EMF document publishes; raises on a malformed one."""
    for directive in document["_aws"]["CloudWatchMetrics"]:
        dimension_sets = directive["Dimensions"] or [[]]
        for metric in directive["Metrics"]:
            samples = samples_of(document[metric["Name"]])
            for names in dimension_sets:
                dims = tuple(sorted((n, document[n]) for n in names))
                if not all(isinstance(v, str) for _, v in dims):
                    raise TypeError("dimension values must be strings")
                key = (str(directive["Namespace"]), str(metric["Name"]), dims)
                yield key, str(metric.get("Unit", "None")), samples


def timestamp_of(document: Any) -> int:
    timestamp = document["_aws"]["Timestamp"]
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise TypeError("Timestamp must be epoch milliseconds")
    return timestamp


def percentile(pairs: Iterable[tuple[float, float]], p: float) -> float | None:
    """Nearest rank: the smallest sample with at least p% of the samples at or below it."""
    ordered = sorted(pair for pair in pairs if pair[1] > 0)
    # p * n before dividing: 0.07 * 100 is 7.000000000000001, which would raise the rank.
    rank = max(1.0, math.ceil(p * sum(w for _, w in ordered) / 100))
    seen = 0.0
    for value, weight in ordered:
        seen += weight
        if seen >= rank:
            return value
    return None


@dataclass
class Aggregate:
    """What a series holds over one period: CloudWatch's statistic set, and the samples."""

    count: float = 0.0
    total: float = 0.0
    pairs: Pairs = field(default_factory=list)

    def add(self, samples: Samples) -> None:
        count, total, pairs = samples
        self.count += count
        self.total += total
        self.pairs += pairs

    def statistic(self, name: str) -> float | None:
        """``Sum``, ``SampleCount``, ``Average``, ``Minimum``, ``Maximum`` or ``pNN``."""
        if self.count <= 0:
            return None
        found = PERCENTILE.match(name)
        if found is not None:
            return percentile(self.pairs, float(found.group(1)))
        values = [value for value, weight in self.pairs if weight > 0]
        statistics: dict[str, Callable[[], float | None]] = {
            "Sum": lambda: self.total,
            "SampleCount": lambda: self.count,
            "Average": lambda: self.total / self.count,
            "Minimum": lambda: min(values, default=None),
            "Maximum": lambda: max(values, default=None),
        }
        if name not in statistics:
            raise ValueError(f"statistic {name!r} is not one CloudWatch computes here")
        return statistics[name]()


class MetricStore:
    """Every sample of every series, with its document's timestamp."""

    def __init__(self) -> None:
        self._samples: dict[SeriesKey, list[tuple[int, Samples]]] = {}

    def add(self, document: Mapping[str, Any]) -> None:
        """One EMF document; a malformed one raises and adds nothing."""
        timestamp = timestamp_of(document)
        parsed = list(parse_document(document))
        for key, _, samples in parsed:
            self._samples.setdefault(key, []).append((timestamp, samples))

    def series_keys(self) -> Iterable[SeriesKey]:
        return self._samples.keys()

    def aggregates(
        self, key: SeriesKey, period_s: int, start_ms: int, end_ms: int, origin_ms: int = 0
    ) -> dict[int, Aggregate]:
        """The series' samples in [start_ms, end_ms), by period start. Periods are whole
        multiples of the period from ``origin_ms``: the epoch for graphs, as CloudWatch's
        are; an evaluation's time for an alarm, whose periods end when it looks."""
        period_ms = period_s * 1000
        found: dict[int, Aggregate] = {}
        for timestamp, samples in self._samples.get(key, ()):
            if start_ms <= timestamp < end_ms:
                start = timestamp - (timestamp - origin_ms) % period_ms
                found.setdefault(start, Aggregate()).add(samples)
        return found

    def window(self, key: SeriesKey, start_ms: int, end_ms: int) -> Aggregate:
        """Everything the series holds in [start_ms, end_ms), as one aggregate."""
        total = Aggregate()
        for timestamp, samples in self._samples.get(key, ()):
            if start_ms <= timestamp < end_ms:
                total.add(samples)
        return total

    def datapoints(
        self, key: SeriesKey, period_s: int, statistic: str, start_ms: int, end_ms: int
    ) -> dict[int, float]:
        """Period start -> the statistic's value, for the periods that have data."""
        points = {}
        for start, aggregate in self.aggregates(key, period_s, start_ms, end_ms).items():
            value = aggregate.statistic(statistic)
            if value is not None:
                points[start] = value
        return points


def search_matches(query: str, keys: Iterable[SeriesKey]) -> list[SeriesKey]:
    """The series a CloudWatch ``SEARCH`` query names: ``{Namespace,dim,...}`` (exactly those
    dimensions) and ``Name="value"`` terms (``MetricName``, or a dimension's value)."""
    schema = SEARCH_SCHEMA.match(query)
    if schema is None:
        raise ValueError(f"SEARCH takes {{Namespace,dimension,...}} and terms, got {query!r}")
    namespace, *dimensions = [part.strip() for part in schema.group(1).split(",")]
    terms = SEARCH_TERM.findall(schema.group(2))
    if SEARCH_TERM.sub("", schema.group(2)).strip():
        raise ValueError(f'only Name="value" terms are searched here, got {query!r}')
    found = []
    for key in keys:
        key_namespace, name, dims = key
        values = dict(dims)
        if key_namespace != namespace or sorted(values) != sorted(dimensions):
            continue
        if all(
            (name if term == "MetricName" else values.get(term)) == value for term, value in terms
        ):
            found.append(key)
    return sorted(found)


def load_store(lines: Iterable[str]) -> tuple[MetricStore, int]:
    """The store of the emulator's ``metrics.jsonl`` lines, and how many were malformed."""
    store, malformed = MetricStore(), 0
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if "session" not in record:  # where a run began: not a metric
                store.add(record["document"])
        except (ValueError, TypeError, KeyError, IndexError):
            malformed += 1
    return store, malformed
