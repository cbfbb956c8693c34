"""Metrics the local emulator recorded, summarised as CloudWatch would show them.

Reads `.local/metrics.jsonl` (one `{"function": ..., "document": <EMF>}` per line) and prints,
per namespace, metric and dimension set: samples, sum, p50/p90/p99 and unit.

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

from dev_support.paths import STATE_DIR

from .metric_data import Dimensions, SeriesKey, parse_document, percentile, timestamp_of

DEFAULT_PATH = STATE_DIR / "metrics.jsonl"
PERCENTILES = (50, 90, 99)
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
}
OTHER = "Other"


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


def summarise(
    lines: Iterable[str], since_ms: int | None = None, until_ms: int | None = None
) -> Report:
    """Aggregate EMF lines whose Timestamp is in [since_ms, until_ms), as CloudWatch windows do."""
    report = Report()
    for line in lines:
        if not line.strip():
            continue
        try:
            document = json.loads(line)["document"]
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
        report.first_ms = timestamp if report.first_ms is None else min(report.first_ms, timestamp)
        report.last_ms = timestamp if report.last_ms is None else max(report.last_ms, timestamp)
        for key, unit, (count, total, pairs) in parsed:
            series = report.series.setdefault(key, Series(*key))
            series.units.add(unit)
            series.count += count
            series.total += total
            series.samples += pairs
    return report


def _section(name: str) -> tuple[int, int]:
    for i, names in enumerate(SECTIONS.values()):
        if name in names:
            return i, names.index(name)
    return len(SECTIONS), 0


def _format(value: float | None, integral: bool) -> str:
    if value is None:
        return "-"
    return str(int(value)) if integral and value.is_integer() else f"{value:.2f}"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(report: Report) -> str:
    """Sections in a fixed order; within one, metrics in listed order, then dimensions."""
    series = sorted(
        report.series.values(),
        key=lambda s: (_section(s.name), s.name, s.namespace, s.dimensions),
    )
    # A value shared by every series is said once at the top instead of on every row.
    namespaces = {s.namespace for s in series}
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
    header = ("metric", "samples", "sum", *(f"p{p}" for p in PERCENTILES), "unit", "dimensions")
    rows: list[tuple[int, tuple[str, ...]]] = []
    for s in series:
        integral = s.units == {"Count"}
        name = s.name if len(namespaces) == 1 else f"{s.namespace}/{s.name}"
        shown = [(n, v) for n, v in s.dimensions if n != "service" or len(services) > 1]
        cells = (_format(s.count, True), _format(s.total, integral))
        stats = (_format(s.percentile(p), integral) for p in PERCENTILES)
        tail = (",".join(sorted(s.units)), " ".join(f"{n}={v}" for n, v in shown))
        rows.append((_section(s.name)[0], (name, *cells, *stats, *tail)))
    widths = [max(len(r[i]) for r in [header, *(r for _, r in rows)]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        padded = (
            c.ljust(w) if i in {0, 6, 7} else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        return "  " + "  ".join(padded).rstrip()

    headings = [*SECTIONS, OTHER]
    for index in sorted({i for i, _ in rows}):
        out += ["", headings[index], line(header)]
        out += [line(row) for i, row in rows if i == index]
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
    sys.stdout.write(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
