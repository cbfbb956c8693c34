"""Metrics the local emulator recorded, summarised as CloudWatch would show them.

Reads `.local/metrics.jsonl` (one `{"function": ..., "document": <EMF>}` per line, and a
`{"session": ...}` line where each `make run` began) and prints first, for each session in
the window, whether the endpoint was healthy: requests, availability, 4xx and 5xx rates,
p50/p99 latency per route, the alarms in ALARM at its end. Then, per namespace, metric and
dimension set, the statistics CloudWatch shows: Sum and SampleCount of counts (Average too
where the average is the metric's meaning), SampleCount, Average and p50/p90/p99 of
everything else.

    python -m emulator.report [--metrics PATH] [--since WHEN] [--until WHEN]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dev_support.paths import STATE_DIR

from .alarms import CompositeAlarm, MetricAlarm, State, evaluate_all, load_alarms, state_at
from .metric_data import (
    Dimensions,
    MetricStore,
    SeriesKey,
    parse_document,
    percentile,
    timestamp_of,
)

Alarms = tuple[list[MetricAlarm], list[CompositeAlarm]]
DEFAULT_PATH = STATE_DIR / "metrics.jsonl"
PERCENTILES = (50, 90, 99)
# Counts whose Average is what they mean (0 or 1 per request: the rate, as the README says).
RATES = {"InferenceErrors", "4XXError", "5XXError", "CanarySuccess"}
# Counts of a state rather than of events: their Maximum and percentiles mean something.
GAUGES = {"ConcurrentExecutions"}
MINUTE_MS = 60_000
SECTIONS: dict[str, tuple[str, ...]] = {
    "Traffic": ("Requests", "ModelRequests", "Inferences", "InferenceRows", "ClientRequests"),
    "Errors": ("Errors", "ModelErrors", "InferenceErrors"),
    "Latency split": (
        "Latency",
        "IntegrationLatency",
        "GatewayOverhead",
        "HandlerLatency",
        "ModelLatency",
        "ResponseBytes",
    ),
    "Per model": ("PredictionConfidence",),
    "Cold starts": ("ColdStart", "InitDuration"),
    "Log pipeline": ("LogLines", "MalformedLogLines", "DuplicateLogEvents", "DeliveryLag"),
    "Drift": ("InputDrift", "PredictionDrift"),
    # Per model: runs (SampleCount), passed runs (Sum) and the share passed (Average).
    "Canary": ("CanarySuccess", "CanaryLatency"),
}
# The drift job's metrics, shown window by window too.
DRIFT_METRICS = SECTIONS["Drift"]
OTHER = "Other"
# What CloudWatch publishes for AWS's services (the emulator's stand-ins): a section each.
SERVICE_PREFIX = "AWS/"


@dataclass
class Series:
    """One metric series; histograms stay (value, count) pairs rather than being expanded."""

    namespace: str
    name: str
    dimensions: Dimensions
    units: set[str] = field(default_factory=set)
    count: float = 0.0
    total: float = 0.0
    samples: list[tuple[float, float]] = field(default_factory=list)

    def percentile(self, p: int) -> float | None:
        return percentile(self.samples, p)


@dataclass
class Report:
    series: dict[SeriesKey, Series] = field(default_factory=dict)
    documents: int = 0
    malformed: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    # The same documents with their timestamps, for the per-session summary.
    store: MetricStore = field(default_factory=MetricStore)
    # When each `make run` session in the window began.
    sessions: list[int] = field(default_factory=list)
    # The drift job's documents: one per model and window with a value.
    drift: list[dict[str, Any]] = field(default_factory=list)


def summarise(
    lines: Iterable[str], since_ms: int | None = None, until_ms: int | None = None
) -> Report:
    """Aggregate EMF lines whose Timestamp is in [since_ms, until_ms), as CloudWatch windows do."""
    report = Report()
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if "session" in record:
                started = int(record["session"]["started_ms"])
                if (since_ms is None or started >= since_ms) and (
                    until_ms is None or started < until_ms
                ):
                    report.sessions.append(started)
                continue
            document = record["document"]
            timestamp = timestamp_of(document)
            # Parse the whole line before keeping any of it, so a bad line leaves no trace.
            parsed = list(parse_document(document))
        except (ValueError, TypeError, KeyError, IndexError):
            report.malformed += 1
            continue
        if (since_ms is not None and timestamp < since_ms) or (
            until_ms is not None and timestamp >= until_ms
        ):
            continue
        report.documents += 1
        report.store.add(document)
        if any(name in document for name in DRIFT_METRICS):
            report.drift.append(document)
        report.first_ms = timestamp if report.first_ms is None else min(report.first_ms, timestamp)
        report.last_ms = timestamp if report.last_ms is None else max(report.last_ms, timestamp)
        for key, unit, (count, total, pairs) in parsed:
            series = report.series.setdefault(key, Series(*key))
            series.units.add(unit)
            series.count += count
            series.total += total
            series.samples += pairs
    return report


def _windows(report: Report) -> list[tuple[str, int, int]]:
    """(label, start, end) of each session in the report, or of the whole window."""
    if report.first_ms is None or report.last_ms is None:
        return []
    end = report.last_ms + 1
    # Metrics are aggregated by the minute, stamped with its start: a session's window
    # begins with the minute it started in.
    sessions = sorted(report.sessions)
    starts = [start - start % MINUTE_MS for start in sessions]
    if not starts:
        return [("all metrics", report.first_ms, end)]
    stops = [*starts[1:], max(end, starts[-1] + 1)]
    windows = [
        (f"make run session from {_iso(session)}", start, stop)
        for session, start, stop in zip(sessions, starts, stops, strict=True)
        if stop > start
    ]
    if report.first_ms < starts[0]:
        # The window began during a session whose start it does not hold.
        label = f"a session under way at {_iso(report.first_ms)}"
        windows.insert(0, (label, report.first_ms, starts[0]))
    return windows


def health(report: Report, alarms: Alarms | None) -> list[str]:
    """Whether the endpoint was healthy, session by session: the summary a reader wants first."""
    out: list[str] = []
    for label, start, end in _windows(report):
        by_class: dict[str, float] = {}
        routes: dict[str, tuple[float, float | None, float | None]] = {}
        for key in report.store.series_keys():
            namespace, name, dims = key
            if namespace.startswith(SERVICE_PREFIX):
                continue
            values = dict(dims)
            if name == "Requests" and "status_class" in values:
                total = report.store.window(key, start, end).statistic("Sum") or 0.0
                by_class[values["status_class"]] = by_class.get(values["status_class"], 0.0) + total
            if name == "Latency" and "route" in values:
                window = report.store.window(key, start, end)
                if window.count:
                    routes[values["route"]] = (
                        window.count,
                        window.statistic("p50"),
                        window.statistic("p99"),
                    )
        requests = sum(by_class.values())
        out += ["", label]
        if not requests:
            out.append("  no requests")
        else:
            share_5xx = 100 * by_class.get("5xx", 0.0) / requests
            share_4xx = 100 * by_class.get("4xx", 0.0) / requests
            out.append(
                f"  requests {requests:.0f}, availability {100 - share_5xx:.2f} %,"
                f" 4xx {share_4xx:.2f} %, 5xx {share_5xx:.2f} %"
            )
            for route, (count, p50, p99) in sorted(routes.items()):
                out.append(
                    f"  route {route}: p50 {_format(p50, False)} ms,"
                    f" p99 {_format(p99, False)} ms ({count:.0f} requests)"
                )
        if alarms is not None:
            results = evaluate_all(report.store, start, end, alarms)
            names = {a.logical_id: a.name for a in alarms[0]}
            names |= {c.logical_id: c.name for c in alarms[1]}
            firing = sorted(
                names[logical_id]
                for logical_id, result in results.items()
                if not isinstance(result, str)
                and state_at(result, end, State.INSUFFICIENT_DATA) == State.ALARM
            )
            out.append(f"  alarms in ALARM at its end: {', '.join(firing) or 'none'}")
    return out


def drift_windows(report: Report, alarms: Alarms | None) -> list[str]:
    """Each drift window with a value, per model, and the values above the alarm's
    threshold (an alarm goes off after that many consecutive windows above it)."""
    if not report.drift:
        return []
    limits = {
        query.key[1]: alarm
        for alarm in (alarms[0] if alarms else [])
        for query in alarm.queries
        if query.key[1] in DRIFT_METRICS and alarm.comparison == "GreaterThanThreshold"
    }
    out = ["", "Drift (per window: largest PSI of a feature, PSI of the predictions)"]
    for name in DRIFT_METRICS:
        alarm = limits.get(name)
        if alarm is not None:
            out.append(
                f"  {name} alarm: above {alarm.threshold:g} in {alarm.datapoints_to_alarm}"
                " consecutive windows"
            )
    ordered = sorted(report.drift, key=lambda d: (str(d.get("model")), timestamp_of(d)))
    for document in ordered:
        start, end = document.get("window_start"), document.get("window_end")
        window = (
            f"{_iso(start)} .. {_iso(end)}"
            if isinstance(start, int) and isinstance(end, int)
            else _iso(timestamp_of(document))
        )
        cells = [f"{window}  {document.get('model')} v{document.get('model_version')}"]
        cells.append(f"rows {document.get('rows')}")
        for name in DRIFT_METRICS:
            value = document.get(name)
            if isinstance(value, int | float):
                alarm = limits.get(name)
                above = alarm is not None and value > alarm.threshold
                cells.append(f"{name} {value:.4f}{' ABOVE' if above else ''}")
        out.append("  " + "  ".join(cells))
    return out


def _section(namespace: str, name: str) -> tuple[int, str, int]:
    """Where a series is shown: the project's sections in order, Other, then a section per
    AWS service."""
    if namespace.startswith(SERVICE_PREFIX):
        return len(SECTIONS) + 1, namespace, 0
    for i, names in enumerate(SECTIONS.values()):
        if name in names:
            return i, "", names.index(name)
    return len(SECTIONS), "", 0


def _format(value: float | None, integral: bool) -> str:
    if value is None:
        return "-"
    return str(int(value)) if integral and value.is_integer() else f"{value:.2f}"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(report: Report, alarms: Alarms | None = None) -> str:
    """The health summary, then sections in a fixed order; within one, metrics in listed
    order, then dimensions."""
    series = sorted(
        report.series.values(),
        key=lambda s: (_section(s.namespace, s.name), s.name, s.dimensions),
    )
    # A value shared by every series is said once at the top instead of on every row.
    namespaces = {s.namespace for s in series if not s.namespace.startswith(SERVICE_PREFIX)}
    services = {v for s in series for n, v in s.dimensions if n == "service"}
    out = [
        f"{label}: {next(iter(values))}"
        for label, values in (("namespace", namespaces), ("service", services))
        if len(values) == 1
    ]
    if report.first_ms is not None and report.last_ms is not None:
        span = f"{_iso(report.first_ms)} .. {_iso(report.last_ms)}"
        out.append(f"documents: {report.documents} ({span})")
    if not series:
        out.append("No metrics in this window.")
    out += health(report, alarms)
    out += drift_windows(report, alarms)
    header = (
        "metric",
        "Sum",
        "SampleCount",
        "Average",
        *(f"p{p}" for p in PERCENTILES),
        "unit",
        "dimensions",
    )
    rows: list[tuple[tuple[int, str], tuple[str, ...]]] = []
    for s in series:
        count = s.units == {"Count"} and s.name not in GAUGES
        own = len(namespaces) == 1 or s.namespace.startswith(SERVICE_PREFIX)
        name = s.name if own else f"{s.namespace}/{s.name}"
        shown = [(n, v) for n, v in s.dimensions if n != "service" or len(services) > 1]
        average = s.total / s.count if s.count else None
        cells = (
            _format(s.total, count),
            _format(s.count, True),
            # A count's average is only its meaning where it is a rate.
            _format(average, False) if not count or s.name in RATES else "",
        )
        # Percentiles of counts would be percentiles of batch sizes: left out.
        stats = ("" if count else _format(s.percentile(p), False) for p in PERCENTILES)
        tail = (",".join(sorted(s.units)), " ".join(f"{n}={v}" for n, v in shown))
        index, service, _ = _section(s.namespace, s.name)
        rows.append(((index, service), (name, *cells, *stats, *tail)))
    widths = [max(len(r[i]) for r in [header, *(r for _, r in rows)]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        padded = (
            c.ljust(w) if i in {0, 7, 8} else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        return "  " + "  ".join(padded).rstrip()

    headings = [*SECTIONS, OTHER]
    for index, service in sorted({section for section, _ in rows}):
        heading = service or headings[index]
        out += ["", heading, line(header)]
        out += [line(row) for section, row in rows if section == (index, service)]
    out += ["", f"malformed lines skipped: {report.malformed}"]
    return "\n".join(out) + "\n"


def _when(text: str) -> int:
    """Epoch milliseconds, or ISO-8601 (UTC unless it names an offset)."""
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not epoch ms nor ISO-8601: {text!r}") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    # timedelta arithmetic is exact; float seconds * 1000 can land a millisecond short.
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulator.report", description="Summarise local EMF metrics."
    )
    parser.add_argument("--metrics", type=Path, default=DEFAULT_PATH, help="EMF lines (JSONL)")
    parser.add_argument("--since", type=_when, help="first timestamp kept (epoch ms or ISO-8601)")
    parser.add_argument("--until", type=_when, help="end of the window, excluded")
    args = parser.parse_args(argv)
    path: Path = args.metrics
    if not path.is_file():
        print(
            f"No metrics at {path}: run `make run` and send a few requests first.", file=sys.stderr
        )
        return 1
    with path.open(encoding="utf-8", errors="replace") as lines:
        report = summarise(lines, args.since, args.until)
    sys.stdout.write(render(report, load_alarms()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
