"""X-Ray: what the handler sends to a daemon listening on loopback, read back from the wire.

Given the handler traced as on Lambda (``AWS_XRAY_DAEMON_ADDRESS`` set, tracing not
disabled) and Lambda's trace header for the invocation, when it answers, then the
datagrams that reach a real UDP socket are the subsegments of Lambda's function segment.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from dev_support.lambda_events import load_event, with_body
from inference import handler
from inference.backends.onnx import OnnxBackend
from inference.model_registry import LoadedModel, ModelRegistry
from inference.telemetry import tracer
from inference.xray import DAEMON_HEADER, LambdaXRayProvider
from tests.functional.conftest import Invoke

ROOT = "1-67891233-abcdef012345678912345678"
PARENT = "53995c3f42cd8ad8"
SAMPLED = f"Root={ROOT};Parent={PARENT};Sampled=1"


class Daemon:
    """A UDP socket on loopback standing in for the X-Ray daemon."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.address = f"127.0.0.1:{self.socket.getsockname()[1]}"
        self.raw: list[bytes] = []

    def received(self) -> list[dict[str, Any]]:
        """Every datagram sent so far, each checked for the daemon's header line."""
        try:
            while True:
                self.raw.append(self.socket.recv(65536))
        except TimeoutError:
            pass
        documents = []
        for datagram in self.raw:
            header, _, body = datagram.partition(b"\n")
            assert header + b"\n" == DAEMON_HEADER
            assert json.loads(header) == {"format": "json", "version": 1}
            documents.append(json.loads(body))
        return documents


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    """A daemon, and the handler's tracer set up from Lambda's environment pointing at it."""
    listening = Daemon()
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", listening.address)
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    # The handler read its environment at import, with tracing disabled for the other tests.
    monkeypatch.setattr(tracer, "provider", LambdaXRayProvider.from_environment())
    yield listening
    listening.socket.close()


def by_name(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    named = {document["name"]: document for document in documents}
    assert len(named) == len(documents), "one subsegment of each name"
    return named


def test_an_infer_request_sends_its_subsegments_under_lambdas_segment(
    invoke: Invoke, daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED)

    assert invoke(load_event("infer_iris")).status == 200

    sent = by_name(daemon.received())
    assert sorted(sent) == ["## lambda_handler", "## predict"]
    handler_segment, predict = sent["## lambda_handler"], sent["## predict"]
    for document in (handler_segment, predict):
        assert document["type"] == "subsegment"
        assert document["trace_id"] == ROOT
        assert len(document["id"]) == 16
        assert set(document["id"]) <= set("0123456789abcdef")
        assert document["start_time"] <= document["end_time"]
        assert "fault" not in document
        assert "error" not in document
    # The handler's subsegment hangs from Lambda's function segment, the model's from it.
    assert handler_segment["parent_id"] == PARENT
    assert predict["parent_id"] == handler_segment["id"]
    assert handler_segment["start_time"] <= predict["start_time"]
    assert predict["end_time"] <= handler_segment["end_time"]
    assert predict["annotations"] == {"model": "iris", "model_version": "1"}
    assert handler_segment["annotations"]["cold_start"] in (True, False)


def test_a_model_failure_marks_the_predict_subsegment_with_the_exception_type(
    invoke: Invoke, daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    iris = handler.REGISTRY.get("iris")
    monkeypatch.setattr(
        handler,
        "REGISTRY",
        ModelRegistry([LoadedModel(iris.metadata, OnnxBackend(ExplodingPredictor(), []))]),
    )
    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED)

    assert invoke(load_event("infer_iris")).status == 500

    sent = by_name(daemon.received())
    predict = sent["## predict"]
    assert predict["fault"] is True
    (exception,) = predict["cause"]["exceptions"]
    assert exception["type"] == "RuntimeError"
    # The exception's message is not sent: it may quote the request.
    assert "secret" not in json.dumps(sent)
    assert predict["annotations"] == {"model": "iris", "model_version": "1"}


class ExplodingPredictor:
    def run(self, output_names: list[str] | None, input_feed: dict[str, Any]) -> list[Any]:
        raise RuntimeError("model crashed at /opt/secret/path")


def test_nothing_is_sent_when_lambda_did_not_sample_the_request(
    invoke: Invoke, daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent={PARENT};Sampled=0")
    assert invoke(load_event("infer_iris")).status == 200

    monkeypatch.delenv("_X_AMZN_TRACE_ID")
    assert invoke(load_event("infer_iris")).status == 200

    assert daemon.received() == []


def test_requests_succeed_when_no_daemon_listens(
    invoke: Invoke, daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon.socket.close()  # the port is free again: nobody listens there
    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED)

    results = [invoke(load_event("infer_iris")) for _ in range(3)]

    assert [result.status for result in results] == [200, 200, 200]


def test_no_payload_header_or_key_value_in_any_datagram(
    invoke: Invoke, daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED)
    marker = 4.987654321
    event = with_body(
        load_event("infer_iris"),
        {
            "id": "client-request-id-123",
            "inputs": [
                {"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [marker, 3, 5, 1]}
            ],
        },
    )
    event["headers"] = {**(event.get("headers") or {}), "x-api-key": "key-value-abc123"}
    event["requestContext"]["identity"]["apiKey"] = "key-value-abc123"

    assert invoke(event).status == 200
    assert invoke(with_body(load_event("infer_iris"), "{not json")).status == 400

    wire = b"".join(daemon.raw) + b"".join(json.dumps(d).encode() for d in daemon.received())
    assert len(daemon.raw) == 3  # two subsegments for the answer, one for the refusal
    for secret in (str(marker), "client-request-id-123", "key-value-abc123", "not json"):
        assert secret.encode() not in wire
