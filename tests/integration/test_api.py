"""The endpoint's HTTP behaviour, the same against the emulator and a deployed stack."""

from __future__ import annotations

import pytest

from dev_support.http_client import Client

IRIS_ROW = [5.1, 3.5, 1.4, 0.2]


def infer_body(model: str) -> dict[str, object]:
    width = {"iris": 4, "digits": 64}[model]
    data = IRIS_ROW if model == "iris" else [0.0] * 64
    return {"inputs": [{"name": "input", "shape": [1, width], "datatype": "FP32", "data": data}]}


def test_health_routes_are_open(target: Client) -> None:
    assert target.request("GET", "/v2/health/live", key=None).body == {"live": True}
    assert target.request("GET", "/v2/health/ready", key=None).body == {"ready": True}


@pytest.mark.parametrize("model", ["iris", "digits"])
def test_model_metadata_and_inference(target: Client, model: str) -> None:
    metadata = target.request("GET", f"/v2/models/{model}")
    inference = target.request("POST", f"/v2/models/{model}/infer", infer_body(model))

    assert metadata.status == 200
    assert metadata.body["name"] == model
    assert inference.status == 200
    assert inference.body["model_name"] == model
    assert [o["name"] for o in inference.body["outputs"]] == ["label", "probabilities"]


def test_a_wrong_key_is_refused(target: Client) -> None:
    reply = target.request("POST", "/v2/models/iris/infer", infer_body("iris"), key="not-a-key")

    assert reply.status == 403
    assert "error" in reply.body


def test_a_malformed_body_is_refused_by_the_gateway(target: Client) -> None:
    reply = target.request("POST", "/v2/models/iris/infer", {"inputs": [{"name": "input"}]})

    assert reply.status == 400
    # API Gateway's validator names what is missing.
    assert reply.body["error"].startswith("Invalid request body: [object has missing required")
    assert '"shape"' in reply.body["error"]


def test_an_unknown_model_is_not_found(target: Client) -> None:
    reply = target.request("POST", "/v2/models/resnet/infer", infer_body("iris"))

    assert reply.status == 404
    assert "resnet" in reply.body["error"]
