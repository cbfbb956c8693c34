"""SageMaker endpoints for the in-process tests: botocore's Stubber on a real
``sagemaker-runtime`` client (its parsing of answers and errors included), and a client
whose answer never comes (a read timeout, which Stubber cannot give)."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import botocore.session
from botocore.exceptions import ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from dev_support.paths import MODELS_DIR
from inference.backends.sagemaker import SageMakerClients, SageMakerRuntime
from inference.errors import BackendErrorType
from inference.model_registry import ModelRegistry, ModelsDirectory, load_registry
from tests.models import write_model

MODEL = "iris-sagemaker"
ENDPOINT = "local-iris"
_IRIS = json.loads((MODELS_DIR / "iris" / "1" / "metadata.json").read_text())


def write_sagemaker_model(root: Path, **backend: Any) -> Path:
    """``iris-sagemaker/1``: the bundled iris model's signature, behind an endpoint."""
    return write_model(
        root,
        MODEL,
        "1",
        None,
        inputs=_IRIS["inputs"],
        outputs=_IRIS["outputs"],
        labels=_IRIS["labels"],
        backend={"type": "sagemaker", "endpoint_name": ENDPOINT, **backend},
    )


def runtime_client() -> Any:
    """A real client; Stubber answers for it, so no request leaves the process."""
    return botocore.session.get_session().create_client(
        "sagemaker-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 -- never sent anywhere
    )


def registry_with(client: Any, root: Path, **backend: Any) -> ModelRegistry:
    """The bundled models and ``iris-sagemaker``, whose endpoint ``client`` answers for."""
    write_sagemaker_model(root, **backend)

    def create(read_timeout_s: float) -> SageMakerRuntime:
        created: SageMakerRuntime = client
        return created

    return load_registry(
        [ModelsDirectory(MODELS_DIR, "the package"), ModelsDirectory(root, "a test folder")],
        sagemaker=SageMakerClients(create),
    )


def oip_answer(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """InvokeEndpoint's answer carrying an OIP v2 response with ``outputs``."""
    body = json.dumps({"model_name": "iris", "model_version": "1", "outputs": outputs}).encode()
    return {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "application/json"}


# One stubbed error answer per kind of failure, as SageMaker Runtime gives them.
ERRORS: Mapping[BackendErrorType, dict[str, Any]] = {
    BackendErrorType.THROTTLED: {
        "service_error_code": "ThrottlingException",
        "service_message": "",
        "http_status_code": 400,
    },
    BackendErrorType.MODEL_ERROR: {
        "service_error_code": "ModelError",
        "service_message": 'Received server error (500) from primary with message "..."',
        "http_status_code": 424,
        "modeled_fields": {
            "OriginalStatusCode": 500,
            "OriginalMessage": "container body quoting the request: 6.7, 3.0",
            "LogStreamArn": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/x",
        },
    },
    BackendErrorType.UNAVAILABLE: {
        "service_error_code": "ValidationError",
        "service_message": "Endpoint local-iris of account 123456789012 not found.",
        "http_status_code": 400,
    },
    BackendErrorType.ACCESS_DENIED: {
        "service_error_code": "AccessDeniedException",
        "service_message": "User is not authorized to perform: sagemaker:InvokeEndpoint",
        "http_status_code": 400,
    },
}


class HangingRuntime:
    """An endpoint that never answers: the read times out, as botocore reports it."""

    def invoke_endpoint(self, **kwargs: Any) -> Mapping[str, Any]:
        raise ReadTimeoutError(endpoint_url=f"https://runtime.sagemaker/endpoints/{ENDPOINT}")


def failing_client(kind: BackendErrorType, times: int = 1) -> Any:
    """A client whose next ``times`` calls fail with ``kind``."""
    if kind is BackendErrorType.TIMEOUT:
        return HangingRuntime()
    client = runtime_client()
    stubber = Stubber(client)
    for _ in range(times):
        stubber.add_client_error("invoke_endpoint", **ERRORS[kind])
    stubber.activate()
    return client


def answering_client(*answers: dict[str, Any]) -> Any:
    client = runtime_client()
    stubber = Stubber(client)
    for answer in answers:
        stubber.add_response("invoke_endpoint", answer)
    stubber.activate()
    return client


def iris_outputs(labels: list[int], probabilities: list[list[float]]) -> list[dict[str, Any]]:
    """The iris model's outputs as an OIP v2 answer carries them."""
    return [
        {"name": "label", "datatype": "INT64", "shape": [len(labels)], "data": labels},
        {
            "name": "probabilities",
            "datatype": "FP32",
            "shape": [len(probabilities), 3],
            "data": [value for row in probabilities for value in row],
        },
    ]
