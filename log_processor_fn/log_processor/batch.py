"""One subscription batch: parse, classify and aggregate every line, never fail on data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import metrics as m
from .access_log import AccessRecord, MalformedLine, parse_line
from .aggregate import Aggregates, minute_of
from .classify import OTHER, classify
from .settings import Settings

EXCERPT_CHARS = 200


@dataclass(frozen=True)
class Malformed:
    log_event_id: str
    reason: str
    excerpt: str


@dataclass
class BatchResult:
    documents: list[dict[str, Any]] = field(default_factory=list)
    lines: int = 0
    valid: int = 0
    duplicates: int = 0
    malformed: list[Malformed] = field(default_factory=list)


def process_batch(
    log_events: Iterable[Mapping[str, Any]], settings: Settings, now_ms: int
) -> BatchResult:
    """Metrics for the ``logEvents`` of one decoded subscription payload.

    Bad lines are counted and skipped; a repeated event id is counted once.
    """
    result = BatchResult()
    aggregates = Aggregates()
    seen: set[str] = set()
    for event in log_events:
        result.lines += 1
        event_id = str(event.get("id", ""))
        if event_id:
            if event_id in seen:
                result.duplicates += 1
                continue
            seen.add(event_id)
        message = event.get("message")
        timestamp = event.get("timestamp")
        fallback_ms = timestamp if isinstance(timestamp, int) else now_ms
        try:
            if not isinstance(message, str):
                raise MalformedLine("no message")
            record = parse_line(message, settings.fields, fallback_ms)
        except MalformedLine as error:
            excerpt = message[:EXCERPT_CHARS] if isinstance(message, str) else repr(message)[:80]
            result.malformed.append(Malformed(event_id, str(error), excerpt))
            continue
        result.valid += 1
        _aggregate(aggregates, record, settings, now_ms)

    pipeline = (settings.service,)
    now_minute = minute_of(now_ms)
    aggregates.count(now_minute, m.LOG_LINES, pipeline, result.lines)
    aggregates.count(now_minute, m.MALFORMED_LOG_LINES, pipeline, len(result.malformed))
    aggregates.count(now_minute, m.DUPLICATE_LOG_EVENTS, pipeline, result.duplicates)
    result.documents = aggregates.documents(settings.namespace)
    return result


def _aggregate(
    aggregates: Aggregates, record: AccessRecord, settings: Settings, now_ms: int
) -> None:
    derived = classify(record, settings.known_models)
    minute = minute_of(record.request_time_ms)
    service = settings.service
    stage = record.stage or settings.default_stage
    route_values = (service, stage, derived.route)
    aggregates.count(minute, m.REQUESTS, (*route_values, derived.status_class))
    route = aggregates.at(minute, m.ROUTE, route_values)
    if record.response_latency is not None:
        route.observe(m.LATENCY, record.response_latency)
    if record.integration_latency is not None:
        route.observe(m.INTEGRATION_LATENCY, record.integration_latency)
    if derived.gateway_overhead is not None:
        route.observe(m.GATEWAY_OVERHEAD, derived.gateway_overhead)
    if record.response_length is not None:
        route.observe(m.RESPONSE_BYTES, record.response_length)
    if derived.model is not None:
        model = aggregates.at(minute, m.MODEL, (service, stage, derived.model))
        model.count(m.MODEL_REQUESTS)
        model.count(m.MODEL_ERRORS, 1 if record.status >= 400 else 0)
    if derived.error_source is not None and derived.error_type is not None:
        aggregates.count(
            minute, m.ERRORS, (service, stage, derived.error_source, derived.error_type)
        )
    if settings.client_api_keys:
        key = record.api_key_id if record.api_key_id in settings.client_api_keys else None
        aggregates.count(minute, m.CLIENT_REQUESTS, (service, stage, key or OTHER))
    lag_ms = max(now_ms - record.request_time_ms, 0)
    aggregates.observe(minute_of(now_ms), m.DELIVERY_LAG, (service,), lag_ms)
