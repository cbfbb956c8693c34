"""Drift through the handlers: the bin counts an infer request writes in its line, and the
drift job reading a window of such lines from CloudWatch Logs (botocore's Stubber) into
InputDrift and PredictionDrift."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

import inference.handler
from dev_support.lambda_events import load_event, with_body
from dev_support.paths import MODELS_DIR
from emulator.template import function_environment
from inference import telemetry
from inference.model_registry import load_registry
from log_processor.drift_job import FILTER_PATTERN, load_drift_settings, run, scheduled_ms
from tests.emf import emf_errors
from tests.functional.conftest import Invoke
from tests.support import emf_blobs

DRIFT_SETTINGS = load_drift_settings(function_environment("DriftFunction"))
# Bins, "|" between features, "/" before the predictions: nothing else, never a value.
COUNTS_ONLY = re.compile(r"^[0-9:,]*(\|[0-9:,]*)*(/[0-9:,]*)?$")


def inference_line(stdout: str) -> dict[str, Any]:
    (document,) = [doc for doc in emf_blobs(stdout) if "correlation_id" in doc]
    return document


@pytest.fixture
def new_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if this environment had written no line in the current window yet."""
    monkeypatch.setattr(telemetry, "_BASELINE_WRITTEN", {})


def test_an_infer_request_writes_its_rows_bin_counts_and_no_value(
    invoke: Invoke, new_window: None
) -> None:
    # Rows (5.1, 3.5, 1.4, 0.2), (7.0, 3.2, 4.7, 1.4), (6.3, 3.3, 6.0, 2.5) against the
    # committed iris edges: sepal length [4.8, 5.0, 5.3, 5.6, 5.8, 6.1, 6.3, 6.6, 6.9] puts
    # 5.1 in bin 2, 7.0 in 9, 6.3 in 7 (a value at an edge opens its bin); sepal width
    # [2.5, 2.7, 2.8, 3.0, 3.1, 3.2, 3.4, 3.6]: 3.5 in 7, 3.2 and 3.3 in 6; petal length
    # [1.4, 1.5, 1.7, 3.9, 4.3, 4.7, 5.0, 5.4, 5.9]: 1, 6, 9; petal width
    # [0.2, 0.4, 1.2, 1.3, 1.5, 1.8, 1.9, 2.3]: 1, 4, 8. Predicted: setosa, versicolor,
    # virginica (classes 0, 1, 2).
    line = inference_line(invoke(load_event("infer_iris")).stdout)

    assert line["drift"] == "2,7,9|6:2,7|1,6,9|1,4,8/0,1,2"
    assert COUNTS_ONLY.match(line["drift"])


def test_the_first_line_of_a_window_carries_the_baseline_shares_once(
    invoke: Invoke, new_window: None
) -> None:
    committed = json.loads((MODELS_DIR / "iris" / "1" / "metadata.json").read_text())

    first = inference_line(invoke(load_event("infer_iris")).stdout)
    second = inference_line(invoke(load_event("infer_iris")).stdout)

    assert first["drift_baseline"] == {
        "features": [feature["shares"] for feature in committed["baseline"]["features"]],
        "prediction": committed["baseline"]["prediction"]["shares"],
    }
    assert "drift_baseline" not in second
    assert second["drift"] == first["drift"]


def test_failed_requests_and_models_without_baseline_write_no_counts(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = inference_line(invoke(with_body(load_event("infer_iris"), {"inputs": "x"})).stdout)
    shutil.copytree(MODELS_DIR / "iris", tmp_path / "iris")
    metadata_file = tmp_path / "iris" / "1" / "metadata.json"
    metadata = json.loads(metadata_file.read_text())
    del metadata["baseline"]
    metadata_file.write_text(json.dumps(metadata))
    monkeypatch.setattr(inference.handler, "REGISTRY", load_registry(tmp_path))

    served = invoke(load_event("infer_iris"))

    assert bad["status"] == 400
    assert "drift" not in bad
    assert served.status == 200
    assert "drift" not in inference_line(served.stdout)


def logs_client() -> Any:
    """A real client; Stubber answers for it, so no request leaves the process."""
    return botocore.session.get_session().create_client(
        "logs",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 -- never sent anywhere
    )


HOUR_MS = 3_600_000
# Scheduled 10:05: the window read is 09:00-10:00 (closed more than the 2-minute grace ago).
SCHEDULED = 10 * HOUR_MS + 5 * 60_000
WINDOW = (9 * HOUR_MS, 10 * HOUR_MS)


def event(timestamp: int, document: dict[str, Any]) -> dict[str, Any]:
    return {"timestamp": timestamp, "message": json.dumps(document), "eventId": str(timestamp)}


def line(model: str, counts: str, **more: Any) -> dict[str, Any]:
    return {"_aws": {}, "model": model, "model_version": "1", "drift": counts, **more}


BASELINE = {"features": [[0.5, 0.5], [0.25, 0.75]], "prediction": [0.5, 0.5]}


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = logs_client()
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_the_drift_job_reads_the_closed_window_page_by_page_into_drift_metrics(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    settings = replace(DRIFT_SETTINGS, min_rows=500, log_group="/aws/lambda/s-inference")
    request = {
        "logGroupName": "/aws/lambda/s-inference",
        # A minute before the window, for baselines written a moment before it began.
        "startTime": WINDOW[0] - 60_000,
        "endTime": WINDOW[1] - 1,
        "filterPattern": FILTER_PATTERN,
    }
    start = WINDOW[0]
    stubber.add_response(
        "filter_log_events",
        {
            "events": [
                event(start - 10, line("iris", "1:9|0:9/1:9", drift_baseline=BASELINE)),
                event(start, line("iris", "0:200,1:100|0:75,1:225/0:150,1:150")),
                event(start + 1, line("small", "0:10|0:10/0:10", drift_baseline=BASELINE)),
            ],
            "nextToken": "page-2",
        },
        request,
    )
    stubber.add_response(
        "filter_log_events",
        {"events": [event(start + 2, line("iris", "0:100,1:100|0:50,1:150/0:100,1:100"))]},
        {**request, "nextToken": "page-2"},
    )

    result = run(settings, client.filter_log_events, SCHEDULED, now_ms=SCHEDULED)

    # iris: 500 rows. Feature 0: 300/200 against 0.5/0.5 = 0.1 ln 1.2 - 0.1 ln 0.8 =
    # 0.0405465; feature 1: 125/375 against 0.25/0.75 = 0. Predictions 250/250: 0.
    # small: 10 rows, under DriftMinRows: no value.
    (document,) = result.documents
    assert emf_errors(document) == []
    assert document["_aws"]["CloudWatchMetrics"] == [
        {
            "Namespace": DRIFT_SETTINGS.namespace,
            "Dimensions": [["service", "model"], ["service"]],
            "Metrics": [
                {"Name": "InputDrift", "Unit": "None"},
                {"Name": "PredictionDrift", "Unit": "None"},
            ],
        }
    ]
    assert document["_aws"]["Timestamp"] == SCHEDULED
    assert document["service"] == DRIFT_SETTINGS.service
    assert (document["model"], document["rows"]) == ("iris", 500)
    assert document["InputDrift"] == 0.0405
    assert document["PredictionDrift"] == 0.0
    assert document["feature_psi"] == "0.0405,0.0000"
    assert (document["window_start"], document["window_end"]) == WINDOW
    assert result.counts.lines == 3


def test_a_quiet_window_publishes_nothing(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("filter_log_events", {"events": []})

    result = run(DRIFT_SETTINGS, client.filter_log_events, SCHEDULED, now_ms=SCHEDULED)

    assert result.documents == []


def test_a_retried_run_reads_the_window_it_was_scheduled_for() -> None:
    assert scheduled_ms({"scheduled_time": "2026-01-01T10:05:00Z"}, now_ms=0) == 1767261900000
    assert scheduled_ms({}, now_ms=42) == 42
