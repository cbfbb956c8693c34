"""Lambda's own log lines in the emulator: only at the configured system log level."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from dev_support.paths import ROOT
from tests.e2e.conftest import start_emulator, sums

IRIS = {
    "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]
}


def function_log(state_dir: Path) -> list[dict[str, Any]]:
    path = state_dir / "logs" / "InferenceFunction.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def test_default_level_writes_no_platform_lines(tmp_path: Path) -> None:
    running = start_emulator(tmp_path)
    for _ in range(3):
        assert running.client.request("POST", "/v2/models/iris/infer", IRIS).status == 200
    running.stop()

    assert not [line for line in function_log(tmp_path) if "type" in line]
    # The one line per request is the EMF document, and it carries the request's trace.
    (access, *_) = running.access_log()
    documents = [line["document"] for line in running.metrics()]
    (first,) = [d for d in documents if d.get("correlation_id") == access["requestId"]]
    assert first["xray_trace_id"] == access["traceId"]


def test_info_level_adds_a_report_per_invocation(tmp_path: Path) -> None:
    running = start_emulator(tmp_path, {"LambdaSystemLogLevel": "INFO"})
    for _ in range(3):
        assert running.client.request("POST", "/v2/models/iris/infer", IRIS).status == 200
    running.stop()

    lines = function_log(tmp_path)
    reports = [line for line in lines if line.get("type") == "platform.report"]
    access = running.access_log()
    assert len(reports) == len(access) == 3
    assert len({r["record"]["requestId"] for r in reports}) == 3
    assert [line["type"] for line in lines if "type" in line] == [
        "platform.initStart",
        "platform.initReport",
        *["platform.start", "platform.report"] * 3,
    ]
    cold, *warm = (r["record"]["metrics"] for r in reports)
    assert cold["initDurationMs"] > 0
    assert all("initDurationMs" not in m for m in warm)
    assert all(m["memorySizeMB"] == 1024 and m["maxMemoryUsedMB"] > 0 for m in warm)


def test_the_function_log_holds_every_line_and_the_metrics_come_from_it(tmp_path: Path) -> None:
    running = start_emulator(tmp_path, {"LambdaSystemLogLevel": "INFO"})
    assert running.client.request("POST", "/v2/models/iris/infer", IRIS).status == 200
    assert running.client.request("POST", "/v2/models/resnet/infer", IRIS).status == 404
    running.stop()

    lines = function_log(tmp_path)
    emf_lines = [line for line in lines if "_aws" in line]
    extracted = [m["document"] for m in running.metrics() if m["function"] == "InferenceFunction"]
    # As in CloudWatch: the log stream has every line, metrics are what its EMF lines say.
    assert emf_lines == extracted
    assert len([line for line in emf_lines if "correlation_id" in line]) == 2
    assert [line["type"] for line in lines if "type" in line].count("platform.report") == 2


def test_the_runbooks_local_check_follows_a_request_through_both_logs(tmp_path: Path) -> None:
    running = start_emulator(tmp_path)
    failed = running.client.request("POST", "/v2/models/resnet/infer", IRIS)
    running.stop()
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    (command,) = [line for line in runbook.splitlines() if line.startswith('grep -h "$ID"')]

    done = subprocess.run(
        ["/bin/bash", "-c", command.replace(".local/", f"{tmp_path}/")],
        env={"ID": failed.body["request_id"], "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    )

    gateway, function = (json.loads(line) for line in done.stdout.splitlines())
    assert gateway["requestId"] == function["correlation_id"] == failed.body["request_id"]
    assert (gateway["status"], function["status"]) == ("404", 404)


def test_at_log_level_error_metrics_still_reach_cloudwatch(tmp_path: Path) -> None:
    running = start_emulator(tmp_path, {"LogLevel": "ERROR"})
    assert running.client.request("POST", "/v2/models/iris/infer", IRIS).status == 200
    running.stop()

    documents = [m["document"] for m in running.metrics() if m["function"] == "InferenceFunction"]
    assert [d["Inferences"] for d in documents if "Inferences" in d] == [[1.0]]
    assert sum(sums(running.metrics(), "LogLines", "service").values()) == 1
