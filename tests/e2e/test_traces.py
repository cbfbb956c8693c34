"""X-Ray in the emulator: each request's trace, from the stage to the model, in traces.jsonl.

Given the emulator with the template's tracing (stage and functions), when an infer
request goes through, then ``traces.jsonl`` holds its trace under the access-log line's
``traceId``: the stage's segment, the function's segment Lambda records, and the
subsegments the function sent to the emulator's daemon over UDP, each under the last.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import start_emulator

IRIS = {
    "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]
}


def traces(state_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (state_dir / "traces.jsonl").read_text().splitlines()]


def test_an_infer_request_leaves_its_trace_under_the_access_logs_trace_id(tmp_path: Path) -> None:
    running = start_emulator(tmp_path)
    reply = running.client.request("POST", "/v2/models/iris/infer", IRIS)
    refused = running.client.request("POST", "/v2/models/iris/infer", IRIS, key="wrong")
    running.stop()  # the daemon keeps every datagram already sent

    assert (reply.status, refused.status) == (200, 403)
    access = {line["requestId"]: line for line in running.access_log()}
    trace_id = access[reply.headers["x-amzn-RequestId"]]["traceId"]
    documents = [d for d in traces(tmp_path) if d["trace_id"] == trace_id]
    named = {d["name"]: d for d in documents}
    assert sorted(named) == ["## lambda_handler", "## predict", "InferenceFunction", "local/prod"]
    stage, function = named["local/prod"], named["InferenceFunction"]
    handler, predict = named["## lambda_handler"], named["## predict"]
    # One chain: the stage, Lambda's function segment, the handler, the model.
    assert "parent_id" not in stage
    assert function["parent_id"] == stage["id"]
    assert handler["parent_id"] == function["id"]
    assert predict["parent_id"] == handler["id"]
    assert stage["origin"] == "AWS::ApiGateway::Stage"
    assert stage["http"]["response"]["status"] == 200
    assert stage["aws"]["api_gateway"]["request_id"] == reply.headers["x-amzn-RequestId"]
    assert function["origin"] == "AWS::Lambda::Function"
    assert [s["name"] for s in function["subsegments"]] == ["Initialization"]  # a cold start
    assert handler["annotations"]["cold_start"] is True
    assert predict["annotations"] == {"model": "iris", "model_version": "1"}
    for outer, inner in ((stage, function), (function, handler), (handler, predict)):
        assert outer["start_time"] <= inner["start_time"] <= inner["end_time"] <= outer["end_time"]
    # The refused request's trace is the stage's segment alone, flagged as a client error.
    refused_trace = access[refused.headers["x-amzn-RequestId"]]["traceId"]
    (alone,) = [d for d in traces(tmp_path) if d["trace_id"] == refused_trace]
    assert (alone["name"], alone["error"]) == ("local/prod", True)
