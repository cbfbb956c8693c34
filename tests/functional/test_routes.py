"""Every route of the Open Inference Protocol, through the handler, with the events in events/."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris

from dev_support.lambda_events import load_event
from dev_support.paths import MODELS_DIR
from emulator.template import function_environment
from tests.functional.conftest import Invoke


def committed_metadata(name: str, version: str = "1") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((MODELS_DIR / name / version / "metadata.json").read_text())
    return loaded


def dataset_labels(loader: Any, rows: np.ndarray) -> list[int]:
    """The true class of each row, found by looking the row up in the dataset."""
    bunch = loader()
    labels = []
    for row in rows:
        (index,) = np.flatnonzero(np.all(np.isclose(bunch.data, row), axis=1))[:1]
        labels.append(int(bunch.target[index]))
    return labels


def request_rows(event: dict[str, Any]) -> np.ndarray:
    (tensor,) = json.loads(event["body"])["inputs"]
    return np.asarray(tensor["data"], dtype=np.float64).reshape(tensor["shape"])


def test_liveness_and_readiness(invoke: Invoke) -> None:
    live = invoke(load_event("health_live"))
    ready = invoke(load_event("health_ready"))

    assert (live.status, live.body) == (200, {"live": True})
    assert (ready.status, ready.body) == (200, {"ready": True})
    assert live.headers["Content-Type"] == ["application/json"]


def test_server_metadata_names_the_service(invoke: Invoke) -> None:
    result = invoke(load_event("server_metadata"))

    assert result.status == 200
    assert (
        result.body["name"] == function_environment("InferenceFunction")["POWERTOOLS_SERVICE_NAME"]
    )
    assert isinstance(result.body["version"], str)
    assert result.body["extensions"] == []


@pytest.mark.parametrize(
    ("event_name", "model"), [("model_metadata", "iris"), ("model_version_metadata", "digits")]
)
def test_model_metadata_matches_the_committed_artifact(
    invoke: Invoke, event_name: str, model: str
) -> None:
    committed = committed_metadata(model)

    result = invoke(load_event(event_name))

    assert result.status == 200
    assert result.body == {
        "name": model,
        "versions": ["1"],
        "platform": "onnxruntime_onnx",
        "inputs": committed["inputs"],
        "outputs": committed["outputs"],
    }
    assert result.body["inputs"][0]["shape"][0] == -1


@pytest.mark.parametrize(
    ("event_name", "model"), [("model_ready", "iris"), ("model_version_ready", "digits")]
)
def test_model_readiness(invoke: Invoke, event_name: str, model: str) -> None:
    result = invoke(load_event(event_name))

    assert result.status == 200
    assert result.body == {"name": model, "version": "1", "ready": True}


def test_infer_iris_returns_the_oip_response(invoke: Invoke) -> None:
    event = load_event("infer_iris")
    rows = request_rows(event)

    result = invoke(event)

    assert result.status == 200
    assert list(result.body) == ["model_name", "model_version", "id", "outputs"]
    assert result.body["model_name"] == "iris"
    assert result.body["model_version"] == "1"
    assert result.body["id"] == json.loads(event["body"])["id"]
    label, probabilities = result.body["outputs"]
    assert label == {
        "name": "label",
        "datatype": "INT64",
        "shape": [3],
        "data": dataset_labels(load_iris, rows),
    }
    assert probabilities["name"] == "probabilities"
    assert probabilities["datatype"] == "FP32"
    assert probabilities["shape"] == [3, 3]
    matrix = np.asarray(probabilities["data"]).reshape(3, 3)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, rtol=1e-5)
    assert matrix.argmax(axis=1).tolist() == label["data"]


def test_versioned_infer_returns_only_the_requested_output(invoke: Invoke) -> None:
    event = load_event("infer_digits_versioned")
    rows = request_rows(event)

    result = invoke(event)

    assert result.status == 200
    assert result.body["model_name"] == "digits"
    assert result.body["model_version"] == "1"
    assert result.body["outputs"] == [
        {
            "name": "label",
            "datatype": "INT64",
            "shape": [2],
            "data": dataset_labels(load_digits, rows),
        }
    ]


def test_base64_body_is_decoded(invoke: Invoke) -> None:
    encoded = load_event("infer_digits_base64")
    plain = load_event("infer_digits_versioned")
    assert encoded["isBase64Encoded"] is True

    assert invoke(encoded).body["outputs"] == invoke(plain).body["outputs"]


def test_id_is_left_out_when_not_given(invoke: Invoke) -> None:
    event = load_event("infer_iris")
    body = json.loads(event["body"])
    del body["id"]

    result = invoke({**event, "body": json.dumps(body)})

    assert result.status == 200
    assert "id" not in result.body


def test_bad_request_event_gets_400_naming_the_problem(invoke: Invoke) -> None:
    result = invoke(load_event("infer_bad_request"))

    assert result.status == 400
    assert "shape" in result.body["error"]
    assert (
        result.body["request_id"] == load_event("infer_bad_request")["requestContext"]["requestId"]
    )


def test_unknown_model_event_gets_404(invoke: Invoke) -> None:
    result = invoke(load_event("infer_unknown_model"))

    assert result.status == 404
    assert "resnet50" in result.body["error"]


@pytest.mark.parametrize("event_name", ["model_metadata", "model_ready", "infer_iris"])
def test_unknown_version_gets_404(invoke: Invoke, event_name: str) -> None:
    event = load_event(event_name)
    resource = event["resource"].replace("{model_name}", "{model_name}/versions/{model_version}")
    path = event["path"].replace("/iris", "/iris/versions/7")
    event = {
        **event,
        "resource": resource,
        "path": path,
        "pathParameters": {"model_name": "iris", "model_version": "7"},
    }

    result = invoke(event)

    assert result.status == 404
    assert "version '7'" in result.body["error"]


def test_unknown_route_gets_json_404(invoke: Invoke) -> None:
    event = {**load_event("health_live"), "path": "/v1/embeddings", "resource": "/v1/embeddings"}

    result = invoke(event)

    assert result.status == 404
    assert "/v1/embeddings" in result.body["error"]
