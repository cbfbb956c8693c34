"""Chat models on Amazon Bedrock, through bedrock-runtime's ``Converse``.

A conversation goes to ``Converse`` as Bedrock takes it: system prompts apart, user and
assistant turns alternating, the generation settings in ``inferenceConfig``. The reply's
text, stop reason and token counts (``usage``) come back; ModelLatency is the call's round
trip.

Failures become ``BackendError``s with the status the client gets: throttling 429 at once (no
retries: the caller decides whether to wait), ``ModelTimeoutException`` and a read timeout
504, a request Bedrock finds invalid 400 with Bedrock's own message, access denied or a model
not enabled 502 with one ERROR line per environment, anything else 502. botocore is imported
when the first chat request needs a client, so an environment that serves no chat pays nothing
for it at init.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

from ..errors import BackendError, BackendErrorType, BadRequest, clip
from ..metadata import BedrockBackendSpec, ModelMetadata
from . import ChatRequest, ChatResult, Prediction
from .aws import ACCESS_CODES, create_client

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

# Converse's error codes (and AWS's shared ones), by what they mean here.
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "ServiceQuotaExceededException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
    }
)
MODEL_ERROR_CODES = frozenset({"ModelErrorException"})
# Bedrock's message for a request it refuses says what to fix: the client gets it. Clipped.
MESSAGE_LIMIT = 300


class BedrockRuntime(Protocol):
    """The one call used of botocore's ``bedrock-runtime`` client."""

    def converse(self, **kwargs: Any) -> Mapping[str, Any]: ...


def _create_client(read_timeout_s: float) -> BedrockRuntime:
    return cast("BedrockRuntime", create_client("bedrock-runtime", read_timeout_s))


class BedrockClients:
    """One client per environment, made when the first chat request needs it; its read
    timeout is the function's Converse timeout (CONVERSE_TIMEOUT_MS, from the template)."""

    def __init__(
        self,
        read_timeout_ms: int,
        create: Callable[[float], BedrockRuntime] = _create_client,
    ) -> None:
        self.read_timeout_ms = read_timeout_ms
        self._create = create
        self._client: BedrockRuntime | None = None

    def get(self) -> BedrockRuntime:
        if self._client is None:
            self._client = self._create(self.read_timeout_ms / 1000)
        return self._client


def converse_request(model_id: str, request: ChatRequest) -> dict[str, Any]:
    """``Converse``'s parameters for ``request``; settings left unset are left out."""
    parameters: dict[str, Any] = {
        "modelId": model_id,
        "messages": [
            {"role": turn.role, "content": [{"text": text} for text in turn.texts]}
            for turn in request.turns
        ],
    }
    if request.system:
        parameters["system"] = [{"text": text} for text in request.system]
    config: dict[str, Any] = {}
    if request.max_tokens is not None:
        config["maxTokens"] = request.max_tokens
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    if request.stop:
        config["stopSequences"] = list(request.stop)
    if config:
        parameters["inferenceConfig"] = config
    return parameters


def _invalid_answer(problem: str) -> BackendError:
    return BackendError(
        BackendErrorType.MODEL_ERROR, f"model backend answered outside Converse's shape: {problem}"
    )


def read_answer(response: Mapping[str, Any], latency_ms: float) -> ChatResult:
    """The reply of a ``Converse`` answer: its text blocks joined, its stop reason, usage."""
    message = (response.get("output") or {}).get("message") or {}
    content = message.get("content")
    if not isinstance(content, list):
        raise _invalid_answer("no output message")
    text = "".join(
        block["text"] for block in content if isinstance(block, dict) and "text" in block
    )
    usage = response.get("usage") or {}
    input_tokens, output_tokens = usage.get("inputTokens"), usage.get("outputTokens")
    if not (type(input_tokens) is int and type(output_tokens) is int):
        raise _invalid_answer("no token usage")
    return ChatResult(
        text=text,
        stop_reason=str(response.get("stopReason") or "end_turn"),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        latency_ms=latency_ms,
    )


def _client_error(error: ClientError, model_id: str) -> BackendError:
    """What an error answer of Converse means for the client."""
    response: Mapping[str, Any] = error.response
    code = str(response.get("Error", {}).get("Code", ""))
    message = clip(str(response.get("Error", {}).get("Message") or ""), MESSAGE_LIMIT)
    if code in THROTTLING_CODES:
        return BackendError(BackendErrorType.THROTTLED, "model backend throttled")
    if code == "ModelTimeoutException":
        return BackendError(BackendErrorType.TIMEOUT, "model backend timed out")
    if code == "ValidationException":
        # The request's fault (a setting out of the model's range, a conversation it does
        # not take): the client reads what to fix in Bedrock's words.
        return BackendError(
            BackendErrorType.INVALID_REQUEST, f"model backend refused the request: {message}"
        )
    if code in MODEL_ERROR_CODES:
        return BackendError(BackendErrorType.MODEL_ERROR, "model backend failed")
    kind = BackendErrorType.ACCESS_DENIED if code in ACCESS_CODES else BackendErrorType.UNAVAILABLE
    return BackendError(
        kind,
        "model backend unavailable",
        detail=f"Bedrock model {model_id!r} refused the call: {code}: {message}",
    )


class BedrockBackend:
    def __init__(
        self, spec: BedrockBackendSpec, metadata: ModelMetadata, clients: BedrockClients
    ) -> None:
        self.spec = spec
        self.metadata = metadata
        self.clients = clients

    def predict(self, feeds: Mapping[str, np.ndarray]) -> Prediction:
        raise BadRequest(
            f"model '{self.metadata.name}' is a chat model: send it OpenAI chat completions"
            " at POST /v1/chat/completions"
        )

    def chat(self, request: ChatRequest) -> ChatResult:
        from botocore.exceptions import (  # noqa: PLC0415 -- imported with the client
            BotoCoreError,
            ClientError,
            ConnectTimeoutError,
            ReadTimeoutError,
        )

        parameters = converse_request(self.spec.model_id, request)
        try:
            # Made by the environment's first chat request, outside the call's time.
            client = self.clients.get()
        except BotoCoreError as error:  # no region, no credentials provider...
            raise BackendError(
                BackendErrorType.UNAVAILABLE,
                "model backend unavailable",
                detail=f"Bedrock client for {self.spec.model_id!r}: {type(error).__name__}",
            ) from None
        started = time.perf_counter()
        try:
            response = client.converse(**parameters)
        except ClientError as error:
            raise _client_error(error, self.spec.model_id) from None
        except (ReadTimeoutError, ConnectTimeoutError):
            raise BackendError(
                BackendErrorType.TIMEOUT,
                f"model backend did not answer within {self.clients.read_timeout_ms} ms",
            ) from None
        except BotoCoreError as error:
            raise BackendError(
                BackendErrorType.UNAVAILABLE,
                "model backend unavailable",
                detail=f"Bedrock model {self.spec.model_id!r}: {type(error).__name__}",
            ) from None
        return read_answer(response, (time.perf_counter() - started) * 1000.0)
