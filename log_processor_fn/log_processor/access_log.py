"""One access-log line into a typed record, whatever format the stage used.

Fields are mapped by name: the template's own format (whose ``$context`` variables
say what each field means), the HTTP API style and the minimal format of common
examples. ``"-"`` and empty values mean missing; numbers arrive as strings.

A value API Gateway cannot have written is refused where it is read: a status that is
not a whole number in 100-599 makes the line malformed (``MalformedLine``); in the
other numeric fields (size, latencies, integration status, epoch) and in the CLF
request time, it is read as missing and named in the record's ``impossible_fields``.
Sizes, latencies and epochs are finite non-negative numbers below 1e15 (beyond any
real latency, size or epoch-ms); a status or integration status is a whole number in
100-599.
"""

from __future__ import annotations

import json
from calendar import timegm
from collections.abc import Callable, Mapping
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

    def field_name(self, document: dict[str, Any], attribute: str) -> str:
        """The field of ``document`` that ``raw`` read ``attribute`` from (written last)."""
        for name, value in reversed(document.items()):
            if self.names.get(name) == attribute and value is not None and value not in _MISSING:
                return name
        return attribute


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
    # (attribute, value as written) of each field read as missing because API Gateway
    # cannot have written its value. Empty on every line API Gateway wrote.
    impossible_fields: tuple[tuple[str, Any], ...] = ()


class MalformedLine(ValueError):
    """A line we cannot count: not a JSON object, no request id, no HTTP status."""


class ImpossibleValue(ValueError):
    """A value API Gateway cannot have written in the field it was read from."""


# What a field holding an impossible value should have held, by attribute.
EXPECTED: dict[str, str] = {
    "request_time_epoch": "a finite non-negative number",
    "request_time": "a time (dd/Mon/yyyy:HH:MM:SS)",
    "response_length": "a finite non-negative number",
    "response_latency": "a finite non-negative number",
    "integration_latency": "a finite non-negative number",
    "integration_status": "an HTTP status (a whole number in 100-599)",
}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if value.__class__ is str else str(value)
    return None if text in _MISSING else text


def _number(value: Any) -> float | None:
    """A finite non-negative number; None when missing; raises ``ImpossibleValue``."""
    if value is None:
        return None
    if value.__class__ is not bool:
        try:
            number = float(value)
        except (TypeError, ValueError):
            # "-" and "" take this path too: missing, not impossible.
            if value in _MISSING:
                return None
        else:
            # NaN and infinities fail the comparison too.
            if 0 <= number < _LARGEST:
                return number
    raise ImpossibleValue


def _status(value: Any) -> int | None:
    """An HTTP status; None when missing; raises ``ImpossibleValue``."""
    if value.__class__ is str:
        # As API Gateway writes it ("200"): int() reads it at once and refuses "200.5".
        try:
            code = int(value)
        except ValueError:
            if value in _MISSING:
                return None
        else:
            if 100 <= code < 600:
                return code
            raise ImpossibleValue
    number = _number(value)
    if number is None:
        return None
    if 100 <= number < 600 and number.is_integer():
        return int(number)
    raise ImpossibleValue


def _clf_time_ms(value: Any) -> int | None:
    """API Gateway's CLF time in ms; None when missing; raises ``ImpossibleValue``."""
    text = _text(value)
    if text is None:
        return None
    try:
        # e.g. 25/Nov/2026:04:50:00 +0000 (always UTC here).
        return timegm(strptime(text[:20], "%d/%b/%Y:%H:%M:%S")) * 1000
    except ValueError:
        raise ImpossibleValue from None


def request_time_ms(epoch_value: Any, time_value: Any, fallback_ms: int) -> int:
    """Milliseconds since the epoch from the epoch field, else the CLF time, else fallback.

    Raises ``ImpossibleValue`` when the field it reads holds no time.
    """
    epoch = _number(epoch_value)
    if epoch is not None:
        return int(epoch)
    clf = _clf_time_ms(time_value)
    return fallback_ms if clf is None else clf


def parse_line(message: str, fields: FieldMap, fallback_time_ms: int) -> AccessRecord:
    """The record of one access-log message; raises ``MalformedLine``.

    ``fallback_time_ms`` (the log event's timestamp) stands in for a missing request time.
    """
    return record_from_raw(fields.raw(load_document(message)), fallback_time_ms)


def load_document(message: object) -> dict[str, Any]:
    """The line's JSON object; raises ``MalformedLine``."""
    if not isinstance(message, str):
        raise MalformedLine("no message")
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
    request_id = _text(request_id)
    try:
        code = _status(status)
    except ImpossibleValue:
        raise MalformedLine("status not a whole number in 100-599") from None
    if request_id is None or code is None:
        raise MalformedLine("no request id or status")
    try:
        # Positional, in field order: one record per line, and keywords cost time.
        return AccessRecord(
            request_id,
            code,
            request_time_ms(epoch, time_text, fallback_time_ms),
            _text(http_method),
            _text(resource_path),
            _text(path),
            _text(route_key),
            _text(stage),
            _number(response_length),
            _number(response_latency),
            _number(integration_latency),
            _status(integration_status),
            _text(integration_error),
            _text(error_type),
            _text(api_key_id),
        )
    except ImpossibleValue:
        pass
    # Rare: read again with the impossible values as missing, and name them. Lines
    # API Gateway wrote never come here, so they pay for no check but the one above.
    cleaned, impossible = _without_impossible(raw)
    return record_from_raw(cleaned, fallback_time_ms)._replace(impossible_fields=impossible)


_EPOCH = RAW_ATTRIBUTES.index("request_time_epoch")
_TIME = RAW_ATTRIBUTES.index("request_time")
# The fields that can hold an impossible value, and their readers; the epoch before the
# CLF time, which is read only when the epoch is missing.
_CHECKED: tuple[tuple[int, Callable[[Any], object]], ...] = (
    (_EPOCH, _number),
    (_TIME, _clf_time_ms),
    (RAW_ATTRIBUTES.index("response_length"), _number),
    (RAW_ATTRIBUTES.index("response_latency"), _number),
    (RAW_ATTRIBUTES.index("integration_latency"), _number),
    (RAW_ATTRIBUTES.index("integration_status"), _status),
)


def _without_impossible(
    raw: tuple[Any, ...],
) -> tuple[tuple[Any, ...], tuple[tuple[str, Any], ...]]:
    """``raw`` with each impossible value replaced by None, and (attribute, value) of each."""
    values = list(raw)
    impossible: list[tuple[str, Any]] = []
    for index, read in _CHECKED:
        if index == _TIME and _number(values[_EPOCH]) is not None:
            continue
        try:
            read(values[index])
        except ImpossibleValue:
            impossible.append((RAW_ATTRIBUTES[index], values[index]))
            values[index] = None
    return tuple(values), tuple(impossible)
