"""The OIP v2 request a SageMaker endpoint gets, and the timeouts it gets it within."""

from __future__ import annotations

import json

import numpy as np

from emulator.template import load_app
from inference.backends.aws import CONNECT_TIMEOUT_S
from inference.backends.sagemaker import request_body
from inference.metadata import SAGEMAKER_MAX_TIMEOUT_MS, ModelMetadata, TensorSpec

METADATA = ModelMetadata(
    name="reviews",
    version="2",
    platform="sagemaker",
    inputs=(TensorSpec("text", "BYTES", (-1, 1)), TensorSpec("weight", "FP32", (-1,))),
    outputs=(TensorSpec("label", "INT64", (-1,)), TensorSpec("score", "FP64", (-1,))),
)


def test_the_request_carries_every_input_flat_and_asks_for_every_output() -> None:
    feeds = {
        "weight": np.array([0.5, 2.0], dtype=np.float32),
        "text": np.array([["good"], ["bad"]], dtype=np.object_),
    }

    body = json.loads(request_body(METADATA, feeds))

    assert body == {
        "inputs": [
            {"name": "text", "shape": [2, 1], "datatype": "BYTES", "data": ["good", "bad"]},
            {"name": "weight", "shape": [2], "datatype": "FP32", "data": [0.5, 2.0]},
        ],
        "outputs": [{"name": "label"}, {"name": "score"}],
    }


def test_the_longest_wait_for_an_endpoint_ends_before_the_function_times_out() -> None:
    timeout_s = load_app().functions["InferenceFunction"].timeout_s

    # A second left to answer the client before Lambda ends the invocation.
    assert timeout_s - 1 >= CONNECT_TIMEOUT_S + SAGEMAKER_MAX_TIMEOUT_MS / 1000
