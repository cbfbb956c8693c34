"""Models of other signatures and backends, over HTTP through the emulator."""

from __future__ import annotations

from pathlib import Path

from sklearn.datasets import load_diabetes

from dev_support.paths import LOCAL_MODELS_DIR
from emulator.sagemaker import Fault, Invoked
from tests.e2e.conftest import Running, start_emulator, sums
from tests.models import TEXT_CLASSIFIER_METADATA, text_classifier_model, write_model
from tests.sagemaker import write_sagemaker_model
from tests.support import json_lines

# What the committed diabetes model predicts for the dataset's first two rows; retrains stay
# within 1e-2 of them (tests/functional/test_training.py).
DIABETES_FIRST_ROWS = (209.998, 67.450)
TEXTS = [["works great"], ["broken and awful"]]
IRIS_BODY = {
    "inputs": [
        {
            "name": "input",
            "shape": [2, 4],
            "datatype": "FP32",
            "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]],
        }
    ]
}


def test_the_bundled_regression_answers_and_writes_no_confidence(running: Running) -> None:
    rows = load_diabetes().data[:2].tolist()
    body = {"inputs": [{"name": "input", "shape": [2, 10], "datatype": "FP32", "data": rows}]}

    reply = running.client.request("POST", "/v2/models/diabetes/infer", body)
    running.stop()

    assert reply.status == 200, reply.body
    (output,) = reply.body["outputs"]
    assert (output["name"], output["datatype"], output["shape"]) == ("prediction", "FP32", [2])
    for predicted, expected in zip(output["data"], DIABETES_FIRST_ROWS, strict=True):
        assert abs(predicted - expected) < 1e-2
    metrics = running.metrics()
    assert sums(metrics, "Inferences", "model") == {("diabetes",): 1}
    assert sums(metrics, "ModelRequests", "model") == {("diabetes",): 1}
    assert sums(metrics, "PredictionConfidence", "model") == {}


def test_models_from_a_file_uri_are_served_beside_the_bundled_ones(tmp_path: Path) -> None:
    models = tmp_path / "my-models"
    write_model(models, "sentiment", "1", text_classifier_model(), **TEXT_CLASSIFIER_METADATA)
    run = start_emulator(tmp_path / "state", {"ModelsS3Uri": f"file://{models}"})
    body = {
        "inputs": [{"name": "text", "shape": [2, 1], "datatype": "BYTES", "data": TEXTS}],
        "outputs": [{"name": "label"}],
    }
    try:
        reply = run.client.request("POST", "/v2/models/sentiment/infer", body)
        bundled = run.client.request("GET", "/v2/models/iris/ready")
    finally:
        run.stop()

    assert reply.status == 200, reply.body
    assert reply.body["outputs"] == [
        {"name": "label", "datatype": "INT64", "shape": [2], "data": [1, 0]}
    ]
    assert bundled.body == {"name": "iris", "version": "1", "ready": True}


def test_a_model_whose_checksum_differs_fails_init_and_every_request(tmp_path: Path) -> None:
    models = tmp_path / "my-models"
    folder = write_model(
        models, "sentiment", "1", text_classifier_model(), **TEXT_CLASSIFIER_METADATA
    )
    with (folder / "model.onnx").open("ab") as model:
        model.write(b"\0")
    run = start_emulator(tmp_path / "state", {"ModelsS3Uri": f"file://{models}"})
    try:
        reply = run.client.request("GET", "/v2/models/iris/ready")
    finally:
        run.stop()

    # The function never starts: no model is served, bundled or not.
    assert (reply.status, run.access_log()[0]["errorType"]) == (502, "INTEGRATION_FAILURE")
    function_log = (run.state_dir / "logs" / "InferenceFunction.log").read_text()
    assert "sentiment/1/model.onnx: SHA-256 is" in function_log


def test_a_model_behind_the_local_sagemaker_endpoint_answers_through_botocore(
    tmp_path: Path,
) -> None:
    # What make run serves: iris-sagemaker, whose backend is the stand-in's local-iris.
    run = start_emulator(tmp_path, {"ModelsS3Uri": LOCAL_MODELS_DIR.as_uri()})
    try:
        reply = run.client.request("POST", "/v2/models/iris-sagemaker/infer", IRIS_BODY)
        invoked = list(run.emulator.sagemaker.invoked)
    finally:
        run.stop()

    assert reply.status == 200, reply.body
    label, probabilities = reply.body["outputs"]
    assert label == {"name": "label", "datatype": "INT64", "shape": [2], "data": [0, 2]}
    assert (probabilities["datatype"], probabilities["shape"]) == ("FP32", [2, 3])
    # The function's own botocore call, signed, as InvokeEndpoint's wire protocol has it.
    assert invoked == [Invoked("local-iris", None, "application/json", signed=True)]
    metrics = run.metrics()
    assert sums(metrics, "Inferences", "model") == {("iris-sagemaker",): 1}
    assert sums(metrics, "ModelLatency", "model") != {}
    assert sums(metrics, "BackendErrors", "model") == {}


def test_each_backend_fault_answers_its_status_counts_its_kind_and_its_source(
    tmp_path: Path,
) -> None:
    models = tmp_path / "models"
    write_sagemaker_model(models, timeout_ms=1000, target_model="iris.onnx")
    write_model(
        models,
        "iris-missing",
        "1",
        None,
        inputs=[{"name": "input", "datatype": "FP32", "shape": [-1, 4]}],
        outputs=[{"name": "label", "datatype": "INT64", "shape": [-1]}],
        backend={"type": "sagemaker", "endpoint_name": "local-missing"},
    )
    run = start_emulator(tmp_path / "state", {"ModelsS3Uri": models.as_uri()})
    stand_in = run.emulator.sagemaker
    answers: list[tuple[int, dict[str, str]]] = []
    try:
        for fault in (Fault.THROTTLE, Fault.FAIL, Fault.HANG, Fault.DENY):
            stand_in.inject("local-iris", fault)
            reply = run.client.request("POST", "/v2/models/iris-sagemaker/infer", IRIS_BODY)
            answers.append((reply.status, reply.body))
            assert reply.body["request_id"] == reply.headers["x-amzn-RequestId"]
        stand_in.inject("local-iris", None)
        for model in ("iris-missing", "iris-missing", "iris-sagemaker"):
            reply = run.client.request("POST", f"/v2/models/{model}/infer", IRIS_BODY)
            answers.append((reply.status, reply.body))
        target_models = {
            call.target_model for call in stand_in.invoked if call.endpoint == "local-iris"
        }
    finally:
        run.stop()

    assert [(status, body.get("error")) for status, body in answers] == [
        (429, "model backend throttled"),
        (502, "model backend failed: the model container answered 500"),
        (504, "model backend did not answer within 1000 ms"),
        (502, "model backend unavailable"),
        (502, "model backend unavailable"),
        (502, "model backend unavailable"),
        (200, None),
    ]
    assert target_models == {"iris.onnx"}
    metrics = run.metrics()
    assert sums(metrics, "BackendErrors", "model", "error_type") == {
        ("iris-sagemaker", "Throttled"): 1,
        ("iris-sagemaker", "ModelError"): 1,
        ("iris-sagemaker", "Timeout"): 1,
        ("iris-sagemaker", "AccessDenied"): 1,
        ("iris-missing", "Unavailable"): 2,
    }
    # The log processor, from the access log alone.
    assert sums(metrics, "Errors", "error_source", "error_type") == {
        ("backend", "BACKEND_THROTTLED"): 1,
        ("backend", "BACKEND_FAILED"): 4,
        ("backend", "BACKEND_TIMEOUT"): 1,
    }
    function_log = (run.state_dir / "logs" / "InferenceFunction.log").read_text()
    errors = [line for line in json_lines(function_log) if line.get("level") == "ERROR"]
    assert sorted((line["model"], line["error_type"]) for line in errors) == [
        ("iris-missing", "Unavailable"),
        ("iris-sagemaker", "AccessDenied"),
    ]
    assert "container failed on this input" not in function_log
