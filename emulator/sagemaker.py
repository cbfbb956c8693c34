"""SageMaker Runtime's part: InvokeEndpoint on a local port, so the function's own botocore
call runs, to endpoints served here.

The wire protocol is InvokeEndpoint's (botocore's ``sagemaker-runtime`` service model,
rest-json): ``POST /endpoints/{EndpointName}/invocations`` with the body as the container
takes it and ``X-Amzn-SageMaker-Target-Model`` for a multi-model endpoint's model; errors with
their code in ``x-amzn-ErrorType`` and a JSON body (``ModelError`` is 424 with
``OriginalStatusCode``, ``OriginalMessage`` and ``LogStreamArn``). Signatures are accepted
without being checked.

Each endpoint is an Open Inference Protocol (v2) container, as SageMaker's Triton and KServe
containers are, over one ONNX model; by default one, ``local-iris``, with the bundled iris
model. Faults can be injected per endpoint: ``throttle`` (ThrottlingException), ``fail`` (the
container answers 500: ModelError), ``hang`` (no answer until the stand-in stops), ``deny``
(AccessDeniedException); a name no endpoint has answers as SageMaker does (ValidationError).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from dev_support.paths import MODELS_DIR

from .loopback import server_url, start_serving, stop_serving

DEFAULT_ENDPOINT = "local-iris"
ACCOUNT = "000000000000"
_INVOCATIONS = re.compile(r"^/endpoints/([^/]+)/invocations$")
# The protocol's datatypes for ONNX Runtime's tensor types, and the numpy type of each.
_DATATYPES = {
    "tensor(bool)": ("BOOL", np.bool_),
    "tensor(int8)": ("INT8", np.int8),
    "tensor(int16)": ("INT16", np.int16),
    "tensor(int32)": ("INT32", np.int32),
    "tensor(int64)": ("INT64", np.int64),
    "tensor(uint8)": ("UINT8", np.uint8),
    "tensor(uint16)": ("UINT16", np.uint16),
    "tensor(uint32)": ("UINT32", np.uint32),
    "tensor(uint64)": ("UINT64", np.uint64),
    "tensor(float16)": ("FP16", np.float16),
    "tensor(float)": ("FP32", np.float32),
    "tensor(double)": ("FP64", np.float64),
    "tensor(string)": ("BYTES", np.object_),
}


class Fault(StrEnum):
    THROTTLE = "throttle"
    FAIL = "fail"
    HANG = "hang"
    DENY = "deny"


class OipContainer:
    """A model container speaking the Open Inference Protocol (v2) over JSON."""

    def __init__(self, model_file: Path) -> None:
        self.session = ort.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
        self.inputs = {arg.name: _DATATYPES[arg.type] for arg in self.session.get_inputs()}
        self.outputs = {arg.name: _DATATYPES[arg.type][0] for arg in self.session.get_outputs()}

    def infer(self, body: bytes) -> tuple[int, bytes]:
        """(status, body) of the container's answer to an infer request."""
        try:
            request = json.loads(body)
            feeds = {}
            for tensor in request["inputs"]:
                datatype, numpy_type = self.inputs[tensor["name"]]
                if tensor["datatype"] != datatype:
                    raise ValueError(f"input {tensor['name']} must be {datatype}")
                values = np.asarray(tensor["data"], dtype=numpy_type)
                feeds[tensor["name"]] = values.reshape(tensor["shape"])
            names = [output["name"] for output in request.get("outputs") or []]
            names = names or list(self.outputs)
            results = self.session.run(names, feeds)
        except (ValueError, KeyError, TypeError) as error:
            return 400, json.dumps({"error": f"bad request: {error}"}).encode()
        answer = {
            "model_name": "model",
            "model_version": "1",
            "outputs": [
                {
                    "name": name,
                    "datatype": self.outputs[name],
                    "shape": list(np.shape(result)),
                    "data": np.asarray(result).ravel().tolist(),
                }
                for name, result in zip(names, results, strict=True)
            ],
        }
        if "id" in request:
            answer["id"] = request["id"]
        return 200, json.dumps(answer).encode()


@dataclass(frozen=True)
class Invoked:
    """What one InvokeEndpoint call asked for (no body: tests check answers, not inputs)."""

    endpoint: str
    target_model: str | None
    content_type: str | None
    signed: bool


@dataclass
class SageMakerRuntime:
    """The stand-in: endpoints by name, faults injected by name, every call recorded."""

    endpoints: dict[str, OipContainer]
    faults: dict[str, Fault] = field(default_factory=dict)
    invoked: list[Invoked] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    @classmethod
    def default(cls) -> SageMakerRuntime:
        return cls({DEFAULT_ENDPOINT: OipContainer(MODELS_DIR / "iris" / "1" / "model.onnx")})

    def inject(self, endpoint: str, fault: Fault | None) -> None:
        """From now on, ``endpoint`` fails with ``fault`` (None: answers again)."""
        if fault is None:
            self.faults.pop(endpoint, None)
        else:
            self.faults[endpoint] = fault

    def start(self, host: str = "127.0.0.1") -> SageMakerRuntime:
        self._server = start_serving(_serve(self, host))
        return self

    @property
    def url(self) -> str:
        return server_url(self._server, "SageMaker Runtime")

    def stop(self) -> None:
        self._stopping.set()
        stop_serving(self._server)

    def answer(
        self, endpoint: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of InvokeEndpoint, as SageMaker Runtime answers it."""
        self.invoked.append(
            Invoked(
                endpoint,
                headers.get("x-amzn-sagemaker-target-model"),
                headers.get("content-type"),
                headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 "),
            )
        )
        fault = self.faults.get(endpoint)
        if fault is Fault.HANG:
            # No answer while the stand-in runs: the caller's read timeout ends the call.
            self._stopping.wait()
            return _error(503, "ServiceUnavailable", {"message": "stopping"})
        if fault is Fault.THROTTLE:
            # As SageMaker Runtime throttles: a 400 whose message is null.
            return _error(400, "ThrottlingException", {"message": None})
        if fault is Fault.DENY:
            message = (
                f"User: arn:aws:sts::{ACCOUNT}:assumed-role/local/InferenceFunction is not"
                f" authorized to perform: sagemaker:InvokeEndpoint on resource:"
                f" arn:aws:sagemaker:local:{ACCOUNT}:endpoint/{endpoint}"
            )
            return _error(400, "AccessDeniedException", {"message": message})
        container = self.endpoints.get(endpoint)
        if container is None:
            message = f"Endpoint {endpoint} of account {ACCOUNT} not found."
            return _error(400, "ValidationError", {"message": message})
        if fault is Fault.FAIL:
            status, answer = 500, b'{"error": "the container failed on this input"}'
        else:
            status, answer = container.infer(body)
        if status >= 400:
            return _model_error(endpoint, status, answer)
        return (
            status,
            {"Content-Type": "application/json", "x-Amzn-Invoked-Production-Variant": "AllTraffic"},
            answer,
        )


def _error(status: int, code: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": f"{code}:"}
    return status, headers, json.dumps(body).encode()


def _model_error(endpoint: str, status: int, answer: bytes) -> tuple[int, dict[str, str], bytes]:
    """A container's error answer, as SageMaker passes it on: ModelError, 424."""
    kind = "client" if status < 500 else "server"
    original = answer.decode("utf-8", "replace")
    return _error(
        424,
        "ModelError",
        {
            "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
            "Message": f'Received {kind} error ({status}) from primary with message "{original}".',
            "OriginalStatusCode": status,
            "OriginalMessage": original,
            "LogStreamArn": (
                f"arn:aws:logs:local:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{endpoint}"
            ),
        },
    )


def _serve(runtime: SageMakerRuntime, host: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            match = _INVOCATIONS.match(self.path.split("?")[0])
            if match is None:
                status, answer_headers, answer = _error(
                    404, "UnknownOperationException", {"message": f"no operation at {self.path}"}
                )
            else:
                status, answer_headers, answer = runtime.answer(match.group(1), headers, body)
            self.send_response(status)
            for name, value in {**answer_headers, "x-amzn-RequestId": str(uuid.uuid4())}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return  # the function's log records its calls

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    return server
