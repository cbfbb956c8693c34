"""Domain errors and the HTTP status each one answers with.

The handler maps every one of them to a JSON ``{"error": ...}`` response in one
place; anything else is an unexpected failure and answers 500.
"""

from __future__ import annotations

from enum import StrEnum
from http import HTTPStatus


class ServiceError(Exception):
    """A request the service refuses, with a message safe to show the client."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ServiceError):
    status = HTTPStatus.BAD_REQUEST


class NotFound(ServiceError):
    status = HTTPStatus.NOT_FOUND


class PayloadTooLarge(ServiceError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


def clip(text: str, limit: int = 64) -> str:
    """Echo client-supplied text into an error message without echoing a novel.

    Lone surrogates (``"\\ud800"`` is valid JSON) become escapes: the message is also
    logged, and a UTF-8 log stream cannot encode them, so the log line would be lost.
    """
    clipped = text if len(text) <= limit else text[: limit - 1] + "…"
    return clipped.encode("utf-8", "backslashreplace").decode("utf-8")


class BackendErrorType(StrEnum):
    """Why a model's backend (a SageMaker endpoint, a Bedrock model) refused or failed a
    call: the BackendErrors metric's ``error_type``."""

    THROTTLED = "Throttled"
    MODEL_ERROR = "ModelError"
    TIMEOUT = "Timeout"
    UNAVAILABLE = "Unavailable"
    ACCESS_DENIED = "AccessDenied"
    # The backend found the request invalid (Bedrock's ValidationException): the caller's
    # fault, answered 400, counted but not a failure of the backend (no alarm).
    INVALID_REQUEST = "InvalidRequest"


# What the function answers for each. Those of BACKEND_FAILURE_STATUS it answers for a
# backend's failure and for nothing else: the log processor, which sees only the status,
# counts them as error_source=backend. A 400 is also the function's own answer to a bad
# request, so an InvalidRequest counts as the function's there.
BACKEND_STATUS = {
    BackendErrorType.THROTTLED: HTTPStatus.TOO_MANY_REQUESTS,
    BackendErrorType.MODEL_ERROR: HTTPStatus.BAD_GATEWAY,
    BackendErrorType.TIMEOUT: HTTPStatus.GATEWAY_TIMEOUT,
    BackendErrorType.UNAVAILABLE: HTTPStatus.BAD_GATEWAY,
    BackendErrorType.ACCESS_DENIED: HTTPStatus.BAD_GATEWAY,
    BackendErrorType.INVALID_REQUEST: HTTPStatus.BAD_REQUEST,
}
# The kinds that are the backend's failure: the BackendErrors alarm sums these.
BACKEND_FAILURES = tuple(
    kind for kind in BackendErrorType if kind is not BackendErrorType.INVALID_REQUEST
)
BACKEND_FAILURE_STATUS = {kind: BACKEND_STATUS[kind] for kind in BACKEND_FAILURES}


class BackendError(ServiceError):
    """The model's backend failed; ``detail`` is for the operators' log, never the client."""

    def __init__(self, error_type: BackendErrorType, message: str, detail: str | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.status = BACKEND_STATUS[error_type]
        self.detail = detail
