"""Injected faults: the answers and access log they give, and no access-log line lost.

The functions run from their built artifacts, unchanged: each worker's handler is
swapped for one in ``tests/e2e/faulty/`` that wraps the packaged handler and fails
where a request asks it to (a header for the inference function, a user agent for
the log processor, which sees the access-log lines).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from jsonschema import Draft4Validator

from dev_support.http_client import Reply
from emulator.logs import RETRIES
from emulator.stack import Emulator
from tests.e2e.conftest import run_faulty, start_emulator, sums
from tests.e2e.faulty import DIES, HEADER, RAISES
from tests.support import openapi

# The inference function's timeout, down from the template's: a hang costs this long.
TIMEOUT_S = 2.0
GOOD = {
    "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]
}


def settle(emulator: Emulator, lines: int) -> None:
    """Wait until the shipper has delivered or dead-lettered ``lines`` access-log lines."""
    deadline = time.monotonic() + 60
    while emulator.shipper.delivered + emulator.shipper.dead_lettered < lines:
        assert time.monotonic() < deadline, "access-log lines not shipped within 60 s"
        time.sleep(0.05)


def test_faults_answer_5xx_and_every_access_log_line_is_counted_or_dead_lettered(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    fault_state = tmp_path / "fault-state"
    fault_state.mkdir()
    running = start_emulator(state)
    emulator, client = running.emulator, running.client
    inference = emulator.functions["InferenceFunction"]
    processor = emulator.functions["LogProcessorFunction"]
    run_faulty(inference, "faulty_inference", tmp_path, timeout_s=TIMEOUT_S)
    run_faulty(
        processor,
        "faulty_log_processor",
        tmp_path,
        environment={**processor.spec.environment, "FAULT_STATE_DIR": str(fault_state)},
    )
    replies: list[Reply] = []

    def infer(fault: str | None = None, agent: str | None = None) -> Reply:
        headers = {**({HEADER: fault} if fault else {}), **({"User-Agent": agent} if agent else {})}
        reply = client.request("POST", "/v2/models/iris/infer", GOOD, headers=headers)
        replies.append(reply)
        return reply

    try:
        # The inference function's faults, each followed by a request it answers again.
        assert infer().status == 200
        raised = infer("model-raises")
        assert infer().status == 200
        started = time.perf_counter()
        hung = infer("model-hangs")
        hang_s = time.perf_counter() - started
        assert infer().status == 200
        died = infer("worker-dies")
        assert infer().status == 200
        settle(emulator, len(replies))
        # The log processor's: a batch that always raises (with the lines shipped beside the
        # faulty one), then one whose first attempt kills the processor.
        assert infer(agent=RAISES).status == 200
        for _ in range(4):
            assert infer().status == 200
        settle(emulator, len(replies))
        assert infer(agent=DIES).status == 200
        settle(emulator, len(replies))
        for _ in range(3):
            assert infer().status == 200
    finally:
        running.stop()

    assert (raised.status, raised.body["error"]) == (500, "internal error")
    assert (hung.status, hung.body["error"]) == (
        504,
        "The model function did not answer in time. Retry, or send fewer rows per request.",
    )
    assert TIMEOUT_S <= hang_s < TIMEOUT_S + 5
    assert (died.status, died.body["error"]) == (
        502,
        "The model function failed. Retry; if it persists, report this request_id.",
    )
    error_schema = Draft4Validator(
        {"$ref": "#/components/schemas/Error", "components": openapi()["components"]}
    )
    for reply in (raised, hung, died):
        assert list(error_schema.iter_errors(reply.body)) == []
        assert reply.body["request_id"] == reply.headers["x-amzn-RequestId"]
    # A fresh environment after the timeout and after the crash, as Lambda gives.
    assert len(inference.cold_starts) == 3
    function_log = (state / "logs" / "InferenceFunction.log").read_text()
    assert "injected fault: the model raised" in function_log

    access = running.access_log()
    by_id = {line["requestId"]: line for line in access}
    assert by_id[raised.headers["x-amzn-RequestId"]]["status"] == "500"
    assert by_id[raised.headers["x-amzn-RequestId"]]["errorType"] == "-"
    assert by_id[hung.headers["x-amzn-RequestId"]]["errorType"] == "INTEGRATION_TIMEOUT"
    crashed = by_id[died.headers["x-amzn-RequestId"]]
    assert (crashed["status"], crashed["errorType"]) == ("502", "INTEGRATION_FAILURE")
    assert crashed["fnError"] == "Lambda crash"

    # The raising batch: tried 1 + RETRIES times, then kept in the DLQ.
    attempts = Counter(
        line.split()[0] for line in (fault_state / "attempts.log").read_text().splitlines()
    )
    assert attempts["raises"] == 1 + RETRIES
    assert attempts["dies"] == 2
    assert len(processor.cold_starts) == 2
    (dead_file,) = (state / "dlq").iterdir()
    record = json.loads(dead_file.read_text())
    assert record["attempts"] == 1 + RETRIES
    assert "injected fault: the log processor raised" in record["error"]
    dead_lines = [json.loads(event["message"]) for event in record["payload"]["logEvents"]]
    assert RAISES in {line["userAgent"] for line in dead_lines}

    # After recovery: every line sent is counted in the metrics or sits in the DLQ.
    sent = len(replies)
    counted = sums(running.metrics(), "LogLines", "service")[("model-endpoint",)]
    dead_lettered = len(dead_lines)
    print(f"sent {sent} = counted {counted} + dead-lettered {dead_lettered}")
    assert len(access) == sent
    assert counted + dead_lettered == sent
    assert sum(sums(running.metrics(), "Requests", "route").values()) == counted
    # The function counted the failure it saw; the other two it never finished.
    assert sums(running.metrics(), "InferenceErrors", "model")[("iris",)] == 1
    errors = sums(running.metrics(), "Errors", "error_source", "error_type")
    assert errors == Counter(
        {
            ("function", "FUNCTION_5XX"): 1,
            ("gateway", "INTEGRATION_TIMEOUT"): 1,
            ("gateway", "INTEGRATION_FAILURE"): 1,
        }
    )

    # What CloudWatch would have: Lambda's Errors for the invocations that did not return,
    # and SQS's count of the batch waiting in the on-failure queue when the run stopped.
    lambda_errors = Counter[str]()
    for document in running.service_metrics("AWS/Lambda"):
        lambda_errors[document["FunctionName"]] += int(document.get("Errors", 0))
    # The inference function timed out and died (its model's exception it answered as a
    # 500 itself); the log processor raised 1 + RETRIES times on one batch and died once.
    assert lambda_errors == Counter(
        {"InferenceFunction": 2, "LogProcessorFunction": 1 + RETRIES + 1}
    )
    queue = running.service_metrics("AWS/SQS")
    assert {d["QueueName"] for d in queue} == {"LogProcessorFailedBatches"}
    assert (
        queue[0]["ApproximateNumberOfMessagesVisible"],
        queue[-1]["ApproximateNumberOfMessagesVisible"],
    ) == (0, 1)
