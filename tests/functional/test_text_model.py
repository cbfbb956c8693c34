"""A model that reads text: a BYTES input, built with skl2onnx in a models folder of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dev_support.lambda_events import load_event, with_body
from inference import handler
from inference.model_registry import load_registry
from tests.functional.conftest import Invoke
from tests.models import TEXT_CLASSIFIER_METADATA, text_classifier_model, write_model
from tests.support import emitted_metrics


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    write_model(root, "sentiment", "1", text_classifier_model(), **TEXT_CLASSIFIER_METADATA)
    return root


@pytest.fixture(autouse=True)
def serve(models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handler, "REGISTRY", load_registry(models))


def infer(data: list[Any], shape: list[int]) -> dict[str, Any]:
    event = load_event("infer_iris")
    path = "/v2/models/sentiment/infer"
    event = {**event, "path": path, "pathParameters": {"model_name": "sentiment"}}
    body = {"inputs": [{"name": "text", "shape": shape, "datatype": "BYTES", "data": data}]}
    return with_body(event, body)


def test_text_in_labels_and_probabilities_out(invoke: Invoke) -> None:
    result = invoke(infer([["works great"], ["broken and awful"]], [2, 1]))

    assert result.status == 200, result.body
    label, probabilities = result.body["outputs"]
    assert label == {"name": "label", "datatype": "INT64", "shape": [2], "data": [1, 0]}
    assert (probabilities["datatype"], probabilities["shape"]) == ("FP32", [2, 2])
    assert "PredictionConfidence" in emitted_metrics(result.stdout)


def test_the_metadata_route_shows_the_bytes_input(invoke: Invoke) -> None:
    event = load_event("model_metadata")
    event = {**event, "path": "/v2/models/sentiment", "pathParameters": {"model_name": "sentiment"}}

    result = invoke(event)

    assert result.body["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1, 1]}]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "input 'text': data must contain only strings"),
        (["fine", None], "input 'text': data must contain only strings"),
        (["fine", "\ud800"], "input 'text': strings must be valid UTF-8 text"),
    ],
)
def test_text_that_is_not_text_is_refused(invoke: Invoke, data: list[Any], message: str) -> None:
    result = invoke(infer(data, [2, 1]))

    assert (result.status, result.body["error"]) == (400, message)
