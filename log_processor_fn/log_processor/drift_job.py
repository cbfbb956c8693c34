"""The drift job: one closed window of the inference function's log, read, summed and
compared with each model's baseline, as EMF documents (InputDrift, PredictionDrift).

Run on a schedule (every DriftWindowMinutes); it reads the window's lines that carry bin
counts with CloudWatch Logs' FilterLogEvents, so nothing is kept between runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .drift import Drift, WindowCounts, window_counts, window_of
from .metrics import DRIFT_CONTRACT, INPUT_DRIFT, PREDICTION_DRIFT
from .settings import ConfigurationError, required

# The lines that carry bin counts, in CloudWatch Logs' filter pattern syntax.
FILTER_PATTERN = '{ $.drift = "*" }'
# How long after a window closes its lines are read: Lambda delivers a function's lines to
# CloudWatch Logs within seconds. Short windows (the emulator's) wait half a window.
GRACE_MS = 120_000
# Lines before the window are read this far back for baselines only: an environment
# decides its first line of a window by its own clock, a moment before the line's timestamp.
BASELINE_LOOKBACK_MS = 60_000
# What a page of FilterLogEvents returns, and the log event it comes from.
FilterPage = Mapping[str, Any]
FilterLogEvents = Callable[..., FilterPage]


@dataclass(frozen=True)
class DriftSettings:
    namespace: str
    service: str
    log_level: str
    window_ms: int
    min_rows: int
    log_group: str

    @property
    def grace_ms(self) -> int:
        return min(GRACE_MS, self.window_ms // 2)


def load_drift_settings(environ: Mapping[str, str] = os.environ) -> DriftSettings:
    raw_minutes = required(environ, "DRIFT_WINDOW_MINUTES")
    try:
        minutes = float(raw_minutes)
    except ValueError:
        minutes = 0.0
    if not 0 < minutes < float("inf"):
        raise ConfigurationError(
            f"DRIFT_WINDOW_MINUTES must be a positive number of minutes, got {raw_minutes!r}"
        )
    raw_rows = required(environ, "DRIFT_MIN_ROWS")
    if not raw_rows.isdigit() or int(raw_rows) < 1:
        raise ConfigurationError(f"DRIFT_MIN_ROWS must be a positive integer, got {raw_rows!r}")
    return DriftSettings(
        namespace=required(environ, "POWERTOOLS_METRICS_NAMESPACE"),
        service=required(environ, "POWERTOOLS_SERVICE_NAME"),
        log_level=required(environ, "POWERTOOLS_LOG_LEVEL").upper(),
        window_ms=max(1, round(minutes * 60_000)),
        min_rows=int(raw_rows),
        log_group=required(environ, "INFERENCE_LOG_GROUP"),
    )


def scheduled_ms(event: Mapping[str, Any], now_ms: int) -> int:
    """When the run was scheduled (the schedule's input carries EventBridge Scheduler's
    ``<aws.scheduler.scheduled-time>``), so a retry reads the same window; else now."""
    raw = event.get("scheduled_time")
    if isinstance(raw, str):
        try:
            return int(datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            pass
    return now_ms


def log_lines(
    filter_log_events: FilterLogEvents, log_group: str, start_ms: int, end_ms: int
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Every line with bin counts from ``start_ms`` to ``end_ms`` (exclusive), page by page."""
    request: dict[str, Any] = {
        "logGroupName": log_group,
        "startTime": start_ms,
        # FilterLogEvents' endTime is inclusive.
        "endTime": end_ms - 1,
        "filterPattern": FILTER_PATTERN,
    }
    while True:
        page = filter_log_events(**request)
        for event in page.get("events", []):
            try:
                document = json.loads(event["message"])
            except (KeyError, TypeError, ValueError):
                continue
            if isinstance(document, dict):
                yield int(event["timestamp"]), document
        token = page.get("nextToken")
        if not token:
            return
        request["nextToken"] = token


@dataclass(frozen=True)
class DriftRun:
    start_ms: int
    end_ms: int
    counts: WindowCounts
    results: list[Drift]
    documents: list[dict[str, Any]]


def per_model(results: list[Drift]) -> dict[str, Drift]:
    """One value per model: of its versions in the window, the one with the most rows
    that has a value (a model serves one version at a time, but a deployment's window
    may hold two)."""
    chosen: dict[str, Drift] = {}
    for result in results:
        if result.input_drift is None and result.prediction_drift is None:
            continue
        best = chosen.get(result.model)
        if best is None or result.rows > best.rows:
            chosen[result.model] = result
    return chosen


def documents(
    results: list[Drift], settings: DriftSettings, start_ms: int, end_ms: int, now_ms: int
) -> list[dict[str, Any]]:
    """One EMF document per model with a value. Timestamped when published: an alarm's
    latest period then holds the window just closed."""
    out = []
    for model, result in sorted(per_model(results).items()):
        values = {INPUT_DRIFT: result.input_drift, PREDICTION_DRIFT: result.prediction_drift}
        metrics = [
            {"Name": spec.name, "Unit": spec.unit.value}
            for spec in DRIFT_CONTRACT
            if values[spec] is not None
        ]
        document: dict[str, Any] = {
            "_aws": {
                "Timestamp": now_ms,
                "CloudWatchMetrics": [
                    {
                        "Namespace": settings.namespace,
                        "Dimensions": [list(d) for d in INPUT_DRIFT.dimension_sets],
                        "Metrics": metrics,
                    }
                ],
            },
            "service": settings.service,
            "model": model,
            "model_version": result.version,
            "window_start": start_ms,
            "window_end": end_ms,
            "rows": result.rows,
            # Which feature drifted, for the runbook, in the order of the baseline's features:
            # one string, which Logs Insights shows whole (a list becomes a field per item).
            "feature_psi": ",".join(f"{value:.4f}" for value in result.feature_psi),
        }
        for spec, value in values.items():
            if value is not None:
                document[spec.name] = round(value, 4)
        out.append(document)
    return out


def run(
    settings: DriftSettings,
    filter_log_events: FilterLogEvents,
    scheduled: int,
    now_ms: int,
) -> DriftRun:
    start, end = window_of(scheduled, settings.window_ms, settings.grace_ms)
    lookback = min(BASELINE_LOOKBACK_MS, settings.window_ms)
    lines = log_lines(filter_log_events, settings.log_group, start - lookback, end)
    counts = window_counts(lines, start, end)
    results = counts.drift(settings.min_rows)
    return DriftRun(start, end, counts, results, documents(results, settings, start, end, now_ms))
