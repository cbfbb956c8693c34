"""Functions scale out as Lambda's do, and the emulator publishes what CloudWatch would for
API Gateway and Lambda: a burst beyond the concurrency limit is throttled, and every
request and invocation counts in AWS/ApiGateway and AWS/Lambda."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from emulator.stack import MAX_CONCURRENCY, THROTTLING_LIFTED
from emulator.template import load_app
from tests.e2e.conftest import run_faulty, start_emulator
from tests.e2e.faulty import HEADER
from tests.e2e.faulty.faulty_inference import SLOW_S

GOOD = {
    "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]
}
INFER = "/v2/models/iris/infer"
LIMIT = 2
BURST = 4
AFTER = 3


def total(documents: Iterable[dict[str, Any]], metric: str) -> float:
    """A metric's Sum over documents, single values and statistic sets alike."""
    found = 0.0
    for document in documents:
        value = document.get(metric)
        found += value["Sum"] if isinstance(value, dict) else float(value or 0)
    return found


def test_a_burst_beyond_the_limit_is_throttled_and_counted_and_warm_environments_serve_the_rest(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    running = start_emulator(state, THROTTLING_LIFTED, max_concurrency=LIMIT)
    inference = running.emulator.functions["InferenceFunction"]
    run_faulty(inference, "faulty_inference", tmp_path)
    slow = {HEADER: "model-slow"}
    try:
        with ThreadPoolExecutor(BURST) as pool:
            burst = list(
                pool.map(
                    lambda _: running.client.request("POST", INFER, GOOD, headers=slow),
                    range(BURST),
                )
            )
        after = [running.client.request("POST", INFER, GOOD) for _ in range(AFTER)]
    finally:
        running.stop()

    assert sorted(reply.status for reply in burst) == [200] * LIMIT + [500] * (BURST - LIMIT)
    throttled = [reply for reply in burst if reply.status == 500]
    for reply in throttled:
        # API Gateway's INTEGRATION_FAILURE answer, with the API's own text.
        assert reply.body == {
            "error": "The model function failed. Retry; if it persists, report this request_id.",
            "request_id": reply.headers["x-amzn-RequestId"],
        }
    assert [reply.status for reply in after] == [200] * AFTER
    # One cold start per environment; the requests after the burst found them warm.
    assert len(inference.cold_starts) == LIMIT

    by_id = {line["requestId"]: line for line in running.access_log()}
    for reply in throttled:
        line = by_id[reply.headers["x-amzn-RequestId"]]
        assert (line["status"], line["errorType"], line["fnStatus"], line["fnError"]) == (
            "500",
            "INTEGRATION_FAILURE",
            "429",
            "Lambda throttled",
        )

    app = load_app()
    invocations = [
        document
        for document in running.service_metrics("AWS/Lambda")
        if document["FunctionName"] == "InferenceFunction"
    ]
    served = LIMIT + AFTER
    assert total(invocations, "Throttles") == BURST - LIMIT
    assert total(invocations, "Invocations") == served
    assert total(invocations, "Errors") == 0
    assert max(document.get("ConcurrentExecutions", 0) for document in invocations) == LIMIT
    durations = sorted(document["Duration"] for document in invocations if "Duration" in document)
    assert len(durations) == served
    # Lambda's Duration leaves init out: the slow ones took their second, the rest far less.
    assert durations[-LIMIT] >= SLOW_S * 1000
    assert durations[0] < SLOW_S * 1000
    # API Gateway invokes the alias: the invocations count by Resource too.
    assert {(d["Resource"], d["ExecutedVersion"]) for d in invocations} == {
        ("InferenceFunction:live", "1")
    }
    subscription = [
        document
        for document in running.service_metrics("AWS/Lambda")
        if document["FunctionName"] == "LogProcessorFunction"
    ]
    assert total(subscription, "Invocations") >= 1
    assert all("Resource" not in document for document in subscription)

    stage = running.service_metrics("AWS/ApiGateway")
    assert {(d["ApiName"], d["Stage"]) for d in stage} == {(app.api_name, app.stage)}
    assert total(stage, "Count") == BURST + AFTER
    assert total(stage, "5XXError") == BURST - LIMIT
    assert total(stage, "4XXError") == 0
    assert len([d for d in stage if "IntegrationLatency" in d]) == served


def test_reserved_concurrency_caps_the_environments_below_the_emulators_limit(
    tmp_path: Path,
) -> None:
    running = start_emulator(tmp_path, {"LogProcessorReservedConcurrency": "1"})
    try:
        functions = running.emulator.functions
        assert functions["LogProcessorFunction"].limit == 1
        assert functions["InferenceFunction"].limit == MAX_CONCURRENCY
    finally:
        running.stop()
