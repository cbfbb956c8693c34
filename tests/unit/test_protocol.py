"""Decoding and validating Open Inference Protocol requests, encoding responses."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest

from inference import protocol
from inference.errors import BadRequest, PayloadTooLarge, clip
from inference.metadata import ModelMetadata, TensorSpec
from inference.settings import Limits

METADATA = ModelMetadata(
    name="toy",
    version="3",
    platform="onnxruntime_onnx",
    inputs=(TensorSpec("input", "FP32", (-1, 2)),),
    outputs=(TensorSpec("label", "INT64", (-1,)), TensorSpec("probabilities", "FP32", (-1, 2))),
    labels=("no", "yes"),
)
LIMITS = Limits(max_batch_rows=4, max_body_bytes=200)


def request(data: Any, shape: list[int] | None = None, **extra: Any) -> dict[str, Any]:
    tensor = {"name": "input", "datatype": "FP32", "shape": shape or [2, 2], "data": data}
    return {"inputs": [tensor], **extra}


def test_flat_and_nested_data_decode_to_the_same_tensor() -> None:
    flat = protocol.decode_infer_request(request([1, 2, 3, 4]), METADATA, LIMITS)
    nested = protocol.decode_infer_request(request([[1, 2], [3, 4]]), METADATA, LIMITS)

    for decoded in (flat, nested):
        tensor = decoded.feeds["input"]
        assert tensor.dtype == np.float32
        assert tensor.tolist() == [[1.0, 2.0], [3.0, 4.0]]
        assert decoded.rows == 2


def test_outputs_default_to_all_in_declared_order() -> None:
    assert protocol.decode_infer_request(request([1, 2, 3, 4]), METADATA, LIMITS).outputs == (
        "label",
        "probabilities",
    )
    subset = request([1, 2, 3, 4], outputs=[{"name": "probabilities"}])
    assert protocol.decode_infer_request(subset, METADATA, LIMITS).outputs == ("probabilities",)


def test_rows_over_the_limit_are_too_large_and_at_the_limit_are_fine() -> None:
    assert protocol.decode_infer_request(request([0] * 8, [4, 2]), METADATA, LIMITS).rows == 4
    with pytest.raises(PayloadTooLarge, match="5 rows; the limit is 4"):
        protocol.decode_infer_request(request([0] * 10, [5, 2]), METADATA, LIMITS)


@pytest.mark.parametrize(
    ("body", "base64_encoded", "error"),
    [
        (None, False, BadRequest),
        ("x" * 201, False, PayloadTooLarge),
        ("é" * 101, False, PayloadTooLarge),  # 101 characters, 202 bytes
        (base64.b64encode(b"x" * 201).decode(), True, PayloadTooLarge),
        ("@@@@", True, BadRequest),
    ],
)
def test_read_body_refuses(body: str | None, base64_encoded: bool, error: type[Exception]) -> None:
    with pytest.raises(error):
        protocol.read_body(body, base64_encoded, max_bytes=200)


def test_read_body_decodes_base64() -> None:
    assert protocol.read_body(base64.b64encode(b'{"a": 1}').decode(), True, 200) == b'{"a": 1}'


def test_lone_surrogates_in_a_text_body_are_refused_not_crashed_on() -> None:
    # Not encodable as UTF-8, so not JSON text: refused like invalid UTF-8 in a binary body.
    body = json.dumps(request([1, 2, 3, 4], id="\udc80"), ensure_ascii=False)

    with pytest.raises(BadRequest, match="not valid JSON"):
        protocol.decode_request(body, False, METADATA, LIMITS)


def test_decode_request_reads_parses_and_validates() -> None:
    body = json.dumps(request([1, 2, 3, 4], id="r-1"))

    decoded = protocol.decode_request(body, False, METADATA, LIMITS)

    assert decoded.id == "r-1"
    assert decoded.feeds["input"].shape == (2, 2)


def test_integer_model_inputs_are_cast_to_their_datatype() -> None:
    int_model = ModelMetadata(
        "ints", "1", "onnxruntime_onnx", (TensorSpec("input", "INT64", (-1, 2)),), (), ()
    )
    body = {"inputs": [{"name": "input", "datatype": "INT64", "shape": [1, 2], "data": [7, 8]}]}

    tensor = protocol.decode_infer_request(body, int_model, LIMITS).feeds["input"]

    assert tensor.dtype == np.int64
    assert tensor.tolist() == [[7, 8]]


def test_missing_input_is_named() -> None:
    two_inputs = ModelMetadata(
        "pair",
        "1",
        "onnxruntime_onnx",
        (TensorSpec("a", "FP32", (-1, 2)), TensorSpec("b", "FP32", (-1, 2))),
        (),
        (),
    )
    body = {"inputs": [{"name": "a", "datatype": "FP32", "shape": [1, 2], "data": [1, 2]}]}

    with pytest.raises(BadRequest, match="missing input"):
        protocol.decode_infer_request(body, two_inputs, LIMITS)


def test_inputs_with_different_batch_sizes_are_refused() -> None:
    two_inputs = ModelMetadata(
        "pair",
        "1",
        "onnxruntime_onnx",
        (TensorSpec("a", "FP32", (-1, 1)), TensorSpec("b", "FP32", (-1, 1))),
        (),
        (),
    )
    body = {
        "inputs": [
            {"name": "a", "datatype": "FP32", "shape": [1, 1], "data": [1]},
            {"name": "b", "datatype": "FP32", "shape": [2, 1], "data": [1, 2]},
        ]
    }

    with pytest.raises(BadRequest, match="same number of rows"):
        protocol.decode_infer_request(body, two_inputs, LIMITS)


def test_long_client_names_are_clipped_in_errors() -> None:
    body = {"inputs": [{"name": "n" * 5000, "datatype": "FP32", "shape": [1, 2], "data": [1, 2]}]}

    with pytest.raises(BadRequest) as raised:
        protocol.decode_infer_request(body, METADATA, LIMITS)

    assert len(raised.value.message) < 200


def test_encode_response_shapes_and_flattens_row_major() -> None:
    decoded = protocol.decode_infer_request(request([1, 2, 3, 4], id="abc"), METADATA, LIMITS)
    outputs: dict[str, np.ndarray] = {
        "label": np.array([1, 0], dtype=np.int64),
        "probabilities": np.array([[0.25, 0.75], [0.5, 0.5]], dtype=np.float32),
    }

    body = protocol.encode_infer_response(METADATA, decoded, outputs)

    assert body == {
        "model_name": "toy",
        "model_version": "3",
        "id": "abc",
        "outputs": [
            {"name": "label", "datatype": "INT64", "shape": [2], "data": [1, 0]},
            {
                "name": "probabilities",
                "datatype": "FP32",
                "shape": [2, 2],
                "data": [0.25, 0.75, 0.5, 0.5],
            },
        ],
    }
    json.dumps(body)  # plain Python types only: serialisable without a custom encoder


def test_mean_confidence_averages_each_rows_top_probability_in_percent() -> None:
    outputs = {"probabilities": np.array([[0.25, 0.75], [0.5, 0.5]], dtype=np.float32)}

    assert protocol.mean_confidence(outputs) == 62.5
    assert protocol.mean_confidence({"label": np.array([1])}) is None


def test_model_and_server_metadata_documents() -> None:
    assert protocol.model_metadata(METADATA, ["1", "3"]) == {
        "name": "toy",
        "versions": ["1", "3"],
        "platform": "onnxruntime_onnx",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 2]}],
        "outputs": [
            {"name": "label", "datatype": "INT64", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]},
        ],
    }
    assert protocol.server_metadata("svc", "0.1.0") == {
        "name": "svc",
        "version": "0.1.0",
        "extensions": [],
    }


@pytest.mark.parametrize(
    "raw",
    [b'{"inputs": [], "inputs": []}', b'{"inputs": [{"name": "input", "name": "other"}]}'],
)
def test_a_key_named_twice_in_one_object_is_refused(raw: bytes) -> None:
    with pytest.raises(BadRequest, match="appears more than once"):
        protocol.parse_json(raw)


def test_utf8_encoded_surrogates_are_refused() -> None:
    with pytest.raises(BadRequest, match="not valid JSON"):
        protocol.parse_json(b'{"id": "\xed\xa0\x80"}')


def test_a_leading_byte_order_mark_is_tolerated() -> None:
    assert protocol.parse_json(b'\xef\xbb\xbf{"id": "r"}') == {"id": "r"}


def test_echoed_names_with_lone_surrogates_stay_encodable() -> None:
    message = f"no input '{clip('\ud800x')}'"

    assert message.encode("utf-8") == b"no input '\\ud800x'"
