"""Bedrock chat models for the in-process tests: botocore's Stubber on a real
``bedrock-runtime`` client (its parsing of answers and errors included), and a client whose
answer never comes (a read timeout, which Stubber cannot give)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import botocore.session
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from dev_support.paths import MODELS_DIR
from inference.backends.bedrock import BedrockClients, BedrockRuntime
from inference.errors import BackendErrorType
from inference.model_registry import ModelRegistry, ModelsDirectory, load_registry

MODEL = "chat"
MODEL_ID = "amazon.nova-micro-v1:0"


def runtime_client() -> Any:
    """A real client; Stubber answers for it, so no request leaves the process."""
    return botocore.session.get_session().create_client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 -- never sent anywhere
    )


def registry_with(client: Any) -> ModelRegistry:
    """The bundled models, the chat model's Converse answered by ``client``."""

    def create(read_timeout_s: float) -> BedrockRuntime:
        created: BedrockRuntime = client
        return created

    return load_registry(
        [ModelsDirectory(MODELS_DIR, "the package")], bedrock=BedrockClients(25_000, create)
    )


def converse_answer(
    text: str = "An API gateway routes requests.",
    input_tokens: int = 21,
    output_tokens: int = 7,
    stop_reason: str = "end_turn",
) -> dict[str, Any]:
    """Converse's answer, as Bedrock gives it."""
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop_reason,
        "usage": {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
        },
        "metrics": {"latencyMs": 310},
    }


def answering_client(*answers: dict[str, Any], expected: dict[str, Any] | None = None) -> Any:
    """A client answering each call in turn; ``expected``: the parameters each call must have."""
    client = runtime_client()
    stubber = Stubber(client)
    for answer in answers:
        stubber.add_response("converse", answer, expected)
    stubber.activate()
    return client


# One stubbed error answer per kind of failure, as Bedrock Runtime gives them.
ERRORS: Mapping[BackendErrorType, dict[str, Any]] = {
    BackendErrorType.THROTTLED: {
        "service_error_code": "ThrottlingException",
        "service_message": "Too many requests, please wait before trying again.",
        "http_status_code": 429,
    },
    BackendErrorType.MODEL_ERROR: {
        "service_error_code": "ModelErrorException",
        "service_message": "The model failed on: the prompt quoted here",
        "http_status_code": 424,
    },
    BackendErrorType.UNAVAILABLE: {
        "service_error_code": "ServiceUnavailableException",
        "service_message": "Service unavailable.",
        "http_status_code": 503,
    },
    BackendErrorType.ACCESS_DENIED: {
        "service_error_code": "AccessDeniedException",
        "service_message": "You don't have access to the model with the specified model ID.",
        "http_status_code": 403,
    },
    BackendErrorType.INVALID_REQUEST: {
        "service_error_code": "ValidationException",
        "service_message": "Malformed input request: temperature must be between 0 and 1.",
        "http_status_code": 400,
    },
}
MODEL_TIMEOUT = {
    "service_error_code": "ModelTimeoutException",
    "service_message": "Model has timed out in processing the request.",
    "http_status_code": 408,
}


class HangingRuntime:
    """A model that never answers: the read times out, as botocore reports it."""

    def converse(self, **kwargs: Any) -> Mapping[str, Any]:
        raise ReadTimeoutError(endpoint_url="https://bedrock-runtime/model/x/converse")


def failing_client(kind: BackendErrorType, times: int = 1) -> Any:
    """A client whose next ``times`` calls fail with ``kind`` (Timeout: a read timeout)."""
    if kind is BackendErrorType.TIMEOUT:
        return HangingRuntime()
    return error_client(ERRORS[kind], times)


def error_client(error: dict[str, Any], times: int = 1) -> Any:
    client = runtime_client()
    stubber = Stubber(client)
    for _ in range(times):
        stubber.add_client_error("converse", **error)
    stubber.activate()
    return client
