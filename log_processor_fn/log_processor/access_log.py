"""One access-log line into a typed record, whatever format the stage used.

Fields are mapped by name: the template's own format (whose ``$context`` variables
say what each field means), the HTTP API style and the minimal format of common
examples. ``"-"`` and empty values mean missing; numbers arrive as strings.
"""

from __future__ import annotations

import json
from calendar import timegm
from collections.abc import Mapping
from time import strptime
from typing import Any, NamedTuple

# What each $context variable means to us (REST and HTTP API spellings).
VARIABLE_ATTRIBUTES: dict[str, str] = {
    "$context.requestId": "request_id",
    "$context.requestTime": "request_time",
    "$context.requestTimeEpoch": "request_time_epoch",
    "$context.httpMethod": "http_method",
    "$context.resourcePath": "resource_path",
    "$context.path": "path",
    "$context.routeKey": "route_key",
    "$context.status": "status",
    "$context.responseLength": "response_length",
    "$context.responseLatency": "response_latency",
    "$context.integrationLatency": "integration_latency",
    "$context.integration.latency": "integration_latency",
    "$context.integrationStatus": "integration_status",
    "$context.integration.status": "integration_status",
    "$context.integration.error": "integration_error",
    "$context.integrationErrorMessage": "integration_error",
    "$context.error.responseType": "error_type",
    "$context.identity.apiKeyId": "api_key_id",
    "$context.stage": "stage",
}

# Field names used by formats we do not declare ourselves (HTTP API defaults, examples).
KNOWN_FIELD_NAMES: dict[str, str] = {
    "requestId": "request_id",
    "requestTime": "request_time",
    "requestTimeEpoch": "request_time_epoch",
    "httpMethod": "http_method",
    "resourcePath": "resource_path",
    "path": "path",
    "routeKey": "route_key",
    "status": "status",
    "responseLength": "response_length",
    "responseLatency": "response_latency",
    "integrationLatency": "integration_latency",
    "integrationStatus": "integration_status",
    "integrationError": "integration_error",
    "integrationErrorMessage": "integration_error",
    "errorType": "error_type",
    "errorResponseType": "error_type",
    "apiKeyId": "api_key_id",
    "stage": "stage",
}

_PRE_QUOTED = "$context.error.messageString"
_MISSING = ("", "-")
_LARGEST = 1e15


# The order of ``FieldMap.raw``'s values.
RAW_ATTRIBUTES = (
    "request_id",
    "status",
    "request_time_epoch",
    "request_time",
    "http_method",
    "resource_path",
    "path",
    "route_key",
    "stage",
    "response_length",
    "response_latency",
    "integration_latency",
    "integration_status",
    "integration_error",
    "error_type",
    "api_key_id",
)
# A key no line has (JSON keys from API Gateway are printable): looks up as None.
_ABSENT = "\x00"


class FieldMap:
    """JSON field name -> record attribute, and the layouts of lines already seen."""

    # A batch holds a handful of line layouts (field names in order): map each once.
    _MAX_LAYOUTS = 256

    def __init__(self, names: Mapping[str, str], declared: tuple[str, ...] = ()) -> None:
        self.names = dict(names)
        self._layouts: dict[tuple[str, ...], tuple[str, ...] | None] = {}
        # The stage's own format: its lines take a shortcut that needs no layout lookup.
        self._declared = self._names_for(declared) if declared else None
        self._declared_fields = len(declared)
        self._declared_absent = (self._declared or ()).count(_ABSENT)

    def _names_for(self, layout: tuple[str, ...]) -> tuple[str, ...] | None:
        """The JSON name of each raw attribute in this layout; None if one has two."""
        by_attribute: dict[str, str] = {}
        for name in layout:
            attribute = self.names.get(name)
            if attribute is not None:
                if attribute in by_attribute:
                    return None
                by_attribute[attribute] = name
        return tuple(by_attribute.get(attribute, _ABSENT) for attribute in RAW_ATTRIBUTES)

    def raw(self, document: dict[str, Any]) -> tuple[Any, ...]:
        """The line's values in ``RAW_ATTRIBUTES`` order, as written (None: no such field)."""
        declared = self._declared
        if declared is not None and len(document) == self._declared_fields:
            values = tuple(map(document.get, declared))
            # As many fields, and every declared one present: the declared layout. (A
            # layout lookup hashes every field name, new strings on every line.)
            if values.count(None) == self._declared_absent:
                return values
        layout = tuple(document)
        if layout in self._layouts:
            names = self._layouts[layout]
        else:
            if len(self._layouts) >= self._MAX_LAYOUTS:
                self._layouts.clear()
            names = self._layouts[layout] = self._names_for(layout)
        if names is not None:
            # One C-level pass over the fields: this runs once per line.
            return tuple(map(document.get, names))
        # Two fields for one attribute (e.g. two error fields): the last one written wins.
        written: dict[str, Any] = {}
        for name, value in document.items():
            attribute = self.names.get(name)
            if attribute is not None and value is not None and value not in _MISSING:
                written[attribute] = value
        return tuple(written.get(attribute) for attribute in RAW_ATTRIBUTES)


def field_map(access_log_format: str | None) -> FieldMap:
    """The field map for ``access_log_format`` and the known formats."""
    fields = dict(KNOWN_FIELD_NAMES)
    declared: dict[str, str] = {}
    if access_log_format:
        # The one unquoted variable is quoted by API Gateway itself; quote it to parse.
        declared = json.loads(access_log_format.replace(_PRE_QUOTED, f'"{_PRE_QUOTED}"'))
        for name, variable in declared.items():
            if variable in VARIABLE_ATTRIBUTES:
                fields[name] = VARIABLE_ATTRIBUTES[variable]
            else:
                fields.pop(name, None)
    return FieldMap(fields, tuple(declared))


class AccessRecord(NamedTuple):
    """One access-log line, typed. A named tuple: one is built per line, and a tuple is
    the cheapest immutable record Python builds."""

    request_id: str
    status: int
    request_time_ms: int
    http_method: str | None = None
    resource_path: str | None = None
    path: str | None = None
    route_key: str | None = None
    stage: str | None = None
    response_length: float | None = None
    response_latency: float | None = None
    integration_latency: float | None = None
    integration_status: int | None = None
    integration_error: str | None = None
    error_type: str | None = None
    api_key_id: str | None = None


class MalformedLine(ValueError):
    """A line we cannot count: not a JSON object, or no request id or status."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if value.__class__ is str else str(value)
    return None if text in _MISSING else text


def _number(value: Any) -> float | None:
    if value is None or value.__class__ is bool:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    # Beyond any real latency, size or epoch-ms (3e4 years): garbage, counted as missing.
    # NaN and infinities fail the comparison too.
    return number if -_LARGEST < number < _LARGEST else None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def request_time_ms(epoch_value: Any, time_value: Any, fallback_ms: int) -> int:
    """Milliseconds since the epoch from the epoch field, else the CLF time, else fallback."""
    epoch = _integer(epoch_value)
    if epoch is not None:
        return epoch
    text = _text(time_value)
    if text is not None:
        try:
            # API Gateway's CLF time, e.g. 25/Nov/2026:04:50:00 +0000 (always UTC here).
            return timegm(strptime(text[:20], "%d/%b/%Y:%H:%M:%S")) * 1000
        except ValueError:
            pass
    return fallback_ms


def parse_line(message: str, fields: FieldMap, fallback_time_ms: int) -> AccessRecord:
    """The record of one access-log message; raises ``MalformedLine``.

    ``fallback_time_ms`` (the log event's timestamp) stands in for a missing request time.
    """
    return record_from_raw(fields.raw(load_document(message)), fallback_time_ms)


def load_document(message: str) -> dict[str, Any]:
    """The line's JSON object; raises ``MalformedLine``."""
    try:
        document = json.loads(message)
    except (ValueError, RecursionError):
        raise MalformedLine("not JSON") from None
    if document.__class__ is not dict:
        raise MalformedLine("not a JSON object")
    return document


def record_from_raw(raw: tuple[Any, ...], fallback_time_ms: int) -> AccessRecord:
    """The typed record of ``FieldMap.raw``'s values; raises ``MalformedLine``."""
    (
        request_id,
        status,
        epoch,
        time_text,
        http_method,
        resource_path,
        path,
        route_key,
        stage,
        response_length,
        response_latency,
        integration_latency,
        integration_status,
        integration_error,
        error_type,
        api_key_id,
    ) = raw
    request_id, status = _text(request_id), _integer(status)
    if request_id is None or status is None:
        raise MalformedLine("no request id or status")
    # Positional, in field order: one record per line, and keywords cost time.
    return AccessRecord(
        request_id,
        status,
        request_time_ms(epoch, time_text, fallback_time_ms),
        _text(http_method),
        _text(resource_path),
        _text(path),
        _text(route_key),
        _text(stage),
        _number(response_length),
        _number(response_latency),
        _number(integration_latency),
        _integer(integration_status),
        _text(integration_error),
        _text(error_type),
        _text(api_key_id),
    )
