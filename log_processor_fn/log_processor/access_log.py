"""One access-log line into a typed record, whatever format the stage used.

Fields are mapped by name: the template's own format (whose ``$context`` variables
say what each field means), the HTTP API style and the minimal format of common
examples. ``"-"`` and empty values mean missing; numbers arrive as strings.
"""

from __future__ import annotations

import json
import math
from calendar import timegm
from collections.abc import Mapping
from dataclasses import dataclass
from time import strptime
from typing import Any

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


class FieldMap:
    """JSON field name -> record attribute, and the layouts of lines already seen."""

    # A batch holds a handful of line layouts (field names in order): map each once.
    _MAX_LAYOUTS = 256

    def __init__(self, names: Mapping[str, str]) -> None:
        self.names = dict(names)
        self._layouts: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}

    def mapped(self, document: dict[str, Any]) -> dict[str, Any]:
        """The fields we map, by attribute, holding a value ("-" and "" mean missing)."""
        layout = tuple(document)
        pairs = self._layouts.get(layout)
        if pairs is None:
            pairs = tuple((name, self.names[name]) for name in layout if name in self.names)
            if len(self._layouts) >= self._MAX_LAYOUTS:
                self._layouts.clear()
            self._layouts[layout] = pairs
        return {
            attribute: value
            for name, attribute in pairs
            if (value := document[name]) is not None and value not in _MISSING
        }


def field_map(access_log_format: str | None) -> FieldMap:
    """The field map for ``access_log_format`` and the known formats."""
    fields = dict(KNOWN_FIELD_NAMES)
    if access_log_format:
        # The one unquoted variable is quoted by API Gateway itself; quote it to parse.
        declared = json.loads(access_log_format.replace(_PRE_QUOTED, f'"{_PRE_QUOTED}"'))
        for name, variable in declared.items():
            if variable in VARIABLE_ATTRIBUTES:
                fields[name] = VARIABLE_ATTRIBUTES[variable]
            else:
                fields.pop(name, None)
    return FieldMap(fields)


@dataclass(frozen=True, slots=True)
class AccessRecord:
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
    if value is None or value.__class__ is str:
        return value
    text = str(value)
    return None if text in _MISSING else text


def _number(value: Any) -> float | None:
    if value is None or value.__class__ is bool:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    # Beyond any real latency, size or epoch-ms (3e4 years): garbage, counted as missing.
    return number if math.isfinite(number) and abs(number) < _LARGEST else None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _request_time_ms(values: Mapping[str, Any], fallback_ms: int) -> int:
    epoch = _integer(values.get("request_time_epoch"))
    if epoch is not None:
        return epoch
    text = _text(values.get("request_time"))
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
    try:
        document = json.loads(message)
    except (ValueError, RecursionError):
        raise MalformedLine("not JSON") from None
    if not isinstance(document, dict):
        raise MalformedLine("not a JSON object")
    values = fields.mapped(document)
    get = values.get
    request_id = _text(get("request_id"))
    status = _integer(get("status"))
    if request_id is None or status is None:
        raise MalformedLine("no request id or status")
    return AccessRecord(
        request_id=request_id,
        status=status,
        request_time_ms=_request_time_ms(values, fallback_time_ms),
        http_method=_text(get("http_method")),
        resource_path=_text(get("resource_path")),
        path=_text(get("path")),
        route_key=_text(get("route_key")),
        stage=_text(get("stage")),
        response_length=_number(get("response_length")),
        response_latency=_number(get("response_latency")),
        integration_latency=_number(get("integration_latency")),
        integration_status=_integer(get("integration_status")),
        integration_error=_text(get("integration_error")),
        error_type=_text(get("error_type")),
        api_key_id=_text(get("api_key_id")),
    )
