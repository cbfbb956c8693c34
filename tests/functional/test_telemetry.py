"""The metrics contract, read back from the EMF the handler prints, and the log line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dev_support.lambda_events import load_event, with_body
from emulator.template import function_environment
from inference import telemetry
from tests.functional.conftest import Invoke
from tests.support import cold_invoke, emf_blobs, emitted_metrics, fresh_interpreter, readme_metrics

SPECS = {spec.name: spec for spec in telemetry.CONTRACT}


def first_set(metrics: dict[str, list[Any]], name: str) -> list[Any]:
    """The series of ``name`` in its first dimension set (per model, or per function)."""
    wanted = tuple(sorted(SPECS[name].dimension_sets[0]))
    return [emitted for emitted in metrics.get(name, []) if emitted.dimensions == wanted]


ENV = function_environment("InferenceFunction")


def test_cold_infer_request_emits_every_metric_of_the_contract() -> None:
    stdout = cold_invoke("infer_iris")
    metrics = emitted_metrics(stdout)

    assert json.loads(stdout.splitlines()[-1]) == {"status": 200}
    # BackendErrors: only when a backend fails (tests/functional/test_sagemaker_backend.py);
    # the chat metrics: only chat completions write them (tests/functional/test_chat.py).
    for name, spec in SPECS.items():
        if spec in telemetry.CHAT_CONTRACT and spec is not telemetry.MODEL_LATENCY:
            continue
        assert name in metrics, f"{name} missing from EMF output"
        dimension_sets = {tuple(sorted(dimensions)) for dimensions in spec.dimension_sets}
        assert {emitted.dimensions for emitted in metrics[name]} == dimension_sets, name
        for emitted in metrics[name]:
            assert emitted.unit == spec.unit.value, name
            assert emitted.namespace == ENV["POWERTOOLS_METRICS_NAMESPACE"]
            assert dict(emitted.dimension_values)["service"] == ENV["POWERTOOLS_SERVICE_NAME"]

    def values(name: str) -> list[float]:
        return [value for emitted in first_set(metrics, name) for value in emitted.values]

    assert values("Inferences") == [1.0]
    assert values("InferenceRows") == [3.0]
    assert values("InferenceErrors") == [0.0]
    assert values("ColdStart") == [1.0]
    (confidence,) = values("PredictionConfidence")
    assert 100 / 3 <= confidence <= 100
    assert 0 < values("ModelLatency")[0] <= values("HandlerLatency")[0]
    assert values("InitDuration")[0] > 0
    assert dict(first_set(metrics, "Inferences")[0].dimension_values)["model"] == "iris"


def test_warm_requests_publish_no_cold_start_metrics(invoke: Invoke) -> None:
    invoke(load_event("health_live"))  # whichever test ran first took the cold start

    metrics = emitted_metrics(invoke(load_event("infer_iris")).stdout)

    assert "ColdStart" not in metrics
    assert "InitDuration" not in metrics
    assert metrics["Inferences"][0].values == (1.0,)


def test_unknown_model_is_counted_under_a_fixed_dimension_value(invoke: Invoke) -> None:
    metrics = emitted_metrics(invoke(load_event("infer_unknown_model")).stdout)

    (errors,) = first_set(metrics, "InferenceErrors")
    assert errors.values == (1.0,)
    assert dict(errors.dimension_values)["model"] == telemetry.UNKNOWN_MODEL
    assert "resnet50" not in json.dumps([m.dimension_values for m in errors_all(metrics)])
    assert "Inferences" not in metrics


def errors_all(metrics: dict[str, list[Any]]) -> list[Any]:
    return [emitted for series in metrics.values() for emitted in series]


def test_client_error_is_counted_for_its_model(invoke: Invoke) -> None:
    metrics = emitted_metrics(invoke(load_event("infer_bad_request")).stdout)

    (errors,) = first_set(metrics, "InferenceErrors")
    assert errors.values == (1.0,)
    assert dict(errors.dimension_values)["model"] == "iris"
    assert "Inferences" not in metrics
    assert "ModelLatency" not in metrics


def test_confidence_is_one_value_per_request_the_mean_of_each_rows_top_probability(
    invoke: Invoke,
) -> None:
    rows = [[5.9, 3.0, 5.1, 1.8], [5.1, 3.5, 1.4, 0.2], [6.3, 2.5, 4.9, 1.5]] * 86  # 258 rows
    rows = rows[:256]
    body = {
        "inputs": [
            {
                "name": "input",
                "shape": [len(rows), 4],
                "datatype": "FP32",
                "data": [value for row in rows for value in row],
            }
        ]
    }

    result = invoke(with_body(load_event("infer_iris"), body))

    (probabilities,) = [o for o in result.body["outputs"] if o["name"] == "probabilities"]
    classes = probabilities["shape"][1]
    top = [
        max(probabilities["data"][row * classes : (row + 1) * classes]) for row in range(len(rows))
    ]
    metrics = emitted_metrics(result.stdout)
    (confidence,) = first_set(metrics, "PredictionConfidence")
    assert len(confidence.values) == 1
    assert abs(confidence.values[0] - 100 * sum(top) / len(top)) < 0.0051  # rounded to 0.01
    assert [v for e in first_set(metrics, "InferenceRows") for v in e.values] == [float(len(rows))]
    # One EMF document per request, whatever the batch size.
    assert len(emf_blobs(result.stdout)) == 1


def inference_line(stdout: str) -> dict[str, Any]:
    """The request's one line: its EMF document, which carries the log fields too."""
    (document,) = [doc for doc in emf_blobs(stdout) if "correlation_id" in doc]
    return document


def test_one_structured_line_per_inference_without_payload(invoke: Invoke) -> None:
    event = load_event("infer_iris")
    marker_value = 4.987654321
    body = {
        "id": "client-secret-id-123",
        "inputs": [
            {
                "name": "input",
                "shape": [1, 4],
                "datatype": "FP32",
                "data": [marker_value, 3.0, 5.1, 1.8],
            }
        ],
    }

    result = invoke(with_body(event, body))

    line = inference_line(result.stdout)
    assert [json.loads(raw) for raw in result.stdout.splitlines() if raw.strip()] == [line]
    assert line["correlation_id"] == event["requestContext"]["requestId"]
    assert line["service"] == ENV["POWERTOOLS_SERVICE_NAME"]
    assert (line["model"], line["model_version"], line["InferenceRows"]) == ("iris", "1", [1.0])
    assert line["status"] == 200
    # Powertools writes metric values as lists; Logs Insights reads them as `ModelLatency.0`.
    assert 0 < line["ModelLatency"][0] <= line["HandlerLatency"][0]
    # Lambda's JSON log filtering reads "level": the metrics line must never be dropped.
    assert "level" not in line
    assert str(marker_value) not in result.stdout
    assert "client-secret-id-123" not in result.stdout


def test_failed_inference_line_says_why(invoke: Invoke) -> None:
    result = invoke(load_event("infer_bad_request"))

    line = inference_line(result.stdout)
    assert line["status"] == 400
    assert "shape" in line["error"]
    assert line["InferenceErrors"] == [1.0]


def test_trace_id_travels_in_the_line_when_lambda_sets_one(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = "1-67891233-abcdef012345678912345678"
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={root};Parent=53995c3f42cd8ad8;Sampled=1")

    line = inference_line(invoke(load_event("infer_iris")).stdout)

    assert line["xray_trace_id"] == root


def test_the_readme_table_is_the_declared_contract() -> None:
    declared = {
        spec.name: (spec.unit.value, tuple(sorted(spec.dimensions))) for spec in telemetry.CONTRACT
    }

    assert readme_metrics("## Metrics") == declared


_RESTORED_INVOKE = """
import json, sys, types
hooks = []
sys.modules["snapshot_restore_py"] = types.SimpleNamespace(register_after_restore=hooks.append)
from dev_support.lambda_events import FakeLambdaContext, load_event
from inference.handler import lambda_handler
for hook in hooks:  # what Lambda does when it resumes an environment from a snapshot
    hook()
lambda_handler(load_event("infer_iris"), FakeLambdaContext())
"""


def test_an_environment_restored_from_a_snapshot_counts_a_cold_start_without_init_time() -> None:
    metrics = emitted_metrics(fresh_interpreter(_RESTORED_INVOKE))

    assert [v for e in metrics["ColdStart"] for v in e.values] == [1.0]
    assert "InitDuration" not in metrics
    assert [v for e in first_set(metrics, "Inferences") for v in e.values] == [1.0]
