"""The gateway's own answers say what to fix, in API Gateway's wording, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Running, start_emulator

DATATYPES = (
    '["BOOL","UINT8","UINT16","UINT32","UINT64","INT8","INT16","INT32","INT64",'
    '"FP16","FP32","FP64","BYTES"]'
)


def tensor(**fields: Any) -> dict[str, Any]:
    return {"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4], **fields}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    run = start_emulator(tmp_path_factory.mktemp("gateway"))
    yield run
    run.stop()


@pytest.mark.parametrize(
    ("body", "violations"),
    [
        (
            {"inputs": [{"name": "input"}]},
            'object has missing required properties (["shape","datatype","data"])',
        ),
        ({"outputs": []}, 'object has missing required properties (["inputs"])'),
        (
            {"inputs": "none"},
            'instance type (string) does not match any allowed primitive type (allowed: ["array"])',
        ),
        (
            {"inputs": []},
            "array is too short: must have at least 1 elements but instance has 0 elements",
        ),
        (
            {"inputs": [tensor(datatype="FLOAT")]},
            f'instance value ("FLOAT") not found in enum (possible values: {DATATYPES})',
        ),
        (
            {"inputs": [tensor(shape=[-1, 4])]},
            "numeric instance is lower than the required minimum (minimum: 0, found: -1)",
        ),
        (
            {"inputs": [tensor(name="")]},
            'string "" is too short (length: 0, required minimum: 1)',
        ),
        (
            {"inputs": [tensor(data="1,2")], "id": 3},
            # One message per violation, in the order of their places in the body.
            "instance type (integer) does not match any allowed primitive type"
            ' (allowed: ["string"]), instance type (string) does not match any allowed primitive'
            ' type (allowed: ["array"])',
        ),
    ],
)
def test_a_schema_violation_is_named(gateway: Running, body: Any, violations: str) -> None:
    reply = gateway.client.request("POST", "/v2/models/iris/infer", body)

    assert reply.status == 400
    assert reply.body == {
        "error": f"Invalid request body: [{violations}]",
        "request_id": reply.headers["x-amzn-RequestId"],
    }


def test_an_unknown_route_names_the_method_and_path_and_the_unsigned_case(
    gateway: Running,
) -> None:
    reply = gateway.client.request("DELETE", "/v2/models/iris?force=1")

    assert reply.status == 403
    assert reply.body["error"] == (
        "No route takes DELETE /prod/v2/models/iris: check the method and the path (every route"
        " starts with /prod/v2, or /prod/v1 for OpenAI clients). An API with IAM auth gives this"
        " answer to unsigned requests"
        " too: sign them with SigV4."
    )


@pytest.mark.parametrize("key", [None, "not-the-key"])
def test_a_missing_or_wrong_key_names_the_header(gateway: Running, key: str | None) -> None:
    reply = gateway.client.request("GET", "/v2/models/iris", key=key)

    assert reply.status == 403
    assert reply.body["error"] == (
        "Missing or invalid API key: send a valid key in the x-api-key header."
    )


def test_throttling_says_to_back_off(tmp_path: Path) -> None:
    running = start_emulator(tmp_path, {"ThrottlingRateLimit": "1", "ThrottlingBurstLimit": "1"})
    try:
        replies = [running.client.request("GET", "/v2/health/live") for _ in range(3)]
    finally:
        running.stop()

    throttled = [reply for reply in replies if reply.status == 429]
    assert throttled
    assert throttled[0].body["error"] == (
        "Too many requests: the stage's or this API key's rate limit was reached."
        " Retry after a short, growing delay."
    )
