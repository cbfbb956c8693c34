"""Models behind an existing SageMaker endpoint that speaks the Open Inference Protocol (v2).

The request's validated tensors go to ``InvokeEndpoint`` as an OIP v2 JSON body (SageMaker's
Triton and KServe containers take it as it is), asking for every declared output; the
answer is read as strictly as a client's request, against the declared outputs, and
returned as the function's own. ModelLatency is the call's round trip.

Failures become ``BackendError``s with the status the client gets: throttling 429 at once
(no retries: the caller decides whether to wait), a container's 4xx/5xx 502 with its status
but never its body, a timeout 504, anything else 502. botocore is imported when the first
client is made, at init and only for functions with a SageMaker model.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

from ..datatypes import DATATYPES, TensorError, tensor_from_json
from ..errors import BackendError, BackendErrorType, clip
from ..metadata import ModelMetadata, SageMakerBackendSpec
from . import Prediction
from .aws import ACCESS_CODES, create_client

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

CONTENT_TYPE = "application/json"
# Error codes of SageMaker Runtime (and of AWS's shared auth errors), by what they mean here.
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
    }
)


class SageMakerRuntime(Protocol):
    """The one call used of botocore's ``sagemaker-runtime`` client."""

    def invoke_endpoint(self, **kwargs: Any) -> Mapping[str, Any]: ...


def _create_client(read_timeout_s: float) -> SageMakerRuntime:
    return cast("SageMakerRuntime", create_client("sagemaker-runtime", read_timeout_s))


class SageMakerClients:
    """One client per read timeout (in practice one per environment), made when a model
    first needs it; they share botocore's session and its loaded service model."""

    def __init__(self, create: Callable[[float], SageMakerRuntime] = _create_client) -> None:
        self._create = create
        self._clients: dict[float, SageMakerRuntime] = {}

    def get(self, read_timeout_s: float) -> SageMakerRuntime:
        client = self._clients.get(read_timeout_s)
        if client is None:
            client = self._clients[read_timeout_s] = self._create(read_timeout_s)
        return client


def request_body(metadata: ModelMetadata, feeds: Mapping[str, np.ndarray]) -> bytes:
    """The OIP v2 request for ``feeds``, flat row-major, asking for every declared output."""
    document = {
        "inputs": [
            {
                "name": spec.name,
                "shape": list(feeds[spec.name].shape),
                "datatype": spec.datatype,
                "data": feeds[spec.name].ravel().tolist(),
            }
            for spec in metadata.inputs
        ],
        "outputs": [{"name": name} for name in metadata.output_names],
    }
    return json.dumps(document, separators=(",", ":")).encode()


def _invalid(problem: str) -> BackendError:
    return BackendError(
        BackendErrorType.MODEL_ERROR,
        f"model backend answered outside the model's metadata: {problem}",
    )


def read_outputs(body: bytes, metadata: ModelMetadata, rows: int) -> dict[str, np.ndarray]:
    """The declared outputs of an OIP v2 answer, each checked as strictly as an input."""
    try:
        document = json.loads(body)
    except ValueError:
        raise _invalid("the body is not JSON") from None
    outputs = document.get("outputs") if isinstance(document, dict) else None
    if not isinstance(outputs, list):
        raise _invalid("no 'outputs' list")
    answered = {item.get("name"): item for item in outputs if isinstance(item, dict)}
    tensors: dict[str, np.ndarray] = {}
    for spec in metadata.outputs:
        item = answered.get(spec.name)
        if item is None:
            raise _invalid(f"output '{spec.name}' is missing")
        if item.get("datatype") != spec.datatype:
            raise _invalid(
                f"output '{spec.name}' has datatype {clip(str(item.get('datatype')))};"
                f" the model declares {spec.datatype}"
            )
        shape = item.get("shape")
        if not (
            isinstance(shape, list)
            and len(shape) == len(spec.shape)
            and all(type(dim) is int for dim in shape)
            and shape[0] == rows
            and all(want in (-1, got) for want, got in zip(spec.shape, shape, strict=True))
        ):
            raise _invalid(
                f"output '{spec.name}' has shape {clip(str(shape))}; the model declares"
                f" {list(spec.shape)} and the request has {rows} rows"
            )
        data = item.get("data")
        if not isinstance(data, list):
            raise _invalid(f"output '{spec.name}' has no data list")
        try:
            tensors[spec.name] = tensor_from_json(data, DATATYPES[spec.datatype], shape)
        except TensorError as error:
            raise _invalid(f"output '{spec.name}': {error}") from None
    return tensors


def _client_error(error: ClientError, endpoint: str) -> BackendError:
    """What an error answer of InvokeEndpoint means for the client."""
    response: Mapping[str, Any] = error.response
    code = str(response.get("Error", {}).get("Code", ""))
    if code in THROTTLING_CODES:
        return BackendError(BackendErrorType.THROTTLED, "model backend throttled")
    if code == "ModelError":
        # The container's status only: its body (OriginalMessage) may quote the request.
        status = response.get("OriginalStatusCode")
        answered = f"answered {status}" if isinstance(status, int) else "failed"
        return BackendError(
            BackendErrorType.MODEL_ERROR, f"model backend failed: the model container {answered}"
        )
    kind = BackendErrorType.ACCESS_DENIED if code in ACCESS_CODES else BackendErrorType.UNAVAILABLE
    message = clip(str(response.get("Error", {}).get("Message") or ""), 300)
    return BackendError(
        kind,
        "model backend unavailable",
        detail=f"SageMaker endpoint {endpoint!r} refused the call: {code}: {message}",
    )


class SageMakerBackend:
    def __init__(
        self, spec: SageMakerBackendSpec, metadata: ModelMetadata, clients: SageMakerClients
    ) -> None:
        self.spec = spec
        self.metadata = metadata
        self.client = clients.get(spec.timeout_ms / 1000)
        self.extra: dict[str, str] = (
            {"TargetModel": spec.target_model} if spec.target_model is not None else {}
        )

    def predict(self, feeds: Mapping[str, np.ndarray]) -> Prediction:
        from botocore.exceptions import (  # noqa: PLC0415 -- imported with the client
            BotoCoreError,
            ClientError,
            ConnectTimeoutError,
            ReadTimeoutError,
        )

        body = request_body(self.metadata, feeds)
        started = time.perf_counter()
        try:
            response = self.client.invoke_endpoint(
                EndpointName=self.spec.endpoint_name,
                Body=body,
                ContentType=CONTENT_TYPE,
                Accept=CONTENT_TYPE,
                **self.extra,
            )
            answer = response["Body"].read()
        except ClientError as error:
            raise _client_error(error, self.spec.endpoint_name) from None
        except (ReadTimeoutError, ConnectTimeoutError):
            raise BackendError(
                BackendErrorType.TIMEOUT,
                f"model backend did not answer within {self.spec.timeout_ms} ms",
            ) from None
        except BotoCoreError as error:
            raise BackendError(
                BackendErrorType.UNAVAILABLE,
                "model backend unavailable",
                detail=f"SageMaker endpoint {self.spec.endpoint_name!r}: {type(error).__name__}",
            ) from None
        latency_ms = (time.perf_counter() - started) * 1000.0
        rows = next(iter(feeds.values())).shape[0]
        return Prediction(read_outputs(answer, self.metadata, rows), latency_ms)
