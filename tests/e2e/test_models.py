"""Models of other signatures and backends, over HTTP through the emulator."""

from __future__ import annotations

from sklearn.datasets import load_diabetes

from tests.e2e.conftest import Running, sums

# What the committed diabetes model predicts for the dataset's first two rows; retrains stay
# within 1e-2 of them (tests/functional/test_training.py).
DIABETES_FIRST_ROWS = (209.998, 67.450)


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
