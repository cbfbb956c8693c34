"""Route, model, status class and error taxonomy of a record."""

from __future__ import annotations

import pytest

from inference.errors import BACKEND_FAILURE_STATUS
from log_processor.access_log import AccessRecord
from log_processor.classify import BACKEND_ERRORS, classify, model_of, status_class

KNOWN = frozenset({"iris", "digits"})
INFER = "/v2/models/{model_name}/infer"


def record(**fields: object) -> AccessRecord:
    base: dict[str, object] = {"request_id": "r", "status": 200, "request_time_ms": 0}
    return AccessRecord(**{**base, **fields})  # type: ignore[arg-type]


def test_rest_route_is_method_and_resource_template() -> None:
    derived = classify(record(http_method="POST", resource_path=INFER), KNOWN)

    assert derived.route == f"POST {INFER}"


def test_http_api_route_is_the_route_key_and_otherwise_unknown() -> None:
    assert classify(record(route_key="GET /v2"), KNOWN).route == "GET /v2"
    assert classify(record(), KNOWN).route == "unknown"


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/prod/v2/models/iris/infer", "iris"),
        ("/v2/models/digits/infer", "digits"),
        ("/prod/v2/models/resnet/infer", "unknown"),
        (None, "unknown"),
    ],
)
def test_model_comes_from_the_path_and_folds_unknown_names(path: str | None, model: str) -> None:
    assert model_of(f"POST {INFER}", path, KNOWN) == model


def test_model_of_versioned_route_and_routes_without_a_model() -> None:
    route = "GET /v2/models/{model_name}/versions/{model_version}"
    assert model_of(route, "/prod/v2/models/iris/versions/1", KNOWN) == "iris"
    assert model_of("GET /v2/health/live", "/prod/v2/health/live", KNOWN) is None


@pytest.mark.parametrize(
    ("status", "expected"), [(200, "2xx"), (204, "2xx"), (404, "4xx"), (503, "5xx"), (99, "other")]
)
def test_status_class(status: int, expected: str) -> None:
    assert status_class(status) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"status": 200, "integration_status": 200}, (None, None)),
        ({"status": 429, "error_type": "THROTTLED"}, ("gateway", "THROTTLED")),
        ({"status": 400, "error_type": "BAD_REQUEST_BODY"}, ("gateway", "BAD_REQUEST_BODY")),
        ({"status": 403, "error_type": "INVALID_API_KEY"}, ("gateway", "INVALID_API_KEY")),
        (
            {"status": 504, "error_type": "INTEGRATION_TIMEOUT", "integration_latency": 29000.0},
            ("gateway", "INTEGRATION_TIMEOUT"),
        ),
        (
            {"status": 502, "integration_error": "invalid response"},
            ("gateway", "INTEGRATION_FAILURE"),
        ),
        ({"status": 400, "integration_status": 200}, ("function", "FUNCTION_4XX")),
        (
            {"status": 500, "integration_status": 200, "integration_latency": 8.0},
            ("function", "FUNCTION_5XX"),
        ),
        ({"status": 404}, ("unknown", "UNCLASSIFIED_4XX")),
        ({"status": 429, "integration_status": 200}, ("backend", "BACKEND_THROTTLED")),
        ({"status": 502, "integration_status": 200}, ("backend", "BACKEND_FAILED")),
        (
            {"status": 504, "integration_status": 200, "integration_latency": 5012.0},
            ("backend", "BACKEND_TIMEOUT"),
        ),
        # Only the function's own answers: the gateway's 502 and 504 name their type.
        (
            {"status": 502, "error_type": "INTEGRATION_FAILURE", "integration_status": 200},
            ("gateway", "INTEGRATION_FAILURE"),
        ),
        ({"status": 503, "integration_status": 200}, ("function", "FUNCTION_5XX")),
        ({"status": 502}, ("unknown", "UNCLASSIFIED_5XX")),
    ],
)
def test_error_taxonomy(fields: dict[str, object], expected: tuple[str | None, str | None]) -> None:
    derived = classify(record(**fields), KNOWN)

    assert (derived.error_source, derived.error_type) == expected


def test_gateway_overhead_needs_both_latencies() -> None:
    assert (
        classify(record(response_latency=41.0, integration_latency=35.0), KNOWN).gateway_overhead
        == 6.0
    )
    assert classify(record(response_latency=41.0), KNOWN).gateway_overhead is None


def test_backend_statuses_are_those_the_function_answers_for_a_backend_only() -> None:
    # The statuses the inference function gives a backend's failures (inference/errors.py).
    function_answers = {
        "Throttled": 429,
        "ModelError": 502,
        "Timeout": 504,
        "Unavailable": 502,
        "AccessDenied": 502,
    }

    # (InvalidRequest, Bedrock's 400, is not among them: a 400 is the function's own answer
    # to a bad request too, so it counts as the function's.)
    assert {
        kind: int(status) for kind, status in BACKEND_FAILURE_STATUS.items()
    } == function_answers
    assert set(BACKEND_ERRORS) == set(function_answers.values())
