"""Client mistakes get a 4xx with a JSON error; unexpected failures a 500 without internals."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest

from dev_support.lambda_events import load_event, with_body
from inference import handler
from inference.backends.onnx import OnnxBackend
from inference.model_registry import LoadedModel, ModelRegistry
from tests.functional.conftest import Invoke
from tests.support import LIMITS

IRIS_ROW = [5.1, 3.5, 1.4, 0.2]


def iris_request(**tensor: Any) -> dict[str, Any]:
    base = {"name": "input", "shape": [1, 4], "datatype": "FP32", "data": IRIS_ROW}
    return {"inputs": [{**base, **tensor}]}


def infer(invoke: Invoke, body: Any) -> tuple[int, str]:
    result = invoke(with_body(load_event("infer_iris"), body))
    assert set(result.body) == {"error", "request_id"}, result.body
    return result.status, result.body["error"]


@pytest.mark.parametrize(
    ("body", "status", "mentions"),
    [
        ("{not json", 400, "not valid JSON"),
        ("", 400, "empty"),
        ("[1, 2]", 400, "JSON object"),
        ({"inputs": []}, 400, "non-empty"),
        ({"inputs": "input"}, 400, "non-empty"),
        ({"inputs": [7]}, 400, "inputs[0] must be an object"),
        ({"inputs": [{"shape": [1, 4], "datatype": "FP32", "data": IRIS_ROW}]}, 400, "name"),
        (iris_request(name="pixels"), 400, "no input 'pixels'"),
        (iris_request(datatype="FP64"), 400, "FP32"),
        (iris_request(datatype=32), 400, "datatype must be a string"),
        (iris_request(shape=[1, 5], data=[*IRIS_ROW, 1.0]), 400, "shape"),
        (iris_request(shape=[4]), 400, "shape"),
        (iris_request(shape=[2, 4]), 400, "needs 8"),
        (iris_request(shape=[0, 4], data=[]), 400, "at least one row"),
        (iris_request(shape=[1, -4]), 400, "non-negative integers"),
        (iris_request(shape="1x4"), 400, "non-negative integers"),
        (iris_request(data="5.1,3.5,1.4,0.2"), 400, "must be a list"),
        (iris_request(data=[5.1, "3.5", 1.4, 0.2]), 400, "only numbers"),
        (iris_request(data=[5.1, None, 1.4, 0.2]), 400, "only numbers"),
        (iris_request(data=[True, False, True, False]), 400, "only numbers"),
        (iris_request(data=[[5.1, 3.5], [1.4]]), 400, "rectangular"),
        (iris_request(data=[[5.1, 3.5], [1.4, 0.2]]), 400, "nested data has shape [2, 2]"),
        (iris_request(data=[5.1, 3.5, 1.4, 1e39]), 400, "FP32 range"),
        (iris_request(data=[5.1, 3.5, 1.4, 10**400]), 400, "only numbers"),
        (
            '{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32",'
            ' "data": [5.1, NaN, 1.4, 0.2]}]}',
            400,
            "NaN",
        ),
        (
            '{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32",'
            ' "data": [5.1, 3.5, -Infinity, 0.2]}]}',
            400,
            "-Infinity",
        ),
        ("[" * 100_000 + "]" * 100_000, 400, "not valid JSON"),
        ({"inputs": [iris_request()["inputs"][0]] * 2}, 400, "more than once"),
        ({**iris_request(), "id": 42}, 400, "'id'"),
        ({**iris_request(), "parameters": [1]}, 400, "'parameters'"),
        ({**iris_request(), "outputs": [{"name": "logits"}]}, 400, "no output 'logits'"),
        ({**iris_request(), "outputs": ["label"]}, 400, "outputs[0].name"),
        (
            {**iris_request(), "outputs": [{"name": "label"}, {"name": "label"}]},
            400,
            "more than once",
        ),
    ],
)
def test_malformed_requests_get_400(invoke: Invoke, body: Any, status: int, mentions: str) -> None:
    answered, error = infer(invoke, body)

    assert answered == status
    assert mentions in error


def test_rows_over_the_limit_get_413(invoke: Invoke) -> None:
    rows = LIMITS.max_batch_rows + 1
    body = iris_request(shape=[rows, 4], data=IRIS_ROW * rows)

    status, error = infer(invoke, body)

    assert status == 413
    assert str(LIMITS.max_batch_rows) in error


def test_rows_at_the_limit_are_served(invoke: Invoke) -> None:
    rows = LIMITS.max_batch_rows
    body = iris_request(shape=[rows, 4], data=IRIS_ROW * rows)

    result = invoke(with_body(load_event("infer_iris"), body))

    assert result.status == 200
    assert result.body["outputs"][0]["shape"] == [rows]


@pytest.mark.parametrize("base64_encoded", [False, True])
def test_body_over_the_byte_limit_gets_413(invoke: Invoke, base64_encoded: bool) -> None:
    padding = " " * LIMITS.max_body_bytes
    body = json.dumps(iris_request()) + padding
    event = with_body(load_event("infer_iris"), body)
    if base64_encoded:
        event = {**event, "body": base64.b64encode(body.encode()).decode(), "isBase64Encoded": True}

    result = invoke(event)

    assert result.status == 413
    assert str(LIMITS.max_body_bytes) in result.body["error"]


def test_body_that_is_not_base64_gets_400(invoke: Invoke) -> None:
    event = {**load_event("infer_digits_base64"), "body": "not*base64!"}

    result = invoke(event)

    assert result.status == 400
    assert "base64" in result.body["error"]


def test_body_that_is_not_utf8_gets_400(invoke: Invoke) -> None:
    raw = json.dumps(iris_request()).encode().replace(b"input", b"inp\xffut")
    event = {
        **load_event("infer_iris"),
        "body": base64.b64encode(raw).decode(),
        "isBase64Encoded": True,
    }

    result = invoke(event)

    assert result.status == 400
    assert "not valid JSON" in result.body["error"]


class ExplodingPredictor:
    def run(self, output_names: list[str] | None, input_feed: dict[str, Any]) -> list[Any]:
        raise RuntimeError("model crashed at /opt/secret/path")


def test_unexpected_failure_gets_500_without_internals(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    iris = handler.REGISTRY.get("iris")
    broken = ModelRegistry([LoadedModel(iris.metadata, OnnxBackend(ExplodingPredictor(), []))])
    monkeypatch.setattr(handler, "REGISTRY", broken)
    event = load_event("infer_iris")

    result = invoke(event)

    assert result.status == 500
    assert result.body == {
        "error": "internal error",
        "request_id": event["requestContext"]["requestId"],
    }
    # The trace goes to the function's log, not to the client.
    assert "model crashed" in result.stdout


def test_function_keeps_serving_after_bad_requests(invoke: Invoke) -> None:
    for body in ("{", iris_request(datatype="INT8"), iris_request(shape=[9, 4])):
        assert invoke(with_body(load_event("infer_iris"), body)).status == 400

    result = invoke(load_event("infer_iris"))

    assert result.status == 200
    assert np.asarray(result.body["outputs"][0]["data"]).shape == (3,)
