"""Models of other signatures and backends, over HTTP through the emulator."""

from __future__ import annotations

from pathlib import Path

from sklearn.datasets import load_diabetes

from tests.e2e.conftest import Running, start_emulator, sums
from tests.models import TEXT_CLASSIFIER_METADATA, text_classifier_model, write_model

# What the committed diabetes model predicts for the dataset's first two rows; retrains stay
# within 1e-2 of them (tests/functional/test_training.py).
DIABETES_FIRST_ROWS = (209.998, 67.450)
TEXTS = [["works great"], ["broken and awful"]]


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
