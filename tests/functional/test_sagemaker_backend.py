"""A model behind a SageMaker endpoint, through the handler: InvokeEndpoint answered by
botocore's Stubber, the metrics and the log line of each outcome."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dev_support.lambda_events import load_event, with_body
from inference import handler, telemetry
from inference.errors import BACKEND_FAILURES, BackendErrorType
from tests.functional.conftest import Invocation, Invoke
from tests.sagemaker import (
    MODEL,
    answering_client,
    failing_client,
    iris_outputs,
    oip_answer,
    registry_with,
)
from tests.support import emf_blobs, emitted_metrics, log_records

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


@pytest.fixture(autouse=True)
def fresh_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # What an environment has already logged is its own: each test starts a new one.
    monkeypatch.setattr(telemetry, "_REPORTED", set())


def serve(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, client: Any, **backend: Any) -> None:
    monkeypatch.setattr(handler, "REGISTRY", registry_with(client, tmp_path, **backend))


def infer(body: dict[str, Any] | None = None) -> dict[str, Any]:
    event = load_event("infer_iris")
    event = {**event, "path": f"/v2/models/{MODEL}/infer", "pathParameters": {"model_name": MODEL}}
    rows = {"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "data": ROWS}]}
    return with_body(event, body or rows)


def backend_errors(result: Invocation) -> list[dict[str, str]]:
    """The dimension values of each BackendErrors series the request wrote (checking that each
    is the contract's: a count of 1, in the function's namespace)."""
    series = emitted_metrics(result.stdout).get("BackendErrors", [])
    for emitted in series:
        assert (emitted.namespace, emitted.unit, emitted.values) == (
            "ModelEndpoint",
            "Count",
            (1.0,),
        )
    return [dict(emitted.dimension_values) for emitted in series]


def test_the_endpoints_answer_is_the_functions(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    answer = iris_outputs([0, 2], [[0.9, 0.05, 0.05], [0.1, 0.1, 0.8]])
    serve(monkeypatch, tmp_path, answering_client(oip_answer(answer)))

    result = invoke(infer())

    assert result.status == 200, result.body
    assert result.body == {
        "model_name": MODEL,
        "model_version": "1",
        "outputs": [
            {"name": "label", "datatype": "INT64", "shape": [2], "data": [0, 2]},
            {
                "name": "probabilities",
                "datatype": "FP32",
                "shape": [2, 3],
                "data": result.body["outputs"][1]["data"],
            },
        ],
    }
    assert result.body["outputs"][1]["data"] == pytest.approx([0.9, 0.05, 0.05, 0.1, 0.1, 0.8])
    metrics = emitted_metrics(result.stdout)
    assert metrics["Inferences"][0].values == (1.0,)
    assert metrics["ModelLatency"][0].values[0] > 0
    # The mean of each row's top probability: (0.9 + 0.8) / 2.
    assert metrics["PredictionConfidence"][0].values == (85.0,)
    assert "BackendErrors" not in metrics


def test_a_client_mistake_never_reaches_the_endpoint(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A Stubber with no answer queued fails any call made to it.
    serve(monkeypatch, tmp_path, answering_client())
    bad = {"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}

    result = invoke(infer(bad))

    assert result.status == 400
    assert "the model expects [-1, 4]" in result.body["error"]


ANSWERS = {
    BackendErrorType.THROTTLED: (429, "model backend throttled"),
    BackendErrorType.MODEL_ERROR: (502, "model backend failed: the model container answered 500"),
    BackendErrorType.TIMEOUT: (504, "model backend did not answer within 5000 ms"),
    BackendErrorType.UNAVAILABLE: (502, "model backend unavailable"),
    BackendErrorType.ACCESS_DENIED: (502, "model backend unavailable"),
}


@pytest.mark.parametrize("kind", BACKEND_FAILURES)
def test_each_backend_failure_answers_its_status_and_counts_its_kind(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: BackendErrorType
) -> None:
    status, message = ANSWERS[kind]
    serve(monkeypatch, tmp_path, failing_client(kind))
    event = infer()

    result = invoke(event)

    assert result.status == status
    assert result.body == {"error": message, "request_id": event["requestContext"]["requestId"]}
    assert backend_errors(result) == [
        {"error_type": kind.value, "model": MODEL, "service": "model-endpoint"},
        {"error_type": kind.value, "service": "model-endpoint"},
    ]
    (line,) = [doc for doc in emf_blobs(result.stdout) if "correlation_id" in doc]
    assert (line["status"], line["model"], line["model_version"]) == (status, MODEL, "1")
    assert line["InferenceErrors"] == [1.0]
    # The container's body may quote the request: never in the answer, logs or metrics.
    assert "container body" not in result.stdout + json.dumps(result.body)


@pytest.mark.parametrize("kind", [BackendErrorType.UNAVAILABLE, BackendErrorType.ACCESS_DENIED])
def test_a_refusal_is_logged_once_per_environment(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: BackendErrorType
) -> None:
    serve(monkeypatch, tmp_path, failing_client(kind, times=3))

    results = [invoke(infer()) for _ in range(3)]

    logged = [record for result in results for record in log_records(result.stdout)]
    (error,) = [record for record in logged if record["level"] == "ERROR"]
    assert error["model"] == MODEL
    assert error["error_type"] == kind.value
    assert error["detail"].startswith("SageMaker endpoint 'local-iris' refused the call: ")
    assert [len(backend_errors(result)) for result in results] == [2, 2, 2]


def labels_changed(**changes: Any) -> list[dict[str, Any]]:
    """Two rows' outputs, the label tensor changed by ``changes``."""
    label, probabilities = iris_outputs([0, 2], [[1, 0, 0], [0, 0, 1]])
    return [{**label, **changes}, probabilities]


@pytest.mark.parametrize(
    ("outputs", "problem"),
    [
        (labels_changed()[:1], "output 'probabilities' is missing"),
        (
            labels_changed(datatype="INT32"),
            "output 'label' has datatype INT32; the model declares INT64",
        ),
        (
            iris_outputs([0], [[1, 0, 0]]),
            "output 'label' has shape [1]; the model declares [-1] and the request has 2 rows",
        ),
        (labels_changed(data=[0, 2.5]), "output 'label': data must contain only integers"),
    ],
)
def test_an_answer_unlike_the_declared_outputs_is_a_model_error(
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    outputs: list[dict[str, Any]],
    problem: str,
) -> None:
    serve(monkeypatch, tmp_path, answering_client(oip_answer(outputs)))

    result = invoke(infer())

    assert result.status == 502
    assert result.body["error"] == f"model backend answered outside the model's metadata: {problem}"
    assert backend_errors(result)[0]["error_type"] == "ModelError"
