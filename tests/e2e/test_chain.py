"""Over HTTP: requests in, then the access log and the metrics they became."""

from __future__ import annotations

import json
import socket
import urllib.request
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from openapi_spec_validator import validate
from sklearn.datasets import load_digits, load_iris

from dev_support.lambda_events import load_event
from tests.e2e.conftest import Running, sums

INFER = "/v2/models/{model_name}/infer"
INFER_VERSION = "/v2/models/{model_name}/versions/{model_version}/infer"


def iris_body(rows: list[list[float]]) -> dict[str, Any]:
    return {
        "inputs": [{"name": "input", "shape": [len(rows), 4], "datatype": "FP32", "data": rows}]
    }


def digits_body(rows: list[list[float]]) -> dict[str, Any]:
    return {
        "inputs": [{"name": "input", "shape": [len(rows), 64], "datatype": "FP32", "data": rows}]
    }


def test_every_route_then_its_access_log_and_metrics(running: Running) -> None:
    client = running.client
    iris, digits = load_iris(), load_digits()
    iris_rows = [iris.data[i].tolist() for i in (0, 50, 100)]
    digits_rows = [digits.data[i].tolist() for i in (0, 1)]
    sent: list[tuple[str, str, int]] = []  # (method, resource, status)

    def expect(method: str, resource: str, status: int, reply_status: int) -> None:
        assert reply_status == status, (method, resource)
        sent.append((method, resource, status))

    live = client.request("GET", "/v2/health/live", key=None)
    expect("GET", "/v2/health/live", 200, live.status)
    assert live.body == {"live": True}
    expect(
        "GET", "/v2/health/ready", 200, client.request("GET", "/v2/health/ready", key=None).status
    )
    server = client.request("GET", "/v2")
    expect("GET", "/v2", 200, server.status)
    assert server.body["extensions"] == []
    for model in ("iris", "digits"):
        meta = client.request("GET", f"/v2/models/{model}")
        expect("GET", "/v2/models/{model_name}", 200, meta.status)
        assert meta.body["name"] == model
        versioned = "/v2/models/{model_name}/versions/{model_version}"
        expect(
            "GET", versioned, 200, client.request("GET", f"/v2/models/{model}/versions/1").status
        )
        ready = client.request("GET", f"/v2/models/{model}/ready")
        expect("GET", "/v2/models/{model_name}/ready", 200, ready.status)
        assert ready.body["ready"] is True
        expect(
            "GET",
            versioned + "/ready",
            200,
            client.request("GET", f"/v2/models/{model}/versions/1/ready").status,
        )

    infer = client.request("POST", "/v2/models/iris/infer", iris_body(iris_rows))
    expect("POST", INFER, 200, infer.status)
    assert infer.body["outputs"][0]["data"] == [int(iris.target[i]) for i in (0, 50, 100)]
    infer = client.request("POST", "/v2/models/digits/versions/1/infer", digits_body(digits_rows))
    expect("POST", INFER_VERSION, 200, infer.status)
    assert infer.body["outputs"][0]["data"] == [int(digits.target[i]) for i in (0, 1)]
    # OpenAI's routes, the chat model answered by the emulator's Bedrock stand-in.
    models = client.request("GET", "/v1/models")
    expect("GET", "/v1/models", 200, models.status)
    assert [model["id"] for model in models.body["data"]] == ["chat"]
    chat = {"model": "chat", "messages": [{"role": "user", "content": "Hello"}]}
    completion = client.request("POST", "/v1/chat/completions", chat)
    expect("POST", "/v1/chat/completions", 200, completion.status)
    assert completion.body["object"] == "chat.completion"
    # A body that is not UTF-8 text is not JSON: the gateway's validator refuses it.
    binary = client.request(
        "POST", "/v2/models/iris/infer", raw=json.dumps(iris_body(iris_rows)).encode() + b" \xff"
    )
    expect("POST", INFER, 400, binary.status)
    assert binary.body["error"].startswith("Invalid request body: [Invalid JSON: ")

    # The gateway's own answers.
    missing = client.request("GET", "/v1/embeddings", key=None)
    expect("GET", "-", 403, missing.status)
    assert missing.body["error"].startswith("No route takes GET /prod/v1/embeddings: ")
    bad_key = client.request("POST", "/v2/models/iris/infer", iris_body(iris_rows), key="wrong")
    expect("POST", INFER, 403, bad_key.status)
    no_key = client.request("GET", "/v2/models/iris", key=None)
    expect("GET", "/v2/models/{model_name}", 403, no_key.status)
    bad_body = client.request("POST", "/v2/models/iris/infer", {"inputs": []})
    expect("POST", INFER, 400, bad_body.status)
    assert bad_body.body["error"] == (
        "Invalid request body: [array is too short: must have at least 1 elements"
        " but instance has 0 elements]"
    )
    assert bad_body.body["request_id"]
    # The function's own 4xx: valid for the gateway's schema, wrong for the model.
    wrong_shape = client.request("POST", "/v2/models/iris/infer", iris_body([[1.0, 2.0, 3.0]]))
    expect("POST", INFER, 400, wrong_shape.status)
    unknown = client.request("POST", "/v2/models/resnet/infer", iris_body(iris_rows))
    expect("POST", INFER, 404, unknown.status)

    running.stop()

    access = running.access_log()
    assert len(access) == len(sent)
    # Clients see the request id the access log and the function's logs carry.
    assert live.headers["x-amzn-RequestId"] == access[0]["requestId"]
    for line, (method, resource, status) in zip(access, sent, strict=True):
        assert (line["method"], line["resource"], line["status"]) == (method, resource, str(status))
        assert line["path"].startswith("/prod/")
        assert line["requestId"] != "-"
    gateway_errors = Counter(line["errorType"] for line in access if line["errorType"] != "-")
    assert gateway_errors == Counter(
        {"MISSING_AUTHENTICATION_TOKEN": 1, "INVALID_API_KEY": 2, "BAD_REQUEST_BODY": 2}
    )

    metrics = running.metrics()
    expected_requests = Counter(
        (f"{m} {r}" if r != "-" else "unknown", f"{s // 100}xx") for m, r, s in sent
    )
    assert sums(metrics, "Requests", "route", "status_class") == expected_requests
    assert sums(metrics, "Errors", "error_source", "error_type") == Counter(
        {
            ("gateway", "MISSING_AUTHENTICATION_TOKEN"): 1,
            ("gateway", "INVALID_API_KEY"): 2,
            ("gateway", "BAD_REQUEST_BODY"): 2,
            ("function", "FUNCTION_4XX"): 2,
        }
    )
    model_requests = sums(metrics, "ModelRequests", "model")
    assert model_requests == Counter({("iris",): 10, ("digits",): 5, ("unknown",): 1})
    assert sums(metrics, "Inferences", "model") == Counter(
        {("iris",): 1, ("digits",): 1, ("chat",): 1}
    )
    assert sums(metrics, "LogLines", "service")[("model-endpoint",)] == len(sent)


def test_sample_event_body_works_over_http(running: Running) -> None:
    body = json.loads(load_event("infer_digits_versioned")["body"])

    reply = running.client.request("POST", "/v2/models/digits/versions/1/infer", body)

    assert reply.status == 200
    assert reply.body["id"] == body["id"]
    assert [output["name"] for output in reply.body["outputs"]] == ["label"]


def test_methods_without_a_route_answer_403_as_api_gateway_does(running: Running) -> None:
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"):
        reply = running.client.request(method, "/v2/models/iris")

        assert reply.status == 403, method
        assert reply.body["error"].startswith(f"No route takes {method} /prod/v2/models/iris: ")


def test_a_head_answer_has_headers_only(running: Running) -> None:
    url = urlsplit(running.client.base_url)
    request = f"HEAD {url.path}/v2/health/live HTTP/1.1\r\nHost: {url.netloc}\r\n"

    # A raw socket: HTTP clients drop whatever follows a HEAD answer, which would hide a body.
    with socket.create_connection((url.hostname, url.port), timeout=30) as connection:
        connection.sendall(request.encode() + b"Connection: close\r\n\r\n")
        answer = b"".join(iter(lambda: connection.recv(65536), b""))

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403")
    assert b"Content-Length: 0" not in head
    assert body == b""


def test_a_message_with_a_bad_content_length_is_refused_not_dropped(running: Running) -> None:
    url = urlsplit(running.client.base_url)
    request = (
        f"GET {url.path}/v2/health/live HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: :\r\n\r\n"
    )

    with socket.create_connection((url.hostname, url.port), timeout=30) as connection:
        connection.sendall(request.encode())
        answer = b"".join(iter(lambda: connection.recv(65536), b""))

    assert answer.startswith(b"HTTP/1.1 400")
    assert running.access_log() == []


def test_the_api_document_is_served_beside_the_stage_and_is_not_api_traffic(
    running: Running,
) -> None:
    base = running.client.base_url.removesuffix("/prod")

    with urllib.request.urlopen(base + "/openapi.json") as response:  # noqa: S310 -- loopback
        document = json.load(response)
    running.stop()

    validate(document)
    assert document["servers"] == [{"url": "/prod"}]
    assert "/v2/models/{model_name}/infer" in document["paths"]
    assert not (running.state_dir / "logs" / "access.log").read_text()
