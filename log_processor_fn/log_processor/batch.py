"""One subscription batch: parse, classify and aggregate every line, never fail on data.

What API Gateway cannot have written is not measured:

- A line is malformed (counted in ``MalformedLogLines``, warned, left out of every
  per-request metric) when it is not a JSON object, has no request id or status, has a
  status that is not a whole number in 100-599, or when its request minute (the EMF
  ``Timestamp`` its metrics would get) is more than 14 days before the processing time
  or more than 2 hours after it. CloudWatch refuses metric data outside that window,
  and refuses the whole EMF document that carries it; API Gateway writes lines as
  requests happen and subscriptions deliver within a day, so such a line was not
  written by API Gateway. Both bounds keep a 5-minute margin inside CloudWatch's:
  CloudWatch checks a document when it ingests it, up to a function timeout (60 s)
  and a log delivery after the processor read its clock, and clocks drift.
- A field is impossible (counted in ``MalformedLogFields``, warned) when a size,
  latency or epoch is not a finite non-negative number, an integration status is not
  a whole number in 100-599, or a CLF request time does not parse. It is read as
  missing: no latency, size or percentile sees it; the line still counts as a request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import metrics as m
from .access_log import (
    EXPECTED,
    AccessRecord,
    FieldMap,
    MalformedLine,
    load_document,
    record_from_raw,
)
from .aggregate import Aggregates, minute_of, publishable_minutes
from .classify import OTHER, classify
from .settings import Settings

EXCERPT_CHARS = 200
TOO_OLD = "request minute more than 14 days (less 5 minutes) before processing"
TOO_NEW = "request minute more than 2 hours (less 5 minutes) after processing"


@dataclass(frozen=True)
class Malformed:
    """A line or a field that could not be counted, for the warning that names it."""

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
    # Fields of valid lines read as missing (one entry per field).
    malformed_fields: list[Malformed] = field(default_factory=list)


@dataclass
class _Group:
    """Lines that share every field the metrics' dimensions derive from."""

    first: AccessRecord
    requests: int = 0
    latency: list[float] = field(default_factory=list)
    integration_latency: list[float] = field(default_factory=list)
    gateway_overhead: list[float] = field(default_factory=list)
    response_bytes: list[float] = field(default_factory=list)


def process_batch(
    log_events: Iterable[Mapping[str, Any]], settings: Settings, now_ms: int
) -> BatchResult:
    """Metrics for the ``logEvents`` of one decoded subscription payload.

    Bad lines are counted and skipped, impossible fields counted and read as missing
    (the module's docstring says which); a repeated event id is counted once. Lines
    are grouped by what their dimensions derive from, so classification runs once
    per group, not per line.
    """
    result = BatchResult()
    groups: dict[tuple[Any, ...], _Group] = {}
    lags: list[float] = []
    seen: set[str] = set()
    fields = settings.fields
    oldest, newest = publishable_minutes(now_ms)
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
            document = load_document(message)
            record = record_from_raw(fields.raw(document), fallback_ms)
        except MalformedLine as error:
            result.malformed.append(_malformed(event_id, str(error), message))
            continue
        minute = minute_of(record.request_time_ms)
        if not oldest <= minute <= newest:
            reason = TOO_OLD if minute < oldest else TOO_NEW
            result.malformed.append(_malformed(event_id, reason, message))
            continue
        result.valid += 1
        if record.impossible_fields:
            result.malformed_fields += _field_warnings(event_id, record, document, fields)
        lags.append(max(now_ms - record.request_time_ms, 0))
        if record.api_key_id is not None and record.api_key_id in settings.excluded_api_keys:
            # The stack's own canary: a line of the pipeline, not a client's request.
            continue
        key = (
            minute,
            record.stage,
            record.http_method,
            record.resource_path,
            record.route_key,
            record.path,
            record.status,
            record.error_type,
            record.integration_error is not None,
            record.integration_status is not None or record.integration_latency is not None,
            record.api_key_id,
        )
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(record)
        _add_to_group(group, record)

    aggregates = Aggregates()
    for (minute, *_), group in groups.items():
        _aggregate(aggregates, minute, group, settings)
    _count_pipeline(aggregates, result, lags, (settings.service,), minute_of(now_ms))
    result.documents = aggregates.documents(settings.namespace)
    return result


def _add_to_group(group: _Group, record: AccessRecord) -> None:
    group.requests += 1
    latency, integration = record.response_latency, record.integration_latency
    if latency is not None:
        group.latency.append(latency)
        if integration is not None:
            group.gateway_overhead.append(max(latency - integration, 0.0))
    if integration is not None:
        group.integration_latency.append(integration)
    if record.response_length is not None:
        group.response_bytes.append(record.response_length)


def _malformed(event_id: str, reason: str, message: object) -> Malformed:
    excerpt = message[:EXCERPT_CHARS] if isinstance(message, str) else repr(message)[:80]
    return Malformed(event_id, reason, excerpt)


def _field_warnings(
    event_id: str, record: AccessRecord, document: dict[str, Any], fields: FieldMap
) -> list[Malformed]:
    """One per impossible field of ``record``, named as the line names it."""
    warnings = []
    for attribute, value in record.impossible_fields:
        name = fields.field_name(document, attribute)
        excerpt = json.dumps({name: value})[1:-1][:EXCERPT_CHARS]
        warnings.append(Malformed(event_id, f"field {name} is not {EXPECTED[attribute]}", excerpt))
    return warnings


def _count_pipeline(
    aggregates: Aggregates,
    result: BatchResult,
    lags: list[float],
    pipeline: tuple[str],
    now_minute: int,
) -> None:
    """The pipeline's own health, at the processing minute."""
    aggregates.count(now_minute, m.LOG_LINES, pipeline, result.lines)
    aggregates.count(now_minute, m.MALFORMED_LOG_LINES, pipeline, len(result.malformed))
    aggregates.count(now_minute, m.MALFORMED_LOG_FIELDS, pipeline, len(result.malformed_fields))
    aggregates.count(now_minute, m.DUPLICATE_LOG_EVENTS, pipeline, result.duplicates)
    aggregates.observe(now_minute, m.DELIVERY_LAG, pipeline, lags)


def _aggregate(aggregates: Aggregates, minute: int, group: _Group, settings: Settings) -> None:
    record, requests = group.first, group.requests
    derived = classify(record, settings.known_models)
    service = settings.service
    stage = record.stage or settings.default_stage
    route_values = (service, stage, derived.route)
    aggregates.count(minute, m.REQUESTS, (*route_values, derived.status_class), requests)
    objective = settings.objective_ms(derived.route)
    slow = sum(1 for latency in group.latency if latency > objective)
    # One series, so one document: the latency SLO divides the one by the other.
    stage_series = aggregates.at(minute, m.STAGE, (service, stage))
    stage_series.count(m.STAGE_REQUESTS, requests)
    stage_series.count(m.SLOW_REQUESTS, slow)
    route = aggregates.at(minute, m.ROUTE, route_values)
    route.observe(m.LATENCY, group.latency)
    route.observe(m.INTEGRATION_LATENCY, group.integration_latency)
    route.observe(m.GATEWAY_OVERHEAD, group.gateway_overhead)
    route.observe(m.RESPONSE_BYTES, group.response_bytes)
    if derived.model is not None:
        model = aggregates.at(minute, m.MODEL, (service, stage, derived.model))
        model.count(m.MODEL_REQUESTS, requests)
        model.count(m.MODEL_ERRORS, requests if record.status >= 400 else 0)
    if derived.error_source is not None and derived.error_type is not None:
        errors = (service, stage, derived.error_source, derived.error_type)
        aggregates.count(minute, m.ERRORS, errors, requests)
    if settings.client_api_keys:
        key = record.api_key_id if record.api_key_id in settings.client_api_keys else None
        aggregates.count(minute, m.CLIENT_REQUESTS, (service, stage, key or OTHER), requests)
