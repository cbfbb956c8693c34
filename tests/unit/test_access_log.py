"""Parsing access-log lines of every accepted format into records."""

from __future__ import annotations

import json

import pytest

from emulator.logs import render_access_log
from emulator.template import access_log_format
from log_processor.access_log import AccessRecord, MalformedLine, field_map, parse_line

FIELDS = field_map(access_log_format())
FALLBACK_MS = 1_795_582_260_000


def parse(message: str) -> AccessRecord:
    return parse_line(message, FIELDS, FALLBACK_MS)


def test_template_format_line_with_numbers_as_strings() -> None:
    line = render_access_log(
        {
            "$context.requestId": "r-1",
            "$context.requestTimeEpoch": "1795582212345",
            "$context.httpMethod": "POST",
            "$context.resourcePath": "/v2/models/{model_name}/infer",
            "$context.path": "/prod/v2/models/iris/infer",
            "$context.status": "200",
            "$context.responseLength": "312",
            "$context.responseLatency": "41",
            "$context.integrationLatency": "35",
            "$context.integrationStatus": "200",
            "$context.identity.apiKeyId": "key-1",
        }
    )

    record = parse(line)

    assert record == AccessRecord(
        request_id="r-1",
        status=200,
        request_time_ms=1795582212345,
        http_method="POST",
        resource_path="/v2/models/{model_name}/infer",
        path="/prod/v2/models/iris/infer",
        # The stage's own log group: the format leaves the stage out, the settings know it.
        stage=None,
        response_length=312.0,
        response_latency=41.0,
        integration_latency=35.0,
        integration_status=200,
        api_key_id="key-1",
    )


def test_dashes_mean_missing_and_missing_optional_fields_never_fail() -> None:
    record = parse(render_access_log({"$context.requestId": "r-2", "$context.status": "403"}))

    assert record.status == 403
    assert record.response_latency is None
    assert record.http_method is None
    assert record.error_type is None
    assert record.request_time_ms == FALLBACK_MS
    assert record.impossible_fields == ()


@pytest.mark.parametrize(
    "hostile", ['curl "quoted" \\ back', "-", "\u00e9\u4e2d", "x" * 5000, '}{,":']
)
def test_quotes_and_backslashes_in_free_text_fields(hostile: str) -> None:
    line = render_access_log(
        {
            "$context.requestId": "r-3",
            "$context.status": "429",
            "$context.identity.userAgent": hostile,
            "$context.error.messageString": hostile,
            "$context.error.responseType": "THROTTLED",
        }
    )

    record = parse(line)

    assert (record.status, record.error_type) == (429, "THROTTLED")


def test_http_api_style_line() -> None:
    line = json.dumps(
        {
            "requestId": "h-1",
            "routeKey": "POST /v2/models/{model_name}/infer",
            "status": "502",
            "integrationErrorMessage": "The Lambda function returned an invalid response",
            "responseLatency": "12",
            "integrationLatency": "10",
            "requestTimeEpoch": 1795582212000,
            "unknownField": {"nested": True},
        }
    )

    record = parse(line)

    assert record.route_key == "POST /v2/models/{model_name}/infer"
    assert record.integration_error == "The Lambda function returned an invalid response"
    assert (record.status, record.response_latency) == (502, 12.0)


def test_minimal_example_format_uses_the_request_time() -> None:
    line = json.dumps(
        {
            "requestId": "p-1",
            "ip": "198.51.100.7",
            "requestTime": "25/Nov/2026:04:50:12 +0000",
            "httpMethod": "GET",
            "routeKey": "-",
            "status": "200",
            "protocol": "HTTP/1.1",
            "responseLength": "13",
        }
    )

    record = parse(line)

    assert record.request_time_ms == 1795582212000
    assert (record.http_method, record.route_key, record.response_length) == ("GET", None, 13.0)


@pytest.mark.parametrize(
    "message",
    [
        "",
        "not json at all",
        "[1, 2, 3]",
        '"a string"',
        "42",
        "null",
        '{"requestId": "x"}',
        '{"status": "200"}',
        '{"requestId": "-", "status": "200"}',
        '{"requestId": "x", "status": "abc"}',
        '{"requestId": "x", "status": "NaN"}',
        "[" * 50_000,
    ],
)
def test_malformed_lines_raise(message: str) -> None:
    with pytest.raises(MalformedLine):
        parse(message)


@pytest.mark.parametrize("status", ["99", "600", "-5", "200.5", "1e3", "2OO", True])
def test_a_status_api_gateway_cannot_write_makes_the_line_malformed(status: object) -> None:
    with pytest.raises(MalformedLine, match=r"^status not a whole number in 100-599$"):
        parse(json.dumps({"requestId": "x", "status": status}))


@pytest.mark.parametrize(
    ("variable", "value", "attribute"),
    [
        ("$context.responseLatency", "-12", "response_latency"),
        ("$context.responseLatency", "NaN", "response_latency"),
        ("$context.responseLatency", "-Infinity", "response_latency"),
        ("$context.integrationLatency", "abc", "integration_latency"),
        ("$context.responseLength", "-0.5", "response_length"),
        ("$context.integrationStatus", "99", "integration_status"),
        ("$context.integrationStatus", "204.5", "integration_status"),
    ],
)
def test_impossible_values_are_read_as_missing_and_named(
    variable: str, value: str, attribute: str
) -> None:
    line = render_access_log({"$context.requestId": "r", "$context.status": "200", variable: value})

    record = parse(line)

    assert getattr(record, attribute) is None
    assert record.impossible_fields == ((attribute, value),)


def test_an_impossible_epoch_gives_way_to_the_request_time() -> None:
    line = json.dumps(
        {
            "requestId": "r",
            "status": "200",
            "requestTimeEpoch": "-1",
            "requestTime": "25/Nov/2026:04:50:12 +0000",
            "responseLatency": "7",
        }
    )

    record = parse(line)

    assert record.request_time_ms == 1795582212000
    assert record.response_latency == 7.0
    assert record.impossible_fields == (("request_time_epoch", "-1"),)


def test_a_request_time_that_does_not_parse_gives_way_to_the_fallback() -> None:
    record = parse(json.dumps({"requestId": "r", "status": "200", "requestTime": "yesterday"}))

    assert record.request_time_ms == FALLBACK_MS
    assert record.impossible_fields == (("request_time", "yesterday"),)


def test_every_impossible_field_of_a_line_is_named() -> None:
    line = json.dumps(
        {"requestId": "r", "status": "200", "responseLength": -3, "responseLatency": [1]}
    )

    record = parse(line)

    assert (record.response_length, record.response_latency) == (None, None)
    assert record.impossible_fields == (("response_length", -3), ("response_latency", [1]))


def test_field_name_is_the_name_the_line_wrote() -> None:
    assert FIELDS.field_name({"latency": "-1"}, "response_latency") == "latency"
    assert FIELDS.field_name({"responseLatency": "-1"}, "response_latency") == "responseLatency"


def test_template_format_maps_fields_by_their_context_variable() -> None:
    renamed = (
        '{"id":"$context.requestId","code":"$context.status","ua":"$context.identity.userAgent"}'
    )

    fields = field_map(renamed)

    assert (fields.names["id"], fields.names["code"]) == ("request_id", "status")
    assert "ua" not in fields.names
    assert parse_line('{"id": "r", "code": "204"}', fields, 0).status == 204


def test_numbers_beyond_any_real_value_count_as_missing() -> None:
    line = render_access_log(
        {"$context.requestId": "r", "$context.status": "200", "$context.responseLatency": "1.8e308"}
    )

    record = parse(line)

    assert record.response_latency is None
    assert record.impossible_fields == (("response_latency", "1.8e308"),)
