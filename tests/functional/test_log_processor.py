"""The log processor handler with real-shaped subscription events: EMF totals match."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent

from dev_support.lambda_events import FakeLambdaContext, load_event, subscription_event
from emulator.logs import render_access_log
from emulator.template import function_environment
from log_processor import metrics as m
from log_processor.aggregate import minute_of
from log_processor.batch import process_batch
from log_processor.handler import lambda_handler, logger
from log_processor.settings import load_settings
from tests.emf import emf_errors
from tests.support import emf_blobs, log_records, readme_metrics

# Recent minutes: the handler reads its own clock, and refuses request minutes more than
# 14 days before it.
MINUTE_A = minute_of(int(time.time() * 1000)) - 10 * 60_000
MINUTE_B = MINUTE_A + 60_000
INFER = "/v2/models/{model_name}/infer"
ENV = function_environment("LogProcessorFunction")
SETTINGS = load_settings(ENV)
STAGE = "prod"


@dataclass(frozen=True)
class Request:
    """One request of the fixture batch, and what the processor should make of it."""

    line: str
    minute: int
    route: str
    status: int
    model: str | None = None
    error: tuple[str, str] | None = None
    latency: float | None = None


def rest(  # noqa: PLR0917 -- one fixture row per call reads best as a table
    minute: int,
    method: str,
    resource: str,
    path: str,
    status: int,
    latency: float | None = None,
    integration: float | None = None,
    error_type: str | None = None,
    key: str | None = None,
) -> str:
    values: dict[str, Any] = {
        "$context.requestId": f"req-{minute}-{path}-{status}-{latency}",
        "$context.requestTimeEpoch": minute + 1234,
        "$context.httpMethod": method,
        "$context.resourcePath": resource,
        "$context.path": f"/{STAGE}{path}",
        "$context.status": status,
        "$context.stage": STAGE,
        "$context.identity.userAgent": 'python-requests/2.32 "quoted" \\',
    }
    if latency is not None:
        values["$context.responseLatency"] = latency
        values["$context.responseLength"] = 321
    if integration is not None:
        values["$context.integrationLatency"] = integration
        values["$context.integrationStatus"] = 200
    if error_type is not None:
        values["$context.error.responseType"] = error_type
        values["$context.error.messageString"] = 'Too "many" requests'
    if key is not None:
        values["$context.identity.apiKeyId"] = key
    return render_access_log(values)


FIXTURE = [
    Request(
        rest(MINUTE_A, "POST", INFER, "/v2/models/iris/infer", 200, 41, 35, key="key-a"),
        MINUTE_A,
        f"POST {INFER}",
        200,
        model="iris",
        latency=41,
    ),
    Request(
        rest(MINUTE_A, "POST", INFER, "/v2/models/iris/infer", 200, 50, 40),
        MINUTE_A,
        f"POST {INFER}",
        200,
        model="iris",
        latency=50,
    ),
    Request(
        rest(MINUTE_B, "POST", INFER, "/v2/models/digits/infer", 400, 20, 15),
        MINUTE_B,
        f"POST {INFER}",
        400,
        model="digits",
        error=("function", "FUNCTION_4XX"),
        latency=20,
    ),
    Request(
        rest(MINUTE_B, "POST", INFER, "/v2/models/resnet/infer", 404, 10, 8),
        MINUTE_B,
        f"POST {INFER}",
        404,
        model="unknown",
        error=("function", "FUNCTION_4XX"),
        latency=10,
    ),
    Request(
        rest(MINUTE_A, "GET", "/v2/health/live", "/v2/health/live", 200, 5, 3),
        MINUTE_A,
        "GET /v2/health/live",
        200,
        latency=5,
    ),
    Request(
        rest(MINUTE_A, "POST", INFER, "/v2/models/iris/infer", 429, 1, error_type="THROTTLED"),
        MINUTE_A,
        f"POST {INFER}",
        429,
        model="iris",
        error=("gateway", "THROTTLED"),
        latency=1,
    ),
    Request(
        rest(
            MINUTE_B, "POST", INFER, "/v2/models/iris/infer", 400, 2, error_type="BAD_REQUEST_BODY"
        ),
        MINUTE_B,
        f"POST {INFER}",
        400,
        model="iris",
        error=("gateway", "BAD_REQUEST_BODY"),
        latency=2,
    ),
    Request(  # HTTP API style
        json.dumps(
            {
                "requestId": "http-1",
                "routeKey": f"POST {INFER}",
                "path": "/v2/models/iris/infer",
                "status": "502",
                "integrationErrorMessage": "invalid response",
                "responseLatency": "12",
                "requestTimeEpoch": str(MINUTE_B + 5),
                "stage": STAGE,
            }
        ),
        MINUTE_B,
        f"POST {INFER}",
        502,
        model="iris",
        error=("gateway", "INTEGRATION_FAILURE"),
        latency=12,
    ),
    Request(  # the minimal format of the reference example: no route, no latencies
        json.dumps(
            {
                "requestId": "min-1",
                "ip": "198.51.100.7",
                "requestTime": time.strftime(
                    "%d/%b/%Y:%H:%M:%S +0000", time.gmtime(MINUTE_A / 1000 + 30)
                ),
                "httpMethod": "GET",
                "routeKey": "-",
                "status": "200",
                "protocol": "HTTP/1.1",
                "responseLength": "13",
            }
        ),
        MINUTE_A,
        "unknown",
        200,
    ),
]
MALFORMED = ["garbage \x00 text", "[1, 2]", '{"requestId": "no-status"}']


def fixture_event() -> dict[str, Any]:
    lines: list[tuple[str, str]] = [(f"ev-{i}", r.line) for i, r in enumerate(FIXTURE)]
    lines += [(f"bad-{i}", text) for i, text in enumerate(MALFORMED)]
    lines += [lines[0], lines[1]]  # redelivered events
    return subscription_event(lines, timestamp_ms=MINUTE_B + 30_000)


def run(event: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, int], str]:
    # The logger holds the stdout it saw at import; point it at this test's capture.
    logger.registered_handler.stream = sys.stdout  # type: ignore[attr-defined]
    capsys.readouterr()
    result = lambda_handler(event, FakeLambdaContext(function_name="log-processor"))
    return result, capsys.readouterr().out


def totals(documents: list[dict[str, Any]], metric: str, *dims: str) -> Counter[tuple[Any, ...]]:
    """Sum of ``metric`` per value of ``dims`` (and minute when "minute" is asked for)."""
    found: Counter[tuple[Any, ...]] = Counter()
    for doc in documents:
        if metric not in doc:
            continue
        value = doc[metric]
        amount = value["Count"] if isinstance(value, dict) else value
        key = tuple(doc["_aws"]["Timestamp"] if d == "minute" else doc[d] for d in dims)
        found[key] += amount
    return found


@pytest.fixture
def mixed(capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, int], list[dict[str, Any]], str]:
    result, out = run(fixture_event(), capsys)
    return result, emf_blobs(out), out


def test_every_document_is_valid_emf_in_the_template_namespace(mixed: Any) -> None:
    _, documents, _ = mixed

    assert documents
    for document in documents:
        assert emf_errors(document) == []
        assert (
            document["_aws"]["CloudWatchMetrics"][0]["Namespace"]
            == ENV["POWERTOOLS_METRICS_NAMESPACE"]
        )
        assert document["service"] == ENV["POWERTOOLS_SERVICE_NAME"]


def test_requests_total_per_route_status_class_and_request_minute(mixed: Any) -> None:
    _, documents, _ = mixed
    expected = Counter((r.minute, r.route, f"{r.status // 100}xx") for r in FIXTURE)

    assert totals(documents, "Requests", "minute", "route", "status_class") == expected


def test_model_requests_and_errors_per_model(mixed: Any) -> None:
    _, documents, _ = mixed
    requests = Counter((r.model,) for r in FIXTURE if r.model)
    errors = Counter((r.model,) for r in FIXTURE if r.model and r.status >= 400)

    assert totals(documents, "ModelRequests", "model") == requests
    assert +totals(documents, "ModelErrors", "model") == errors


def test_errors_by_source_and_type(mixed: Any) -> None:
    _, documents, _ = mixed
    expected = Counter(r.error for r in FIXTURE if r.error)

    assert totals(documents, "Errors", "error_source", "error_type") == expected
    for doc in documents:
        if "Errors" in doc:
            assert doc["stage"] == STAGE


def test_latency_distribution_counts_and_sums_per_route(mixed: Any) -> None:
    _, documents, _ = mixed
    count = Counter((r.route,) for r in FIXTURE if r.latency is not None)

    assert totals(documents, "Latency", "route") == count
    latency_sum = sum(d["Latency"]["Sum"] for d in documents if "Latency" in d)
    assert latency_sum == sum(r.latency for r in FIXTURE if r.latency is not None)
    overhead = [d["GatewayOverhead"] for d in documents if "GatewayOverhead" in d]
    # 41-35, 50-40, 20-15, 10-8, 5-3: only the lines carrying both latencies.
    assert sorted(
        v for o in overhead for v, c in zip(o["Values"], o["Counts"], strict=True) for _ in range(c)
    ) == [2.0, 2.0, 5.0, 6.0, 10.0]


def test_pipeline_health_counts_lines_malformed_and_duplicates(mixed: Any) -> None:
    result, documents, out = mixed

    assert totals(documents, "LogLines", "service") == Counter({("model-endpoint",): 14})
    assert sum(totals(documents, "MalformedLogLines").values()) == len(MALFORMED)
    assert sum(totals(documents, "DuplicateLogEvents").values()) == 2
    assert sum(totals(documents, "DeliveryLag").values()) == len(FIXTURE)
    assert result == {
        "lines": 14,
        "valid": len(FIXTURE),
        "malformed": 3,
        "malformed_fields": 0,
        "duplicates": 2,
    }
    warnings = [r for r in log_records(out) if r["level"] == "WARNING"]
    assert sorted(w["log_event_id"] for w in warnings) == ["bad-0", "bad-1", "bad-2"]
    assert all(len(w["excerpt"]) <= 200 for w in warnings)


def test_output_grows_with_dimension_sets_not_lines(capsys: pytest.CaptureFixture[str]) -> None:
    line = FIXTURE[0].line
    _, small = run(subscription_event([line] * 10), capsys)
    _, large = run(subscription_event([line] * 2000), capsys)

    assert len(emf_blobs(large)) == len(emf_blobs(small))
    assert len(large) < len(small) * 1.2


def test_control_messages_are_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    event = subscription_event(
        ["CWL CONTROL MESSAGE: Checking health"], message_type="CONTROL_MESSAGE"
    )

    result, out = run(event, capsys)

    assert result["lines"] == 0
    assert emf_blobs(out) == []


def test_sample_event_in_events_folder_is_processed() -> None:
    payload = CloudWatchLogsEvent(load_event("access_log_subscription")).parse_logs_data()
    log_events = payload.raw_event["logEvents"]
    # Processed when it was delivered: its lines are of a fixed day, which CloudWatch's
    # 14-day window (and so the processor) leaves behind.
    delivered_ms = max(event["timestamp"] for event in log_events)

    result = process_batch(log_events, SETTINGS, now_ms=delivered_ms)

    assert result.lines == result.valid == 5
    assert (result.malformed, result.malformed_fields) == ([], [])
    assert all(emf_errors(doc) == [] for doc in result.documents)


def test_allow_listed_api_keys_get_their_own_series() -> None:
    settings = load_settings({**ENV, "CLIENT_API_KEY_IDS": "key-a"})
    events = [
        {"id": str(i), "timestamp": MINUTE_B, "message": r.line} for i, r in enumerate(FIXTURE)
    ]

    documents = process_batch(events, settings, now_ms=MINUTE_B + 1000).documents

    assert totals(documents, "ClientRequests", "api_key") == Counter(
        {("key-a",): 1, ("other",): len(FIXTURE) - 1}
    )


def test_slow_requests_count_latencies_above_the_objective() -> None:
    settings = load_settings({**ENV, "LATENCY_SLO_MS": "30"})
    events = [
        {"id": str(i), "timestamp": MINUTE_B, "message": r.line} for i, r in enumerate(FIXTURE)
    ]

    documents = process_batch(events, settings, now_ms=MINUTE_B + 1000).documents

    slow = sum(1 for r in FIXTURE if r.latency is not None and r.latency > 30)
    assert slow == 2
    assert totals(documents, "SlowRequests", "stage") == Counter({(STAGE,): slow})


def test_no_client_series_without_an_allow_list(mixed: Any) -> None:
    _, documents, _ = mixed

    assert not totals(documents, "ClientRequests", "api_key")


def test_the_readme_table_is_the_declared_contract() -> None:
    declared = {spec.name: (spec.unit.value, tuple(sorted(spec.dimensions))) for spec in m.CONTRACT}

    assert readme_metrics("### Access-log metrics (the log processor)") == declared


# Lines and values API Gateway cannot have written.

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000
TOO_OLD = "request minute more than 14 days (less 5 minutes) before processing"
TOO_NEW = "request minute more than 2 hours (less 5 minutes) after processing"
# When the batches below are processed: half a minute into minute B.
PROCESSED = MINUTE_B + 30_000
INFER_IRIS = {
    "$context.requestId": "good",
    "$context.httpMethod": "POST",
    "$context.resourcePath": INFER,
    "$context.path": f"/{STAGE}/v2/models/iris/infer",
    "$context.status": "200",
    "$context.responseLatency": "41",
    "$context.integrationLatency": "35",
    "$context.integrationStatus": "200",
    "$context.responseLength": "321",
}


def test_lines_outside_cloudwatchs_window_are_malformed_and_the_rest_published(
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = int(time.time() * 1000)
    old = rest(now - 15 * DAY_MS, "POST", INFER, "/v2/models/iris/infer", 200, 41, 35)
    ahead = rest(now + 3 * HOUR_MS, "POST", INFER, "/v2/models/iris/infer", 200, 41, 35)
    lines = [(f"ev-{i}", r.line) for i, r in enumerate(FIXTURE)]

    result, out = run(subscription_event([*lines, ("old", old), ("ahead", ahead)]), capsys)
    after = int(time.time() * 1000)

    documents = emf_blobs(out)
    assert (result["valid"], result["malformed"]) == (len(FIXTURE), 2)
    assert sum(totals(documents, "MalformedLogLines").values()) == 2
    expected = Counter((r.minute, r.route, f"{r.status // 100}xx") for r in FIXTURE)
    assert totals(documents, "Requests", "minute", "route", "status_class") == expected
    warnings = {r["log_event_id"]: r["reason"] for r in log_records(out) if r["level"] == "WARNING"}
    assert warnings == {"old": TOO_OLD, "ahead": TOO_NEW}
    for document in documents:
        assert emf_errors(document) == []
        assert now - 14 * DAY_MS <= document["_aws"]["Timestamp"] <= after + 2 * HOUR_MS


@pytest.mark.parametrize(
    ("request_time_ms", "valid"),
    [
        # The request minute is what CloudWatch sees, and the bounds keep 5 minutes inside.
        (PROCESSED - 14 * DAY_MS + 6 * MINUTE_MS, True),
        (PROCESSED - 14 * DAY_MS + 5 * MINUTE_MS, False),  # its minute starts 30 s too early
        (PROCESSED + 2 * HOUR_MS - 5 * MINUTE_MS, True),
        (PROCESSED + 2 * HOUR_MS - 4 * MINUTE_MS, False),
    ],
)
def test_cloudwatchs_window_applies_to_the_request_minute_with_a_margin(
    request_time_ms: int, valid: bool
) -> None:
    line = render_access_log({**INFER_IRIS, "$context.requestTimeEpoch": request_time_ms})

    event = {"id": "1", "timestamp": PROCESSED, "message": line}

    result = process_batch([event], SETTINGS, PROCESSED)

    assert (result.valid, len(result.malformed)) == ((1, 0) if valid else (0, 1))
    assert sum(totals(result.documents, "Requests").values()) == (1 if valid else 0)


def test_a_negative_latency_is_left_out_of_the_figures_and_counted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    negative = render_access_log(
        {
            **INFER_IRIS,
            "$context.requestId": "negative",
            "$context.requestTimeEpoch": MINUTE_A + 2000,
            "$context.responseLatency": "-12",
            "$context.integrationLatency": "10",
        }
    )
    lines = [("ev-0", FIXTURE[0].line), ("ev-1", FIXTURE[1].line), ("negative", negative)]

    result, out = run(subscription_event(lines), capsys)

    documents = emf_blobs(out)
    assert result == {
        "lines": 3,
        "valid": 3,
        "malformed": 0,
        "malformed_fields": 1,
        "duplicates": 0,
    }
    (route,) = [d for d in documents if "Latency" in d]
    # FIXTURE[0] and [1]: latencies 41 and 50, integration 35 and 40; the third line's
    # integration latency (10) is sound and counts, its latency and overhead do not.
    assert route["Latency"] == {
        "Values": [41.0, 50.0],
        "Counts": [1, 1],
        "Max": 50.0,
        "Min": 41.0,
        "Count": 2,
        "Sum": 91.0,
    }
    assert route["IntegrationLatency"]["Values"] == [10.0, 35.0, 40.0]
    assert route["GatewayOverhead"]["Values"] == [6.0, 10.0]
    assert totals(documents, "Requests", "route") == Counter({(f"POST {INFER}",): 3})
    assert totals(documents, "MalformedLogFields", "service") == Counter({("model-endpoint",): 1})
    (warning,) = [r for r in log_records(out) if r["level"] == "WARNING"]
    assert warning["message"] == "malformed access-log field"
    assert warning["log_event_id"] == "negative"
    assert warning["reason"] == "field latency is not a finite non-negative number"
    assert warning["excerpt"] == '"latency": "-12"'
    assert all(emf_errors(doc) == [] for doc in documents)


FIGURES = {"Latency", "IntegrationLatency", "GatewayOverhead", "ResponseBytes"}
NUMBER = "a finite non-negative number"
HTTP_STATUS = "an HTTP status (a whole number in 100-599)"


@pytest.mark.parametrize(
    ("variable", "value", "reason", "figures"),
    [
        (
            "$context.responseLatency",
            "-12",
            f"field latency is not {NUMBER}",
            {"IntegrationLatency", "ResponseBytes"},
        ),
        (
            "$context.responseLatency",
            "NaN",
            f"field latency is not {NUMBER}",
            {"IntegrationLatency", "ResponseBytes"},
        ),
        (
            "$context.responseLatency",
            "Infinity",
            f"field latency is not {NUMBER}",
            {"IntegrationLatency", "ResponseBytes"},
        ),
        (
            "$context.responseLatency",
            "4l",
            f"field latency is not {NUMBER}",
            {"IntegrationLatency", "ResponseBytes"},
        ),
        (
            "$context.integrationLatency",
            "-3",
            f"field fnLatency is not {NUMBER}",
            {"Latency", "ResponseBytes"},
        ),
        (
            "$context.responseLength",
            "-1",
            f"field bytes is not {NUMBER}",
            {"Latency", "IntegrationLatency", "GatewayOverhead"},
        ),
        ("$context.integrationStatus", "700", f"field fnStatus is not {HTTP_STATUS}", FIGURES),
        ("$context.integrationStatus", "200.5", f"field fnStatus is not {HTTP_STATUS}", FIGURES),
    ],
)
def test_an_impossible_field_is_counted_and_read_as_missing(
    variable: str, value: str, reason: str, figures: set[str]
) -> None:
    line = render_access_log(
        {**INFER_IRIS, "$context.requestTimeEpoch": MINUTE_A + 2000, variable: value}
    )

    result = process_batch(
        [{"id": "x", "timestamp": MINUTE_A, "message": line}], SETTINGS, PROCESSED
    )

    assert (result.valid, result.malformed) == (1, [])
    assert [f.reason for f in result.malformed_fields] == [reason]
    assert totals(result.documents, "MalformedLogFields") == Counter({(): 1})
    assert totals(result.documents, "StageRequests", "minute") == Counter({(MINUTE_A,): 1})
    assert {name for d in result.documents for name in d} & FIGURES == figures


def test_an_impossible_epoch_falls_back_to_when_the_line_was_received() -> None:
    line = render_access_log({**INFER_IRIS, "$context.requestTimeEpoch": "-5"})

    result = process_batch(
        [{"id": "x", "timestamp": MINUTE_B + 7, "message": line}], SETTINGS, PROCESSED
    )

    assert [f.reason for f in result.malformed_fields] == [f"field epochMs is not {NUMBER}"]
    assert totals(result.documents, "Requests", "minute") == Counter({(MINUTE_B,): 1})


def test_an_impossible_status_makes_the_line_malformed() -> None:
    events = [
        {
            "id": status,
            "timestamp": MINUTE_A,
            "message": render_access_log(
                {**INFER_IRIS, "$context.requestTimeEpoch": MINUTE_A, "$context.status": status}
            ),
        }
        for status in ("99", "600", "-5", "200.5", "2OO")
    ]

    result = process_batch(events, SETTINGS, PROCESSED)

    assert result.valid == 0
    assert {line.reason for line in result.malformed} == {"status not a whole number in 100-599"}
    assert not totals(result.documents, "Requests")


def test_warnings_for_lines_and_fields_share_the_cap(capsys: pytest.CaptureFixture[str]) -> None:
    bad_fields = [
        render_access_log(
            {**INFER_IRIS, "$context.requestTimeEpoch": MINUTE_A, "$context.responseLength": "-1"}
        )
    ] * 10

    result, out = run(subscription_event(["not JSON"] * 15 + bad_fields), capsys)

    assert (result["malformed"], result["malformed_fields"]) == (15, 10)
    warnings = Counter(r["message"] for r in log_records(out) if r["level"] == "WARNING")
    assert warnings == Counter(
        {
            "malformed access-log line": 15,
            "malformed access-log field": 5,
            "more malformed access-log lines or fields": 1,
        }
    )
    (more,) = [r for r in log_records(out) if "not_shown" in r]
    assert more["not_shown"] == 5


def test_stage_requests_count_valid_lines_per_minute_and_stage_beside_slow_requests() -> None:
    # The template's format leaves the stage out (one log group a stage); HTTP APIs write it.
    beta = json.dumps(
        {
            "requestId": "beta",
            "routeKey": f"POST {INFER}",
            "status": "200",
            "requestTimeEpoch": str(MINUTE_A + 5),
            "stage": "beta",
        }
    )
    negative = render_access_log(
        {**INFER_IRIS, "$context.requestTimeEpoch": MINUTE_A + 9, "$context.responseLength": "-1"}
    )
    old = render_access_log({**INFER_IRIS, "$context.requestTimeEpoch": PROCESSED - 15 * DAY_MS})
    lines = [r.line for r in FIXTURE] + [beta, beta, negative, old, "not JSON"]
    events = [
        {"id": str(i), "timestamp": PROCESSED, "message": line} for i, line in enumerate(lines)
    ]

    documents = process_batch(events, SETTINGS, PROCESSED).documents

    # FIXTURE: 5 requests in minute A, 4 in minute B, all on prod (the minimal-format
    # line has no stage: the function's own); the line with a bad field still counts.
    assert totals(documents, "StageRequests", "minute", "stage") == Counter(
        {(MINUTE_A, STAGE): 6, (MINUTE_B, STAGE): 4, (MINUTE_A, "beta"): 2}
    )
    for document in documents:
        if "StageRequests" in document:
            names = [x["Name"] for x in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
            assert sorted(names) == ["SlowRequests", "StageRequests"]
            assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "stage"]]
        assert emf_errors(document) == []
