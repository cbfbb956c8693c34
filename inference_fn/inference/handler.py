"""Lambda entry point: Powertools wiring around the protocol and model code.

Models load here, once per execution environment; every route is a thin call
into ``protocol`` and ``model_registry``.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.utilities.typing import LambdaContext

from . import __version__, protocol, telemetry
from .errors import ServiceError, clip
from .model_registry import load_registry
from .settings import load_settings
from .telemetry import logger, metrics, tracer

SETTINGS = load_settings()
# Lambda passes lines at INFO and above (EMF lines carry no level) and Powertools follows
# Lambda's level over its own: the handler applies LogLevel, so WARN and ERROR take effect.
logger.registered_handler.setLevel(SETTINGS.log_level)
REGISTRY = load_registry(SETTINGS.models_dir)
app = APIGatewayRestResolver()


def _request_id() -> str:
    return app.current_event.request_context.request_id or app.lambda_context.aws_request_id


def _error_response(status: HTTPStatus, message: str) -> Response[str]:
    body = {"error": message, "request_id": _request_id()}
    return Response(status.value, content_types.APPLICATION_JSON, json.dumps(body))


@app.get("/v2/health/live")
def live() -> dict[str, Any]:
    return {"live": True}


@app.get("/v2/health/ready")
def ready() -> dict[str, Any]:
    # Models load at init: an environment that answers at all has every model ready.
    return {"ready": bool(REGISTRY.names)}


@app.get("/v2")
def server_metadata() -> dict[str, Any]:
    return protocol.server_metadata(str(metrics.service), __version__)


@app.get("/v2/models/<model_name>")
@app.get("/v2/models/<model_name>/versions/<model_version>")
def model_metadata(model_name: str, model_version: str | None = None) -> dict[str, Any]:
    model = REGISTRY.get(model_name, model_version)
    return protocol.model_metadata(model.metadata, REGISTRY.versions(model_name))


@app.get("/v2/models/<model_name>/ready")
@app.get("/v2/models/<model_name>/versions/<model_version>/ready")
def model_ready(model_name: str, model_version: str | None = None) -> dict[str, Any]:
    model = REGISTRY.get(model_name, model_version)
    return {"name": model.metadata.name, "version": model.metadata.version, "ready": True}


@app.post("/v2/models/<model_name>/infer")
@app.post("/v2/models/<model_name>/versions/<model_version>/infer")
def infer(model_name: str, model_version: str | None = None) -> Response[str]:
    event = app.current_event
    known = model_name in REGISTRY
    with telemetry.inference_recorded(
        model_name, model_version, _request_id(), known=known
    ) as record:
        model = REGISTRY.get(model_name, model_version)
        request = protocol.decode_request(
            event.body, bool(event.is_base64_encoded), model.metadata, SETTINGS.limits
        )
        prediction = record.predict(model, request)
        outputs = protocol.encode_infer_response(model.metadata, request, prediction.outputs)
        body = json.dumps(outputs, separators=(",", ":"))
        return Response(HTTPStatus.OK.value, content_types.APPLICATION_JSON, body)


@app.exception_handler(ServiceError)
def service_error(error: ServiceError) -> Response[str]:
    return _error_response(error.status, error.message)


@app.not_found
def route_not_found(_: NotFoundError) -> Response[str]:
    event = app.current_event
    return _error_response(
        HTTPStatus.NOT_FOUND, f"no route for {event.http_method} {clip(event.path, 200)}"
    )


@app.exception_handler(Exception)
def unexpected_error(error: Exception) -> Response[str]:
    # The stack trace goes to the function's log; the client only gets the request id.
    # The correlation id is set here, not per request: no other path writes a log line.
    logger.set_correlation_id(_request_id())
    logger.exception("unexpected failure")
    return _error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    telemetry.invocation_started(context.function_name)
    return app.resolve(event, context)


# Init ends here: InitDuration covers the imports and the model loading above.
telemetry.init_finished()
